"""The exporter's pure parts (lantern_export) that its --self-test does not
cover: options, vocabularies, the tokenizer plan with stand-in tokenizers
(WordPiece and a real tiny SentencePiece model), risks, the file version.
ctest export_model_selftest runs the self-test itself."""

import contextlib
import hashlib
import io
import os
import pathlib
import sys
import tempfile
import unittest

import sentencepiece as spm

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import export_model  # noqa: E402
from lantern_export import cli, errors, export, spec, tokenizer_plan  # noqa: E402
from lantern_export.errors import Refusal  # noqa: E402
from lantern_export.wordpiece import WordPiece  # noqa: E402

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"] + sorted(set(
    "abcdefghijklmnopqrstuvwxyz0123456789.,!?'@:/-&()=_;~+%*#$^")) + [
    "##" + c for c in "abcdefghijklmnopqrstuvwxyz0123456789"]


class SlowBert:
    """A Python-only BERT-like tokenizer: basic_tokenizer, vocab, added vocab."""

    unk_token = "[UNK]"

    def __init__(self, lowercase=True, chinese=True, encode=None, pad=0):
        self.vocab = {e: i for i, e in enumerate(VOCAB)}
        self.basic_tokenizer = type("Basic", (), dict(
            do_lower_case=lowercase, strip_accents=None,
            tokenize_chinese_chars=chinese))()
        self.wordpiece_tokenizer = object()
        self.pad_token_id = pad
        self.encode = encode or WordPiece(VOCAB, lowercase=True).encode

    def get_added_vocab(self):
        return {}

    def __call__(self, text, add_special_tokens=True):
        ids = list(self.encode(text))
        return {"input_ids": [2] + ids + [3] if add_special_tokens else ids}


class CommandLineTest(unittest.TestCase):

    def parse_error(self, argv):
        with contextlib.redirect_stderr(io.StringIO()) as err, \
                self.assertRaises(SystemExit) as ctx:
            cli.parse_args(argv)
        self.assertEqual(ctx.exception.code, errors.EXIT_USAGE)
        return err.getvalue()

    def test_self_test_needs_no_checkpoint(self):
        self.assertTrue(cli.parse_args(["--self-test"]).self_test)

    def test_too_few_max_tokens_is_a_usage_error(self):
        self.assertIn("--max-tokens must be >= 3",
                      self.parse_error(["ckpt", "--out", "o", "--max-tokens", "2"]))

    def test_out_alone_is_a_usage_error(self):
        self.assertIn("CHECKPOINT and --out are required", self.parse_error(["ckpt"]))

    def test_every_option(self):
        args = cli.parse_args(["ckpt", "--out", "o", "--name", "n", "--role", "r",
                               "--risks", "0,1", "--max-tokens", "64", "--weight", "0.5",
                               "--skip-tokenizer-check", "--force"])
        self.assertEqual(
            (args.checkpoint, args.out, args.name, args.role, args.risks, args.max_tokens,
             args.weight, args.skip_tokenizer_check, args.force, args.self_test),
            ("ckpt", "o", "n", "r", "0,1", 64, 0.5, True, True, False))

    def test_script_keeps_its_names(self):
        # tests/data/make_wordpiece_samples.py imports these.
        self.assertIs(export_model.WordPiece, WordPiece)
        self.assertTrue(callable(export_model.lantern_normalize))
        self.assertIs(export_model.main, cli.main)


class VocabularyTest(unittest.TestCase):

    def test_vocab_list_orders_by_id(self):
        self.assertEqual(tokenizer_plan.vocab_list({"b": 1, "a": 0, "c": 2}), ["a", "b", "c"])

    def test_vocab_list_refuses_what_vocab_txt_cannot_hold(self):
        for vocab_map, message in (({"a": 0, "b": 2}, "contiguous"),
                                   ({"a": 0, "b\nc": 1}, "line break")):
            with self.assertRaises(Refusal) as ctx:
                tokenizer_plan.vocab_list(vocab_map)
            self.assertIn(message, str(ctx.exception))

    def test_settings_from_a_slow_tokenizer(self):
        settings = tokenizer_plan.wordpiece_settings_from_slow(SlowBert())
        self.assertEqual((settings["lowercase"], settings["strip_accents"],
                          settings["unk_token"]), (True, True, "[UNK]"))
        self.assertEqual(settings["vocab"], VOCAB)
        with self.assertRaises(Refusal):
            tokenizer_plan.wordpiece_settings_from_slow(SlowBert(chinese=False))

    def test_special_ids_refuses_two_tokens_on_one_side(self):
        class TwoBefore:
            def __call__(self, text, add_special_tokens=True):
                return {"input_ids": [1, 2, 7, 8] if add_special_tokens else [7, 8]}
        with self.assertRaises(Refusal):
            tokenizer_plan.special_ids(TwoBefore())


class PlanTest(unittest.TestCase):

    def test_wordpiece_plan(self):
        plan = tokenizer_plan.plan_tokenizer(SlowBert(pad=0), "unused")
        self.assertEqual(plan["spec"], {
            "type": "wordpiece", "model": "vocab.txt", "padId": 0, "bosId": 2, "eosId": 3,
            "lowercase": True, "stripAccents": True, "unkToken": "[UNK]"})
        self.assertEqual((plan["vocab"], plan["copy"]), (VOCAB, None))

    def test_wordpiece_disagreement_is_refused_unless_skipped(self):
        shifted = SlowBert(encode=lambda t: [i + 1 for i in WordPiece(VOCAB, True).encode(t)])
        with self.assertRaises(Refusal) as ctx:
            tokenizer_plan.plan_tokenizer(shifted, "unused")
        self.assertIn("of %d probe sentences" % len(tokenizer_plan.PROBES), str(ctx.exception))
        plan = tokenizer_plan.plan_tokenizer(shifted, "unused", skip_check=True)
        self.assertEqual(plan["spec"]["type"], "wordpiece")

    def test_neither_wordpiece_nor_sentencepiece_is_refused(self):
        class ByteBpe:
            pad_token_id = None

            def __call__(self, text, add_special_tokens=True):
                return {"input_ids": [0, 5, 2] if add_special_tokens else [5]}
        with tempfile.TemporaryDirectory() as tmp, self.assertRaises(Refusal) as ctx:
            tokenizer_plan.plan_tokenizer(ByteBpe(), tmp)
        self.assertIn("ByteBpe is neither BERT-style WordPiece", str(ctx.exception))

    def test_sentencepiece_plan_checks_the_ids_against_the_model(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "spiece.model")
            model = io.BytesIO()
            text = [p.lower() for p in tokenizer_plan.PROBES] * 3
            spm.SentencePieceTrainer.train(
                sentence_iterator=iter(text), model_writer=model, model_type="unigram",
                vocab_size=100, hard_vocab_limit=False, character_coverage=1.0,
                num_threads=1, minloglevel=2)
            with open(path, "wb") as f:
                f.write(model.getvalue())
            sp = spm.SentencePieceProcessor(model_file=path)

            def tokenizer(shift):
                class Spiece:
                    pad_token_id = 0
                    vocab_file = path

                    def __call__(self, text, add_special_tokens=True):
                        ids = [i + shift for i in sp.encode(text)]
                        return {"input_ids": ids + [1] if add_special_tokens else ids}
                return Spiece()
            self.assertEqual(tokenizer_plan.find_sentencepiece_file(tokenizer(0), tmp), path)
            plan = tokenizer_plan.plan_tokenizer(tokenizer(0), tmp)
            self.assertEqual(plan["spec"], {"type": "sentencepiece", "model": "spiece.model",
                                            "padId": 0, "bosId": -1, "eosId": 1})
            self.assertEqual((plan["vocab"], plan["copy"]), (None, path))
            with self.assertRaises(Refusal) as ctx:
                tokenizer_plan.plan_tokenizer(tokenizer(1), tmp)
            self.assertIn("shifts ids", str(ctx.exception))

    def test_find_sentencepiece_file_looks_in_the_checkpoint(self):
        with tempfile.TemporaryDirectory() as tmp:
            self.assertIsNone(tokenizer_plan.find_sentencepiece_file(object(), tmp))
            path = os.path.join(tmp, "tokenizer.model")
            open(path, "wb").close()
            self.assertEqual(tokenizer_plan.find_sentencepiece_file(object(), tmp), path)


class SpecTest(unittest.TestCase):

    def test_risks_without_the_option_are_spaced_evenly_with_a_warning(self):
        with contextlib.redirect_stderr(io.StringIO()) as err:
            risks = export.label_risks(None, ["calm", "low", "crisis"])
        self.assertEqual(risks, [0.0, 0.5, 1.0])
        self.assertIn("calm=0.0, low=0.5, crisis=1.0", err.getvalue())

    def test_bad_risks_are_a_refusal(self):
        with self.assertRaises(Refusal) as ctx:
            export.label_risks("0,1", ["a", "b", "c"])
        self.assertIn("2 values for 3 labels", str(ctx.exception))
        self.assertEqual(export.label_risks("b=1,a=0", ["a", "b"]), [0.0, 1.0])

    def test_file_version_is_a_sha256_prefix(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "model.pt")
            with open(path, "wb") as f:
                f.write(b"weights")
            self.assertEqual(spec.file_version(path),
                             hashlib.sha256(b"weights").hexdigest()[:10])

    def test_build_spec_refuses_bad_numbers(self):
        for max_tokens, weight in ((2, 1.0), (64, 0.0)):
            with self.assertRaises(ValueError):
                spec.build_spec("m", "v", "r", ["a", "b"], [0.0, 1.0], {}, max_tokens, weight)


if __name__ == "__main__":
    unittest.main()
