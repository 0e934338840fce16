"""Export of a Hugging Face sequence-classification checkpoint for Lantern.

scripts/export_model.py is the command line (its docstring says what is
written and which tokenizers Lantern runs); this package does the work:

  errors          exit codes and Refusal (the reason an export is refused)
  wordpiece       Lantern's normalisation and WordPiece tokenizer in Python
  tokenizer_plan  which tokenizer the checkpoint uses, compared with
                  Lantern's on probe sentences; what to write for it
  spec            labels, risks (--risks) and model.json
  trace           the traced TorchScript model and its checks
  export          export(): the steps above, then the files written
  cli             options, missing dependencies, exit codes
  selftest        --self-test: the unit tests (no transformers needed)
"""
