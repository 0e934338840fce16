"""export_model.py --self-test: the exporter's own unit tests (no
transformers needed; ctest runs them as export_model_selftest)."""

import io
import json
import os
import sys
import tempfile
import unicodedata
import unittest
from contextlib import redirect_stderr, redirect_stdout

from .cli import main, parse_args
from .errors import EXIT_OK, EXIT_REFUSED, EXIT_USAGE, Refusal
from .export import export
from .spec import build_spec, default_risks, labels_from_config, parse_risks, write_json
from .tokenizer_plan import (PROBES, compare_on_probes, special_ids,
                             wordpiece_settings_from_json)
from .wordpiece import WordPiece, lantern_normalize

BERT_JSON = {
    "normalizer": {"type": "BertNormalizer", "clean_text": True,
                   "handle_chinese_chars": True, "strip_accents": None, "lowercase": True},
    "pre_tokenizer": {"type": "BertPreTokenizer"},
    "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
              "max_input_chars_per_word": 100,
              "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "hello": 4,
                        "world": 5, "##s": 6, "cafe": 7, ",": 8}},
    "added_tokens": [{"id": 9, "content": "[MASK]", "special": True}],
}


class SelfTest(unittest.TestCase):
    def test_missing_transformers_exits_2_with_instructions(self):
        saved = sys.modules.get("transformers", "absent")
        sys.modules["transformers"] = None  # Makes `import transformers` fail.
        err = io.StringIO()
        try:
            with redirect_stderr(err):
                code = main(["/nonexistent", "--out", "/tmp/never-written"])
        finally:
            if saved == "absent":
                del sys.modules["transformers"]
            else:
                sys.modules["transformers"] = saved
        self.assertEqual(code, EXIT_USAGE)
        self.assertIn("`transformers` is not installed", err.getvalue())
        self.assertIn("--system-site-packages", err.getvalue())
        self.assertFalse(os.path.exists("/tmp/never-written"))

    def test_checkpoint_and_out_are_required(self):
        with redirect_stderr(io.StringIO()), self.assertRaises(SystemExit) as ctx:
            parse_args(["--out", "x"])
        self.assertEqual(ctx.exception.code, EXIT_USAGE)

    def test_bad_weight_is_a_usage_error(self):
        with redirect_stderr(io.StringIO()), self.assertRaises(SystemExit) as ctx:
            parse_args(["ckpt", "--out", "x", "--weight", "0"])
        self.assertEqual(ctx.exception.code, EXIT_USAGE)

    def test_parse_args_defaults(self):
        args = parse_args(["ckpt", "--out", "o"])
        self.assertEqual((args.max_tokens, args.weight, args.role, args.risks),
                         (128, 1.0, "user", None))

    def test_risks_in_order_and_by_name(self):
        self.assertEqual(parse_risks("0, 0.5 ,1", ["a", "b", "c"]), [0.0, 0.5, 1.0])
        self.assertEqual(parse_risks("c=1,a=0,b=0.25", ["a", "b", "c"]), [0.0, 0.25, 1.0])

    def test_bad_risks_say_what_is_wrong(self):
        cases = [("0,1", "2 values for 3 labels"), ("0,2,1", "within 0..1"),
                 ("a=0,b=1", "missing ['c']"), ("a=0,b=1,c=1,d=0", "unknown ['d']"),
                 ("0,x,1", "not a number"), ("a=0,1,1", "mixes")]
        for text, message in cases:
            with self.assertRaises(ValueError) as ctx:
                parse_risks(text, ["a", "b", "c"])
            self.assertIn(message, str(ctx.exception), text)

    def test_default_risks_are_evenly_spaced(self):
        self.assertEqual(default_risks(2), [0.0, 1.0])
        self.assertEqual(default_risks(5), [0.0, 0.25, 0.5, 0.75, 1.0])

    def test_labels_from_config_orders_by_id(self):
        self.assertEqual(labels_from_config({"1": "crisis", "0": "ok"}), ["ok", "crisis"])
        with self.assertRaises(Refusal):
            labels_from_config({0: "a", 2: "b"})

    def test_build_spec_writes_what_lantern_reads(self):
        spec = build_spec("mine", "abc", "user", ["ok", "crisis"], [0.0, 1.0],
                          {"type": "wordpiece", "model": "vocab.txt", "padId": 0,
                           "bosId": 2, "eosId": 3, "lowercase": True}, 64, 0.5)
        self.assertEqual(spec, {
            "name": "mine", "version": "abc", "role": "user", "file": "model.pt",
            "tokenizer": {"type": "wordpiece", "model": "vocab.txt", "padId": 0,
                          "bosId": 2, "eosId": 3, "lowercase": True},
            "labels": [{"name": "ok", "risk": 0.0}, {"name": "crisis", "risk": 1.0}],
            "maxTokens": 64, "weight": 0.5, "handles": 0})
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "model.json")
            write_json(path, spec)
            with open(path, encoding="utf-8") as f:
                self.assertEqual(json.load(f), spec)
        with self.assertRaises(ValueError):
            build_spec("m", "v", "r", ["a", "b"], [0.0], {}, 64, 1.0)

    def test_wordpiece_settings_from_bert_json(self):
        settings = wordpiece_settings_from_json(BERT_JSON)
        self.assertTrue(settings["lowercase"])
        self.assertTrue(settings["strip_accents"])  # null follows lowercase
        self.assertEqual(settings["vocab"][4], "hello")
        self.assertEqual(settings["vocab"][9], "[MASK]")
        cased = json.loads(json.dumps(BERT_JSON))
        cased["normalizer"].update(lowercase=False, strip_accents=None)
        self.assertFalse(wordpiece_settings_from_json(cased)["strip_accents"])

    def test_other_tokenizers_are_refused_with_a_reason(self):
        bpe = {"model": {"type": "BPE", "vocab": {}}, "normalizer": None}
        with self.assertRaises(Refusal) as ctx:
            wordpiece_settings_from_json(bpe)
        self.assertIn("BPE", str(ctx.exception))
        no_cjk = json.loads(json.dumps(BERT_JSON))
        no_cjk["normalizer"]["handle_chinese_chars"] = False
        with self.assertRaises(Refusal):
            wordpiece_settings_from_json(no_cjk)
        gap = json.loads(json.dumps(BERT_JSON))
        gap["added_tokens"][0]["id"] = 12
        with self.assertRaises(Refusal) as ctx:
            wordpiece_settings_from_json(gap)
        self.assertIn("contiguous", str(ctx.exception))

    def test_wordpiece_known_tokenizations(self):
        vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "hello", "world", "##s", "cafe",
                 ",", "un", "##believ", "##able", "!", "我", "i", "'", "m", "."]
        wp = WordPiece(vocab, lowercase=True)
        self.assertEqual(wp.tokenize("Hello, Worlds!"), ["hello", ",", "world", "##s", "!"])
        self.assertEqual(wp.tokenize("CAFÉ unbelievable"), ["cafe", "un", "##believ", "##able"])
        self.assertEqual(wp.tokenize("unbelievably 我"), ["[UNK]", "我"])
        self.assertEqual(wp.tokenize("I'm\u200b."), ["i", "'", "m", "."])
        self.assertEqual(wp.tokenize("s" * 101), ["[UNK]"])
        cased = WordPiece(vocab, lowercase=False)
        self.assertEqual(cased.tokenize("Hello hello café"), ["[UNK]", "hello", "[UNK]"])

    def test_lantern_normalize_matches_core_text(self):
        self.assertEqual(lantern_normalize("  a\t\tb\u200d\nc\u00a0 "), "a b c")
        self.assertEqual(lantern_normalize("ﬁne…"), "fine...")

    def test_probes_are_unchanged_by_nfkc(self):
        # Otherwise a tokenizer would be refused for a difference that is
        # Lantern's normalisation, not its tokenizer.
        for text in PROBES:
            self.assertEqual(unicodedata.normalize("NFKC", text), text)

    def test_probe_comparison_reports_disagreements(self):
        bad = compare_on_probes(lambda t: [len(t)], lambda t: [len(t.strip())],
                                probes=["same", " differs "])
        self.assertEqual(bad, [" differs "])

    def test_special_ids_from_a_fake_tokenizer(self):
        class Fake:
            def __call__(self, text, add_special_tokens=True):
                ids = [7, 8]
                return {"input_ids": [101] + ids + [102] if add_special_tokens else ids}
        self.assertEqual(special_ids(Fake()), (101, 102))


class ExportWithStandInTransformersTest(unittest.TestCase):
    """export() end to end with a stand-in for the parts of `transformers` it
    uses: a Python-only BERT-like tokenizer and a small masked-mean model."""

    def setUp(self):
        try:
            import torch
        except ImportError:
            self.skipTest("torch is not installed")
        self.torch = torch

    def stand_in(self, vocab, lowercase):
        torch = self.torch
        wp = WordPiece(vocab, lowercase=lowercase)

        class Tokenizer:
            unk_token = "[UNK]"
            pad_token_id = 0

            def __init__(self):
                self.vocab = {e: i for i, e in enumerate(vocab)}
                self.basic_tokenizer = type("Basic", (), dict(
                    do_lower_case=lowercase, strip_accents=None,
                    tokenize_chinese_chars=True))()
                self.wordpiece_tokenizer = object()

            def get_added_vocab(self):
                return {}

            def __call__(self, text, add_special_tokens=True):
                ids = wp.encode(text)
                return {"input_ids": [2] + ids + [3] if add_special_tokens else ids}

        class Model(torch.nn.Module):
            def __init__(self):
                super().__init__()
                torch.manual_seed(0)
                self.config = type("Config", (), dict(
                    id2label={0: "calm", 1: "crisis"}, max_position_embeddings=64,
                    vocab_size=len(vocab)))()
                self.embed = torch.nn.Embedding(len(vocab), 8)
                self.out = torch.nn.Linear(8, 2)

            def forward(self, input_ids=None, attention_mask=None, token_type_ids=None):
                m = attention_mask.unsqueeze(-1).float()
                pooled = (self.embed(input_ids) * m).sum(1) / m.sum(1).clamp(min=1.0)
                return (self.out(pooled),)

        auto_tok = type("AutoTokenizer", (), dict(
            from_pretrained=staticmethod(lambda path: Tokenizer())))
        auto_model = type("AutoModel", (), dict(
            from_pretrained=staticmethod(lambda path, torchscript: Model())))
        return type("Transformers", (), dict(
            AutoTokenizer=auto_tok, AutoModelForSequenceClassification=auto_model))

    def test_writes_a_folder_lantern_can_load(self):
        vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"] + sorted(set(
            "abcdefghijklmnopqrstuvwxyz0123456789.,!?'@:/-&()=_" + "我很好谢你呢"
            "ąçãéíóúàèüñöß😀🙂")) + ["##" + c for c in "abcdefghijklmnopqrstuvwxyz0123456789"]
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "mine")
            args = parse_args([tmp, "--out", out, "--risks", "calm=0,crisis=1",
                               "--max-tokens", "32"])
            with redirect_stdout(io.StringIO()) as printed:
                export(args, self.torch, self.stand_in(vocab, lowercase=True))
            self.assertIn('next: add "mine" to the "models" list', printed.getvalue())
            self.assertEqual(sorted(os.listdir(out)), ["model.json", "model.pt", "vocab.txt"])
            with open(os.path.join(out, "model.json"), encoding="utf-8") as f:
                spec = json.load(f)
            self.assertEqual(spec["tokenizer"], {
                "type": "wordpiece", "model": "vocab.txt", "padId": 0, "bosId": 2,
                "eosId": 3, "lowercase": True, "stripAccents": True, "unkToken": "[UNK]"})
            self.assertEqual([l["name"] for l in spec["labels"]], ["calm", "crisis"])
            self.assertEqual((spec["maxTokens"], spec["name"]), (32, "mine"))
            with open(os.path.join(out, "vocab.txt"), encoding="utf-8") as f:
                self.assertEqual(f.read().split("\n")[:-1], vocab)
            module = self.torch.jit.load(os.path.join(out, "model.pt"))
            ids = self.torch.tensor([[2, 10, 11, 3, 0, 0]])
            mask = self.torch.tensor([[1, 1, 1, 1, 0, 0]])
            self.assertEqual(tuple(module(ids, mask).shape), (1, 2))
            # A second export into the same folder needs --force.
            with self.assertRaises(Refusal):
                export(args, self.torch, self.stand_in(vocab, lowercase=True))


def run_self_test():
    loader = unittest.defaultTestLoader
    suite = unittest.TestSuite([loader.loadTestsFromTestCase(SelfTest),
                                loader.loadTestsFromTestCase(ExportWithStandInTransformersTest)])
    result = unittest.TextTestRunner(verbosity=1).run(suite)
    return EXIT_OK if result.wasSuccessful() else EXIT_REFUSED
