"""The one narrow interface every speech recognizer implements, and what it reports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from voicecoach.vocabulary import Intent


@dataclass(frozen=True)
class Detection:
    """A command heard in the microphone stream, with its span in audio time (seconds)."""

    intent: Intent
    phrase: str
    confidence: float
    start: float
    end: float
    backend: str = ""


class Recognizer(Protocol):
    """Turns 16 kHz mono int16 PCM, block by block, into command detections."""

    name: str

    def accept(self, pcm: np.ndarray, t: float) -> list[Detection]:
        """Feed one block that starts at audio time ``t``; detections completed by it."""
        ...

    def reset(self) -> None:
        """Forget everything heard: afterwards it behaves exactly as a freshly built one.

        Called at the start of each session, so recognizers built once serve them all.
        """
        ...


class RecognizerUnavailable(RuntimeError):
    """A backend cannot run here (missing package or model); the message says how to fix it."""
