"""``MemoryStore``: the store's in-memory twin, for tests and simulated sessions.

It keeps the SQLite store's contract (the same checks, the same answers) but nothing outlives
the object. ``tests/test_store_contract.py`` holds both to it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from voicecoach.engine.effects import EndReason, Outcome
from voicecoach.store.db import stamp, utc_now
from voicecoach.store.protocol import AvoidEntry, check_end_reason, check_outcome, check_pain


@dataclass
class _Session:
    routine: str
    started: str
    ended: str | None = None
    end_reason: str | None = None
    outcomes: dict[str, str] = field(default_factory=dict)  # in first-recorded order
    pain: list[dict[str, Any]] = field(default_factory=list)


class MemoryStore:
    """Sessions, pain reports and the avoid list in a few dicts."""

    def __init__(self, now: Callable[[], datetime] = utc_now) -> None:
        self._now = now
        self._sessions: dict[int, _Session] = {}
        self._avoid: dict[str, AvoidEntry] = {}

    def avoided(self) -> list[AvoidEntry]:
        """The avoid list, oldest entry first (ties by exercise id)."""
        return sorted(self._avoid.values(), key=lambda e: (e.since, e.exercise))

    def start_session(self, routine: str) -> int:
        """Record that a routine has started; the new session's id."""
        session_id = len(self._sessions) + 1
        self._sessions[session_id] = _Session(routine, stamp(self._now()))
        return session_id

    def record_outcome(self, session_id: int, exercise: str, outcome: str) -> None:
        """Record how an exercise ended; recording it again in the same session replaces it."""
        check_outcome(outcome)
        session = self._session(session_id)
        stamp(self._now())  # the SQLite store stamps every write; its clock check applies here
        session.outcomes[exercise] = str(outcome)

    def record_pain(
        self,
        session_id: int,
        exercise: str | None,
        side: str | None,
        rep: int | None,
        second: float | None,
    ) -> None:
        """Record a pain report; a known exercise is dropped now and avoided from now on."""
        check_pain(rep, second)
        at = stamp(self._now())
        session = self._session(session_id)
        session.pain.append(
            {
                "exercise": exercise,
                "side": side,
                "rep": rep,
                "second": None if second is None else float(second),
            }
        )
        if exercise is not None:
            session.outcomes[exercise] = Outcome.DROPPED_PAIN.value
            old = self._avoid.get(exercise)
            if old is None:
                self._avoid[exercise] = AvoidEntry(exercise, at, "pain")
            else:
                self._avoid[exercise] = AvoidEntry(exercise, min(old.since, at), old.reason)

    def end_session(self, session_id: int, reason: str) -> None:
        """Record how a session ended; a session that has already ended keeps its first ending."""
        check_end_reason(reason)
        at = stamp(self._now())
        session = self._session(session_id)
        if session.ended is None:
            session.ended, session.end_reason = at, EndReason(reason).value

    def avoid_add(self, exercise: str, reason: str = "added by hand") -> bool:
        """Put an exercise on the avoid list; False if it was already there (entry unchanged)."""
        if exercise in self._avoid:
            return False
        self._avoid[exercise] = AvoidEntry(exercise, stamp(self._now()), reason)
        return True

    def avoid_remove(self, exercise: str) -> bool:
        """Take an exercise off the avoid list; False if it was not there."""
        return self._avoid.pop(exercise, None) is not None

    def history(self) -> list[dict[str, Any]]:
        """Every session, oldest first, with its outcomes and pain reports; JSON-ready."""
        return [
            {
                "id": sid,
                "routine": s.routine,
                "started": s.started,
                "ended": s.ended,
                "end_reason": s.end_reason,
                "exercises": [{"exercise": e, "outcome": o} for e, o in s.outcomes.items()],
                "pain": [dict(p) for p in s.pain],
            }
            for sid, s in self._sessions.items()
        ]

    def _session(self, session_id: int) -> _Session:
        session = self._sessions.get(session_id)
        if session is None:
            raise ValueError(f"no session with id {session_id!r}")
        return session
