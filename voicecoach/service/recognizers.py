"""The recognizers every session of the service listens with: built once, then reused.

Building them loads a vosk model, two ONNX sessions and pocketsphinx (seconds on a Pi); the
session builder resets them at each start, so a reused recognizer hears a new session exactly
as a new one would. They are built again only when what they were built from has changed: the
personal voice, after an enrollment (spoken through the service, or ``enroll --from-dir`` and
``--remove`` run on the service's data folder).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence

from voicecoach.speech.recognizer import Recognizer


def _unchanging() -> Hashable:
    return None


class SessionRecognizers:
    """Builds the recognizers on first need and hands out the same ones until ``source`` changes.

    ``source()`` names what a build depends on (the personal model's file and modification
    time); ``built`` are recognizers already built from the current source.
    """

    def __init__(
        self,
        build: Callable[[], Sequence[Recognizer]],
        built: Sequence[Recognizer] | None = None,
        source: Callable[[], Hashable] = _unchanging,
    ) -> None:
        self._build = build
        self._source = source
        self._built: list[Recognizer] | None = None if built is None else list(built)
        self._built_from = source()

    def get(self) -> list[Recognizer]:
        """The recognizers; raises what building raised (and builds again on the next call)."""
        now = self._source()
        if self._built is None or now != self._built_from:
            self._built = None
            self._built = list(self._build())
            self._built_from = now
        return self._built
