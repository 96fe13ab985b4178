"""``voicecoach progress`` and ``voicecoach export``: from a real store to the terminal, JSON,
a picture, CSV files and a PDF report whose text is read back with pdftotext."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from voicecoach.cli import cli
from voicecoach.engine.effects import Topic
from voicecoach.store import Store


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """Three sessions: check-ins, a bridge that hurt in the second, an avoid-list undo."""
    folder = tmp_path / "data"
    with Store.open(folder) as store:
        for before, after, reps in ((6, 5, 5), (5, 4, 6), (4, None, 6)):
            sid = store.start_session("core-stability")
            store.record_answer(sid, Topic.PAIN_START, None, before)
            store.record_outcome(sid, "pelvic_tilt", "done", reps, 5)
            if after is None:  # cut short: a crash before the end
                continue
            if before == 5:
                store.record_pain(sid, "bridge", None, 2, 1.5)
            store.record_answer(sid, Topic.PAIN_END, None, after)
            store.end_session(sid, "completed")
        store.avoid_remove("bridge")
    return folder


def invoke(data: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--data-dir", str(data), *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_progress_json_shows_check_ins_weeks_changes_and_doses(data: Path):
    progress = json.loads(invoke(data, "progress", "--json"))
    sessions = progress["sessions"]
    assert [(s["pain_before"], s["pain_after"]) for s in sessions] == [(6, 5), (5, 4), (4, None)]
    assert [s["title"] for s in sessions] == ["Core stability"] * 3
    # The last one was never ended and nothing runs sessions now: a crash cut it.
    assert [s["state"] for s in sessions] == ["completed", "completed", "interrupted"]
    assert sum(progress["sessions_per_week"].values()) == 3
    changes = [(c["name"], c["change"]) for c in progress["avoid_changes"]]
    assert changes == [("Bridge", "dropped"), ("Bridge", "restored")]
    reps = [p["reps"] for p in progress["doses"]["pelvic_tilt"]["sessions"]]
    assert reps == [5, 6, 6]
    assert sessions[1]["pain_reports"] == [{"exercise": "bridge", "name": "Bridge"}]


def test_progress_in_the_terminal(data: Path):
    text = invoke(data, "progress")
    assert "6 -> 5" in text and "4 -> -" in text and "(interrupted)" in text
    assert "restored Bridge" in text
    assert "Pelvic tilt: 5 x 5 s" in text and "6 x 5 s" in text


def test_progress_png_is_a_picture_with_something_drawn(data: Path, tmp_path: Path):
    from PIL import Image

    png = tmp_path / "progress.png"
    invoke(data, "progress", "--png", str(png))
    assert png.stat().st_size > 20_000
    with Image.open(png) as image:
        assert image.format == "PNG" and image.size[0] >= 600 and image.size[1] >= 800
        pixels = np.asarray(image.convert("L"))
    assert pixels.std() > 10  # not one flat colour
    assert (pixels < 128).mean() > 0.01  # lines and text, not a blank page


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) missing")
def test_export_pdf_is_a_report_a_physiotherapist_can_read(data: Path, tmp_path: Path):
    pdf = tmp_path / "report.pdf"
    invoke(data, "export", "--pdf", str(pdf))
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    pages = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    assert "Pages:           2" in pages
    assert "Period:" in text and "Routines: Core stability" in text
    assert "Adherence: 3 sessions" in text
    assert "Pain before and after each session" in text  # the trend plot's title
    # The pain report with its exercise and date, and the avoid list's history.
    report = next(line for line in text.splitlines() if "Bridge" in line and "Core" in line)
    assert report.strip()[:4].isdigit()  # it starts with the date
    assert "restored" in text and "dropped" in text


def test_export_csv_writes_every_kind_of_record(data: Path, tmp_path: Path):
    out = tmp_path / "csv"
    invoke(data, "export", "--csv", str(out))

    def rows(name: str) -> list[dict[str, str]]:
        with (out / name).open() as f:
            return list(csv.DictReader(f))

    assert [r["routine"] for r in rows("sessions.csv")] == ["core-stability"] * 3
    assert [r["end_reason"] for r in rows("sessions.csv")] == ["completed", "completed", ""]
    checkins = rows("checkins.csv")
    assert [(r["pain_before"], r["pain_after"]) for r in checkins] == [
        ("6", "5"),
        ("5", "4"),
        ("4", ""),
    ]
    [pain] = rows("pain_events.csv")
    assert (pain["exercise"], pain["name"], pain["rep"]) == ("bridge", "Bridge", "2")
    assert rows("avoid.csv") == []  # restored
    assert {r["reps"] for r in rows("exercises.csv") if r["exercise"] == "pelvic_tilt"} == {
        "5",
        "6",
    }


def test_export_asks_what_to_export(data: Path):
    result = CliRunner().invoke(cli, ["--data-dir", str(data), "export"])
    assert result.exit_code == 2 and "--csv DIR, --pdf FILE" in result.output


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) missing")
def test_a_long_history_still_fits_the_report(tmp_path: Path):
    folder = tmp_path / "long"
    with Store.open(folder) as store:
        for _ in range(25):
            sid = store.start_session("core-stability")
            store.record_pain(sid, "bridge", None, 1, 2.0)
            store.end_session(sid, "completed")
            store.avoid_remove("bridge")
    pdf = tmp_path / "long.pdf"
    invoke(folder, "export", "--pdf", str(pdf))
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "(and 6 earlier)" in text  # 25 reports: the latest 19 and a line saying so
    assert text.count("Bridge (Core stability)") == 19
    assert "Adherence: 25 sessions, 0 with exercises done, over 1 week: 0.0 a week." in text
