"""Reminders: at its time each day, the coach suggests a routine; a bare "start" then means it."""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Mapping, Sequence

from voicecoach.config import Reminder
from voicecoach.routines.model import Routine
from voicecoach.service.idle import announce
from voicecoach.service.state import ServiceState

SUGGESTION_S = 600  # after a reminder, a bare "start" means its routine for this long


class Reminders:
    """Announces each reminder once on its day, and remembers what it suggested for a while."""

    def __init__(
        self,
        routines: Mapping[str, Routine],
        reminders: Sequence[Reminder],
        say: Callable[[str], None],
        status: ServiceState,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.routines = routines
        self.say = say
        self.clock = clock
        self.reminders = [r for r in reminders if r.routine in routines]
        for unknown in (r for r in reminders if r.routine not in routines):
            status.error(
                f"reminder at {unknown.hour:02}:{unknown.minute:02}: no routine "
                f"called {unknown.routine!r}; it is ignored"
            )
        self._reminded: dict[Reminder, datetime.date] = {}
        self._suggested: tuple[str, float] | None = None  # (routine, until)

    def announce_due(self, now: datetime.datetime) -> None:
        """Say every reminder due at ``now`` that was not said yet today."""
        for reminder in self.reminders:
            due = (now.hour, now.minute) == (reminder.hour, reminder.minute)
            if due and self._reminded.get(reminder) != now.date():
                self._reminded[reminder] = now.date()
                self._suggested = (reminder.routine, self.clock() + SUGGESTION_S)
                self.say(announce(self.routines[reminder.routine]))

    def suggestion(self) -> str | None:
        """The routine a bare "start" means now, if a reminder suggested one lately."""
        if self._suggested is None or self.clock() > self._suggested[1]:
            return None
        return self._suggested[0]

    def forget_suggestion(self) -> None:
        """A session started: the suggestion has been taken up (or passed over)."""
        self._suggested = None
