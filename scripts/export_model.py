#!/usr/bin/python3
"""Export a Hugging Face sequence-classification checkpoint for Lantern.

    /usr/bin/python3 scripts/export_model.py CHECKPOINT_DIR --out models/mine/mymodel \\
        [--name mymodel] [--risks 0,0.5,1] [--max-tokens 128] [--weight 0.3]

CHECKPOINT_DIR is what `save_pretrained` wrote for an
AutoModelForSequenceClassification and its AutoTokenizer (config.json,
weights, tokenizer files). The script writes into --out:

    model.pt     TorchScript: forward(input_ids int64[B,T], attention_mask
                 int64[B,T]) -> logits float[B, labels]
    model.json   the Lantern spec: labels from config.id2label, their risks,
                 tokenizer settings, max tokens, weight
    vocab.txt    (BERT-style WordPiece tokenizers) or the SentencePiece
                 .model file (SentencePiece tokenizers)

then add the folder's name to the "models" list of the model directory's
ensemble.json.

Tokenizers Lantern can run: BERT-style WordPiece (BERT, DistilBERT,
ELECTRA, MiniLM and other vocab.txt models; lower-casing and accent
stripping are taken from the tokenizer) and SentencePiece models whose ids
Hugging Face uses unchanged (e.g. ALBERT-style spiece.model without extra
preprocessing, T5). Everything else (byte-level BPE as in RoBERTa/GPT-2,
SentencePiece with id offsets as in XLM-R/CamemBERT, or with Python-side
preprocessing) is refused with the reason. Before writing anything the
script tokenizes probe sentences with both Hugging Face and Lantern's
algorithm and refuses if they differ.

Risks: each label needs a risk in 0..1 (what the label means for crisis
triage). Give them with --risks, in label order ("0,0.2,1") or by name
("negative=0,neutral=0.1,positive=0"). Without --risks they are spaced
evenly from 0 to 1 in label order, which is only right if the labels are
ordered from safe to dangerous: the script warns loudly.

Needs Debian's python3-torch and Hugging Face `transformers` (not packaged
in Debian; install it in a virtualenv created with
`python3 -m venv --system-site-packages` so Debian's torch is used).
TorchScript saved by torch 2.x may not load in libtorch 1.13, which Lantern
links: export with torch 1.13 (/usr/bin/python3 on Debian 12).

Exit status: 0 written; 1 refused (unsupported tokenizer or model, checks
failed); 2 usage error or missing dependency.

`--self-test` runs this script's own unit tests (no transformers needed).

This file is the command line's entry point; the work is done by the
package scripts/lantern_export/ (its __init__.py lists the modules).
tests/data/make_wordpiece_samples.py imports WordPiece and
lantern_normalize from here.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# pylint: disable=wrong-import-position
from lantern_export.cli import main  # noqa: E402
from lantern_export.wordpiece import WordPiece, lantern_normalize  # noqa: E402

# What tests/data/make_wordpiece_samples.py imports from here.
__all__ = ["WordPiece", "lantern_normalize", "main"]

if __name__ == "__main__":
    sys.exit(main())
