"""Ensemble combination (lantern_train.ensemble) and its tuning search
(lantern_train.tuning) on small hand-made inputs."""

import pathlib
import random
import sys
import unittest
from unittest import mock

import torch

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from lantern_train import ensemble, export, metrics, tuning  # noqa: E402
from lantern_train.constants import (  # noqa: E402
    CONTEXT_LABELS, DISTRESS_LABELS, DISTRESS_RISKS, LANGUAGE_LABELS,
    LEVEL_RISKS, LEVELS, RISK_MODELS)
from lantern_train.data import Example  # noqa: E402

WEIGHTED = ensemble.WEIGHTED
CONSERVATIVE_MAX = ensemble.CONSERVATIVE_MAX
MAJORITY = ensemble.MAJORITY


def one_message_inputs():
    """Risk 0.8, 0.6, 0.9 (severity, distress, encoder), p(non_literal)
    0.5, the encoder trusted 0.2."""
    return ensemble.EnsembleInputs(torch.tensor([[0.8], [0.6], [0.9]]),
                                   torch.tensor([0.5]),
                                   torch.tensor([[1.0], [1.0], [0.2]]))


def choice(mode):
    return ensemble.EnsembleChoice(mode, [0.5, 0.3, 0.2], 0.4,
                                   [0.3, 0.45, 0.6, 0.85])


class CombineTest(unittest.TestCase):

    def test_levels_count_thresholds_reached(self):
        levels = ensemble.levels_of(torch.tensor([0.1, 0.325, 0.6, 0.9]),
                                    [0.325, 0.475, 0.6, 0.875])
        self.assertEqual(levels.tolist(), [0, 1, 3, 4])

    def test_weighted(self):
        # Dampening 1 - 0.4 x 0.5 = 0.8: damped 0.64, 0.48, 0.72; weights
        # 0.5, 0.3, 0.2 x 0.2.
        score, level = ensemble.combine_members(one_message_inputs(),
                                                choice(WEIGHTED))
        self.assertAlmostEqual(score.item(), 0.4928 / 0.84, places=6)
        self.assertEqual(LEVELS[level.item()], "medium")

    def test_conservative_max_ignores_distrusted_models(self):
        score, level = ensemble.combine_members(one_message_inputs(),
                                                choice(CONSERVATIVE_MAX))
        self.assertAlmostEqual(score.item(), 0.64, places=6)
        self.assertEqual(LEVELS[level.item()], "high")

    def test_conservative_max_counts_all_when_none_is_trusted(self):
        damped = torch.tensor([[0.2, 0.2], [0.7, 0.7]])
        trust = torch.tensor([[0.1, 1.0], [0.3, 0.3]])
        self.assertTrue(torch.equal(ensemble.trusted_max(damped, trust),
                                    torch.tensor([0.7, 0.2])))

    def test_majority_votes_with_weight_times_trust(self):
        # Votes: high 0.5 + 0.04, medium 0.3; the score is the mean.
        score, level = ensemble.combine_members(one_message_inputs(),
                                                choice(MAJORITY))
        self.assertAlmostEqual(score.item(), 0.4928 / 0.84, places=6)
        self.assertEqual(LEVELS[level.item()], "high")

    def test_majority_tie_goes_higher(self):
        damped = torch.tensor([[0.1, 0.1], [0.7, 0.7]])
        weights = torch.tensor([[1.0, 2.0], [1.0, 1.0]])
        levels = ensemble.majority_levels(damped, weights,
                                          [0.2, 0.4, 0.6, 0.8])
        self.assertEqual(levels.tolist(), [3, 0])

    def test_unknown_mode_is_refused(self):
        with self.assertRaises(ValueError):
            ensemble.combine_members(one_message_inputs(), choice("BOGUS"))


def training_members():
    """Members shaped as training makes them (predict unused)."""
    return [ensemble.Member("severity", LEVELS, LEVEL_RISKS, None),
            ensemble.Member("distress", DISTRESS_LABELS, DISTRESS_RISKS,
                            None),
            ensemble.Member("context", CONTEXT_LABELS, [0.0, 0.0], None),
            ensemble.Member("language", LANGUAGE_LABELS, [0.0, 0.0], None),
            ensemble.Member("encoder", LEVELS, LEVEL_RISKS, None)]


def random_probs(members, n, seed):
    gen = torch.Generator().manual_seed(seed)
    return {m.name: torch.softmax(3 * torch.randn(n, len(m.labels),
                                                  generator=gen), dim=1)
            for m in members}


class CombineConfigTest(unittest.TestCase):
    """combine_config (any ensemble.json, used by the parity golden file)
    agrees with combine_members (what tuning and the reports use) on what
    training writes."""

    def test_same_verdicts_as_training_on_its_own_config(self):
        members = training_members()
        probs = random_probs(members, 200, seed=3)
        inputs = ensemble.ensemble_inputs(members, probs)
        for mode in (WEIGHTED, CONSERVATIVE_MAX, MAJORITY):
            c = ensemble.EnsembleChoice(mode, [0.5, 0.2, 0.3], 0.6,
                                        [0.325, 0.475, 0.6, 0.875])
            weights = dict(zip(RISK_MODELS, c.weights))
            specs = {}
            for m in members:
                m.weight = weights.get(m.name, 1.0)
                specs[m.name] = export.model_spec(m, "v")
            config = export.ensemble_config(c, "v")
            want_score, want_level = ensemble.combine_members(inputs, c)
            score, level = ensemble.combine_config(config, specs, probs)
            self.assertTrue(torch.equal(level, want_level), mode)
            self.assertTrue(torch.allclose(score, want_score, atol=1e-7),
                            mode)

    def test_skipped_gate_leaves_full_trust(self):
        members = training_members()
        probs = random_probs(members, 20, seed=4)
        specs = {m.name: export.model_spec(m, "v") for m in members}
        c = ensemble.EnsembleChoice(WEIGHTED, [0.4, 0.3, 0.3], 0.5,
                                    [0.3, 0.45, 0.6, 0.85])
        config = export.ensemble_config(c, "v")
        without_gate = {k: v for k, v in probs.items() if k != "language"}
        english = dict(probs, language=torch.tensor([[1.0, 0.0]] * 20))
        self.assertTrue(torch.equal(
            ensemble.combine_config(config, specs, without_gate)[0],
            ensemble.combine_config(config, specs, english)[0]))


def synthetic_split(n_per_level=12, seed=5):
    """A split whose three risk models score each message near level / 4,
    so that thresholds exist that rate every message right."""
    rng = random.Random(seed)
    families = ["everyday", "venting", "depression", "ideation", "plan"]
    examples, risk = [], []
    for level in range(len(LEVELS)):
        for i in range(n_per_level):
            examples.append(Example(f"m{level}-{i}", level, "dev",
                                    [families[level]], 0))
            risk.append([min(1.0, max(0.0, level / 4 + rng.uniform(-0.05,
                                                                   0.05)))
                         for _ in RISK_MODELS])
    n = len(examples)
    inputs = ensemble.EnsembleInputs(torch.tensor(risk).T.contiguous(),
                                     torch.zeros(n), torch.ones(3, n))
    return metrics.make_split(examples), inputs


class TuningTest(unittest.TestCase):

    def test_threshold_grid(self):
        coarse = tuning.threshold_grid(tuning.COARSE_STEP)
        self.assertEqual(len(coarse), 3876)  # 4 of the 19 values
        gaps = coarse[:, 1:] - coarse[:, :-1]
        self.assertTrue(bool((gaps >= tuning.THRESHOLD_MIN_GAP - 1e-6).all()))
        self.assertTrue(bool((coarse > 0).all() and (coarse < 1).all()))

    def test_weight_grid(self):
        grid = tuning.weight_grid()
        self.assertEqual(len(grid), 36)
        for weights in grid:
            self.assertAlmostEqual(sum(weights), 1.0)
            self.assertGreaterEqual(min(weights), tuning.WEIGHT_STEP - 1e-9)

    def test_histogram_counts_give_the_direct_metrics(self):
        split, inputs = synthetic_split()
        gen = torch.Generator().manual_seed(6)
        score = torch.rand(len(split.gold), generator=gen)
        combos = tuning.threshold_grid(tuning.COARSE_STEP)[::97]
        fast = tuning.metrics_from_counts(
            split, tuning.level_counts(split, score, combos,
                                       tuning.COARSE_STEP))
        levels = torch.stack([ensemble.levels_of(score, c.tolist())
                              for c in combos])
        direct = metrics.metrics(split, levels)
        for key, value in direct.items():
            self.assertTrue(torch.allclose(fast[key], value, atol=1e-6), key)

    def test_combined_score_is_the_combination(self):
        inputs = one_message_inputs()
        for mode in (WEIGHTED, CONSERVATIVE_MAX):
            c = choice(mode)
            self.assertTrue(torch.equal(
                tuning.combined_score(inputs, mode, c.weights, c.strength),
                ensemble.combine_members(inputs, c)[0]))

    def test_tuning_finds_thresholds_that_separate_the_levels(self):
        split, inputs = synthetic_split()
        with mock.patch.object(tuning, "STRENGTHS", [0.0, 0.5]), \
                mock.patch.object(tuning, "WEIGHT_STEP", 1 / 3):
            chosen = tuning.tune_ensemble(split, inputs, verbose=False)
        self.assertIn(chosen.mode, tuning.MODES)
        self.assertEqual(chosen.thresholds, sorted(chosen.thresholds))
        _, level = ensemble.combine_members(inputs, chosen)
        self.assertEqual(level.tolist(), split.gold.tolist())


if __name__ == "__main__":
    unittest.main()
