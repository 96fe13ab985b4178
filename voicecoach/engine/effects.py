"""Effects: what the engine wants done, as data. ``interpreter.py`` carries them out in order.

``Effect`` is a closed union: a new kind of effect is added to it here and handled in the
interpreter, or mypy fails.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TypeAlias

from voicecoach.vocabulary import Expectation, Value


class Outcome(enum.StrEnum):
    """How one exercise of a session went; the values are what the store keeps."""

    DONE = "done"
    SKIPPED = "skipped"
    DROPPED_PAIN = "dropped_pain"
    STOPPED = "stopped"
    AVOIDED = "avoided"  # left out before the session began: it is on the avoid list


class EndReason(enum.StrEnum):
    """How a session ended; the values are what the store keeps."""

    COMPLETED = "completed"
    STOPPED = "stopped"
    FINISHED_EARLY = "finished_early"
    INTERRUPTED = "interrupted"  # ^C, or set on the next start after a crash


class Topic(enum.StrEnum):
    """What the coach asked; the values are what the store keeps beside each answer."""

    PAIN_START = "pain_start"  # the pain check-in before the exercises, 0 to 10
    PAIN_END = "pain_end"  # and after them
    EFFORT = "effort"  # "easy", "fine" or "hard", after an exercise's last set
    ROUTINE = "routine"  # what eases the pain (the CORE Back Tool's groups)


@dataclass(frozen=True)
class Say:
    """Speak ``text``; report ``SpeechFinished(utterance)`` when it has been played.

    ``quotes_commands`` marks the few prompts that must name command phrases (help, the pause
    and stop prompts); every other utterance is guaranteed free of them.
    """

    text: str
    utterance: int
    kind: str = "cue"
    quotes_commands: bool = False


@dataclass(frozen=True)
class Count:
    """Speak one count of a hold (``text`` is the word) at the instant it is emitted."""

    n: int
    text: str


@dataclass(frozen=True)
class CutSpeech:
    """Silence now: cut the utterance playing mid-word and drop everything queued."""


@dataclass(frozen=True)
class StartHold:
    """A hold begins now and lasts ``seconds`` (for display and logging)."""

    exercise: str
    side: str | None
    rep: int
    seconds: float


@dataclass(frozen=True)
class CancelHold:
    """The running hold ends early."""


@dataclass(frozen=True)
class RecordOutcome:
    """Store how an exercise went (and at what dose: reps and seconds per hold, when known)."""

    exercise: str
    outcome: Outcome
    reps: int | None = None
    hold_s: int | None = None


@dataclass(frozen=True)
class RecordAnswer:
    """Store the user's answer to a question (``exercise``: the one it was about, if any)."""

    topic: Topic
    value: Value
    exercise: str | None = None


@dataclass(frozen=True)
class ChooseRoutine:
    """The session guides ``routine`` (chosen by the user's answer): record it as the session's."""

    routine: str


@dataclass(frozen=True)
class RecordPain:
    """Store a pain event durably and put the exercise on the avoid list.

    Implies the exercise's outcome ``dropped_pain``. The shell reports back with
    ``PainRecorded`` (or ``PainRecordFailed``) once the write has returned.
    """

    exercise: str | None
    side: str | None
    rep: int | None
    second: float | None


@dataclass(frozen=True)
class EndSession:
    """The session is over, for ``reason``."""

    reason: EndReason


@dataclass(frozen=True)
class Listen:
    """From now on, listen for ``expectation`` (commands, and perhaps an answer).

    Emitted when what the coach listens for changes; recognizers that can narrow what they
    hear to it do, and stop and pain are always in it.
    """

    expectation: Expectation


Effect: TypeAlias = (
    Say
    | Count
    | CutSpeech
    | StartHold
    | CancelHold
    | RecordOutcome
    | RecordPain
    | RecordAnswer
    | ChooseRoutine
    | EndSession
    | Listen
)
"""Everything the engine may ask for."""
