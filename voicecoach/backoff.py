"""Back-off between attempts to open a device that is not there (yet).

Each failure waits the next delay of a schedule, the last one repeating; success starts the
schedule again. The caller owns the clock: it passes ``now`` (monotonic seconds), so the rule is
the same for the speaker, the microphone and the tests.
"""

from __future__ import annotations

from collections.abc import Sequence


class Backoff:
    """When to try again, after how many failures in a row."""

    def __init__(self, delays: Sequence[float]) -> None:
        if not delays:
            raise ValueError("a back-off needs at least one delay")
        self.delays = tuple(delays)
        self.failures = 0
        self.next_try = 0.0  # monotonic time of the next attempt (0: try at once)

    def due(self, now: float) -> bool:
        """Whether an attempt may be made now."""
        return now >= self.next_try

    def failed(self, now: float, at_least: float = 0.0) -> float:
        """An attempt failed at ``now``: the delay until the next one (never below ``at_least``)."""
        delay = max(self.delays[min(self.failures, len(self.delays) - 1)], at_least)
        self.failures += 1
        self.next_try = now + delay
        return delay

    def reset(self, next_try: float | None = None) -> None:
        """Start the schedule again (after a success, or a new loss: then try at ``next_try``)."""
        self.failures = 0
        if next_try is not None:
            self.next_try = next_try
