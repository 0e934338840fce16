"""Texts: sentences for the benchmark, calibration and invariance checks,
and the C++ tokenizer's parity samples (--dump-samples)."""

import json
import os

# Varied chat (calm, crisis, jokes, other languages): the texts --bench
# times and calibrates int8 on; check_invariance uses the first 12.
BENCH_SENTENCES = [
    "hi", "ok", "I'm fine, really.", "thanks for asking :)",
    "Had a rough day at work but I'm ok now, just tired.",
    "I don't think I can keep going like this anymore.",
    "nobody would even notice if I was gone",
    "I have a plan and I've written the notes for my family.",
    "my exam went terribly and I want to crawl into a hole lol",
    "this boss fight is killing me, I'm dead 💀",
    "Can we talk later? I don't really know who else to ask.",
    "I've been cutting again and I can't stop.",
    "Just got a puppy!!! best day ever",
    "The meeting is moved to 3:30 on Thursday.",
    "I feel so empty, like nothing matters anymore.",
    "WHY DOES EVERYTHING FEEL SO HEAVY RIGHT NOW",
    "i haven't eaten in two days and i'm not hungry",
    "My therapist says I'm making progress.",
    "I took all the pills in the cabinet",
    "going to the gym then dinner with mum",
    "I keep having panic attacks at night and can't breathe",
    "lol that joke killed me",
    "I'm scared of what I might do tonight",
    "Does anyone know a good pizza place nearby?",
    "she broke up with me and I can't stop crying",
    "I want to disappear forever",
    "Happy birthday!! 🎉🎂 hope it's a great one",
    "The weather is awful today, so much rain.",
    "I've been sober for 100 days today",
    "I hate myself so much",
    "Everyone would be better off without me.",
    "can you recommend a book on stoicism?",
    "I just feel numb all the time",
    "My dog died this morning and I don't know what to do",
    "I'm standing on the bridge right now",
    "Finished my thesis, finally free!",
    "I haven't slept in three days, my thoughts are racing",
    "kms lol this homework is impossible",
    "I need help but I don't know who to call",
    "We're playing board games tonight, want to come?",
    "The voices keep telling me to hurt myself",
    "I got the job!!!",
    "I'm so tired of pretending everything is okay",
    "Te echo de menos, no puedo dormir.",
    "My chest hurts when I think about the future.",
    "Honestly, some days I wonder what the point is.",
    "The recipe needs two cups of flour and an egg.",
    "I wrote goodbye letters to everyone",
    "traffic was insane, took me 2 hours to get home",
    "I am safe now, thank you for staying with me.",
]


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REFERENCE_FIXTURE = os.path.join(REPO, "tests", "data", "encoder_reference.jsonl")

# Texts added to the JS reference texts: each exercises a rule or a trap of
# UseTokenizer (ties, the "0 means unset" rule, duplicates, null scores,
# unknown characters, length).
EXTRA_SAMPLE_TEXTS = [
    "nooooo",
    "hmmmm that's sooooo weird, I'm soooooooooo tired",
    "aaaaaaaaaaaaaaaa zzzzzz",
    ":):):)",
    "ok :):( then ):): and :-):-) ...",
    ":) leading smile",
    ": leading colon",
    ":30 minutes late",
    "3:30 and 5:00",
    "😔💔🙃",
    "ok 👍🏽 see you at the 🎉 party 🏳️‍🌈 tonight",
    "”5 and “call me”5 times”5",
    "see http://example.org :// and : then ): and :( ok",
    "我今天很难过，不想和任何人说话。",
    " ".join(str(i) for i in range(1, 151)),
    "Ça va très mal, je n'arrive plus à dormir depuis Noël.",
    "help",
    "\ue000\ue001 private use, then a snowman ☃☃ and a dingbat ✿",
    " \t\n ",
]


def sample_texts(fixture_path=REFERENCE_FIXTURE):
    """The JS reference fixture's texts, then EXTRA_SAMPLE_TEXTS."""
    return [case["text"] for case in read_jsonl(fixture_path)] + EXTRA_SAMPLE_TEXTS


def dump_samples(tokenizer, out_path, fixture_path=REFERENCE_FIXTURE):
    """Writes {text, normalized, ids} JSON lines for the C++ parity test.

    normalized is Lantern's normalize_text (scripts/lantern_train/text.py,
    the same as core/text.cc); ids are UseTokenizer.encode(normalized), not
    truncated. Returns the number of samples.
    """
    # Imported here: only --dump-samples needs the training package (its
    # folder is on sys.path, see __init__.py).
    from lantern_train.text import normalize_text  # pylint: disable=import-outside-toplevel
    lines = []
    for text in sample_texts(fixture_path):
        normalized = normalize_text(text)
        lines.append(json.dumps({"text": text, "normalized": normalized,
                                 "ids": tokenizer.encode(normalized)},
                                ensure_ascii=False))
    with open(out_path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return len(lines)
