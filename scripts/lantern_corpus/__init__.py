"""Generation of data/corpus/generated.jsonl, by responsibility.

scripts/generate_corpus.py is the command line; this package does the work:

  words      picking and joining fragments
  crisis     fragments and sentence forms of the crisis, self-harm and
             distress families
  chat       fragments and sentence forms of ordinary chat, the false-alarm
             families and the LGBTQIA+ families
  languages  fragments and forms in Spanish, French, German and Portuguese
  generate   chat-style variation, per-family caps, rows and templates

Every fragment was written for Lantern; none is taken from a third-party
list. scripts/split_corpus.py (imported as a top-level module) supplies the
family names and the duplicate key, so its folder goes on sys.path here.
"""

import pathlib
import sys

_SCRIPTS = str(pathlib.Path(__file__).resolve().parent.parent)
if _SCRIPTS not in sys.path:
    sys.path.insert(0, _SCRIPTS)
