"""The training loop's parts (lantern_train.training), the architectures'
padding invariance (lantern_train.models) and export (lantern_train.export),
on tiny synthetic data."""

import contextlib
import io
import pathlib
import random
import sys
import tempfile
import unittest

import torch
from torch.nn import functional as F

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from lantern_train import (export, metrics, models, tokenizer,  # noqa: E402
                           training)
from lantern_train.constants import PAD_ID  # noqa: E402

VOCAB = 50


def random_ids(n, seed):
    rng = random.Random(seed)
    return [[rng.randrange(4, VOCAB) for _ in range(rng.randrange(1, 12))]
            for _ in range(n)]


class BatchingTest(unittest.TestCase):

    def test_pad_batch_right_pads_with_a_mask(self):
        ids, mask = tokenizer.pad_batch([[5, 6, 7], [8]])
        self.assertEqual(ids.tolist(), [[5, 6, 7], [8, PAD_ID, PAD_ID]])
        self.assertEqual(mask.tolist(), [[1, 1, 1], [1, 0, 0]])
        self.assertEqual(ids.dtype, torch.int64)

    def test_bucketed_batches_cover_every_row_once(self):
        ids = random_ids(300, seed=1)
        batches = training.bucketed_batches(
            ids, 16, torch.Generator().manual_seed(1))
        flat = [i for batch in batches for i in batch]
        self.assertEqual(sorted(flat), list(range(300)))
        self.assertTrue(all(len(b) <= 16 for b in batches))
        for batch in batches:  # sorted by length inside a pool
            lengths = [len(ids[i]) for i in batch]
            self.assertEqual(lengths, sorted(lengths))

    def test_bucketed_batches_follow_the_generator(self):
        ids = random_ids(100, seed=2)
        first = training.bucketed_batches(ids, 8,
                                          torch.Generator().manual_seed(3))
        again = training.bucketed_batches(ids, 8,
                                          torch.Generator().manual_seed(3))
        self.assertEqual(first, again)

    def test_drop_tokens_keeps_at_least_one(self):
        rng = random.Random(0)
        self.assertEqual(training.drop_tokens([4, 5, 6], 1.0, rng), [4])
        self.assertEqual(training.drop_tokens([4, 5, 6], 0.0, rng), [4, 5, 6])

    def test_class_weights_inverse_sqrt_frequency_mean_one(self):
        weights = training.class_weights([0, 1, 1, 1, 1], 3)
        self.assertAlmostEqual(weights.mean().item(), 1.0, places=6)
        self.assertAlmostEqual((weights[0] / weights[1]).item(), 2.0,
                               places=5)
        self.assertTrue(bool(torch.isfinite(weights).all()))


class ModelsTest(unittest.TestCase):

    def check_padding_invariance(self, model):
        model.eval()
        ids, mask = tokenizer.pad_batch(random_ids(8, seed=4))
        with torch.no_grad():
            plain = model(ids, mask)
            padded = model(F.pad(ids, (0, 5), value=PAD_ID),
                           F.pad(mask, (0, 5), value=0))
            alone = model(*tokenizer.pad_batch([ids[0][mask[0] == 1]
                                                .tolist()]))
        self.assertEqual(tuple(plain.shape), (8, 3))
        self.assertTrue(torch.allclose(plain, padded, atol=1e-5))
        self.assertTrue(torch.allclose(plain[0], alone[0], atol=1e-5))

    def test_every_architecture_ignores_padding(self):
        torch.manual_seed(0)
        for cls in (models.SeverityCNN, models.DistressBag,
                    models.ContextGRU):
            with self.subTest(cls.__name__):
                self.check_padding_invariance(cls(VOCAB, 3))

    def test_seed_average_is_the_mean_probability(self):
        torch.manual_seed(0)
        copies = [models.DistressBag(VOCAB, 3) for _ in range(3)]
        average = models.SeedAverage(copies).eval()
        batch = tokenizer.pad_batch(random_ids(4, seed=5))
        with torch.no_grad():
            mean = torch.stack([torch.softmax(c.eval()(*batch), 1)
                                for c in copies]).mean(0)
            got = torch.softmax(average(*batch), 1)
        self.assertTrue(torch.allclose(got, mean, atol=1e-6))

    def test_model_specs_label_every_example(self):
        names = [name for name, *_ in models.MODEL_SPECS]
        self.assertEqual(names, ["severity", "distress", "context",
                                 "language"])
        for _, _, labels, risks, _, copies in models.MODEL_SPECS:
            self.assertEqual(len(labels), len(risks))
            self.assertGreaterEqual(copies, 1)


class TrainAndExportTest(unittest.TestCase):

    def test_keeps_the_best_epoch_and_exports(self):
        ids = random_ids(300, seed=6)
        labels = [int(7 in row or 9 in row) for row in ids]
        torch.manual_seed(0)
        model = models.DistressBag(VOCAB, 2, dim=16, buckets=64, hidden=16)
        config = training.TrainConfig(epochs=8, batch_size=16, lr=1e-2,
                                      token_dropout=0.0)
        dev = (ids[200:], labels[200:])
        with contextlib.redirect_stdout(io.StringIO()) as printed:
            model = training.train_classifier(
                "tiny", model, (ids[:200], labels[:200]), dev, 2, config,
                verbose=True)
        scores = [float(line.split("macro-recall ")[1].split()[0])
                  for line in printed.getvalue().splitlines()
                  if " epoch " in line]
        self.assertEqual(len(scores), 8)
        self.assertFalse(model.training)
        pred = training.predict_logits(model, dev[0]).argmax(1).tolist()
        kept = metrics.macro_recall(dev[1], pred, 2)
        self.assertAlmostEqual(kept, max(scores), places=3)
        self.assertGreater(kept, 0.65)  # learnt something (chance is 0.5)
        with tempfile.TemporaryDirectory() as folder:
            path = pathlib.Path(folder) / "model.pt"
            loaded = export.export_model(model, path, ids[:10])
            self.assertTrue(path.exists())
        batch = tokenizer.pad_batch(ids[:10])
        with torch.no_grad():
            self.assertTrue(torch.allclose(loaded(*batch), model(*batch),
                                           atol=1e-6))


if __name__ == "__main__":
    unittest.main()
