"""Corpus loading, splits, labels and augmentation (lantern_train.data,
lantern_train.augment) on a tiny corpus written here."""

import contextlib
import io
import json
import pathlib
import random
import shutil
import sys
import tempfile
import unittest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import split_corpus  # noqa: E402
from lantern_train import augment, data, text  # noqa: E402
from lantern_train.constants import LEVELS  # noqa: E402

ROWS = [
    {"text": "I have the pills and I'm doing it tonight", "level": "critical",
     "tags": ["method_means"]},
    {"text": "that boss killed me 50 times lol", "level": "none",
     "tags": ["gaming", "false_alarm"]},
    {"text": "that boss killed me 50 times lmao", "level": "none",
     "tags": ["gaming", "false_alarm"]},
    {"text": "gaming used to help but i feel empty all the time now",
     "level": "medium", "tags": ["gaming", "false_alarm"]},
    {"text": "quiero morir, ya no puedo más", "level": "high",
     "tags": ["ideation", "lang_es"]},
    {"text": "this homework is killing me fr", "level": "low",
     "tags": ["hyperbole", "false_alarm"]},
    {"text": "rough day at work, just tired", "level": "low",
     "tags": ["venting"]},
    {"text": "  good\u200b   morning\teveryone ", "level": "none",
     "tags": ["everyday"]},
]


def write_corpus(folder, rows):
    """Writes rows as folder/corpus.jsonl."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "corpus.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
        encoding="utf-8")


def load(folder):
    """load_corpus(folder/corpus, folder/splits) and what it printed."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        examples = data.load_corpus(folder / "corpus", folder / "splits")
    return examples, printed.getvalue()


class LoadCorpusTest(unittest.TestCase):

    def setUp(self):
        self.dir = pathlib.Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, self.dir)
        write_corpus(self.dir / "corpus", ROWS)
        self.examples, self.printed = load(self.dir)
        self.by_text = {e.text: e for e in self.examples}

    def test_every_message_once_sorted_by_normalised_text(self):
        self.assertEqual(len(self.examples), len(ROWS))
        self.assertEqual(self.examples, sorted(
            self.examples, key=lambda e: (e.text, e.level)))
        self.assertIn("good morning everyone", self.by_text)

    def test_labels_of_every_model(self):
        for row in ROWS:
            ex = self.by_text[text.normalize_text(row["text"])]
            self.assertEqual(LEVELS[ex.level], row["level"])
            self.assertEqual(ex.tags, row["tags"])
        non_literal = {e.text for e in self.examples if e.literal}
        # Non-literal families rated none or low; not medium gaming talk,
        # not venting.
        self.assertEqual(non_literal, {
            "that boss killed me 50 times lol",
            "that boss killed me 50 times lmao",
            "this homework is killing me fr"})
        other = {e.text for e in self.examples if data.language_label(e)}
        self.assertEqual(other, {"quiero morir, ya no puedo más"})

    def test_context_label_rule(self):
        self.assertEqual(data.context_label("gaming", "low"), 1)
        self.assertEqual(data.context_label("gaming", "medium"), 0)
        self.assertEqual(data.context_label("venting", "none"), 0)

    def test_near_duplicates_share_group_and_split(self):
        a = self.by_text["that boss killed me 50 times lol"]
        b = self.by_text["that boss killed me 50 times lmao"]
        self.assertEqual(a.group, b.group)
        self.assertEqual(a.split, b.split)
        groups = {e.group for e in self.examples}
        self.assertEqual(len(groups), len(ROWS) - 1)

    def test_split_follows_the_group_key(self):
        for ex in self.examples:
            self.assertIn(ex.split, ("train", "dev", "test"))
            self.assertEqual(ex.split, split_corpus.bucket_split(ex.group))

    def test_writes_split_files_once(self):
        written = sum(
            len((self.dir / "splits" / f"{s}.jsonl").read_text(
                encoding="utf-8").splitlines())
            for s in ("train", "dev", "test"))
        self.assertEqual(written, len(ROWS))
        self.assertIn("rewrote", self.printed)
        _, again = load(self.dir)
        self.assertIn("unchanged", again)

    def test_rejects_a_bad_level(self):
        write_corpus(self.dir / "bad" / "corpus",
                     [{"text": "hi", "level": "severe", "tags": ["everyday"]}])
        with self.assertRaises(ValueError):
            load(self.dir / "bad")

    def test_version_follows_the_corpus(self):
        corpus = self.dir / "corpus"
        first = data.corpus_version(corpus)
        self.assertRegex(first, "^[0-9a-f]{10}$")
        self.assertEqual(data.corpus_version(corpus), first)
        write_corpus(corpus, ROWS[:-1])
        self.assertNotEqual(data.corpus_version(corpus), first)

    def test_version_covers_the_encoder_code(self):
        names = {(p.parent.name, p.name) for p in data.versioned_files(self.dir / "corpus")}
        for expected in [("scripts", "encoder_head.py"), ("scripts", "use_lite.py"),
                         ("lantern_encoder", "model.py"), ("lantern_encoder", "quantize.py"),
                         ("lantern_train", "data.py"), ("scripts", "train_models.py")]:
            self.assertIn(expected, names)


class AugmentTest(unittest.TestCase):

    def setUp(self):
        self.examples = [data.Example(text.normalize_text(r["text"]),
                                      LEVELS.index(r["level"]), "train",
                                      r["tags"], 0) for r in ROWS]

    def test_same_seed_same_rows(self):
        first = augment.build_train_set(self.examples, random.Random(1234))
        again = augment.build_train_set(self.examples, random.Random(1234))
        self.assertEqual([t for t, _ in first], [t for t, _ in again])

    def test_original_first_then_distinct_normalised_variants(self):
        rows = augment.build_train_set(self.examples, random.Random(1234))
        self.assertGreater(len(rows), len(self.examples))
        by_example = {}
        for variant, ex in rows:
            by_example.setdefault(id(ex), []).append(variant)
            self.assertEqual(text.normalize_text(variant), variant)
        for ex in self.examples:
            texts = by_example[id(ex)]
            self.assertEqual(texts[0], ex.text)
            self.assertEqual(len(set(texts)), len(texts))
            self.assertLessEqual(len(texts), 1 + augment.AUGMENTED)

    def test_typo_changes_one_slip(self):
        rng = random.Random(7)
        for _ in range(20):
            out = augment.typo("hello there", rng)
            self.assertLessEqual(abs(len(out) - len("hello there")), 1)
        self.assertEqual(augment.typo("1 2 3", rng), "1 2 3")


if __name__ == "__main__":
    unittest.main()
