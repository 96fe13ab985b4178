"""``voicecoach export --csv DIR``: the history as CSV files a spreadsheet opens.

One file per kind of record: sessions, exercises (with their dose), pain events, check-ins and
the avoid list. Times are local, beside the stored UTC ones; names beside ids.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from voicecoach.progress import Names, when

FILES = ("sessions.csv", "exercises.csv", "pain_events.csv", "checkins.csv", "avoid.csv")


def write_csv(
    folder: Path,
    history: Sequence[Mapping[str, Any]],
    avoided: Sequence[tuple[str, str, str]],
    names: Names,
) -> list[Path]:
    """Write the CSV files into ``folder`` (made if missing); the files written.

    ``avoided``: (exercise, since, reason) of each avoid-list entry.
    """
    folder.mkdir(parents=True, exist_ok=True)
    rows: dict[str, list[list[Any]]] = {
        "sessions.csv": [["session", "started", "started_utc", "routine", "title", "end_reason"]],
        "exercises.csv": [["session", "exercise", "name", "outcome", "reps", "hold_s"]],
        "pain_events.csv": [["session", "at", "exercise", "name", "side", "rep", "second"]],
        "checkins.csv": [["session", "started", "pain_before", "pain_after"]],
        "avoid.csv": [["exercise", "name", "since", "reason"]],
    }
    for s in history:
        sid = s["id"]
        rows["sessions.csv"].append(
            [sid, when(s["started"]), s["started"], s["routine"], names.routine(s["routine"]),
             s["end_reason"] or ""]
        )  # fmt: skip
        for e in s["exercises"]:
            rows["exercises.csv"].append(
                [sid, e["exercise"], names.exercise(e["exercise"]), e["outcome"], e["reps"],
                 e["hold_s"]]
            )  # fmt: skip
        for p in s["pain"]:
            rows["pain_events.csv"].append(
                [sid, when(p["at"]), p["exercise"] or "", names.exercise(p["exercise"]),
                 p["side"], p["rep"], p["second"]]
            )  # fmt: skip
        checkins = s["checkins"]
        if checkins["start"] is not None or checkins["end"] is not None:
            rows["checkins.csv"].append(
                [sid, when(s["started"]), checkins["start"], checkins["end"]]
            )
    for exercise, since, reason in avoided:
        rows["avoid.csv"].append([exercise, names.exercise(exercise), when(since), reason])
    written = []
    for name in FILES:
        path = folder / name
        with path.open("w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows([["" if v is None else v for v in row] for row in rows[name]])
        written.append(path)
    return written
