"""The PyTorch port of Universal Sentence Encoder Lite, by responsibility.

scripts/use_lite.py is the command line (and the module other scripts
import: it re-exports the names below that they use); this package does
the work:

  graph      dist/model.json and its weight shards read; the op check
  model      the encoder as a TorchScript-able module, built from the graph;
             batch_ids (right padding)
  tokenizer  UseTokenizer, an exact port of the package's JS tokenizer
  quantize   int8 on input ranges fixed at calibration (FixedRangeInt8Linear)
  checks     --check: ids and embeddings against the JS runtime's fixture,
             padding and batch invariance
  bench      --bench: fp32 vs int8 speed and agreement
  samples    the benchmark sentences and the C++ tokenizer's parity samples
             (--dump-samples)

samples imports lantern_train (Lantern's text normalisation), a sibling
package, so the scripts folder goes on sys.path here.
"""

import pathlib
import sys

_SCRIPTS = str(pathlib.Path(__file__).resolve().parent.parent)
if _SCRIPTS not in sys.path:
    sys.path.insert(0, _SCRIPTS)
