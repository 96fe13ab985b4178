"""The command vocabulary: every phrase the user may say, and the intent it means.

This is the one place that lists command phrases. The recognizers build their grammars from it,
the routine validator rejects spoken text that contains any of them, and the engine's own prompts
are tested against it, so the coach can never say a phrase that would trigger its own commands.
"""

from __future__ import annotations

import difflib
import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeAlias


class Intent(enum.Enum):
    """What the user wants. Safety intents (PAIN, STOP) pre-empt everything else."""

    PAIN = "pain"
    STOP = "stop"
    NEXT = "next"
    PAUSE = "pause"
    RESUME = "resume"
    REPEAT = "repeat"
    HELP = "help"
    FINISH = "finish"

    @property
    def is_safety(self) -> bool:
        """Pain and stop go through the priority lane and favour recall."""
        return self in (Intent.PAIN, Intent.STOP)


#: Phrase -> intent. Lower-case words separated by single spaces, no punctuation.
PHRASES: dict[str, Intent] = {
    "that hurts": Intent.PAIN,
    "it hurts": Intent.PAIN,
    "this hurts": Intent.PAIN,
    "ouch": Intent.PAIN,
    "that hurts stop": Intent.PAIN,
    "stop": Intent.STOP,
    "next": Intent.NEXT,
    "next one": Intent.NEXT,
    "skip": Intent.NEXT,
    "pause": Intent.PAUSE,
    "wait": Intent.PAUSE,
    "resume": Intent.RESUME,
    "continue": Intent.RESUME,
    "go on": Intent.RESUME,
    "repeat": Intent.REPEAT,
    "again": Intent.REPEAT,
    "help": Intent.HELP,
    "what can i say": Intent.HELP,
    "finish": Intent.FINISH,
    "end session": Intent.FINISH,
}

#: Phrases per recognizer language. The coach speaks English; other languages exist so a
#: recognizer model in that language can be used (and tested: the only vosk model on the
#: package registries is Korean).
PHRASES_BY_LANGUAGE: dict[str, dict[str, Intent]] = {
    "en": PHRASES,
    "ko": {
        "아파": Intent.PAIN,  # it hurts
        "아파요": Intent.PAIN,
        "멈춰": Intent.STOP,  # stop
        "다음": Intent.NEXT,  # next
        "잠깐": Intent.PAUSE,  # wait
        "계속": Intent.RESUME,  # continue
        "다시": Intent.REPEAT,  # again
        "도움말": Intent.HELP,  # help
        "끝": Intent.FINISH,  # end
    },
}

#: Words the coach must not say although no command is just that word: a recognizer listening
#: for "that hurts" could fire on "hurts" alone.
RESERVED_WORDS: frozenset[str] = frozenset({"hurts"})

# Inflections a recognizer may hear as the command itself ("stopping" -> "stop").
_INFLECTIONS = r"(?:s|es|d|ed|ing|ping|ped)?"

_WORD = re.compile(r"[a-z']+")


def normalize(text: str) -> str:
    """Lower-case, keep only words, single spaces: ``"That hurts, STOP!" -> "that hurts stop"``."""
    return " ".join(_WORD.findall(text.lower().replace("’", "'")))


def _spoken_pattern() -> re.Pattern[str]:
    alternatives = []
    for phrase in sorted(set(PHRASES) | RESERVED_WORDS, key=len, reverse=True):
        words = phrase.split()
        if len(words) == 1:
            alternatives.append(re.escape(words[0]) + _INFLECTIONS)
        else:
            alternatives.append(r"\s+".join(re.escape(w) for w in words))
    return re.compile(r"\b(?:" + "|".join(alternatives) + r")\b")


_SPOKEN = _spoken_pattern()


def find_command_phrase(text: str) -> str | None:
    """Return the first command phrase (or inflection of one) inside ``text``, else None."""
    match = _SPOKEN.search(normalize(text))
    return match.group(0) if match else None


@dataclass(frozen=True)
class Match:
    """A phrase matched in a transcript."""

    intent: Intent
    phrase: str


def match_intent(transcript: str) -> Match | None:
    """Map a whole transcript to an intent, or None when it is not a command.

    The whole utterance must be one phrase ("that hurts stop" is pain, not stop); pain wins over
    stop when a transcript holds both, because pain also records and drops the exercise.
    """
    words = normalize(transcript)
    if words in PHRASES:
        return Match(PHRASES[words], words)
    return None


def phrases_for(intent: Intent) -> list[str]:
    """All phrases that mean ``intent``, in vocabulary order."""
    return [p for p, i in PHRASES.items() if i is intent]


def grammar_words(phrases: Iterable[str] | None = None) -> list[str]:
    """The distinct words of the given phrases (default: all), sorted, for recognizer grammars."""
    chosen = PHRASES if phrases is None else phrases
    return sorted({w for p in chosen for w in p.split()})


# -- what the coach listens for next -------------------------------------------------------
Value: TypeAlias = int | str
"""An answer's value: a number, or the chosen option."""

#: Spoken numbers, by value (a pain score is 0 to 10).
# fmt: off
NUMBER_WORDS: tuple[str, ...] = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen", "twenty",
)
# fmt: on

_ANSWER_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")


def answer_words(text: str) -> str:
    """Lower-case words and digits (of any script), single spaces: how answers are compared."""
    return " ".join(_ANSWER_WORD.findall(text.lower().replace("’", "'")))


@dataclass(frozen=True)
class Number:
    """A whole number from ``low`` to ``high``, said as a word or typed as digits."""

    low: int
    high: int

    def phrases(self) -> dict[str, Value]:
        """Spoken phrase -> value (only the numbers that have a word)."""
        top = min(self.high, len(NUMBER_WORDS) - 1)
        return {NUMBER_WORDS[n]: n for n in range(max(self.low, 0), top + 1)}

    def match(self, text: str) -> Value | None:
        """The number said (a word) or typed (digits) in the whole of ``text``, else None.

        "Four out of ten" is four too: the scale may be said with it.
        """
        words = re.sub(r"\s+(?:out\s+)?of\s+(?:ten|10)$", "", answer_words(text))
        if words.isdigit() and self.low <= int(words) <= self.high:
            return int(words)
        return self.phrases().get(words)


@dataclass(frozen=True)
class Choice:
    """One of a set of options, each heard by one or more spoken names.

    ``names`` pairs a spoken name with its option ("core stability" -> "core-stability");
    ``cutoff`` below 1 accepts a name said nearly right (a difflib ratio), for free
    transcription that may mishear a word.
    """

    names: tuple[tuple[str, str], ...]
    cutoff: float = 1.0

    @classmethod
    def of(cls, *options: str) -> Choice:
        """Options that are said as they are written ("easy", "fine", "hard")."""
        return cls(tuple((answer_words(o), o) for o in options))

    def phrases(self) -> dict[str, Value]:
        """Spoken name -> option."""
        return {answer_words(name): option for name, option in self.names}

    def match(self, text: str) -> Value | None:
        """The option whose name is the whole of ``text`` (or close enough), else None."""
        phrases = self.phrases()
        best = difflib.get_close_matches(answer_words(text), list(phrases), n=1, cutoff=self.cutoff)
        return phrases[best[0]] if best else None


Answer: TypeAlias = Number | Choice

SAFETY: frozenset[Intent] = frozenset(i for i in Intent if i.is_safety)


@dataclass(frozen=True)
class Expectation:
    """What the coach listens for next: commands, and perhaps one answer.

    Stop and pain are always among the commands, whatever is asked for: nothing may switch
    them off. The default, every command and no answer, is what a session listens for.
    """

    intents: frozenset[Intent] = frozenset(Intent)
    answer: Answer | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "intents", frozenset(self.intents) | SAFETY)

    def allows(self, intent: Intent) -> bool:
        """Whether a command of ``intent`` is listened for now."""
        return intent in self.intents

    def commands(self, phrases: dict[str, Intent] = PHRASES) -> dict[str, Intent]:
        """The command phrases listened for now, out of ``phrases`` (a language's)."""
        return {p: i for p, i in phrases.items() if i in self.intents}

    def answer_phrases(self) -> dict[str, Value]:
        """Spoken answer -> value (empty when no answer is expected)."""
        return self.answer.phrases() if self.answer is not None else {}

    def parse(self, text: str) -> Value | None:
        """The expected answer in ``text``, or None (also when no answer is expected)."""
        return self.answer.match(text) if self.answer is not None else None
