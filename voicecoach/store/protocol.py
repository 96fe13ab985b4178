"""What a session needs from the store, as a protocol: the SQLite ``Store`` and ``MemoryStore``.

Reading progress (``Store.avoid_changes``, ``Store.sessions_running``) is not a session's
business: only the SQLite store has it, for ``voicecoach progress``, ``history`` and ``export``.

Both keep the same contract (``tests/test_store_contract.py`` runs one set of tests over both),
including the checks here, so a fake never accepts what the real store would refuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from voicecoach.engine.effects import EndReason, Outcome, Topic
from voicecoach.engine.progression import Effort
from voicecoach.routines.model import PainPattern


@dataclass(frozen=True)
class AvoidEntry:
    """An exercise the coach leaves out of every routine, since when and why."""

    exercise: str
    since: str
    reason: str


class SessionStore(Protocol):
    """Sessions, their outcomes and pain reports, and the avoid list."""

    def avoided(self) -> list[AvoidEntry]:
        """The avoid list, oldest entry first (ties by exercise id)."""
        ...

    def start_session(self, routine: str) -> int:
        """Record that a routine has started; the new session's id."""
        ...

    def record_outcome(
        self,
        session_id: int,
        exercise: str,
        outcome: Outcome,
        reps: int | None = None,
        hold_s: int | None = None,
    ) -> None:
        """Record how an exercise ended (and its dose); again in the same session replaces it."""
        ...

    def record_answer(
        self, session_id: int, topic: Topic, exercise: str | None, value: int | str
    ) -> None:
        """Record the user's answer to one of the coach's questions."""
        ...

    def set_routine(self, session_id: int, routine: str) -> None:
        """The session guides ``routine`` (chosen by the CORE question after it started)."""
        ...

    def efforts(self) -> dict[str, list[str]]:
        """Each exercise's "easy / fine / hard" answers, oldest first (the engine doses by them)."""
        ...

    def record_pain(
        self,
        session_id: int,
        exercise: str | None,
        side: str | None,
        rep: int | None,
        second: float | None,
    ) -> None:
        """Record a pain report; a known exercise is dropped now and avoided from now on.

        Durable on return: only then may the coach say the exercise is taken out.
        """
        ...

    def end_session(self, session_id: int, reason: EndReason) -> None:
        """Record how a session ended; a session that has already ended keeps its first ending."""
        ...

    def history(self) -> list[dict[str, Any]]:
        """Every session, oldest first, with its outcomes and pain reports; JSON-ready."""
        ...


def check_outcome(outcome: str) -> None:
    """Refuse a value that is not an ``Outcome``."""
    _check_choice("outcome", outcome, tuple(Outcome))


def check_end_reason(reason: str) -> None:
    """Refuse a value that is not an ``EndReason``."""
    _check_choice("end reason", reason, tuple(EndReason))


def check_answer(topic: str, value: object) -> None:
    """Refuse an unknown topic, or a value that does not answer it."""
    _check_choice("topic", topic, tuple(Topic))
    if topic in (Topic.PAIN_START, Topic.PAIN_END):
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 10:
            raise ValueError(f"a pain score is a whole number from 0 to 10, not {value!r}")
    elif topic == Topic.EFFORT:
        _check_choice("effort", str(value), tuple(Effort))
    elif value not in tuple(p.value for p in PainPattern):
        raise ValueError(f"what eases the pain is one of the CORE groups, not {value!r}")


def check_dose(reps: object, hold_s: object) -> None:
    """Refuse a dose that is not whole numbers (both may be None)."""
    for name, value in (("reps", reps), ("hold_s", hold_s)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise ValueError(f"{name} must be an int or None, not {value!r}")


def answer_value(topic: str, text: str) -> int | str:
    """A stored answer as it was given: pain scores are numbers."""
    return int(text) if topic in (Topic.PAIN_START, Topic.PAIN_END) else text


def session_record(
    sid: int,
    routine: str,
    started: str,
    ended: str | None,
    end_reason: str | None,
    exercises: list[dict[str, Any]],
    pain: list[dict[str, Any]],
    answers: list[dict[str, Any]],
) -> dict[str, Any]:
    """One session of ``history()``, the same from both stores (``checkins``: start and end)."""
    checkins = (Topic.PAIN_START, Topic.PAIN_END)
    scores = {a["topic"]: a["value"] for a in answers if a["topic"] in checkins}
    return {
        "id": sid,
        "routine": routine,
        "started": started,
        "ended": ended,
        "end_reason": end_reason,
        "exercises": exercises,
        "pain": pain,
        "checkins": {
            "start": scores.get(Topic.PAIN_START.value),
            "end": scores.get(Topic.PAIN_END.value),
        },
        "answers": answers,
    }


def check_pain(rep: object, second: object) -> None:
    """Refuse a rep that is not an int or a second that is not a number (both may be None)."""
    if rep is not None and (not isinstance(rep, int) or isinstance(rep, bool)):
        raise ValueError(f"rep must be an int or None, not {rep!r}")
    if second is not None and (not isinstance(second, int | float) or isinstance(second, bool)):
        raise ValueError(f"second must be a number or None, not {second!r}")


def _check_choice(what: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; expected one of {', '.join(allowed)}")
