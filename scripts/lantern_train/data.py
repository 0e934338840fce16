"""The corpus: loading, splits, labels, version.

data/corpus/*.jsonl is checked and split by scripts/split_corpus.py (near-
duplicates never straddle train/dev/test); every message becomes an Example
with its normalised text and the labels of every model.
"""

import dataclasses
import hashlib
import pathlib

import split_corpus

from .constants import LEVELS, LOW
from .text import normalize_text


@dataclasses.dataclass
class Example:
    """One corpus message."""
    text: str   # normalised text
    level: int  # index into LEVELS
    split: str  # "train", "dev" or "test"
    tags: list  # family first
    literal: int  # 0 = literal, 1 = non_literal (context model label)
    group: str = ""  # smallest key of its near-duplicate group



def context_label(family, level):
    """1 (non_literal) for none/low messages of the non-literal families."""
    return int(family in split_corpus.NON_LITERAL_FAMILIES
               and LEVELS.index(level) <= LOW)


def load_corpus(corpus_dir, splits_dir):
    """Checks and splits the corpus, refreshes splits_dir, returns examples.

    Examples are sorted by normalised text so training order never depends
    on file order.
    """
    messages, sizes = split_corpus.build(corpus_dir)
    changed = split_corpus.write_splits(messages, splits_dir)
    print(f"splits: {len(sizes)} near-duplicate groups, largest "
          f"{max(sizes.values())}; "
          + (f"rewrote {', '.join(changed)}" if changed else "unchanged"))
    smallest = {}
    for m in messages:
        if m.group not in smallest or m.key < smallest[m.group]:
            smallest[m.group] = m.key
    examples = [Example(normalize_text(m.text), LEVELS.index(m.level),
                        m.split, m.tags, context_label(m.tags[0], m.level),
                        smallest[m.group])
                for m in messages]
    examples.sort(key=lambda e: (e.text, e.level))
    return examples


def language_label(example):
    """0 (english) or 1 (other): the corpus tags every non-English line."""
    return int(any(t in split_corpus.LANG_TAGS for t in example.tags))


def versioned_files(corpus_dir):
    """What the model version covers: the corpus files and the training code
    (the command line, split_corpus.py and this package), and the encoder's
    code (the port in use_lite.py and lantern_encoder, the heads in
    encoder_head.py), which shapes the encoder model as much as training
    does."""
    package = pathlib.Path(__file__).resolve().parent
    scripts = package.parent
    return (sorted(pathlib.Path(corpus_dir).glob("*.jsonl"))
            + [scripts / "train_models.py", scripts / "split_corpus.py"]
            + sorted(package.glob("*.py"))
            + [scripts / "use_lite.py", scripts / "encoder_head.py"]
            + sorted((scripts / "lantern_encoder").glob("*.py")))


def corpus_version(corpus_dir):
    """Short sha1 of versioned_files(corpus_dir), names and contents."""
    digest = hashlib.sha1()
    for path in versioned_files(corpus_dir):
        digest.update(path.name.encode("utf-8"))
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]
