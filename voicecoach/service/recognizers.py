"""The recognizers every session of the service listens with: built once, then reused.

Building them loads a vosk model, two ONNX sessions and pocketsphinx (seconds on a Pi); the
session builder resets them at each start, so a reused recognizer hears a new session exactly
as a new one would.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from voicecoach.speech.recognizer import Recognizer


class SessionRecognizers:
    """Builds the recognizers on first need and hands out the same ones ever after."""

    def __init__(self, build: Callable[[], Sequence[Recognizer]]) -> None:
        self._build = build
        self._built: list[Recognizer] | None = None

    def get(self) -> list[Recognizer]:
        """The recognizers; raises what building raised (and builds again on the next call)."""
        if self._built is None:
            self._built = list(self._build())
        return self._built
