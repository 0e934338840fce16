"""Fragments and sentence forms of the crisis, self-harm and distress
families (see split_corpus.FAMILIES)."""

from .words import join, pick


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
# Forms: family -> form -> (cores, compose); see generate.FORMS.
# ---------------------------------------------------------------------------

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
}
