"""Training of Lantern's default models, by responsibility.

scripts/train_models.py is the command line; this package does the work:

  constants  labels, label risks, level indices, quality targets, seeds
  text       normalisation, exactly as core/text.cc (the C++ server)
  data       corpus loading and splits, labels of the auxiliary models,
             corpus version
  augment    chat-style variants of training messages
  tokenizer  the shared SentencePiece model, encoding, padding, samples
             for the C++ tokenizer test
  models     the architectures trained from scratch
  training   the training loop (Adam, best epoch on dev) and seeding
  ensemble   per-model scores combined exactly as core/ensemble.cc does
  metrics    target metrics of a set of predictions
  tuning     the search over combine mode, weights, modifier strength and
             thresholds, on dev only
  report     printed and JSON reports of the splits
  sanity     sentences every trained ensemble must rate right
  export     TorchScript export, model.json and ensemble.json
  pipeline   train every member, tune, write the model directory
  cv         group cross-validation (--cv, --cv-heads)
  parity     the golden file shared with the C++ ensemble parity test

Sibling scripts (split_corpus, encoder_head, use_lite) are imported as
top-level modules, so their folder goes on sys.path here.
"""

import pathlib
import sys

_SCRIPTS = str(pathlib.Path(__file__).resolve().parent.parent)
if _SCRIPTS not in sys.path:
    sys.path.insert(0, _SCRIPTS)
