"""Events: facts that happened, fed to the engine by a shell."""

from __future__ import annotations

from dataclasses import dataclass

from voicecoach.vocabulary import Intent, Value


@dataclass(frozen=True)
class Event:
    """Base class of everything the engine reacts to."""


@dataclass(frozen=True)
class SessionStarted(Event):
    """The shell is ready: the engine may begin the welcome."""


@dataclass(frozen=True)
class CommandHeard(Event):
    """The user said a command."""

    intent: Intent
    phrase: str = ""


@dataclass(frozen=True)
class AnswerHeard(Event):
    """The user answered what the coach asked (``Listen`` said which kind of answer).

    ``value`` is the number or the chosen option; ``phrase`` is what was said or typed.
    """

    value: Value
    phrase: str = ""


@dataclass(frozen=True)
class NotUnderstood(Event):
    """The user said something that is not a command (text mode, or a rejected utterance)."""

    text: str = ""


@dataclass(frozen=True)
class TimeReached(Event):
    """The engine's deadline (``State.deadline``) has come."""


@dataclass(frozen=True)
class SpeechFinished(Event):
    """An utterance finished playing (not sent for utterances that were cut)."""

    utterance: int


@dataclass(frozen=True)
class PainRecorded(Event):
    """The pain record asked for by ``RecordPain`` is durable on disk."""


@dataclass(frozen=True)
class PainRecordFailed(Event):
    """The pain record could not be written."""

    reason: str = ""


@dataclass(frozen=True)
class MicLost(Event):
    """Microphone blocks stopped arriving: the coach can no longer hear the user."""


@dataclass(frozen=True)
class MicBack(Event):
    """Microphone blocks are arriving again."""


@dataclass(frozen=True)
class Interrupted(Event):
    """The process is being stopped (Ctrl-C, SIGTERM): end now, recorded as interrupted."""
