#!/usr/bin/python3
"""Writes data/corpus/generated.jsonl from the project's own phrase fragments.

The hand-written files in data/corpus/ are the core of the corpus. This script
adds variety by composing short fragments (all written for Lantern, none taken
from any third-party list) into chat-style messages, then varying case,
punctuation, emoji and spelling the way people do on Discord.

Every generated line carries the tag "generated" and a "template" field: the
family and sentence form it came from (e.g. "gaming/boss_deaths"). Lines of
one template are siblings, and scripts/split_corpus.py keeps siblings in one
split, so the dev and test splits never hold a line whose template was
trained on.

The output is deterministic: the same script always writes the same file.
Lines whose normalised key already occurs in a hand-written file, or in the
sanity sentences of scripts/train_models.py, are skipped. Each family's
generated share is capped (see MAX_GENERATED_SHARE) so hand-written lines
dominate every family.

Usage:
  /usr/bin/python3 scripts/generate_corpus.py [--corpus-dir data/corpus]
"""

import argparse
import collections
import json
import pathlib
import random
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import split_corpus  # noqa: E402  (same folder)

SEED = 20240611
OUTPUT_NAME = "generated.jsonl"
# Generated lines may be at most this share of any family (and language).
MAX_GENERATED_SHARE = 0.45

# Held-out sanity sentences of scripts/train_models.py; never generated.
RESERVED = [
    "I have the pills and I'm doing it tonight",
    "what time is the raid tonight?",
    "that boss killed me 50 times",
    "this homework is killing me",
]


def pick(rng, items):
    """One element of a list."""
    return items[rng.randrange(len(items))]


def join(*parts):
    """Non-empty fragments joined by single spaces."""
    return " ".join(p for p in parts if p)


# ---------------------------------------------------------------------------
# Fragments: crisis
# ---------------------------------------------------------------------------

INTENT = [
    "i'm going to kill myself", "i'm ending my life", "i'm going to end it",
    "i'm taking my own life", "i'm going through with it",
    "i'm going to end my life", "i'm finally doing it", "i'm going to do it",
    "i'm killing myself", "i'm ending it for good",
]
INTENT_OPEN = [
    "", "ok.", "so yeah.", "i've decided.", "it's settled.", "no more waiting.",
    "i'm sorry but", "i'm not asking for help,", "i just need someone to know,",
    "i'm calm now.",
]
INTENT_CLOSE = [
    "", "please don't try to stop me", "i'm sorry", "it's decided",
    "nothing will change my mind", "i'm not scared anymore", "this isn't a joke",
    "i just wanted someone to know", "thank you for trying",
]
TIMEFRAME = [
    "tonight", "tomorrow morning", "this weekend", "in an hour",
    "after everyone goes to sleep", "on friday", "before sunrise",
    "right after school", "when my shift ends", "at midnight",
    "as soon as my parents leave", "later tonight", "in a few hours",
    "on sunday", "after dinner", "before the week is over",
]
MEANS = [
    "i have the pills", "the rope is ready", "i've got my dad's gun",
    "i've saved up enough of my meds", "i bought the blades",
    "i know which bridge", "i've got two packs of tablets",
    "the car is in the garage", "i have the whole bottle here",
    "i've got the knife", "i found the key to the gun safe",
    "i'm on the roof", "i'm standing at the edge of the bridge",
    "the pills are counted out on my desk",
]
MEANS_TAIL = [
    "", "and i'm using them", "and this is it", "and i'm not scared",
    "and nobody is home", "and i'm ready", "it's time",
]
PLAN_CORE = [
    "i've planned exactly how i'm going to do it",
    "i know where and how i'm going to do it",
    "my plan is ready", "i worked out every step",
    "i've picked the place and the way", "the plan is finished",
    "i've rehearsed my suicide in my head for weeks",
]
PLAN_TAIL = [
    "", "and i'm doing it soon", "and nobody knows", "and i feel calm",
    "i just have to follow through", "and the note is written",
    "i only need to be alone", "and the day is chosen",
]
BYE_OPEN = [
    "goodbye everyone", "this is goodbye", "bye guys", "last message from me",
    "i'm saying goodbye", "farewell server", "so this is it",
    "this is my last post",
]
BYE_BODY = [
    "thank you for being there", "you were the best part of my days",
    "please take care of each other", "i won't be coming back",
    "i'm not going to be alive tomorrow", "don't be sad for me",
    "i'm leaving for good tonight", "i love you all",
    "i already wrote my letters", "it isn't your fault",
    "please don't look for me",
]
GIVE_ITEM = [
    "my guitar", "my pc", "my cat", "all my games", "my books", "my account",
    "my art supplies", "my clothes", "my plants", "my dog", "my skins",
    "my bike", "my records", "my camera",
]
GIVE_WHO = [
    "to whoever wants it", "to my sister", "to my best friend",
    "to the first person who dms me", "to my neighbour", "to my cousin",
]
GIVE_WHY = [
    "i won't need it anymore", "i won't be here to use it",
    "i won't be around after this week", "it's time to let go of everything",
    "i'm not going to be alive for much longer",
    "i'm tying up loose ends before i go",
]

# ---------------------------------------------------------------------------
# Fragments: ideation, self-harm
# ---------------------------------------------------------------------------

IDEATION_START = [
    "", "honestly", "ngl", "idk anymore", "lately", "every night",
    "i can't lie", "tbh", "not gonna pretend", "again", "for real",
]
IDEATION_CORE = [
    "i want to die", "i keep thinking about killing myself",
    "i don't want to be alive anymore", "i think about ending it all the time",
    "i wish i was dead", "i want to kill myself",
    "i'm thinking about suicide", "i want to end my life",
    "i don't see a reason to live", "i keep picturing my own death",
    "suicide feels like the only way out", "i'm suicidal",
]
IDEATION_TAIL = [
    "", "and it's getting worse", "and i don't know who to tell",
    "and it scares me", "...", "and nobody knows", "for real this time",
    "since the breakup", "since i moved here", "and i can't stop",
    "and i'm tired of fighting it",
]
PASSIVE_CORE = [
    "i hope i don't wake up tomorrow", "i wish i could just stop existing",
    "i wouldn't mind if i died", "i want to fall asleep and never wake up",
    "i wish i'd never been born", "dying sounds like a relief",
    "i keep hoping something will just end me",
    "i'd be fine if a car hit me", "i wish i could vanish for good",
    "i don't care if i wake up", "being dead sounds peaceful",
]
SELF_HARM_CORE = [
    "i cut again", "i hurt myself again", "i relapsed and cut",
    "i burned myself again", "i've been cutting every day",
    "i can't stop hurting myself", "i self harmed again",
    "i scratched my arms until they bled",
]
SELF_HARM_TAIL = [
    "", "and it's worse than before", "again and again",
    "i'm so ashamed", "nobody knows", "after months clean",
    "and i can't make it stop", "and i'm hiding it",
]
PAST_CORE = [
    "i used to self harm", "i tried to kill myself last year",
    "i have old scars", "i was in hospital after an attempt",
    "i've been clean for a few months", "i used to cut",
]
PAST_TAIL = [
    "and the urges are back", "and today is really hard",
    "and i'm scared of going back there", "and i keep thinking about it",
    "but i'm struggling this week", "and it still haunts me",
]
RECOVERED = [
    "{n} clean today", "{n} without self harm", "{n} since my last attempt",
    "{n} free of self harm and proud",
]
RECOVERED_N = [
    "one year", "two years", "six months", "100 days", "18 months",
    "three years", "200 days", "nine months",
]
RECOVERED_TAIL = [
    "", "🎉", "!!", "never thought i'd get here", "therapy helped so much",
    "small wins", "so proud of myself", "💚",
]

# ---------------------------------------------------------------------------
# Fragments: distress
# ---------------------------------------------------------------------------

HOPELESS_CORE = [
    "nothing is ever going to get better", "i don't see the point anymore",
    "i've given up on everything", "i'm so tired of trying",
    "there's no way out of this", "i can't keep going like this",
    "everything feels pointless", "i'm completely numb",
    "i don't have a future", "i've lost all hope",
]
BURDEN_CORE = [
    "i'm such a burden", "i only ever let people down",
    "i'm worthless", "i ruin everything", "i drag everyone down",
    "i hate myself", "i'm a waste of space", "i'm a burden to my family",
]
ISOLATION_CORE = [
    "i have nobody to talk to", "i'm completely alone",
    "nobody cares about me", "no one ever checks on me",
    "everyone left me", "i don't have a single friend",
    "i feel invisible to everyone",
]
PANIC_CORE = [
    "i'm having a panic attack", "i can't breathe and i'm shaking",
    "my heart won't stop racing", "i'm freaking out and can't calm down",
    "i'm hyperventilating", "i think i'm having an anxiety attack",
]
DISTRESS_CONTEXT = [
    "", "at school", "at home", "since the breakup", "since my dad left",
    "at work", "since i moved", "tonight", "again", "lately",
    "and i don't know what to do",
]
ABUSE_WHO = [
    "my dad", "my mom", "my stepdad", "my boyfriend", "my partner",
    "my brother", "my husband", "my girlfriend",
]
ABUSE_ACT = [
    "hit me again", "threw things at me again", "threatened me again",
    "won't let me leave the house", "grabbed me by the arm until it bruised",
    "screamed at me and broke my phone", "locked me in my room",
    "pushed me against the wall",
]
ABUSE_TAIL = [
    "", "and i'm scared", "and i don't feel safe", "i can't tell anyone",
    "and i'm hiding in my room", "and i don't want to go home",
]
WORRIED_PERSON = [
    "my friend", "my best friend", "my sister", "my brother", "my roommate",
    "my girlfriend", "my boyfriend", "someone in my class",
    "a guy in my guild", "my online friend", "my cousin", "my partner",
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
    "should i tell someone", "i'm scared for them", "can a mod help",
]
LOW_OPEN = ["", "ugh", "man", "honestly", "welp", "sigh", "lol", "meh"]
LOW_CORE = [
    "today was rough", "i'm so stressed about {thing}",
    "feeling kinda down about {thing}", "i'm tired of {thing}",
    "{thing} is really getting to me", "bit sad about {thing}",
    "i'm anxious about {thing}", "not a great day because of {thing}",
]
LOW_THING = [
    "exams", "work", "my ex", "moving", "money", "the group project",
    "my grades", "my job interview", "my parents fighting", "finals",
    "my sleep schedule", "the breakup", "uni applications", "rent",
]

# ---------------------------------------------------------------------------
# Fragments: ordinary chat and false alarms
# ---------------------------------------------------------------------------

GAME_BOSS = [
    "the frost giant", "that stupid dragon", "the swamp witch",
    "the last boss", "the clockwork knight", "this raid boss",
    "the twin sisters", "the lava golem", "the first miniboss",
    "the spider queen", "the sand worm",
]
GAME_COUNT = ["20", "30", "40", "like 100", "a million", "so many", "12"]
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
GAME_TIME = ["8", "9pm", "9:30", "midnight", "after dinner", "10 est"]
GAME_KILL = [
    "i'm going to kill {enemy} next round", "{enemy} keeps killing me",
    "we need to kill {enemy} first", "{enemy} one-shot me",
    "i finally killed {enemy}",
]
GAME_ENEMY = [
    "that sniper", "the healer", "their tank", "the camper in the tower",
    "the guy with the shotgun", "the boss", "the jungler",
]
SPORT_TEAM = [
    "we", "our team", "my team", "the under 16s", "our squad", "my club",
]
SPORT_RESULT = [
    "got destroyed {score} today", "got slaughtered in the second half",
    "are dead last in the league", "got knocked out in the first round",
    "got absolutely murdered by the refs", "barely survived the group stage",
]
SPORT_SCORE = ["5-0", "6-1", "40-12", "3-0", "7-2"]
SPORT_TAIL = ["", "lol", "rip", "😭", "next season", "unreal", "pain"]
HYPER_TASK = [
    "this homework", "my commute", "this heat", "calc", "the group chat",
    "this essay", "my boss", "this staircase", "studying for finals",
    "this cold", "the new schedule", "organic chemistry", "this lab report",
]
HYPER_CORE = [
    "{task} is killing me", "{task} is going to be the death of me",
    "{task} is murdering me", "{task} wants me dead lol",
    "{task} is slowly killing me",
]
LAUGH_CORE = [
    "i'm dead 💀", "i'm dying 😂", "this killed me", "lmao i'm deceased",
    "i'm crying 😭", "stop i can't breathe", "i'm wheezing", "i'm weak",
]
LAUGH_ABOUT = [
    "", "this video", "my cat just fell off the couch", "that meme",
    "your pfp", "the teacher's face", "the dog's little hat",
]
IRONY_OPEN = ["oh great", "wonderful", "love that", "fantastic", "perfect"]
IRONY_EVENT = [
    "my bus is late again", "the wifi died", "it's raining on my day off",
    "another meeting", "my laptop decided to update",
    "i spilled coffee on my notes", "the printer jammed",
]
IRONY_TAIL = ["", "🙃", "just what i needed", "living the dream", "truly"]
JOKE_THING = [
    "my bank account", "my sleep schedule", "my houseplant", "my motivation",
    "my last brain cell", "my social life",
]
JOKE_STATE = [
    "is on life support", "died in 2019", "has left the chat",
    "is in critical condition", "filed for divorce", "is on vacation",
]
BENIGN_GIVE = [
    "giving away {item} since i'm upgrading", "free {item}, first come first served",
    "anyone want {item}? moving flats next week",
]
BENIGN_ITEM = [
    "my old textbooks", "a spare monitor", "extra game keys", "baby clothes",
    "my old bike", "some houseplant cuttings",
]
BENIGN_BYE = [
    "bye everyone, see you {when}", "logging off, see you {when}",
    "goodnight all, see you {when}",
]
BENIGN_WHEN = ["tomorrow", "after the weekend", "next week", "later", "monday"]
EVERYDAY_ASK = [
    "anyone want to {act} {when}?", "who's down to {act} {when}",
    "i'm going to {act} {when}", "can't wait to {act} {when}",
]
EVERYDAY_ACT = [
    "watch a movie", "study in vc", "get food", "go for a walk",
    "play some chess", "draw together", "bake cookies", "listen to music",
]
EVERYDAY_WHEN = ["tonight", "later", "this weekend", "after class", "tomorrow"]
EVERYDAY_DONE = [
    "just finished {done}!", "finally done with {done}",
]
EVERYDAY_DONE_THING = [
    "my essay", "my first marathon", "the puzzle", "cleaning my room",
    "my art project", "the book", "my driving lessons",
]
BENIGN_TIME = [
    "tonight", "tomorrow morning", "this weekend", "in an hour",
    "after dinner", "on friday", "at midnight", "after school",
    "when my shift ends", "before sunrise",
]
BENIGN_PLAN = [
    "{time} i'm going to {act}", "{time} i'm finally going to {act}",
    "i've decided: {time} i'm going to {act}", "{time}. i'm going to {act}",
]
BENIGN_READY = [
    "i have the {item} ready for {event}", "the {item} is packed for {event}",
    "got the {item}, ready for {event}",
]
BENIGN_READY_ITEM = ["snacks", "tent", "costume", "cake", "decorations",
                     "playlist", "sleeping bag", "camera"]
BENIGN_EVENT = ["the party", "the trip", "tonight", "game night",
                "the picnic", "the festival", "the sleepover"]
SUPPORT_OPEN = ["", "hey,", "just a reminder:", "friendly reminder,"]
SUPPORT_BODY = [
    "my dms are open if anyone needs to talk",
    "you're not alone in this", "it's okay to ask for help",
    "the helpline numbers are pinned in #resources",
    "be gentle with yourself today", "we're here for you",
]
LYRIC_A = [
    "we'll dance until the morning light", "i'm a spark inside the rain",
    "the city hums our song tonight", "hold on to the summer sky",
    "we're running through the golden haze",
]
LYRIC_B = [
    "and never look behind 🎶", "like the tide comes back to shore",
    "oh oh oh", "till the stars go out", "you and me and the radio",
]
QUOTE_WHO = [
    "the captain", "the villain", "the old wizard", "the detective",
    "the queen", "the robot",
]
QUOTE_LINE = [
    "nobody leaves this ship alive", "the night is darkest before it ends",
    "we fall so we can rise", "this is where it all ends",
    "you'll never see the dawn",
]
QUOTE_REACT = ["and i got chills", "iconic", "best scene in the movie",
               "such a good line"]
MEDIA_WHAT = ["the show", "the book", "the game's story", "the movie",
              "the anime", "the podcast"]
MEDIA_EVENT = [
    "where the main character dies", "about a shipwreck",
    "where the villain wins", "about a plague town",
    "that kills off the best friend",
]
MEDIA_REACT = ["was so good", "made me cry", "was intense",
               "had me on the edge of my seat"]

# ---------------------------------------------------------------------------
# Fragments: LGBTQIA+
# ---------------------------------------------------------------------------

LGBT_IDENTITY = ["gay", "trans", "bi", "a lesbian", "nonbinary", "queer"]
REJECT_WHO = ["my mom", "my dad", "my parents", "my family", "my grandparents"]
REJECT_ACT = [
    "stopped talking to me after i came out as {id}",
    "said being {id} is a sin", "won't use my name since i came out as {id}",
    "told me i'm not their kid anymore because i'm {id}",
]
OUTED_BY = ["someone at school", "my ex", "a coworker", "my cousin",
            "a guy in my class", "my roommate"]
OUTED_TAIL = ["and now everyone knows i'm {id}", "and my parents found out i'm {id}",
              "before i was ready to say i'm {id}"]
THROWN_WHEN = ["last night", "last week", "two days ago", "this morning"]
THROWN_TAIL = ["and i have nowhere to go", "and i'm staying at a friend's",
               "and i'm sleeping in my car", "and i don't know what to do"]
DYSPHORIA_CORE = [
    "my dysphoria is really bad today", "i can't look in the mirror",
    "i hate how my body looks", "i got misgendered all day",
]
DYSPHORIA_TAIL = ["", "and it's wearing me down", "and i can't stop crying",
                  "and i skipped school", "and i feel invisible"]
HARASS_WHERE = ["at school", "at work", "on the bus", "in the lobby",
                "on my way home"]
HARASS_ACT = [
    "people called me slurs", "someone threatened me for being {id}",
    "a group followed me and yelled at me", "someone shoved me for being {id}",
]
PRIDE_CORE = [
    "happy pride everyone", "just got my new {thing}", "my pronouns are {pro}",
    "anyone going to the {event}?",
]
PRIDE_THING = ["pride pin", "binder", "rainbow hoodie", "trans flag"]
PRIDE_PRO = ["they/them", "she/her", "he/him", "she/they", "he/they"]
PRIDE_EVENT = ["pride parade", "queer book club", "trans game night",
               "drag brunch"]
PRIDE_TAIL = ["", "🏳️‍🌈", "🏳️‍⚧️", "!!", "💜", "so excited"]

# ---------------------------------------------------------------------------
# Fragments: other languages
# ---------------------------------------------------------------------------

ML = {
    "es": {
        "ideation": ["quiero morir", "pienso en matarme", "ya no quiero vivir",
                     "tengo ganas de desaparecer para siempre"],
        "time": ["esta noche", "mañana", "el sábado", "antes del amanecer"],
        "intent": ["me voy a matar", "lo voy a hacer", "se acaba todo"],
        "tail": ["", "de verdad", "ya no aguanto", "no sé qué hacer"],
        "lonely": ["me siento muy solo", "nadie me habla", "no tengo a nadie"],
        "ctx": ["", "desde que me mudé", "en el colegio", "todos los días"],
        "boss": ["ese jefe me mató {n} veces", "morí {n} veces en esa mazmorra"],
        "n": ["veinte", "treinta", "cincuenta", "mil"],
        "react": ["", "jaja", "💀", "no puedo más jaja"],
        "hyper": ["{t} me está matando", "{t} me va a matar"],
        "task": ["este examen", "el calor", "la tarea", "mi jefe"],
        "vent": ["qué día tan largo", "estoy agotado", "estoy estresada con {x}"],
        "x": ["la uni", "el trabajo", "los exámenes"],
    },
    "fr": {
        "ideation": ["je veux mourir", "je pense à me tuer",
                     "je n'ai plus envie de vivre",
                     "j'ai envie de disparaître pour toujours"],
        "time": ["ce soir", "demain", "samedi", "avant l'aube"],
        "intent": ["je vais me tuer", "je vais le faire", "tout s'arrête"],
        "tail": ["", "vraiment", "j'en peux plus", "je sais pas quoi faire"],
        "lonely": ["je me sens très seul", "personne ne me parle",
                   "je n'ai personne"],
        "ctx": ["", "depuis que j'ai déménagé", "au lycée", "tous les jours"],
        "boss": ["ce boss m'a tué {n} fois", "je suis mort {n} fois dans ce donjon"],
        "n": ["vingt", "trente", "cinquante", "mille"],
        "react": ["", "mdr", "💀", "j'en peux plus mdr"],
        "hyper": ["{t} me tue", "{t} va me tuer"],
        "task": ["ce partiel", "la chaleur", "les devoirs", "mon chef"],
        "vent": ["quelle longue journée", "je suis crevé", "je stresse pour {x}"],
        "x": ["la fac", "le boulot", "les exams"],
    },
    "de": {
        "ideation": ["ich will sterben", "ich denke daran, mich umzubringen",
                     "ich will nicht mehr leben",
                     "ich will für immer verschwinden"],
        "time": ["heute nacht", "morgen", "am samstag", "vor sonnenaufgang"],
        "intent": ["bringe ich mich um", "mache ich es", "ist alles vorbei"],
        "tail": ["", "wirklich", "ich kann nicht mehr", "ich weiß nicht weiter"],
        "lonely": ["ich fühle mich so allein", "niemand redet mit mir",
                   "ich habe niemanden"],
        "ctx": ["", "seit dem umzug", "in der schule", "jeden tag"],
        "boss": ["der boss hat mich {n} mal gekillt",
                 "ich bin {n} mal in dem dungeon gestorben"],
        "n": ["zwanzig", "dreißig", "fünfzig", "tausend"],
        "react": ["", "lol", "💀", "ich kann nicht mehr lol"],
        "hyper": ["{t} bringt mich um", "{t} macht mich fertig"],
        "task": ["diese klausur", "die hitze", "die hausaufgaben", "mein chef"],
        "vent": ["was für ein langer tag", "ich bin fertig",
                 "ich bin gestresst wegen {x}"],
        "x": ["der uni", "der arbeit", "der prüfungen"],
    },
    "pt": {
        "ideation": ["quero morrer", "penso em me matar", "não quero mais viver",
                     "queria sumir pra sempre"],
        "time": ["hoje à noite", "amanhã", "no sábado", "antes de amanhecer"],
        "intent": ["eu me mato", "eu vou fazer", "tudo acaba"],
        "tail": ["", "de verdade", "não aguento mais", "não sei o que fazer"],
        "lonely": ["me sinto muito sozinho", "ninguém fala comigo",
                   "não tenho ninguém"],
        "ctx": ["", "desde que me mudei", "na escola", "todo dia"],
        "boss": ["esse chefão me matou {n} vezes",
                 "morri {n} vezes nessa dungeon"],
        "n": ["vinte", "trinta", "cinquenta", "mil"],
        "react": ["", "kkkk", "💀", "não aguento mais kkk"],
        "hyper": ["{t} tá me matando", "{t} vai me matar"],
        "task": ["essa prova", "esse calor", "a lição de casa", "meu chefe"],
        "vent": ["que dia longo", "tô exausto", "tô estressada com {x}"],
        "x": ["a faculdade", "o trabalho", "as provas"],
    },
}


# ---------------------------------------------------------------------------
# Builders: each returns one message; the form name is the template.
# ---------------------------------------------------------------------------


def _f(template, rng, **lists):
    """Fills {name} slots of template from the given fragment lists."""
    return template.format(**{k: pick(rng, v) for k, v in lists.items()})


# family -> form -> (cores, compose). compose(core, rng) returns a message.
# Lines that share family, form and core are siblings (one template).
FORMS = {
    "explicit_intent": {
        "intent": (INTENT, lambda c, r: join(pick(r, INTENT_OPEN), c,
                                             pick(r, INTENT_CLOSE))),
    },
    "timeframe": {
        "intent_time": (TIMEFRAME, lambda c, r: join(pick(r, INTENT), c,
                                                      pick(r, INTENT_CLOSE))),
        "time_first": (TIMEFRAME, lambda c, r: f"{c}. {pick(r, INTENT)}"),
    },
    "method_means": {
        "means_tail": (MEANS, lambda c, r: join(c, pick(r, MEANS_TAIL))),
        "means_intent": (MEANS, lambda c, r: f"{c}. {pick(r, INTENT)}"),
    },
    "plan": {
        "plan_tail": (PLAN_CORE, lambda c, r: join(c, pick(r, PLAN_TAIL))),
    },
    "goodbye": {
        "open_body": (BYE_BODY, lambda c, r: f"{pick(r, BYE_OPEN)}. {c}"),
    },
    "giving_away": {
        "item_why": (GIVE_WHY, lambda c, r: join(
            f"giving {pick(r, GIVE_ITEM)}", pick(r, GIVE_WHO) + ",", c)),
    },
    "ideation": {
        "start_core_tail": (IDEATION_CORE, lambda c, r: join(
            pick(r, IDEATION_START), c, pick(r, IDEATION_TAIL))),
    },
    "passive_ideation": {
        "start_core": (PASSIVE_CORE, lambda c, r: join(
            pick(r, IDEATION_START), c)),
    },
    "self_harm_current": {
        "core_tail": (SELF_HARM_CORE, lambda c, r: join(
            c, pick(r, SELF_HARM_TAIL))),
    },
    "self_harm_past": {
        "past_tail": (PAST_CORE, lambda c, r: join(c, pick(r, PAST_TAIL))),
    },
    "self_harm_recovered": {
        "milestone": (RECOVERED, lambda c, r: join(
            c.format(n=pick(r, RECOVERED_N)), pick(r, RECOVERED_TAIL))),
    },
    "hopelessness": {
        "core_ctx": (HOPELESS_CORE, lambda c, r: join(
            c, pick(r, DISTRESS_CONTEXT))),
    },
    "burden": {
        "core_ctx": (BURDEN_CORE, lambda c, r: join(
            c, pick(r, DISTRESS_CONTEXT))),
    },
    "isolation": {
        "core_ctx": (ISOLATION_CORE, lambda c, r: join(
            c, pick(r, DISTRESS_CONTEXT))),
    },
    "panic": {
        "core_ctx": (PANIC_CORE, lambda c, r: join(
            c, pick(r, DISTRESS_CONTEXT))),
    },
    "abuse": {
        "who_act": (ABUSE_ACT, lambda c, r: join(
            pick(r, ABUSE_WHO), c, pick(r, ABUSE_TAIL))),
    },
    "worried_other": {
        "person_sign_ask": (WORRIED_SIGN, lambda c, r: (
            f"{pick(r, WORRIED_PERSON)} {c}, {pick(r, WORRIED_ASK)}")),
    },
    "venting": {
        "open_core": (LOW_CORE, lambda c, r: join(
            pick(r, LOW_OPEN), c.format(thing=pick(r, LOW_THING)))),
    },
    "everyday": {
        "ask": (EVERYDAY_ASK, lambda c, r: _f(c, r, act=EVERYDAY_ACT,
                                               when=EVERYDAY_WHEN)),
        "done": (EVERYDAY_DONE, lambda c, r: _f(c, r,
                                                 done=EVERYDAY_DONE_THING)),
        "time_plan": (BENIGN_PLAN, lambda c, r: _f(c, r, time=BENIGN_TIME,
                                                    act=EVERYDAY_ACT)),
    },
    "support_talk": {
        "open_body": (SUPPORT_BODY, lambda c, r: join(
            pick(r, SUPPORT_OPEN), c)),
    },
    "gaming": {
        "boss_deaths": (GAME_BOSS, lambda c, r: join(
            f"{c} killed me {pick(r, GAME_COUNT)} times",
            pick(r, GAME_REACT))),
        "session_ask": (GAME_ASK, lambda c, r: _f(c, r, mode=GAME_MODE,
                                                   time=GAME_TIME)),
        "kill_enemy": (GAME_KILL, lambda c, r: join(
            _f(c, r, enemy=GAME_ENEMY), pick(r, GAME_REACT))),
    },
    "competitive": {
        "team_result": (SPORT_RESULT, lambda c, r: join(
            pick(r, SPORT_TEAM), _f(c, r, score=SPORT_SCORE),
            pick(r, SPORT_TAIL))),
    },
    "hyperbole": {
        "task_killing": (HYPER_CORE, lambda c, r: _f(c, r, task=HYPER_TASK)),
    },
    "slang": {
        "laugh_about": (LAUGH_CORE, lambda c, r: join(
            c, pick(r, LAUGH_ABOUT))),
    },
    "irony": {
        "open_event": (IRONY_EVENT, lambda c, r: join(
            f"{pick(r, IRONY_OPEN)},", c, pick(r, IRONY_TAIL))),
    },
    "joke": {
        "thing_state": (JOKE_STATE, lambda c, r: f"{pick(r, JOKE_THING)} {c}"),
    },
    "benign_keyword": {
        "giveaway": (BENIGN_GIVE, lambda c, r: _f(c, r, item=BENIGN_ITEM)),
        "logoff": (BENIGN_BYE, lambda c, r: _f(c, r, when=BENIGN_WHEN)),
        "ready": (BENIGN_READY, lambda c, r: _f(c, r, item=BENIGN_READY_ITEM,
                                                 event=BENIGN_EVENT)),
    },
    "lyric_like": {
        "two_lines": (LYRIC_A, lambda c, r: f"{c}, {pick(r, LYRIC_B)}"),
    },
    "quote_like": {
        "who_line": (QUOTE_LINE, lambda c, r: (
            f"{pick(r, QUOTE_WHO)} says \"{c}\" {pick(r, QUOTE_REACT)}")),
    },
    "media_talk": {
        "what_event": (MEDIA_EVENT, lambda c, r: join(
            pick(r, MEDIA_WHAT), c, pick(r, MEDIA_REACT))),
    },
    "lgbtqia_rejection": {
        "who_act": (REJECT_ACT, lambda c, r: join(
            pick(r, REJECT_WHO), c.format(id=pick(r, LGBT_IDENTITY)))),
    },
    "lgbtqia_outing": {
        "by_tail": (OUTED_TAIL, lambda c, r: join(
            f"{pick(r, OUTED_BY)} outed me",
            c.format(id=pick(r, LGBT_IDENTITY)))),
    },
    "lgbtqia_thrown_out": {
        "when_tail": (THROWN_TAIL, lambda c, r: join(
            f"my parents kicked me out {pick(r, THROWN_WHEN)} for being "
            f"{pick(r, LGBT_IDENTITY)}", c)),
    },
    "lgbtqia_dysphoria": {
        "core_tail": (DYSPHORIA_CORE, lambda c, r: join(
            c, pick(r, DYSPHORIA_TAIL))),
    },
    "lgbtqia_harassment": {
        "where_act": (HARASS_ACT, lambda c, r: join(
            pick(r, HARASS_WHERE) + ",", c.format(id=pick(r, LGBT_IDENTITY)))),
    },
    "lgbtqia_chat": {
        "pride": (PRIDE_CORE, lambda c, r: join(
            _f(c, r, thing=PRIDE_THING, pro=PRIDE_PRO, event=PRIDE_EVENT),
            pick(r, PRIDE_TAIL))),
    },
}


def ml_forms(lang):
    """Forms for one language: family -> (level, form, cores, compose)."""
    d = ML[lang]
    return {
        "ideation": ("high", "ideation", d["ideation"],
                     lambda c, r: join(c, pick(r, d["tail"]))),
        "timeframe": ("critical", "timeframe", d["time"],
                      lambda c, r: join(c, pick(r, d["intent"]),
                                        pick(r, d["tail"]))),
        "isolation": ("medium", "lonely", d["lonely"],
                      lambda c, r: join(c, pick(r, d["ctx"]))),
        "gaming": ("none", "boss", d["boss"],
                   lambda c, r: join(c.format(n=pick(r, d["n"])),
                                     pick(r, d["react"]))),
        "hyperbole": ("none", "hyper", d["hyper"],
                      lambda c, r: c.format(t=pick(r, d["task"]))),
        "venting": ("low", "vent", d["vent"],
                    lambda c, r: c.format(x=pick(r, d["x"]))),
    }


# family -> (level, number wanted)
ENGLISH = {
    "explicit_intent": ("critical", 70), "timeframe": ("critical", 80),
    "method_means": ("critical", 80), "plan": ("critical", 45),
    "goodbye": ("critical", 60), "giving_away": ("critical", 45),
    "ideation": ("high", 140), "passive_ideation": ("high", 90),
    "self_harm_current": ("high", 70), "self_harm_past": ("medium", 30),
    "self_harm_recovered": ("low", 30), "hopelessness": ("medium", 80),
    "burden": ("medium", 60), "isolation": ("medium", 60),
    "panic": ("medium", 55), "abuse": ("medium", 60),
    "worried_other": ("medium", 80), "venting": ("low", 110),
    "everyday": ("none", 220), "support_talk": ("none", 35),
    "gaming": ("none", 160), "competitive": ("none", 45),
    "hyperbole": ("none", 110), "slang": ("none", 60), "irony": ("none", 35),
    "joke": ("none", 30), "benign_keyword": ("none", 90),
    "lyric_like": ("none", 25), "quote_like": ("none", 25),
    "media_talk": ("none", 30), "lgbtqia_rejection": ("medium", 35),
    "lgbtqia_outing": ("medium", 25), "lgbtqia_thrown_out": ("medium", 25),
    "lgbtqia_dysphoria": ("medium", 25), "lgbtqia_harassment": ("medium", 25),
    "lgbtqia_chat": ("none", 45),
}
PER_LANGUAGE_FORM = 12

EMOJI_SAD = ["", "", "", " 😔", " 💔", " 😞", " 🖤", " ...", " lol"]
EMOJI_ANY = ["", "", "", " 😭", " 🙃", " lol", " 😅", " 🥲", " 💀", " haha"]


def _typo(text, rng):
    """Swaps two neighbouring letters once, like a fast typist."""
    spots = [i for i in range(len(text) - 1)
             if text[i].isalpha() and text[i + 1].isalpha()]
    if not spots:
        return text
    i = pick(rng, spots)
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
    return (text + pick(rng, endings)).strip()


def hand_written_counts(corpus_dir):
    """(keys of hand-written lines, count per (family, language))."""
    keys, counts = set(), collections.Counter()
    for path in sorted(pathlib.Path(corpus_dir).glob("*.jsonl")):
        if path.name == OUTPUT_NAME:
            continue
        with path.open(encoding="utf-8") as f:
            for line in f:
                row = json.loads(line)
                keys.add(split_corpus.dedup_key(row["text"]))
                lang = next((t for t in row["tags"] if t.startswith("lang_")),
                            "en")
                counts[(row["tags"][0], lang)] += 1
    return keys, counts


def cap(wanted, hand):
    """Largest count <= wanted keeping generated <= MAX_GENERATED_SHARE."""
    limit = int(MAX_GENERATED_SHARE * hand / (1 - MAX_GENERATED_SHARE))
    return min(wanted, limit)


def make_rows(family, level, extra, forms, wanted, seen, rng, prefix):
    """Up to `wanted` new rows, cycling through forms and their cores.

    forms maps a form name to (cores, compose). The template of a row is
    prefix + family/form/core index.
    """
    slots = [(name, i) for name in sorted(forms)
             for i in range(len(forms[name][0]))]
    rows, attempts = [], 0
    while len(rows) < wanted and attempts < wanted * 60:
        name, i = slots[attempts % len(slots)]
        attempts += 1
        cores, compose = forms[name]
        text = vary(compose(cores[i], rng), level, rng)
        key = split_corpus.dedup_key(text)
        if not key or key in seen:
            continue
        seen.add(key)
        tags = [family]
        if family in split_corpus.FALSE_ALARM_FAMILIES:
            tags.append("false_alarm")
        if family.startswith("lgbtqia_"):
            tags.append("lgbtqia")
        tags += extra + ["generated"]
        rows.append({"text": text, "level": level, "tags": tags,
                     "template": f"{prefix}{family}/{name}/{i}"})
    return rows


def generate(corpus_dir):
    """All generated rows, in a fixed order."""
    seen, hand = hand_written_counts(corpus_dir)
    seen |= {split_corpus.dedup_key(t) for t in RESERVED}
    rows = []
    for family in sorted(ENGLISH):
        level, wanted = ENGLISH[family]
        rng = random.Random(f"{SEED}:{family}")
        rows += make_rows(family, level, [], FORMS[family],
                          cap(wanted, hand[(family, "en")]), seen, rng, "")
    for lang in sorted(ML):
        tag = f"lang_{lang}"
        forms = ml_forms(lang)
        for family in sorted(forms):
            level, form, cores, compose = forms[family]
            rng = random.Random(f"{SEED}:{lang}:{family}")
            # The cap applies per family and language.
            wanted = cap(PER_LANGUAGE_FORM, hand[(family, tag)])
            rows += make_rows(family, level, [tag], {form: (cores, compose)},
                              wanted, seen, rng, f"{lang}/")
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus-dir", default="data/corpus",
                        type=pathlib.Path)
    args = parser.parse_args()
    rows = generate(args.corpus_dir)
    out = args.corpus_dir / OUTPUT_NAME
    with out.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} messages to {out}")


if __name__ == "__main__":
    main()
