"""Target metrics (lantern_train.metrics) on hand-checked predictions."""

import pathlib
import sys
import unittest

import torch

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from lantern_train import metrics  # noqa: E402
from lantern_train.data import Example  # noqa: E402

# (level, tags) of a tiny split.
MESSAGES = [(0, ["everyday"]), (0, ["gaming", "false_alarm"]),
            (0, ["gaming", "false_alarm"]), (1, ["venting"]),
            (2, ["depression"]), (3, ["ideation"]), (4, ["plan"]),
            (4, ["plan", "lang_es"])]
GOLD = [level for level, _ in MESSAGES]
PRED = [0, 1, 2, 1, 2, 3, 4, 2]


def tiny_split():
    return metrics.make_split([Example(f"m{i}", level, "dev", tags, 0)
                               for i, (level, tags) in enumerate(MESSAGES)])


class MacroRecallTest(unittest.TestCase):

    def test_mean_recall_of_classes_present(self):
        # Class 0: 1/2, class 1: 2/2, class 2: 0/1; class 3 is absent.
        self.assertAlmostEqual(
            metrics.macro_recall([0, 0, 1, 1, 2], [0, 1, 1, 1, 0], 4), 0.5)

    def test_perfect(self):
        self.assertEqual(metrics.macro_recall([2, 0, 1], [2, 0, 1], 3), 1.0)


class MetricsTest(unittest.TestCase):

    def setUp(self):
        self.split = tiny_split()
        pred = torch.tensor([PRED, GOLD])           # two candidates
        self.m = metrics.metrics(self.split, pred)

    def col(self, tag):
        return self.split.tags.index(tag)

    def test_split_columns(self):
        self.assertEqual(self.split.tags, sorted(self.split.tags))
        self.assertEqual(self.split.gold.tolist(), GOLD)
        self.assertEqual(self.split.counts[self.col("gaming")].item(), 2)
        self.assertEqual([self.split.tags[c] for c in self.split.family_cols],
                         ["gaming"])

    def test_headline_rates(self):
        m = self.m
        self.assertAlmostEqual(m["recall"][0].item(), 2 / 3, places=6)
        self.assertAlmostEqual(m["none_fa"][0].item(), 1 / 3, places=6)
        self.assertAlmostEqual(m["medium_plus"][0].item(), 1.0)
        self.assertAlmostEqual(m["pass"][0].item(), 6 / 8)
        self.assertAlmostEqual(m["accuracy"][0].item(), 5 / 8)

    def test_per_tag_and_family_rates(self):
        tag_pass = self.m["tag_pass"][0]
        self.assertAlmostEqual(tag_pass[self.col("gaming")].item(), 0.5)
        self.assertAlmostEqual(tag_pass[self.col("plan")].item(), 0.5)
        self.assertAlmostEqual(tag_pass[self.col("lang_es")].item(), 0.0)
        self.assertAlmostEqual(tag_pass[self.col("everyday")].item(), 1.0)
        self.assertAlmostEqual(self.m["family_low"][0, 0].item(), 0.5)

    def test_perfect_candidate(self):
        m = self.m
        for key in ("recall", "pass", "accuracy", "medium_plus"):
            self.assertEqual(m[key][1].item(), 1.0, key)
        self.assertEqual(m["none_fa"][1].item(), 0.0)
        self.assertTrue(bool((m["tag_pass"][1] == 1.0).all()))

    def test_pass_table_is_the_eval_rule(self):
        table = metrics.PASS_TABLE.tolist()
        self.assertEqual(table[0], [True, True, False, False, False])
        self.assertEqual(table[2], [False, True, True, True, False])
        self.assertEqual(table[4], [False, False, False, True, True])


class SummarizeTest(unittest.TestCase):

    def test_summary_of_the_tiny_split(self):
        s = metrics.summarize(tiny_split(), torch.tensor(PRED))
        self.assertEqual(s["n"], len(MESSAGES))
        self.assertEqual(s["recall_high_critical"], round(2 / 3, 4))
        self.assertEqual(s["none_rated_medium_plus"], round(1 / 3, 4))
        self.assertEqual(s["medium_exact"], 1.0)
        self.assertEqual(s["medium_rated_high_plus"], 0.0)
        self.assertEqual(s["family_low_or_none"], {"gaming": 0.5})
        self.assertEqual(s["worst_tag"], ["lang_es", 0.0])


if __name__ == "__main__":
    unittest.main()
