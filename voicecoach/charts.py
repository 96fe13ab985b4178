"""Pictures of progress (``progress --png``) and the report for a physiotherapist.

``export --pdf`` writes the report; both are drawn with matplotlib, headless.

matplotlib is an optional extra (``pip install voicecoach[plots]``; ``scripts/setup.sh``
installs it): everything else works without it, and these say how to get it when it is missing.
Both take ``progress.summarize``'s data; fonts are embedded as TrueType so the PDF's text can
be searched and copied.
"""

from __future__ import annotations

import datetime
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

MISSING = (
    "drawing needs matplotlib, an optional extra: run scripts/setup.sh, or "
    "pip install 'voicecoach[plots]'"
)


class ChartsUnavailable(RuntimeError):
    """matplotlib is not installed."""


def _pyplot() -> Any:
    try:
        import matplotlib  # noqa: PLC0415 - an optional extra, loaded only to draw

        matplotlib.use("Agg")  # headless: no display on a Pi in a cupboard
        matplotlib.rcParams["pdf.fonttype"] = 42
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError as exc:
        raise ChartsUnavailable(MISSING) from exc
    return plt


def _integers() -> Any:
    from matplotlib.ticker import MaxNLocator  # noqa: PLC0415 - after _pyplot() has loaded it

    return MaxNLocator(integer=True)


def _pain(ax: Any, sessions: Sequence[Mapping[str, Any]]) -> None:
    x = list(range(1, len(sessions) + 1))
    before = [s["pain_before"] for s in sessions]
    after = [s["pain_after"] for s in sessions]
    ax.plot(x, [float("nan") if v is None else v for v in before], "o-", label="before")
    ax.plot(x, [float("nan") if v is None else v for v in after], "s--", label="after")
    ax.set_ylim(-0.5, 10.5)
    ax.set_xlim(0.5, max(len(sessions), 1) + 0.5)
    ax.xaxis.set_major_locator(_integers())
    ax.set_xlabel("session")
    ax.set_ylabel("pain (0 to 10)")
    ax.set_title("Pain before and after each session")
    ax.legend(loc="upper right")
    ax.grid(alpha=0.3)


def _weeks(ax: Any, weeks: Mapping[str, int]) -> None:
    labels = list(weeks) or ["none yet"]
    ax.bar(labels, [weeks.get(w, 0) for w in labels], color="tab:green")
    ax.set_title("Sessions per week")
    ax.yaxis.set_major_locator(_integers())
    ax.tick_params(axis="x", labelrotation=45)


def _doses(ax: Any, doses: Mapping[str, Mapping[str, Any]]) -> None:
    for dose in doses.values():
        points = dose["sessions"]
        ax.plot(range(1, len(points) + 1), [p["reps"] for p in points], ".-", label=dose["name"])
    ax.set_title("Reps of each exercise, session by session")
    ax.xaxis.set_major_locator(_integers())
    ax.yaxis.set_major_locator(_integers())
    ax.set_xlabel("times guided")
    if doses:
        ax.legend(fontsize="x-small")


def draw_png(progress: Mapping[str, Any], path: Path) -> None:
    """Pain before and after, sessions per week and doses over time, in one picture."""
    plt = _pyplot()
    fig, axes = plt.subplots(3, 1, figsize=(8, 11))
    _pain(axes[0], progress["sessions"])
    _weeks(axes[1], progress["sessions_per_week"])
    _doses(axes[2], progress["doses"])
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _lines(fig: Any, top: float, lines: Sequence[str], size: int = 10) -> float:
    """Write lines down the page from ``top`` (a fraction of its height); where they ended."""
    y = top
    for line in lines:
        fig.text(0.08, y, line, fontsize=size, family="DejaVu Sans", va="top")
        y -= 0.022 * size / 10
    return y


REPORTS = 20  # page two's room: 20 pain reports, 4 lines of avoid list, 8 changes
AVOIDED_LINES = 4
CHANGES = 8


def _latest(lines: Sequence[str], room: int) -> list[str]:
    """The last ``room`` lines, the first of them saying how many earlier ones were left out."""
    if len(lines) <= room:
        return list(lines)
    return [f"(and {len(lines) - room + 1} earlier)", *lines[-(room - 1) :]]


def write_pdf(progress: Mapping[str, Any], path: Path, source: str) -> None:
    """A two-page report a physiotherapist can read.

    The period, the routines, adherence, the pain trend, the pain reports with their exercise
    and date, and the avoid list with its changes. Page two holds the latest ``REPORTS`` pain
    reports and ``CHANGES`` changes (it says how many earlier ones there are), so nothing runs
    off the page.
    """
    from matplotlib.backends.backend_pdf import PdfPages  # noqa: PLC0415

    plt = _pyplot()
    sessions = progress["sessions"]
    first = sessions[0]["started"][:10] if sessions else "-"
    last = sessions[-1]["started"][:10] if sessions else "-"
    routines = sorted({s["title"] for s in sessions})
    done = [s for s in sessions if s["done"]]
    span = 1  # weeks from the first session to the last, quiet weeks included
    if sessions:
        days = datetime.date.fromisoformat(last) - datetime.date.fromisoformat(first)
        span = days.days // 7 + 1
    with PdfPages(path) as pdf:
        page = plt.figure(figsize=(8.27, 11.69))  # A4
        y = _lines(page, 0.95, ["voicecoach: exercise and pain report"], 16)
        y = _lines(
            page,
            y - 0.01,
            [
                f"Period: {first} to {last}",
                f"Routines: {', '.join(routines) or 'none'}",
                f"Adherence: {len(sessions)} sessions, {len(done)} with exercises done, over "
                f"{span} week{'s' if span != 1 else ''}: {len(done) / span:.1f} a week.",
                "Pain is the user's own score, 0 (none) to 10 (worst), asked before and after.",
                f"Source: {source}",
            ],
        )
        ax = page.add_axes((0.1, 0.08, 0.82, y - 0.14))
        _pain(ax, sessions)
        pdf.savefig(page)
        plt.close(page)

        page = plt.figure(figsize=(8.27, 11.69))
        reports = [
            f"{s['started']}  {p['name']}  ({s['title']})"
            for s in sessions
            for p in s["pain_reports"]
        ]
        avoided = [a["name"] for a in progress["avoided"]]
        changes = [f"{c['at']}  {c['change']}  {c['name']}" for c in progress["avoid_changes"]]
        y = _lines(page, 0.95, ["Pain reported during sessions"], 13)
        y = _lines(page, y - 0.005, _latest(reports, REPORTS) or ["none"])
        y = _lines(page, y - 0.02, ["Avoid list (left out of every session)"], 13)
        listed = textwrap.wrap(", ".join(avoided), 95) or ["empty"]
        if len(listed) > AVOIDED_LINES:
            listed = [*listed[: AVOIDED_LINES - 1], "(the whole list: voicecoach avoid list)"]
        y = _lines(page, y - 0.005, listed)
        y = _lines(page, y - 0.02, ["Changes to the avoid list"], 13)
        _lines(page, y - 0.005, _latest(changes, CHANGES) or ["none"])
        pdf.savefig(page)
        plt.close(page)
