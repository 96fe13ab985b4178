"""A corpus of broken routine files, each with the exact errors `validate` must print."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from voicecoach.cli import cli

REPO = Path(__file__).resolve().parents[1]
BAD = REPO / "tests" / "data" / "bad"
CASES = sorted(BAD.glob("*.toml"))


def test_corpus_is_large_enough():
    assert len(CASES) >= 20
    assert all(case.with_suffix(".expected").exists() for case in CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_validate_prints_exactly_the_expected_errors(case: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(BAD)
    result = CliRunner().invoke(cli, ["validate", case.name])
    expected = case.with_suffix(".expected").read_text()
    assert result.exit_code == 1
    assert result.stdout == expected
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


# -- hostile files: never a hang or a traceback, always file:line:col ----------------------
HEAD = 'title = "T"\nsummary = "S"\nsource = "x"\n\n[[steps]]\nexercise = "pelvic_tilt"\n'
ONE_MB = 1_000_000
# The case: a string ending in an escaped triple quote as the last key of the file.
ESCAPED = (
    HEAD
    + """
[[steps]]
exercise = "my_slide"

[exercises.my_slide]
name = "Heel slide"
position = "Lie on your back with both knees bent."
setup = ["Rest your arms by your sides."]
release = "Slide it back."
hold_s = 3
suits = ["general"]
source = "My physiotherapist"
"""
    + r'action = """Say \"""k = [ oops"""'
    + "\n"
)


def voicecoach(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The real CLI in a fresh interpreter, stopped (and failed) if it hangs."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    command = [sys.executable, "-m", "voicecoach", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=30)


def hostile_files(folder: Path) -> dict[str, str]:
    """Write the hostile files; the start of the first error `validate` gives for each."""
    (folder / "escaped-quotes.toml").write_text(ESCAPED.replace("hold_s = 3", "hold_s = -3"))
    (folder / "deep.toml").write_text("tags = " + "[" * 3000 + "]" * 3000 + "\n" + HEAD)
    (folder / "long-dotted-key.toml").write_text("a" + ".a" * (ONE_MB // 2) + " = 1\n" + HEAD)
    items = ", ".join(["1"] * ((ONE_MB - 200) // 3))
    (folder / "one-megabyte-list.toml").write_text("tags = [" + items + "]\n" + HEAD)
    (folder / "too-large.toml").write_text("# " + "x" * 2 * ONE_MB + "\n" + HEAD)
    os.mkfifo(folder / "pipe.toml")
    (folder / "folder.toml").mkdir()
    return {
        "escaped-quotes": "escaped-quotes.toml:16:10: exercises.my_slide.hold_s: -3 is out of",
        "deep": "deep.toml:1:24: (toml): nested too deeply",
        "long-dotted-key": "long-dotted-key.toml:1:1: (toml): nested too deeply",
        "one-megabyte-list": "one-megabyte-list.toml:1:9: tags[0]: expected text, got a number",
        "too-large": "too-large.toml:1:1: (file): larger than 1024 KiB",
        "pipe": "pipe.toml:1:1: (file): not a routine file: it is a named pipe",
        "folder": "folder.toml:1:1: (file): not a routine file: it is a folder",
    }


def test_validate_reports_each_hostile_file_at_its_place(tmp_path: Path):
    for name, first_error in hostile_files(tmp_path).items():
        result = voicecoach("validate", f"{name}.toml", cwd=tmp_path)
        assert result.returncode == 1, (name, result.stderr)
        assert result.stdout.startswith(first_error), (name, result.stdout[:300])
        assert re.fullmatch(r"(\S+\.toml:\d+:\d+: .*\n)+", result.stdout), name
        assert "Traceback" not in result.stderr, name


def test_list_skips_hostile_files_and_lists_the_rest(tmp_path: Path):
    hostile = hostile_files(tmp_path)
    (tmp_path / "mine.toml").write_text(ESCAPED)  # valid, and as the issue wrote it
    result = voicecoach("--routines-dir", str(tmp_path), "list", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert re.search(r"^mine +\d+:\d\d  T$", result.stdout, re.M)
    assert "desk-break" in result.stdout  # the built-in library too
    for name, first_error in hostile.items():
        reason = first_error.split(": ", 1)[1].split(": ", 1)[1]
        assert f"warning: skipped {tmp_path / name}.toml: {reason}" in result.stderr, name
    assert "Traceback" not in result.stderr


def test_run_guides_past_hostile_files(tmp_path: Path):
    hostile = hostile_files(tmp_path)
    (tmp_path / "mine.toml").write_text(ESCAPED)
    result = voicecoach(
        "--routines-dir", str(tmp_path), "--data-dir", str(tmp_path / "data"),
        "run", "mine", "--text", "--time-scale", "0.002",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Heel slide" in result.stdout and "That is the end of T." in result.stdout
    assert all(f"warning: skipped {tmp_path / name}.toml" in result.stderr for name in hostile)
    assert "Traceback" not in result.stderr


def _many(steps: int, reps: int, hold_s: int, rest_s: int) -> str:
    """A routine of ``steps`` alternating-side exercises of its own."""
    text = HEAD.replace('[[steps]]\nexercise = "pelvic_tilt"\n', "")
    for i in range(steps):
        text += f'\n[[steps]]\nexercise = "e{i}"\n'
    for i in range(steps):
        text += (
            f'\n[exercises.e{i}]\nname = "Move {i}"\nposition = "Lie down."\n'
            f'setup = ["Relax."]\naction = "Lift."\nrelease = "Lower."\nhold_s = {hold_s}\n'
            f'reps = {reps}\nrest_s = {rest_s}\nsides = "alternating"\nsuits = ["general"]\n'
            'source = "x"\n'
        )
    return text


def test_a_routine_is_bounded_to_one_session(tmp_path: Path):
    """A valid-looking routine of days used to crash `list` (its duration never ended)."""
    (tmp_path / "days.toml").write_text(_many(1, 50, 1800, 600))
    (tmp_path / "steps.toml").write_text(_many(101, 1, 1, 0))
    (tmp_path / "holds.toml").write_text(_many(11, 50, 1, 0))
    (tmp_path / "longest.toml").write_text(_many(100, 5, 10, 0))  # 1000 holds, 2.8 h
    result = voicecoach("validate", "days.toml", "steps.toml", "holds.toml", cwd=tmp_path)
    assert result.returncode == 1
    assert "days.toml:6:1: steps: holds and rests add up to 66.7 hours" in result.stdout
    assert "steps.toml:6:1: steps: 101 steps; a routine has at most 100" in result.stdout
    assert "holds.toml:6:1: steps: 1100 holds in all; a routine has at most 1000" in result.stdout
    listed = voicecoach("--routines-dir", str(tmp_path), "list", cwd=tmp_path)
    assert listed.returncode == 0 and "Traceback" not in listed.stderr, listed.stderr
    assert re.search(r"^longest +\d+:\d\d:\d\d|^longest +\d+:\d\d", listed.stdout, re.M)
