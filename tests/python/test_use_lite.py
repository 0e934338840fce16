"""The encoder port (lantern_encoder, use_lite.py's command line) on tiny
hand-made inputs: the tokenizer's documented rules, weight decoding, the op
check, padding and batch invariance of a small encoder, the fixed int8
range, and the samples file. The real package is checked by ctest
encoder_port_check."""

import contextlib
import io
import json
import os
import pathlib
import sys
import tempfile
import unittest

import numpy as np
import torch

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import use_lite  # noqa: E402
from lantern_encoder import graph, model, quantize, samples  # noqa: E402
from lantern_encoder.tokenizer import SEPARATOR, UseTokenizer  # noqa: E402
from lantern_train.text import normalize_text  # noqa: E402

# ids 0..5 are reserved (never matched); "b" is listed twice (the last id
# wins) and "c" has a null score (counts as 0).
VOCAB = [["\ufffd", 0], ["<s>", 0], ["</s>", 0], ["x", 0], ["y", 0], ["z", 0],
         [SEPARATOR, -1.0], [SEPARATOR + "a", -2.0], ["b", -1.5], ["a", -1.0],
         ["ab", -1.0], ["b", -0.5], ["c", None]]


def tiny_tokenizer(folder):
    path = os.path.join(folder, "vocab.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(VOCAB, f)
    return UseTokenizer(path)


class TokenizerTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.tokenizer = tiny_tokenizer(self.tmp.name)

    def tearDown(self):
        self.tmp.cleanup()

    def test_preprocess_applies_nfkc_and_the_separator(self):
        self.assertEqual(UseTokenizer.preprocess("a b"), "\u2581a\u2581b")
        self.assertEqual(UseTokenizer.preprocess("\ufb01"), "\u2581fi")
        self.assertEqual(UseTokenizer.preprocess("a\tb"), "\u2581a\tb")
        self.assertEqual(UseTokenizer.preprocess(""), "")

    def test_empty_text_gives_no_ids(self):
        self.assertEqual(self.tokenizer.encode(""), [])

    def test_best_path_by_score(self):
        # "\u2581" + "ab" (-2) beats "\u2581a" + "b" (-2.5).
        self.assertEqual(self.tokenizer.encode("ab"), [6, 10])

    def test_ties_go_to_the_candidate_that_starts_latest(self):
        # "\u2581a" alone and "\u2581" + "a" both score -2.
        self.assertEqual(self.tokenizer.encode("a"), [6, 9])

    def test_a_repeated_piece_keeps_its_last_id_and_score(self):
        self.assertEqual(self.tokenizer.pieces["b"], (-0.5, 11))
        self.assertEqual(self.tokenizer.encode("b"), [6, 11])

    def test_a_null_score_counts_as_zero(self):
        self.assertEqual(self.tokenizer.pieces["c"], (0.0, 12))
        self.assertEqual(self.tokenizer.encode("c"), [6, 12])

    def test_unknown_runs_give_one_zero_and_reserved_pieces_never_match(self):
        self.assertEqual(self.tokenizer.encode("qq"), [6, 0])
        self.assertEqual(self.tokenizer.encode("x"), [6, 0])
        self.assertEqual(self.tokenizer.encode("qab"), [6, 0, 10])


class WeightsTest(unittest.TestCase):

    def test_decode_plain_float32_at_an_offset(self):
        values = np.arange(6, dtype=np.float32)
        data = b"\0" * 8 + values.tobytes()
        array, size = graph._decode_weight(
            {"name": "w", "shape": [2, 3], "dtype": "float32"}, data, 8)
        self.assertEqual(size, 24)
        np.testing.assert_array_equal(array, values.reshape(2, 3))

    def test_decode_affine_uint8_and_float16(self):
        spec = {"name": "q", "shape": [3], "dtype": "float32",
                "quantization": {"dtype": "uint8", "scale": 0.5, "min": -1.0}}
        array, size = graph._decode_weight(spec, bytes([0, 2, 4]), 0)
        self.assertEqual(size, 3)
        np.testing.assert_array_equal(array, np.float32([-1.0, 0.0, 1.0]))
        half = np.float16([1.5, -2.0]).tobytes()
        spec = {"name": "h", "shape": [2], "dtype": "float32",
                "quantization": {"dtype": "float16"}}
        array, size = graph._decode_weight(spec, half, 0)
        self.assertEqual((size, array.dtype), (4, np.float32))
        np.testing.assert_array_equal(array, np.float32([1.5, -2.0]))

    def test_dist_dir_prefers_the_dist_folder(self):
        with tempfile.TemporaryDirectory() as tmp:
            self.assertEqual(graph.dist_dir(tmp), tmp)
            os.mkdir(os.path.join(tmp, "dist"))
            self.assertEqual(graph.dist_dir(tmp), os.path.join(tmp, "dist"))

    def test_check_ops_refuses_another_graph(self):
        nodes = [{"name": "n%d_%d" % (i, k), "op": op}
                 for i, (op, count) in enumerate(graph.EXPECTED_OP_COUNTS.items())
                 for k in range(count)]
        nodes += [{"name": graph.STACK + layer + "/x", "op": "Add"}
                  for layer in ("Layer_0", "Layer_1")]
        fake = graph.GraphModel.__new__(graph.GraphModel)
        fake.nodes = {n["name"]: n for n in nodes}
        self.assertEqual(fake.check_ops(), len(nodes))
        fake.nodes["odd"] = {"name": "odd", "op": "Erf"}
        with self.assertRaisesRegex(ValueError, "Erf"):
            fake.check_ops()


def tiny_encoder(max_length=10):
    torch.manual_seed(0)
    layers = [model.TransformerLayer(8, 8, 12, 16, 2, 1e-6, 0.5, -1e9, True),
              model.TransformerLayer(12, 12, 12, 16, 2, 1e-6, 12 ** -0.5 * 2 ** 0.5,
                                     -1e9, False)]
    timing = torch.randn(max_length, 8)
    return model.UseLiteEncoder(30, 8, timing, layers, 12, 1e-12, max_length).eval()


class EncoderTest(unittest.TestCase):

    ROWS = [[7, 8, 9], [10], list(range(6, 20)), [11, 12, 13, 14, 15]]

    def test_batch_ids_pads_on_the_right(self):
        ids, mask = model.batch_ids([[5, 6, 7], [8]], pad_id=3)
        self.assertEqual(ids.tolist(), [[5, 6, 7], [8, 3, 3]])
        self.assertEqual(mask.tolist(), [[1, 1, 1], [1, 0, 0]])
        ids, mask = model.batch_ids([[]])
        self.assertEqual((ids.tolist(), mask.tolist()), ([[0]], [[0]]))

    def test_rows_do_not_depend_on_their_batch_or_padding(self):
        encoder = tiny_encoder()
        with torch.inference_mode():
            alone = torch.cat([encoder(*model.batch_ids([r])) for r in self.ROWS])
            ids, mask = model.batch_ids(self.ROWS, pad_id=29)
            batched = encoder(ids, mask)
        self.assertLess(float((alone - batched).abs().max()), 1e-5)
        self.assertTrue(torch.allclose(alone.norm(dim=1), torch.ones(4), atol=1e-5))

    def test_tokens_past_max_length_are_ignored(self):
        encoder = tiny_encoder(max_length=10)
        with torch.inference_mode():
            cut = encoder(*model.batch_ids([self.ROWS[2][:10]]))
            full = encoder(*model.batch_ids([self.ROWS[2]]))
        self.assertTrue(torch.equal(cut, full))

    def test_scripted_encoder_gives_the_same_outputs(self):
        encoder = tiny_encoder()
        scripted = model.script_encoder(encoder)
        batch = model.batch_ids(self.ROWS)
        with torch.inference_mode():
            self.assertTrue(torch.allclose(encoder(*batch), scripted(*batch), atol=1e-6))


class QuantizeTest(unittest.TestCase):

    def setUp(self):
        quantize.pick_quantized_engine()

    def test_fixed_range_makes_a_row_independent_of_its_batch(self):
        torch.manual_seed(0)
        linear = torch.nn.Linear(6, 4)
        layer = quantize.FixedRangeInt8Linear(linear, bound=2.0)
        row = torch.randn(1, 6)
        with torch.inference_mode():
            alone = layer(row)
            with_big = layer(torch.cat([row, 50 * torch.randn(3, 6)]))[:1]
        self.assertTrue(torch.equal(alone, with_big))
        self.assertLess(float((alone - linear(row)).abs().max()), 0.1)

    def test_quantize_replaces_every_linear_with_bounds_from_calibration(self):
        encoder = tiny_encoder()
        bounds = quantize.calibrate_bounds(encoder, EncoderTest.ROWS)
        self.assertEqual(set(bounds), {name for name, m in encoder.named_modules()
                                       if isinstance(m, torch.nn.Linear)})
        int8 = quantize.quantize(encoder, EncoderTest.ROWS, margin=1.5)
        self.assertFalse(any(isinstance(m, torch.nn.Linear) for m in int8.modules()))
        self.assertAlmostEqual(int8.hidden.bound, 1.5 * bounds["hidden"], places=5)
        self.assertIsInstance(encoder.hidden, torch.nn.Linear)  # a copy
        batch = model.batch_ids(EncoderTest.ROWS)
        with torch.inference_mode():
            cosine = (encoder(*batch) * int8(*batch)).sum(dim=1)
        self.assertGreater(float(cosine.min()), 0.9)


class SamplesTest(unittest.TestCase):

    def test_sample_texts_are_the_fixture_texts_then_the_extra_ones(self):
        with tempfile.TemporaryDirectory() as tmp:
            fixture = os.path.join(tmp, "reference.jsonl")
            with open(fixture, "w", encoding="utf-8") as f:
                f.write('{"text": "one", "ids": []}\n\n{"text": "two", "ids": []}\n')
            texts = samples.sample_texts(fixture)
        self.assertEqual(texts[:2], ["one", "two"])
        self.assertEqual(texts[2:], samples.EXTRA_SAMPLE_TEXTS)

    def test_dump_samples_writes_normalized_text_and_its_ids(self):
        with tempfile.TemporaryDirectory() as tmp:
            tokenizer = tiny_tokenizer(tmp)
            fixture = os.path.join(tmp, "reference.jsonl")
            with open(fixture, "w", encoding="utf-8") as f:
                f.write('{"text": "  AB\\t c ", "ids": []}\n')
            out = os.path.join(tmp, "samples.jsonl")
            count = samples.dump_samples(tokenizer, out, fixture)
            rows = samples.read_jsonl(out)
        self.assertEqual(count, 1 + len(samples.EXTRA_SAMPLE_TEXTS))
        self.assertEqual(len(rows), count)
        first = rows[0]
        self.assertEqual(first["text"], "  AB\t c ")
        self.assertEqual(first["normalized"], normalize_text("  AB\t c "))
        self.assertEqual(first["ids"], tokenizer.encode(first["normalized"]))


class CommandLineTest(unittest.TestCase):

    def test_nothing_to_do_is_a_usage_error(self):
        with contextlib.redirect_stderr(io.StringIO()) as err, \
                self.assertRaises(SystemExit) as ctx:
            use_lite.parse_args(["--package", "p"])
        self.assertEqual(ctx.exception.code, use_lite.EXIT_USAGE)
        self.assertIn("nothing to do", err.getvalue())

    def test_package_is_required(self):
        with contextlib.redirect_stderr(io.StringIO()), \
                self.assertRaises(SystemExit) as ctx:
            use_lite.parse_args(["--bench"])
        self.assertEqual(ctx.exception.code, use_lite.EXIT_USAGE)

    def test_options(self):
        args = use_lite.parse_args(["--package", "p", "--check", "f.jsonl",
                                    "--dump-samples", "s.jsonl"])
        self.assertEqual((args.package, args.out, args.check, args.bench,
                          args.dump_samples), ("p", None, "f.jsonl", False, "s.jsonl"))

    def test_a_missing_package_folder_exits_2(self):
        with contextlib.redirect_stderr(io.StringIO()) as err:
            code = use_lite.main(["--package", "/nonexistent/package", "--bench"])
        self.assertEqual(code, use_lite.EXIT_USAGE)
        self.assertIn("no package folder", err.getvalue())

    def test_the_names_other_scripts_import_are_there(self):
        # encoder_head.py and lantern_train/tokenizer.py use these.
        for name in ("EMBEDDING_DIM", "UseTokenizer", "pick_quantized_engine",
                     "quantize", "load_encoder", "batch_ids"):
            self.assertTrue(hasattr(use_lite, name), name)


if __name__ == "__main__":
    unittest.main()
