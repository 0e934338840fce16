#!/usr/bin/python3
"""Writes data/corpus/generated.jsonl from the project's own phrase fragments.

The hand-written files in data/corpus/ are the core of the corpus. This script
adds variety by composing short fragments (all written for Lantern, none taken
from any third-party list) into chat-style messages, then varying case,
punctuation, emoji and spelling the way people do on Discord.

The output is deterministic: the same script always writes the same file.
Messages whose normalised key already occurs in a hand-written file are
skipped, so the generated file never duplicates an authored line.

Usage:
  /usr/bin/python3 scripts/generate_corpus.py [--corpus-dir data/corpus]
      [--per-family N]
"""

import argparse
import json
import pathlib
import random
import re
import unicodedata

SEED = 20240611
OUTPUT_NAME = "generated.jsonl"

# Sentences that scripts/train_models.py uses as held-out sanity checks; the
# generator must never produce them.
RESERVED = [
    "I have the pills and I'm doing it tonight",
    "what time is the raid tonight?",
]

# ---------------------------------------------------------------------------
# Fragments. Each family maps to (level, tags, builder). Builders take a
# random.Random and return one message.
# ---------------------------------------------------------------------------

INTENT = [
    "i'm going to kill myself", "i'm ending it", "i'm doing it",
    "i'm going to end my life", "i'm going through with it",
    "i'm taking my own life", "it ends", "i'm finally doing it",
    "i'm going to do it", "this is when i go",
]
TIMEFRAME = [
    "tonight", "tomorrow morning", "this weekend", "in an hour",
    "after everyone goes to sleep", "on friday", "before sunrise",
    "right after school", "when my shift ends", "at midnight",
    "as soon as my parents leave", "later tonight", "in a few hours",
]
MEANS = [
    "i have the pills", "the rope is ready", "i've got my dad's gun",
    "i've saved up enough of my meds", "i bought the blades",
    "i know which bridge", "i've got two packs of tablets",
    "the car is in the garage", "i have the whole bottle here",
    "i've got the knife", "i found where they hide the key to the gun safe",
]
CLOSER = [
    "", "bye", "don't try to stop me", "i'm sorry", "nobody can change my mind",
    "i just wanted someone to know", "please don't blame yourselves",
    "thank you for everything", "it's decided",
]
GOODBYE_OPEN = [
    "goodbye everyone", "this is goodbye", "bye guys", "last message from me",
    "i'm saying goodbye", "farewell server", "so this is it",
]
GOODBYE_BODY = [
    "thank you for being there", "you were the best part of my days",
    "please take care of each other", "i won't be coming back",
    "i'm not going to be alive tomorrow", "don't be sad for me",
    "i'm leaving for good tonight", "i love you all",
    "i already wrote my letters",
]
IDEATION_START = [
    "", "honestly", "ngl", "idk anymore", "lately", "every night",
    "i can't lie", "tbh", "not gonna pretend", "again",
]
IDEATION_CORE = [
    "i want to die", "i keep thinking about killing myself",
    "i don't want to be alive anymore", "i think about ending it all the time",
    "i wish i was dead", "i want to kill myself",
    "i'm thinking about suicide", "i want to end my life",
    "i don't see a reason to live", "i keep picturing my own death",
    "suicide feels like the only way out",
]
IDEATION_TAIL = [
    "", "and it's getting worse", "and i don't know who to tell",
    "and it scares me", "...", "😞", "and nobody knows", "for real this time",
    "since the breakup", "since i moved here", "and i can't stop",
]
PASSIVE_CORE = [
    "i hope i don't wake up tomorrow", "i wish i could just stop existing",
    "i wouldn't mind if i died", "i want to fall asleep and never wake up",
    "i wish i'd never been born", "dying sounds like a relief",
    "i keep hoping something will just end me",
    "i'd be fine if a car hit me", "i wish i could vanish for good",
]
SELF_HARM_CORE = [
    "i cut again", "i hurt myself again", "i relapsed and cut",
    "i burned myself again", "i've been cutting every day",
    "i can't stop hurting myself", "i self harmed again",
]
SELF_HARM_TAIL = [
    "", "tonight", "last night", "and it's worse than before", "i'm so ashamed",
    "nobody knows", "after months clean", "and i can't make it stop",
]
HOPELESS_CORE = [
    "nothing is ever going to get better", "i don't see the point anymore",
    "i've given up on everything", "i'm so tired of trying",
    "there's no way out of this", "i can't keep going like this",
    "everything feels pointless", "i'm completely numb",
]
BURDEN_CORE = [
    "i'm such a burden", "everyone would be better off without me",
    "i'm worthless", "i ruin everything", "nobody would miss me",
    "i hate myself", "i'm a waste of space",
]
ISOLATION_CORE = [
    "i have nobody to talk to", "i'm completely alone",
    "nobody cares about me", "no one ever checks on me",
    "everyone left me", "i don't have a single friend",
]
PANIC_CORE = [
    "i'm having a panic attack", "i can't breathe and i'm shaking",
    "my heart won't stop racing", "i'm freaking out and can't calm down",
]
DISTRESS_CONTEXT = [
    "", "at school", "at home", "since the breakup", "since my dad left",
    "at work", "since i moved", "tonight", "again", "lately",
]
WORRIED_PERSON = [
    "my friend", "my best friend", "my sister", "my brother", "my roommate",
    "my girlfriend", "my boyfriend", "someone in my class", "a guy in my guild",
    "my online friend", "my cousin", "my partner",
]
WORRIED_SIGN = [
    "keeps saying she wants to disappear", "has been giving his stuff away",
    "said nobody would miss him", "has stopped eating",
    "told me she's been cutting",
    "posted something that sounded like a goodbye",
    "keeps joking about dying and it's not funny anymore",
    "hasn't answered in days after a really dark message",
    "said they're a burden to everyone",
]
WORRIED_ASK = [
    "what do i do", "how do i help", "i'm really worried",
    "should i tell someone",
    "i'm scared for them", "can a mod help",
]
ABUSE_CORE = [
    "my dad hit me again", "i'm scared to go home", "my mom threw things at me",
    "my partner won't let me leave", "i don't feel safe at home",
    "my stepdad threatened me", "i got kicked out and have nowhere to sleep",
]
LOW_OPEN = ["", "ugh", "man", "honestly", "welp", "sigh", "lol"]
LOW_CORE = [
    "today was rough", "i'm so stressed about {thing}",
    "feeling kinda down about {thing}", "i'm tired of {thing}",
    "{thing} is really getting to me", "bit sad about {thing}",
    "i'm anxious about {thing}", "not a great day because of {thing}",
]
LOW_THING = [
    "exams", "work", "my ex", "moving", "money", "the group project",
    "my grades", "my job interview", "my parents fighting", "finals",
    "my sleep schedule", "the breakup", "uni applications",
]
GAME_BOSS = [
    "the frost giant", "that stupid dragon", "the swamp witch",
    "the last boss", "the clockwork knight", "this raid boss",
    "the twin sisters", "the lava golem", "the first miniboss",
]
GAME_COUNT = ["20", "30", "40", "50", "like 100", "a million", "so many"]
GAME_REACT = [
    "", "lol", "💀", "i'm losing it", "send help", "gg", "😭", "pls nerf",
    "finally got him though", "going to bed",
]
GAME_ASK = [
    "when's the {mode} tonight?", "who's up for {mode} at {time}?",
    "is the {mode} still on for {time}?", "need 2 more for {mode}",
    "{mode} at {time}, don't be late", "anyone wanna {mode} later?",
    "can we push the {mode} to {time}?",
]
GAME_MODE = [
    "raid", "ranked", "dungeon run", "scrim", "guild war", "boss rush",
    "duo queue", "speedrun", "minecraft session", "custom games",
]
GAME_TIME = [
    "8", "9pm", "9:30", "midnight", "after dinner", "10 est", "tonight",
]
HYPER_TASK = [
    "this homework", "my commute", "this heat", "calc", "the group chat",
    "this essay", "my boss", "this staircase", "studying for finals",
    "this cold", "the new schedule", "organic chemistry",
]
HYPER_CORE = [
    "{task} is killing me", "{task} is going to be the death of me",
    "{task} is murdering me", "i'm dead, {task} wiped me out",
    "{task} wants me dead lol",
]
LAUGH_CORE = [
    "i'm dead 💀", "i'm dying 😂", "this killed me", "lmao i'm deceased",
    "i'm crying 😭", "stop i can't breathe", "i'm wheezing",
]
LAUGH_ABOUT = [
    "", "this video", "my cat just fell off the couch", "that meme",
    "your pfp", "the teacher's face", "the dog's little hat",
]
EVERYDAY_ASK = [
    "anyone want to {act} {when}?", "who's down to {act} {when}",
    "i'm going to {act} {when}", "just finished {done}!",
    "finally {done}", "can't wait to {act} {when}",
]
EVERYDAY_ACT = [
    "watch a movie", "study in vc", "get food", "go for a walk",
    "play some chess", "draw together", "bake cookies", "listen to music",
]
EVERYDAY_WHEN = ["tonight", "later", "this weekend", "after class", "tomorrow"]
EVERYDAY_DONE = [
    "my essay", "my first marathon", "the puzzle", "cleaning my room",
    "my art project", "the book", "my driving lessons",
]
# Endings for messages with a crisis signal and for everything else. People
# do mask distress with "lol", so it appears in both.
EMOJI_SAD = ["", "", "", " 😔", " 💔", " 😞", " 🖤", " ...", " lol"]
EMOJI_ANY = [
    "", "", "", " 😭", " 🙃", " lol", " 😅", " 🥲", " 💀", " haha",
]


def _pick(rng, items):
    """Returns one element of a list."""
    return items[rng.randrange(len(items))]


def _join(*parts):
    """Joins non-empty fragments with a single space."""
    return " ".join(p for p in parts if p)


def _critical_intent(rng):
    """Intent plus means and/or timeframe."""
    form = rng.randrange(4)
    intent = _pick(rng, INTENT)
    time = _pick(rng, TIMEFRAME)
    means = _pick(rng, MEANS)
    if form == 0:
        text = f"{means} and {intent} {time}"
    elif form == 1:
        text = f"{intent} {time}. {means}"
    elif form == 2:
        text = f"{time} {intent}. {means}"
    else:
        text = f"{means}. {time}"
    return _join(text, _pick(rng, CLOSER))


def _critical_goodbye(rng):
    return f"{_pick(rng, GOODBYE_OPEN)}. {_pick(rng, GOODBYE_BODY)}"


def _high_ideation(rng):
    return _join(_pick(rng, IDEATION_START), _pick(rng, IDEATION_CORE),
                 _pick(rng, IDEATION_TAIL))


def _high_passive(rng):
    return _join(_pick(rng, IDEATION_START), _pick(rng, PASSIVE_CORE))


def _high_self_harm(rng):
    return _join(_pick(rng, SELF_HARM_CORE), _pick(rng, SELF_HARM_TAIL))


def _medium_from(core):
    def build(rng):
        return _join(_pick(rng, core), _pick(rng, DISTRESS_CONTEXT))
    return build


def _medium_worried(rng):
    return (f"{_pick(rng, WORRIED_PERSON)} {_pick(rng, WORRIED_SIGN)}, "
            f"{_pick(rng, WORRIED_ASK)}")


def _low_venting(rng):
    core = _pick(rng, LOW_CORE).format(thing=_pick(rng, LOW_THING))
    return _join(_pick(rng, LOW_OPEN), core)


def _none_gaming_death(rng):
    boss, count = _pick(rng, GAME_BOSS), _pick(rng, GAME_COUNT)
    return _join(f"{boss} killed me {count} times", _pick(rng, GAME_REACT))


def _none_gaming_ask(rng):
    return _pick(rng, GAME_ASK).format(mode=_pick(rng, GAME_MODE),
                                       time=_pick(rng, GAME_TIME))


def _none_hyperbole(rng):
    return _pick(rng, HYPER_CORE).format(task=_pick(rng, HYPER_TASK))


def _none_laugh(rng):
    return _join(_pick(rng, LAUGH_CORE), _pick(rng, LAUGH_ABOUT))


def _none_everyday(rng):
    return _pick(rng, EVERYDAY_ASK).format(act=_pick(rng, EVERYDAY_ACT),
                                           when=_pick(rng, EVERYDAY_WHEN),
                                           done=_pick(rng, EVERYDAY_DONE))


# family -> (level, tags, builder, share of --per-family)
FAMILIES = {
    "explicit_intent": ("critical", ["explicit_intent"], _critical_intent, 1.5),
    "goodbye": ("critical", ["goodbye"], _critical_goodbye, 0.6),
    "ideation": ("high", ["ideation"], _high_ideation, 1.0),
    "passive_ideation": ("high", ["passive_ideation"], _high_passive, 0.5),
    "self_harm_current": ("high", ["self_harm_current"], _high_self_harm, 0.5),
    "hopelessness": ("medium", ["hopelessness"], _medium_from(HOPELESS_CORE),
                     0.5),
    "burden": ("medium", ["burden"], _medium_from(BURDEN_CORE), 0.4),
    "isolation": ("medium", ["isolation"], _medium_from(ISOLATION_CORE), 0.4),
    "panic": ("medium", ["panic"], _medium_from(PANIC_CORE), 0.3),
    "abuse": ("medium", ["abuse"], _medium_from(ABUSE_CORE), 0.3),
    "worried_other": ("medium", ["worried_other"], _medium_worried, 0.6),
    "venting": ("low", ["venting"], _low_venting, 1.6),
    "gaming_death": ("none", ["gaming"], _none_gaming_death, 1.0),
    "gaming_ask": ("none", ["gaming"], _none_gaming_ask, 0.8),
    "hyperbole": ("none", ["hyperbole"], _none_hyperbole, 0.8),
    "laugh": ("none", ["slang"], _none_laugh, 0.6),
    "everyday": ("none", ["everyday"], _none_everyday, 0.8),
}

# ---------------------------------------------------------------------------
# Surface variation.
# ---------------------------------------------------------------------------


def _typo(text, rng):
    """Swaps two neighbouring letters once, like a fast typist."""
    spots = [i for i in range(len(text) - 1)
             if text[i].isalpha() and text[i + 1].isalpha()]
    if not spots:
        return text
    i = _pick(rng, spots)
    return text[:i] + text[i + 1] + text[i] + text[i + 2:]


def vary(text, level, rng):
    """Applies chat-like case, punctuation, emoji and typo changes."""
    roll = rng.random()
    if roll < 0.15:
        text = text[:1].upper() + text[1:]
    elif roll < 0.20:
        text = text.upper()
    if rng.random() < 0.3:
        text = text.replace("'", "")
    if rng.random() < 0.2:
        text = text.replace(".", "")
    if rng.random() < 0.1:
        text = _typo(text, rng)
    endings = EMOJI_ANY if level in ("none", "low") else EMOJI_SAD
    return (text + _pick(rng, endings)).strip()


def key(text):
    """Near-duplicate key: NFKC, lower case, letters and digits only."""
    text = unicodedata.normalize("NFKC", text).lower()
    return " ".join(re.findall(r"\w+", text))


def load_authored_keys(corpus_dir):
    """Keys of every message in the hand-written files."""
    keys = set()
    for path in sorted(corpus_dir.glob("*.jsonl")):
        if path.name == OUTPUT_NAME:
            continue
        with path.open(encoding="utf-8") as f:
            for line in f:
                keys.add(key(json.loads(line)["text"]))
    return keys


def generate(per_family, seen):
    """Builds up to per_family * share new messages for every family."""
    rows = []
    for family in sorted(FAMILIES):
        level, tags, builder, share = FAMILIES[family]
        rng = random.Random(f"{SEED}:{family}")
        wanted, attempts = int(per_family * share), 0
        made = 0
        while made < wanted and attempts < wanted * 50:
            attempts += 1
            text = vary(builder(rng), level, rng)
            k = key(text)
            if k in seen:
                continue
            seen.add(k)
            rows.append({"text": text, "level": level,
                         "tags": tags + ["generated"]})
            made += 1
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus-dir", default="data/corpus",
                        type=pathlib.Path)
    parser.add_argument("--per-family", default=50, type=int,
                        help="base number of messages per family")
    args = parser.parse_args()
    seen = load_authored_keys(args.corpus_dir) | {key(t) for t in RESERVED}
    rows = generate(args.per_family, seen)
    out = args.corpus_dir / OUTPUT_NAME
    with out.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} messages to {out}")


if __name__ == "__main__":
    main()
