"""Fragments and sentence forms of ordinary chat, the false-alarm families
and the LGBTQIA+ families (see split_corpus.FAMILIES)."""

from .words import fill, join, pick


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
# Forms: family -> form -> (cores, compose); see generate.FORMS.
# ---------------------------------------------------------------------------

FORMS = {
    "everyday": {
        "ask": (EVERYDAY_ASK, lambda c, r: fill(c, r, act=EVERYDAY_ACT,
                                               when=EVERYDAY_WHEN)),
        "done": (EVERYDAY_DONE, lambda c, r: fill(c, r,
                                                 done=EVERYDAY_DONE_THING)),
        "time_plan": (BENIGN_PLAN, lambda c, r: fill(c, r, time=BENIGN_TIME,
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
        "session_ask": (GAME_ASK, lambda c, r: fill(c, r, mode=GAME_MODE,
                                                   time=GAME_TIME)),
        "kill_enemy": (GAME_KILL, lambda c, r: join(
            fill(c, r, enemy=GAME_ENEMY), pick(r, GAME_REACT))),
    },
    "competitive": {
        "team_result": (SPORT_RESULT, lambda c, r: join(
            pick(r, SPORT_TEAM), fill(c, r, score=SPORT_SCORE),
            pick(r, SPORT_TAIL))),
    },
    "hyperbole": {
        "task_killing": (HYPER_CORE, lambda c, r: fill(c, r, task=HYPER_TASK)),
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
        "giveaway": (BENIGN_GIVE, lambda c, r: fill(c, r, item=BENIGN_ITEM)),
        "logoff": (BENIGN_BYE, lambda c, r: fill(c, r, when=BENIGN_WHEN)),
        "ready": (BENIGN_READY, lambda c, r: fill(c, r, item=BENIGN_READY_ITEM,
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
            fill(c, r, thing=PRIDE_THING, pro=PRIDE_PRO, event=PRIDE_EVENT),
            pick(r, PRIDE_TAIL))),
    },
}
