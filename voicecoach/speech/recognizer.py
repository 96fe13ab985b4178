"""The one narrow interface every speech recognizer implements, and what it reports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from voicecoach.vocabulary import Expectation, Intent, Value


@dataclass(frozen=True)
class Detection:
    """A command heard in the microphone stream, with its span in audio time (seconds)."""

    intent: Intent
    phrase: str
    confidence: float
    start: float
    end: float
    backend: str = ""


@dataclass(frozen=True)
class Answer:
    """An expected answer heard in the microphone stream (a number, a chosen option)."""

    value: Value
    phrase: str
    confidence: float
    start: float
    end: float
    backend: str = ""


class Recognizer(Protocol):
    """Turns 16 kHz mono int16 PCM, block by block, into command detections (and answers)."""

    name: str

    def accept(self, pcm: np.ndarray, t: float) -> Sequence[Detection | Answer]:
        """Feed one block that starts at audio time ``t``; what it completed."""
        ...

    def expect(self, expectation: Expectation) -> None:
        """Listen for ``expectation`` from now on.

        Commands it leaves out are no longer reported (stop and pain are always in it); a
        recognizer that can hear free words also listens for the expected answer. Until told,
        a recognizer listens for every command and no answer.
        """
        ...

    def reset(self) -> None:
        """Forget everything heard: afterwards it behaves exactly as a freshly built one.

        Called at the start of each session, so recognizers built once serve them all.
        """
        ...


class RecognizerUnavailable(RuntimeError):
    """A backend cannot run here (missing package or model); the message says how to fix it."""
