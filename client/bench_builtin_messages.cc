// The built-in message mix of `lantern bench`; see bench_messages.h.
#include <iterator>
#include <string>
#include <vector>

#include "client/bench_messages.h"

namespace lantern::client {
namespace {

// Short repeated lines first (the hot set), then ordinary chat of growing
// length, then distress and crisis lines, which are a small share as in real
// traffic.
const char* const kBuiltinMessages[] = {
    // Hot set: kHotSetSize lines chat repeats all day.
    "gg",
    "good morning",
    "lol",
    "gm everyone",
    "thanks!",
    "brb",
    "ok",
    "haha yes",
    "good night all",
    "nice one",
    "same",
    "what's up",
    "ty",
    "gn",
    "lmao",
    "hi",
    // Everyday chat.
    "anyone up for a match later?",
    "what time is the raid tonight?",
    "i'll be 10 min late, start without me",
    "did you see the patch notes",
    "that boss took us like 40 tries",
    "can someone send me the link to the doc",
    "my cat just knocked my coffee onto the keyboard",
    "pizza or tacos for the stream tonight",
    "this song has been stuck in my head all week",
    "ok who moved my headphones",
    "is the server down or is it just me",
    "happy birthday!! hope it's a great one",
    "ugh monday again",
    "finally finished the quest line, that ending though",
    "we need one more healer for the dungeon",
    "the new map is so much better than the old one",
    "wait what happened in the last episode, no spoilers pls",
    "my internet keeps dropping every ten minutes",
    "anyone know a good recipe for banana bread",
    "I just got promoted at work!",
    "going for a run before it gets too hot",
    "the meeting got moved to 3pm",
    "does anyone have notes from today's lecture",
    "just adopted a puppy, her name is Biscuit",
    "I can't believe it's already november",
    "who's watching the game tonight",
    "that was the worst ref call I've ever seen",
    "rate my setup, just got a new monitor",
    "we lost again but that last round was close",
    "studying for finals is killing me lol",
    "can you stream the next part of the playthrough?",
    "I'm so tired, didn't sleep at all because of the storm",
    "the train is delayed again, classic",
    "bro this lag is unreal",
    "welcome to the server! read the pinned rules pls",
    "does the event start at 8 or 9 your time",
    "I'd die for this pasta honestly",
    "this level is killing me, the jump is impossible",
    "ngl that plot twist destroyed me",
    "my landlord finally fixed the heating",
    "anyone tried the new ramen place downtown",
    "I'm dead 💀 that clip is hilarious",
    "lets gooo we won the tournament 🎉🎉",
    "morning coffee ☕ and then straight to work",
    "that sunset tho 🌅",
    "can't wait for the weekend 🙌",
    "stop spamming the chat please",
    "mods can we get a slow mode in here",
    "the build failed again, someone broke main",
    "pushed a fix, can you review when you get a sec",
    "I'll take the morning shift tomorrow",
    "my sister is visiting this weekend so I'll be offline",
    "thinking about switching my main to the support class",
    "the drop rate on that item is a joke",
    "does this shirt look ok for an interview",
    "grandma sent me cookies in the mail, best day",
    "it's snowing here!! first snow of the year",
    "who wants to co-op the new campaign on friday",
    "lost my keys for the third time this week",
    "we should do a movie night on the server",
    "I think my plant is dying, any tips",
    "just finished a 10k, legs are jelly",
    "what's everyone's favourite comfort game",
    "okay I'm logging off, see you all tomorrow",
    // Other languages.
    "buenos días a todos, ¿quién juega hoy?",
    "jemand Lust auf eine Runde heute Abend?",
    "bonne nuit tout le monde, à demain",
    "alguém quer jogar mais tarde?",
    "grazie a tutti per la partita di ieri",
    // Longer messages.
    "ok so long story short, the delivery guy left my package at the wrong "
    "house and the neighbour opened it, so now I have to wait another week",
    "honestly the best part of the trip was the little bakery next to the "
    "hotel, we went there every morning and the owner started saving us "
    "croissants",
    "if anyone is free on saturday we're cleaning up the park near the "
    "library, bring gloves and we'll provide bags and snacks",
    "I've been learning to play guitar for three months and I can finally "
    "get through a whole song without stopping, feels really good",
    "quick reminder that the tournament sign-ups close tonight at midnight, "
    "teams of four, and please double check your usernames",
    "so my manager asked me to present the quarterly numbers tomorrow and I "
    "have never done a presentation in front of the whole department before",
    "the recipe said thirty minutes but it took almost two hours and the "
    "kitchen is a disaster, still tasted great though",
    "new player here, I've read the guide but I still don't understand how "
    "the crafting system works, can someone explain it like I'm five",
    // Distress, low to medium concern.
    "I've been feeling really down lately",
    "everything is just so exhausting right now",
    "I don't really have anyone to talk to",
    "I can't stop crying and I don't know why",
    "nobody at school talks to me anymore",
    "I feel like such a burden to my family",
    "I haven't eaten properly in days, just no appetite",
    "my anxiety is through the roof today",
    "I keep messing everything up, I'm useless",
    "I'm so lonely it physically hurts",
    "some days I don't see the point of getting out of bed",
    "my parents keep fighting and I just hide in my room",
    "I failed the exam again and I feel like a total failure",
    "I've been having panic attacks every night this week",
    "I feel empty all the time, like nothing matters",
    "my friends stopped inviting me to things and I don't blame them",
    // High concern and crisis.
    "I don't want to be here anymore",
    "nobody would notice if I was gone",
    "I've been thinking about ending it all",
    "I wrote goodbye letters to my friends tonight",
    "I have the pills and I'm doing it tonight",
    "I just want everything to stop for good",
    "I'm standing on the bridge right now",
    "I've been hurting myself again and it's getting worse",
    "there's no way out of this, I've decided",
    "this is my last message, thank you all for everything",
};

}  // namespace

const std::vector<std::string>& BuiltinBenchMessages() {
  static const auto* const messages = new std::vector<std::string>(
      std::begin(kBuiltinMessages), std::end(kBuiltinMessages));
  return *messages;
}

}  // namespace lantern::client
