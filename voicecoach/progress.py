"""Progress: what the history says over time, in a shape a person, a script or a chart reads.

Built from the store's ``history()`` and avoid-list changes, with the library's names for
routines and exercises. Times become local ones here (the store keeps UTC); nothing here draws
or writes files (``charts.py`` and ``export.py`` do).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Names:
    """Readable names for the ids the store keeps (an id the library no longer has stays)."""

    routines: Mapping[str, str]
    exercises: Mapping[str, str]

    def routine(self, routine_id: str) -> str:
        """The routine's title."""
        return self.routines.get(routine_id, routine_id)

    def exercise(self, exercise_id: str | None) -> str:
        """The exercise's name ("before any exercise" for pain reported before one began)."""
        if exercise_id is None:
            return "before any exercise"
        return self.exercises.get(exercise_id, exercise_id)


def local(stamp: str | None) -> datetime.datetime | None:
    """A stored UTC time stamp as local time."""
    if stamp is None:
        return None
    return datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone()


def when(stamp: str | None) -> str:
    """A stored time stamp as a person reads it: local date and time to the minute."""
    moment = local(stamp)
    return moment.strftime("%Y-%m-%d %H:%M") if moment else ""


def state(session: Mapping[str, Any], latest: bool, running: bool) -> str:
    """How a session ended, in words; one not ended is running only if it is the live one."""
    reason = session["end_reason"]
    if reason is None:
        return "running" if latest and running else "interrupted"
    return str(reason).replace("_", " ")


def summarize(
    history: Sequence[Mapping[str, Any]],
    avoid_changes: Sequence[Mapping[str, Any]],
    avoided: Sequence[str],
    names: Names,
    running: bool = False,
) -> dict[str, Any]:
    """Progress as JSON-ready data.

    Sessions with pain before and after, sessions per week, avoid-list changes, and each
    exercise's dose over time.

    ``running``: the store's latest open session is being guided now; any other open session
    was cut short (a crash, a power cut) and is shown as interrupted.
    """
    sessions = []
    weeks: dict[str, int] = {}
    doses: dict[str, list[dict[str, Any]]] = {}
    for i, s in enumerate(history):
        started = local(s["started"])
        outcomes = [e["outcome"] for e in s["exercises"]]
        sessions.append(
            {
                "id": s["id"],
                "started": when(s["started"]),
                "routine": s["routine"],
                "title": names.routine(s["routine"]),
                "state": state(s, i == len(history) - 1, running),
                "pain_before": s["checkins"]["start"],
                "pain_after": s["checkins"]["end"],
                "done": outcomes.count("done"),
                "partly_done": outcomes.count("stopped"),
                "skipped": outcomes.count("skipped"),
                "dropped": outcomes.count("dropped_pain"),
                "pain_reports": [
                    {"exercise": p["exercise"], "name": names.exercise(p["exercise"])}
                    for p in s["pain"]
                ],
            }
        )
        if started is not None and "done" in outcomes:
            year, week, _ = started.isocalendar()
            key = f"{year}-W{week:02d}"
            weeks[key] = weeks.get(key, 0) + 1
        for e in s["exercises"]:
            if e.get("reps") is not None:
                doses.setdefault(e["exercise"], []).append(
                    {"started": when(s["started"]), "reps": e["reps"], "hold_s": e["hold_s"]}
                )
    return {
        "sessions": sessions,
        "sessions_per_week": weeks,
        "avoid_changes": [
            {
                "exercise": c["exercise"],
                "name": names.exercise(c["exercise"]),
                "change": "dropped" if c["change"] == "added" else "restored",
                "reason": c["reason"],
                "at": when(c["at"]),
            }
            for c in avoid_changes
        ],
        "avoided": [{"exercise": e, "name": names.exercise(e)} for e in avoided],
        "doses": {
            ex: {"name": names.exercise(ex), "sessions": points} for ex, points in doses.items()
        },
    }


def as_text(progress: Mapping[str, Any]) -> str:
    """Progress for the terminal."""
    lines = []
    sessions = progress["sessions"]
    if not sessions:
        return "No sessions yet."
    lines.append("Pain before and after (0 to 10):")
    for s in sessions:
        before, after = s["pain_before"], s["pain_after"]
        pain = f"{'-' if before is None else before} -> {'-' if after is None else after}"
        lines.append(f"  {s['started']}  {pain:<8} {s['title']} ({s['state']})")
    lines.append("Sessions per week (with an exercise done):")
    for week, n in progress["sessions_per_week"].items():
        lines.append(f"  {week}  {n}")
    if progress["avoid_changes"]:
        lines.append("Exercises dropped and restored:")
        for c in progress["avoid_changes"]:
            lines.append(f"  {c['at']}  {c['change']:<8} {c['name']}")
    if progress["doses"]:
        lines.append("Doses over time (reps x seconds per hold, from the day it changed):")
        for dose in progress["doses"].values():
            steps, last = [], None
            for p in dose["sessions"]:
                now = f"{p['reps']} x {p['hold_s']} s"
                if now != last:
                    steps.append(f"{now} ({p['started'][:10]})")
                last = now
            lines.append(f"  {dose['name']}: {', '.join(steps)}")
    return "\n".join(lines)
