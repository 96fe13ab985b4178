"""Real session clocks. The engine never reads one: shells pass ``now`` into ``step``."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Session time, and how long a span of it lasts in real seconds."""

    def now(self) -> float:
        """Seconds since the session began."""
        ...

    def to_real(self, session_seconds: float) -> float:
        """Real seconds that ``session_seconds`` of session time take."""
        ...


class MonotonicClock:
    """Session time from ``time.monotonic``, optionally sped up (``scale=0.02``: 50x faster).

    Never the wall clock: a Pi without a real-time clock jumps its date when it syncs.
    """

    def __init__(self, scale: float = 1.0) -> None:
        if scale <= 0:
            raise ValueError("time scale must be positive")
        self.scale = scale
        self._start = time.monotonic()

    def now(self) -> float:
        """Session seconds since this clock was made."""
        return (time.monotonic() - self._start) / self.scale

    def to_real(self, session_seconds: float) -> float:
        """Real seconds for a span of session time."""
        return session_seconds * self.scale
