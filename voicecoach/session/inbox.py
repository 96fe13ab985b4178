"""The event inbox between listeners and the session loop, with a priority lane for safety.

"Stop", "that hurts" and a lost microphone never wait behind other events.
"""

from __future__ import annotations

import collections
import threading

from voicecoach.engine.events import CommandHeard, Event, MicLost


def is_urgent(event: Event) -> bool:
    """Safety commands and microphone loss jump the queue."""
    return (isinstance(event, CommandHeard) and event.intent.is_safety) or isinstance(
        event, MicLost
    )


class Inbox:
    """A thread-safe two-lane queue: urgent events first, then the rest in arrival order."""

    def __init__(self) -> None:
        self._urgent: collections.deque[Event] = collections.deque()
        self._normal: collections.deque[Event] = collections.deque()
        self._ready = threading.Condition()

    def put(self, event: Event) -> None:
        """Add an event from any thread."""
        with self._ready:
            (self._urgent if is_urgent(event) else self._normal).append(event)
            self._ready.notify()

    def pending(self) -> bool:
        """Whether an event is waiting (never blocks for long)."""
        with self._ready:
            return bool(self._urgent or self._normal)

    def get(self, timeout: float | None) -> Event | None:
        """The next event, or None when ``timeout`` real seconds pass first."""
        with self._ready:
            if not self._ready.wait_for(lambda: self._urgent or self._normal, timeout):
                return None
            return (self._urgent or self._normal).popleft()
