"""What the command model learns to hear, and what it learns to ignore.

Positives come from the one command vocabulary (``voicecoach/vocabulary.py``), so a phrase
added there is trained on. Negatives are words and phrases that sound close to a command
without being one. A word that *is* a command to the ear is never a negative: "paws" and
"weight" are spoken exactly like "pause" and "wait" (espeak-ng gives the same phonemes), and
"pours" is "pause" in most English outside North America; training them as negatives would
teach the model to ignore the command itself. ``homophones`` finds them.
"""

from __future__ import annotations

import functools
import re

from voicecoach.speech.phonemes import transcribe
from voicecoach.vocabulary import PHRASES, Intent

CLASSES = ["background"] + [i.value for i in Intent]


def positives() -> dict[str, list[str]]:
    """Intent -> its phrases, as the user says them."""
    out: dict[str, list[str]] = {}
    for phrase, intent in PHRASES.items():
        spoken = "that hurts, stop" if phrase == "that hurts stop" else phrase
        out.setdefault(intent.value, []).append(spoken.replace(" i ", " I "))
    out["pain"].append("ouch, that hurts")
    return out


#: A phrase inside what a person might say around it ("{}" is the command).
CARRIERS = ["{}", "{}", "{}", "{}", "oh {}", "{} please", "okay {}", "um, {}", "{} now", "hey, {}"]

#: Close to a command, not one. Homophones of commands are removed by ``negative_words``; words
#: that hold a command whole ("stopper", "paused it", "next to") or that are the command in
#: some accents ("a gain" for "again", "in session" for "end session") are not listed at all.
CONFUSABLE = [
    # stop
    "top", "shop", "stomp", "stock", "stuff", "step", "stuck", "spot", "strap", "stoop",
    "stove", "drop", "dog", "stab", "swap", "scotch", "sob", "staff", "up", "cop",
    # pain
    "hearts", "hurry", "heard", "hats", "that hut", "it hits", "this heart", "that's hard",
    "that works", "the hearts", "it's hot", "couch", "pouch", "out", "oops",
    "ouzo", "each", "touch", "watch", "outch", "slouch", "crouch", "vouch", "seven",
    # next
    "nest", "text", "neck", "necks", "vexed", "sexed", "nixed", "mixed", "exit",
    # pause
    "pose", "cause", "boss", "post", "because", "pass", "purse",
    # wait
    "white", "wade", "way", "weighed", "late", "eight", "what", "wet",
    # resume, continue, go on
    "assume", "presume", "zoom", "consume", "resort", "reason", "continent", "contain",
    "continual", "gone", "going", "goal", "go", "on", "no", "know", "grown",
    # repeat, again
    "repeal", "receipt", "complete", "peat", "repair", "report", "begin", "against",
    "gain", "agent", "ten",
    # help, what can I say
    "health", "held", "yelp", "kelp", "self", "hello", "helmet", "what can I see",
    "what did I say", "what can I do", "what a day",
    # finish, end session, skip
    "fishing", "furnish", "finest", "vanish", "spinach", "fetish", "ten sessions",
    "end", "session", "lesson", "ship", "script", "skim", "kip", "skin", "sip",
    # everyday words and numbers the coach counts
    "one", "two", "three", "four", "five", "six", "eight", "nine", "ten", "twenty", "thirty",
    "yes", "okay", "thank you", "hello", "good", "right", "left", "up", "down", "off", "fine",
]  # fmt: skip


def _phonemes(text: str, voice: str) -> str:
    # Stress, length and variant marks dropped: a near-identical sound is the same word here.
    return re.sub(r"[\s',%=_:#2]", "", transcribe(text, voice))


@functools.cache
def _command_sounds() -> frozenset[str]:
    sounds = set()
    for spoken in (p for phrases in positives().values() for p in phrases):
        for voice in ("en-us", "en-gb"):
            sounds.add(_phonemes(spoken, voice))
    return frozenset(sounds)


def homophones(words: list[str]) -> list[str]:
    """Those of ``words`` that espeak-ng pronounces exactly like a command (US or UK)."""
    sounds = _command_sounds()
    return [w for w in words if any(_phonemes(w, v) in sounds for v in ("en-us", "en-gb"))]


#: Homophones of "pause" outside rhotic accents, which espeak-ng writes with another vowel.
NON_RHOTIC_HOMOPHONES = ("pours", "pores", "paws", "pause")


@functools.cache
def negative_words() -> tuple[str, ...]:
    """The confusable words, without any that sound like a command."""
    same = set(homophones(CONFUSABLE)) | set(NON_RHOTIC_HOMOPHONES)
    return tuple(sorted({w for w in CONFUSABLE if w not in same}))
