"""Effects: what the engine wants done, as data. A shell carries them out in order."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Effect:
    """Base class of everything the engine asks for."""


@dataclass(frozen=True)
class Say(Effect):
    """Speak ``text``; report ``SpeechFinished(utterance)`` when it has been played.

    ``quotes_commands`` marks the few prompts that must name command phrases (help, the pause
    and stop prompts); every other utterance is guaranteed free of them.
    """

    text: str
    utterance: int
    kind: str = "cue"
    quotes_commands: bool = False


@dataclass(frozen=True)
class Count(Effect):
    """Speak one count of a hold (``text`` is the word) at the instant it is emitted."""

    n: int
    text: str


@dataclass(frozen=True)
class CutSpeech(Effect):
    """Silence now: cut the utterance playing mid-word and drop everything queued."""


@dataclass(frozen=True)
class StartHold(Effect):
    """A hold begins now and lasts ``seconds`` (for display and logging)."""

    exercise: str
    side: str | None
    rep: int
    seconds: float


@dataclass(frozen=True)
class CancelHold(Effect):
    """The running hold ends early."""


@dataclass(frozen=True)
class RecordOutcome(Effect):
    """Store how an exercise went: done, skipped, dropped_pain, stopped or avoided."""

    exercise: str
    outcome: str


@dataclass(frozen=True)
class RecordPain(Effect):
    """Store a pain event durably and put the exercise on the avoid list.

    Implies the exercise's outcome ``dropped_pain``. The shell reports back with
    ``PainRecorded`` (or ``PainRecordFailed``) once the write has returned.
    """

    exercise: str | None
    side: str | None
    rep: int | None
    second: float | None


@dataclass(frozen=True)
class EndSession(Effect):
    """The session is over: completed, stopped, finished_early or interrupted."""

    reason: str
