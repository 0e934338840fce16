"""model.json: labels and their risks, the spec Lantern reads, the version."""

import hashlib
import json

from .errors import Refusal


def parse_risks(text, labels):
    """Risks per label from "0,0.5,1" or "a=0,b=1" (every label once)."""
    items = [s.strip() for s in text.split(",") if s.strip()]
    if items and all("=" in s for s in items):
        given = {}
        for item in items:
            name, value = item.split("=", 1)
            given[name.strip()] = value
        unknown = sorted(set(given) - set(labels))
        missing = [l for l in labels if l not in given]
        if unknown or missing:
            raise ValueError(f"--risks must name every label exactly: labels are "
                             f"{labels}; unknown {unknown}, missing {missing}")
        values = [given[l] for l in labels]
    elif any("=" in s for s in items):
        raise ValueError("--risks mixes 'label=value' and plain values")
    else:
        values = items
    if len(values) != len(labels):
        raise ValueError(f"--risks has {len(values)} values for {len(labels)} labels "
                         f"{labels}")
    risks = []
    for label, value in zip(labels, values):
        try:
            risk = float(value)
        except ValueError:
            raise ValueError(f"risk of label {label!r} is not a number: {value!r}")
        if not 0.0 <= risk <= 1.0:
            raise ValueError(f"risk of label {label!r} must be within 0..1, got {risk}")
        risks.append(risk)
    return risks


def default_risks(count):
    return [round(i / (count - 1), 4) for i in range(count)]


def labels_from_config(id2label):
    """Label names in output order from config.id2label (keys may be str)."""
    by_index = {int(k): v for k, v in id2label.items()}
    if sorted(by_index) != list(range(len(by_index))):
        raise Refusal(f"config.id2label does not cover 0..{len(by_index) - 1}")
    if len(by_index) < 2:
        raise Refusal("the model has fewer than two labels")
    return [str(by_index[i]) for i in range(len(by_index))]


def build_spec(name, version, role, labels, risks, tokenizer_spec, max_tokens,
               weight, file="model.pt"):
    """The model.json contents (lantern.config.v1.ModelSpec, JSON names)."""
    if len(labels) != len(risks):
        raise ValueError("one risk per label")
    if max_tokens < 3:
        raise ValueError("max tokens must be >= 3")
    if weight <= 0:
        raise ValueError("weight must be > 0")
    return {
        "name": name,
        "version": version,
        "role": role,
        "file": file,
        "tokenizer": dict(tokenizer_spec),
        "labels": [{"name": l, "risk": r} for l, r in zip(labels, risks)],
        "maxTokens": max_tokens,
        "weight": weight,
        "handles": 0,
    }


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


def file_version(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:10]
