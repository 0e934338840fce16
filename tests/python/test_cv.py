"""Cross-validation folds (lantern_train.cv): by near-duplicate group,
balanced, and the roles of each round."""

import pathlib
import sys
import unittest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from lantern_train import cv  # noqa: E402
from lantern_train.data import Example  # noqa: E402


def example(text, group):
    return Example(text, 0, "train", ["everyday"], 0, group)


class FoldOfTest(unittest.TestCase):

    def test_a_group_never_straddles_folds(self):
        for group in ("a", "hello there", "m123"):
            folds = {cv.cv_fold_of(example(t, group), 5)
                     for t in ("one", "two", "three")}
            self.assertEqual(len(folds), 1)

    def test_stable_and_in_range(self):
        ex = example("x", "some group key")
        self.assertEqual(cv.cv_fold_of(ex, 5), cv.cv_fold_of(ex, 5))
        for folds in (2, 3, 5, 10):
            self.assertIn(cv.cv_fold_of(ex, folds), range(folds))

    def test_groups_spread_evenly(self):
        counts = [0] * 5
        for i in range(2000):
            counts[cv.cv_fold_of(example("x", f"group {i}"), 5)] += 1
        for count in counts:
            self.assertGreater(count, 330)
            self.assertLess(count, 470)


class FoldRolesTest(unittest.TestCase):

    def test_each_round_partitions_the_pool(self):
        fold_of = [i % 5 for i in range(23)]
        held_out, dev_seen = [], []
        for f in range(5):
            train, dev, test = cv.fold_roles(fold_of, f, 5)
            self.assertEqual(sorted(train + dev + test), list(range(23)))
            self.assertTrue(all(fold_of[i] == f for i in test))
            self.assertTrue(all(fold_of[i] == (f + 1) % 5 for i in dev))
            self.assertFalse(set(train) & {i for i in range(23)
                                           if fold_of[i] in (f, (f + 1) % 5)})
            held_out += test
            dev_seen += dev
        # Every message is held out once and plays dev once.
        self.assertEqual(sorted(held_out), list(range(23)))
        self.assertEqual(sorted(dev_seen), list(range(23)))


if __name__ == "__main__":
    unittest.main()
