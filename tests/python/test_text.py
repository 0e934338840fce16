"""Normalisation (lantern_train/text.py) against the C++ rules (core/text.cc).

The cases mirror tests/core/text_test.cc; the samples file is the one
tests/core/tokenizer_test.cc checks the C++ side against.
"""

import json
import pathlib
import sys
import unittest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from lantern_train import text  # noqa: E402

MARKS = "".join("\u0316" if i % 2 else "\u0301" for i in range(40))


class DropExcessCombiningMarksTest(unittest.TestCase):

    def test_keeps_thirty_marks_in_a_row(self):
        # Mirrors DropExcessCombiningMarksTest.KeepsThirtyMarksInARow.
        self.assertEqual(
            text.drop_excess_combining_marks("a" + MARKS + "b" + MARKS),
            "a" + MARKS[:30] + "b" + MARKS[:30])

    def test_limit_is_the_cpp_constant(self):
        self.assertEqual(text.MAX_COMBINING_MARKS, 30)  # kMaxCombiningMarks
        exactly = "e" + "\u0301" * 30
        self.assertEqual(text.drop_excess_combining_marks(exactly), exactly)
        self.assertEqual(text.drop_excess_combining_marks(exactly + "\u0301"),
                         exactly)

    def test_a_base_character_resets_the_run(self):
        runs = ("x" + "\u0301" * 20) * 3
        self.assertEqual(text.drop_excess_combining_marks(runs), runs)

    def test_leaves_ordinary_accents(self):
        self.assertEqual(text.drop_excess_combining_marks("caf\u00e9 e\u0301"),
                         "caf\u00e9 e\u0301")

    def test_normalising_sorts_what_is_left(self):
        # U+00E1 and 29 marks, as in the C++ test.
        self.assertEqual(len(text.normalize_text("a" + MARKS)), 30)


class NormalizeTextTest(unittest.TestCase):

    def test_applies_nfkc(self):
        self.assertEqual(text.normalize_text("\uff28\uff49"), "Hi")
        self.assertEqual(text.normalize_text("\ufb01ne"), "fine")
        self.assertEqual(text.normalize_text("e\u0301"), "\u00e9")

    def test_collapses_whitespace_and_drops_invisibles(self):
        self.assertEqual(text.normalize_text("  I'm\t\tso \n tired  "),
                         "I'm so tired")
        self.assertEqual(text.normalize_text("zero\u200bwidth soft\u00adhy"),
                         "zerowidth softhy")
        self.assertEqual(text.normalize_text("a\x85b\u2028c\u3000d"),
                         "a b c d")

    def test_keeps_case_for_the_tokenizer(self):
        self.assertEqual(text.normalize_text("MiXeD"), "MiXeD")

    def test_matches_the_samples_the_cpp_test_reads(self):
        path = ROOT / "tests" / "data" / "tokenizer_samples.jsonl"
        samples = [json.loads(line) for line in
                   path.read_text(encoding="utf-8").split("\n") if line]
        self.assertGreaterEqual(len(samples), 20)
        for sample in samples:
            self.assertEqual(text.normalize_text(sample["text"]),
                             sample["normalized"], sample["text"])


if __name__ == "__main__":
    unittest.main()
