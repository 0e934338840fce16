"""The corpus generator (lantern_corpus): fragments, caps, rows and a run
on a tiny hand-written corpus."""

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
from lantern_corpus import generate, languages, words  # noqa: E402


class WordsTest(unittest.TestCase):

    def test_join_skips_empty_fragments(self):
        self.assertEqual(words.join("a", "", "b", None, "c"), "a b c")

    def test_fill_and_pick_follow_the_generator(self):
        lists = {"x": ["one", "two", "three"]}
        first = [words.fill("{x}!", random.Random(1), **lists)
                 for _ in range(5)]
        again = [words.fill("{x}!", random.Random(1), **lists)
                 for _ in range(5)]
        self.assertEqual(first, again)
        self.assertIn(first[0], {"one!", "two!", "three!"})


class RulesTest(unittest.TestCase):

    def test_cap_keeps_generated_share_at_most_the_maximum(self):
        for hand in (0, 1, 12, 55, 400):
            for wanted in (0, 10, 100):
                n = generate.cap(wanted, hand)
                self.assertLessEqual(n, wanted)
                if n:
                    self.assertLessEqual(
                        n / (n + hand), generate.MAX_GENERATED_SHARE + 1e-9)
        self.assertEqual(generate.cap(10, 55), 10)
        self.assertEqual(generate.cap(100, 0), 0)

    def test_every_english_family_has_forms(self):
        self.assertEqual(set(generate.FORMS), set(generate.ENGLISH))
        for family, forms in generate.FORMS.items():
            self.assertIn(family, split_corpus.FAMILIES)
            for cores, compose in forms.values():
                self.assertTrue(cores)
                self.assertTrue(compose(cores[0], random.Random(0)))

    def test_other_languages_use_known_families(self):
        for lang in generate.ML:
            for family, (level, _, cores, _) in languages.ml_forms(
                    lang).items():
                self.assertIn(family, split_corpus.FAMILIES)
                self.assertIn(level, split_corpus.LEVELS)
                self.assertTrue(cores)

    def test_vary_is_deterministic(self):
        texts = [generate.vary("i can't sleep again.", "low",
                               random.Random(3)) for _ in range(2)]
        self.assertEqual(texts[0], texts[1])
        self.assertTrue(texts[0])

    def test_rows_carry_tags_and_templates_and_skip_seen_keys(self):
        forms = generate.FORMS["gaming"]
        seen = set()
        rows = generate.make_rows("gaming", "none", [], forms, 15, seen,
                                  random.Random(4), "")
        self.assertEqual(len(rows), 15)
        keys = [split_corpus.dedup_key(r["text"]) for r in rows]
        self.assertEqual(len(set(keys)), 15)
        self.assertEqual(seen, set(keys))
        for row in rows:
            self.assertEqual(row["tags"], ["gaming", "false_alarm",
                                           "generated"])
            self.assertRegex(row["template"], r"^gaming/[a-z_]+/\d+$")
        again = generate.make_rows("gaming", "none", [], forms, 15, set(keys),
                                   random.Random(4), "")
        self.assertFalse({split_corpus.dedup_key(r["text"]) for r in again}
                         & set(keys))


class GenerateTest(unittest.TestCase):

    def setUp(self):
        self.dir = pathlib.Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, self.dir)
        rows = ([{"text": f"anyone up for pizza number {i} tonight",
                  "level": "none", "tags": ["everyday"]} for i in range(12)]
                + [{"text": f"me dieron {i} vueltas en ese jefe jaja",
                    "level": "none",
                    "tags": ["gaming", "false_alarm", "lang_es"]}
                   for i in range(12)])
        (self.dir / "hand.jsonl").write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
            encoding="utf-8")

    def test_generated_rows_pass_the_corpus_checks(self):
        rows = generate.generate(self.dir)
        self.assertEqual(rows, generate.generate(self.dir))
        families = {(r["tags"][0], "lang_es" in r["tags"]) for r in rows}
        # Only families with hand-written lines get generated ones.
        self.assertEqual(families, {("everyday", False), ("gaming", True)})
        self.assertLessEqual(len(rows), 2 * generate.cap(1000, 12))
        (self.dir / generate.OUTPUT_NAME).write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
            encoding="utf-8")
        loaded = split_corpus.load(self.dir)  # raises on any bad row
        self.assertEqual(len(loaded), 24 + len(rows))
        reserved = {split_corpus.dedup_key(t) for t in generate.RESERVED}
        self.assertFalse(reserved & {m.key for m in loaded})


if __name__ == "__main__":
    unittest.main()
