"""What training writes: TorchScript modules, model.json, ensemble.json."""

import json

import torch
from torch.nn import functional as F

from .constants import GATE, LEVELS, MODIFIER, PAD_ID
from .models import MODEL_SPECS
from .tokenizer import pad_batch


def export_model(model, path, sample_ids):
    """Scripts and saves model; verifies reload and padding invariance."""
    model.eval()
    scripted = torch.jit.script(model)
    scripted.save(str(path))
    loaded = torch.jit.load(str(path))
    loaded.eval()
    with torch.no_grad():
        batch = pad_batch(sample_ids)
        reference = model(*batch)
        if not torch.allclose(loaded(*batch), reference, atol=1e-5):
            raise RuntimeError(f"{path}: reloaded module differs")
        for row, ids in enumerate(sample_ids):
            alone = loaded(*pad_batch([ids]))[0]
            ids_t, mask_t = pad_batch([ids])
            padded = loaded(F.pad(ids_t, (0, 7), value=PAD_ID),
                            F.pad(mask_t, (0, 7), value=0))[0]
            if not (torch.allclose(alone, reference[row], atol=1e-5)
                    and torch.allclose(alone, padded, atol=1e-5)):
                raise RuntimeError(f"{path}: padding changes the output")
    return loaded


def write_json(path, obj):
    """Writes obj as indented UTF-8 JSON with a trailing newline."""
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n",
                    encoding="utf-8")


def model_spec(member, version):
    """ModelSpec in protobuf JSON mapping (lantern.config.v1.ModelSpec)."""
    return {
        "name": member.name, "version": version, "role": member.name,
        "file": "model.pt",
        "tokenizer": member.tokenizer,
        "labels": [{"name": n, "risk": r}
                   for n, r in zip(member.labels, member.risks)],
        "maxTokens": member.max_tokens, "weight": member.weight, "handles": 0,
    }


def ensemble_config(choice, version):
    """EnsembleConfig in protobuf JSON mapping."""
    return {
        "version": version,
        "models": [name for name, *_ in MODEL_SPECS] + ["encoder"],
        "thresholds": dict(zip(LEVELS[1:], choice.thresholds)),
        "mode": choice.mode,
        "modifiers": [{"model": MODIFIER[0], "label": MODIFIER[1],
                       "strength": choice.strength}],
        "gates": [{"model": GATE[0], "label": GATE[1], "models": GATE[2]}],
        "cues": "cues.json",
    }

