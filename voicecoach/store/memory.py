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
from voicecoach.store.protocol import (
    AvoidEntry,
    SessionStore,
    answer_value,
    check_answer,
    check_dose,
    check_end_reason,
    check_outcome,
    check_pain,
    session_record,
)


@dataclass
class _Session:
    routine: str
    started: str
    ended: str | None = None
    end_reason: str | None = None
    outcomes: dict[str, dict[str, Any]] = field(default_factory=dict)  # first-recorded order
    pain: list[dict[str, Any]] = field(default_factory=list)
    answers: list[dict[str, Any]] = field(default_factory=list)


class MemoryStore:
    """Sessions, pain reports and the avoid list in a few dicts."""

    def __init__(self, now: Callable[[], datetime] = utc_now) -> None:
        self._now = now
        self._sessions: dict[int, _Session] = {}
        self._avoid: dict[str, AvoidEntry] = {}
        self._past_efforts: dict[str, list[str]] = {}

    @classmethod
    def preview_of(cls, store: SessionStore) -> MemoryStore:
        """A copy of ``store``'s avoid list and answers that keeps what a session records.

        A rendered preview is not a session the user did: it follows their avoid list and
        doses, and leaves their history as it was.
        """
        preview = cls()
        preview._avoid = {e.exercise: e for e in store.avoided()}
        preview._past_efforts = {k: list(v) for k, v in store.efforts().items()}
        return preview

    def avoided(self) -> list[AvoidEntry]:
        """The avoid list, oldest entry first (ties by exercise id)."""
        return sorted(self._avoid.values(), key=lambda e: (e.since, e.exercise))

    def start_session(self, routine: str) -> int:
        """Record that a routine has started; the new session's id."""
        session_id = len(self._sessions) + 1
        self._sessions[session_id] = _Session(routine, stamp(self._now()))
        return session_id

    def record_outcome(
        self,
        session_id: int,
        exercise: str,
        outcome: str,
        reps: int | None = None,
        hold_s: int | None = None,
    ) -> None:
        """Record how an exercise ended (and its dose); again in the same session replaces it."""
        check_outcome(outcome)
        check_dose(reps, hold_s)
        session = self._session(session_id)
        stamp(self._now())  # the SQLite store stamps every write; its clock check applies here
        self._set_outcome(session, exercise, str(outcome), reps, hold_s)

    def record_answer(
        self, session_id: int, topic: str, exercise: str | None, value: int | str
    ) -> None:
        """Record the user's answer to one of the coach's questions."""
        check_answer(topic, value)
        session = self._session(session_id)
        stamp(self._now())
        value = answer_value(str(topic), str(value))
        session.answers.append({"topic": str(topic), "exercise": exercise, "value": value})

    def set_routine(self, session_id: int, routine: str) -> None:
        """The session guides ``routine`` (chosen by the CORE question after it started)."""
        self._session(session_id).routine = routine

    def efforts(self) -> dict[str, list[str]]:
        """Each exercise's "easy / fine / hard" answers, oldest first (the engine doses by them)."""
        out = {k: list(v) for k, v in self._past_efforts.items()}
        for session in self._sessions.values():
            for a in session.answers:
                if a["topic"] == "effort":
                    out.setdefault(a["exercise"], []).append(a["value"])
        return out

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
                "at": at,
            }
        )
        if exercise is not None:
            self._set_outcome(session, exercise, Outcome.DROPPED_PAIN.value, None, None)
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
            session_record(
                sid,
                s.routine,
                s.started,
                s.ended,
                s.end_reason,
                [dict(o) for o in s.outcomes.values()],
                [dict(p) for p in s.pain],
                [dict(a) for a in s.answers],
            )
            for sid, s in self._sessions.items()
        ]

    @staticmethod
    def _set_outcome(
        session: _Session, exercise: str, outcome: str, reps: int | None, hold_s: int | None
    ) -> None:
        old = session.outcomes.get(exercise, {})
        session.outcomes[exercise] = {
            "exercise": exercise,
            "outcome": outcome,
            "reps": reps if reps is not None else old.get("reps"),
            "hold_s": hold_s if hold_s is not None else old.get("hold_s"),
        }

    def _session(self, session_id: int) -> _Session:
        session = self._sessions.get(session_id)
        if session is None:
            raise ValueError(f"no session with id {session_id!r}")
        return session
