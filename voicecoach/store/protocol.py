"""What a session needs from the store, as a protocol: the SQLite ``Store`` and ``MemoryStore``.

Both keep the same contract (``tests/test_store_contract.py`` runs one set of tests over both),
including the checks here, so a fake never accepts what the real store would refuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from voicecoach.engine.effects import EndReason, Outcome


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

    def record_outcome(self, session_id: int, exercise: str, outcome: Outcome) -> None:
        """Record how an exercise ended; recording it again in the same session replaces it."""
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


def check_pain(rep: object, second: object) -> None:
    """Refuse a rep that is not an int or a second that is not a number (both may be None)."""
    if rep is not None and (not isinstance(rep, int) or isinstance(rep, bool)):
        raise ValueError(f"rep must be an int or None, not {rep!r}")
    if second is not None and (not isinstance(second, int | float) or isinstance(second, bool)):
        raise ValueError(f"second must be a number or None, not {second!r}")


def _check_choice(what: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; expected one of {', '.join(allowed)}")
