"""Text mode end to end: the real CLI in a child process, real stdin, real SQLite."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from voicecoach.cli import cli
from voicecoach.engine import prompts
from voicecoach.routines.loader import load_builtin

LINE = re.compile(r"^\[(\d\d):(\d\d)\] (.+)$")


def coach(data: Path, *args: str, stdin: int = subprocess.PIPE) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "voicecoach", "--data-dir", str(data), *args]
    # ^C as from a terminal: a runner started in the background hands its children SIGINT
    # ignored, and Python then installs no KeyboardInterrupt handler.
    return subprocess.Popen(
        cmd,
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def cli_json(data: Path, *args: str):
    result = CliRunner().invoke(cli, ["--data-dir", str(data), *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def texts(output: str) -> list[str]:
    lines = output.splitlines()
    assert all(LINE.match(line) for line in lines), lines
    return [LINE.match(line).group(3) for line in lines]  # type: ignore[union-attr]


def test_every_library_routine_completes_with_no_input(tmp_path: Path):
    routines = sorted(load_builtin().routines)
    procs = {
        r: coach(
            tmp_path / r, "run", r, "--text", "--time-scale", "0.005", stdin=subprocess.DEVNULL
        )
        for r in routines
    }
    for routine, proc in procs.items():
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        said = texts(out)
        assert said[0].startswith("Welcome.")
        assert said[-1].startswith("That is the end of"), routine
        history = cli_json(tmp_path / routine, "history")
        assert [h["end_reason"] for h in history] == ["completed"]


def test_counts_are_printed_on_the_session_clock(tmp_path: Path):
    proc = coach(tmp_path, "run", "core-stability", "--text", "--time-scale", "0.005")
    out, _ = proc.communicate("", timeout=60)
    lines = [LINE.match(line) for line in out.splitlines()]
    said = [m.group(3) for m in lines if m]
    tilt = load_builtin().exercises["pelvic_tilt"].hold.action
    i = said.index(f"{tilt} {prompts.HOLD}")
    assert said[i + 1 : i + 6] == ["one", "two", "three", "four", "five"]
    stamps = [int(m.group(1)) * 60 + int(m.group(2)) for m in lines if m]
    assert stamps == sorted(stamps)  # session clock never runs backwards


def _run_until(proc: subprocess.Popen[str], predicate, reply: str) -> list[str]:
    """Read lines until ``predicate(text)``, then type ``reply``."""
    seen = []
    assert proc.stdout is not None and proc.stdin is not None
    for line in proc.stdout:
        seen.append(line.rstrip("\n"))
        if predicate(LINE.match(seen[-1]).group(3)):  # type: ignore[union-attr]
            proc.stdin.write(reply + "\n")
            proc.stdin.flush()
            return seen
    raise AssertionError("never reached: " + "\n".join(seen))


def test_that_hurts_drops_the_exercise_now_and_in_later_sessions(tmp_path: Path):
    first_action = "Gently tighten your tummy muscles"  # neutral_spine_hold opens core-stability
    # 50 ms of real time between counts: ample time for the typed line to arrive first.
    proc = coach(tmp_path, "run", "core-stability", "--text", "--time-scale", "0.05")
    before = texts("\n".join(_run_until(proc, lambda t: t == "one", "that hurts")))
    assert any(t.startswith(first_action) for t in before)
    # No further count of that hold: the very next line is the acknowledgement.
    ack = texts("\n".join(_run_until(proc, lambda t: True, "finish")))
    assert ack[0].startswith("I have taken Neutral spine hold out of your routine")
    assert "professional advice" in ack[0]
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert not any(t.startswith(first_action) for t in texts(out))

    avoided = cli_json(tmp_path, "avoid", "list")
    assert [a["exercise"] for a in avoided] == ["neutral_spine_hold"] and avoided[0]["since"]
    (session,) = cli_json(tmp_path, "history")
    assert {
        "exercise": "neutral_spine_hold",
        "outcome": "dropped_pain",
        "reps": None,
        "hold_s": None,
    } in session["exercises"]
    (pain,) = session["pain"]
    assert pain["exercise"] == "neutral_spine_hold" and pain["rep"] == 1
    assert 0.9 <= pain["second"] < 3  # typed right after "one"

    # The next session leaves it out, and says so.
    proc = coach(tmp_path, "run", "core-stability", "--text", "--time-scale", "0.005")
    second = texts(proc.communicate("", timeout=60)[0])
    assert any("Neutral spine hold is left out of this session" in t for t in second)
    assert not any(t.startswith(first_action) for t in second)
    assert cli_json(tmp_path, "history")[-1]["exercises"][0] == {
        "exercise": "neutral_spine_hold",
        "outcome": "avoided",
        "reps": None,
        "hold_s": None,
    }

    # Once removed from the avoid list it is guided again.
    result = CliRunner().invoke(
        cli, ["--data-dir", str(tmp_path), "avoid", "remove", "neutral_spine_hold"]
    )
    assert result.exit_code == 0
    proc = coach(tmp_path, "run", "core-stability", "--text", "--time-scale", "0.005")
    third = texts(proc.communicate("", timeout=60)[0])
    assert any(t.startswith(first_action) for t in third)


def test_unknown_input_and_finish(tmp_path: Path):
    proc = coach(tmp_path, "run", "desk-break", "--text", "--time-scale", "0.02")
    _run_until(proc, lambda t: t.startswith("Welcome"), "banana split")
    assert proc.stdout is not None
    said = []
    for line in proc.stdout:
        said.append(LINE.match(line).group(3))  # type: ignore[union-attr]
        if said[-1].startswith("I didn't catch that"):
            break
    assert said[-1] == "I didn't catch that; say help to hear what you can say."
    out, _ = proc.communicate("finish\n", timeout=60)
    assert texts(out)[-1].startswith("We will end here.")
    assert cli_json(tmp_path, "history")[-1]["end_reason"] == "finished_early"


def test_ctrl_c_is_recorded_as_interrupted(tmp_path: Path):
    proc = coach(tmp_path, "run", "core-stability", "--text")
    assert proc.stdout is not None
    proc.stdout.readline()  # the welcome: the session is under way
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert cli_json(tmp_path, "history")[-1]["end_reason"] == "interrupted"


def test_run_without_audio_falls_back_to_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AUDIODEV", "null")
    proc = coach(tmp_path, "run", "desk-break", "--time-scale", "0.002")
    out, err = proc.communicate("", timeout=60)
    assert proc.returncode == 0
    assert "Guiding in text mode instead." in err and len(err.strip().splitlines()) == 1
    assert texts(out)[0].startswith("Welcome.")


def test_avoid_commands(tmp_path: Path):
    def run(*args: str):
        return CliRunner().invoke(cli, ["--data-dir", str(tmp_path), "avoid", *args])

    assert run("list").stdout.strip() == "The avoid list is empty."
    assert run("add", "bridge").exit_code == 0
    assert run("add", "bridge").stdout.strip() == "bridge was already on the avoid list."
    bad = run("add", "bridg")
    assert bad.exit_code == 1 and "Did you mean: bridge" in bad.stderr
    assert [a["exercise"] for a in cli_json(tmp_path, "avoid", "list")] == ["bridge"]
    assert run("remove", "bridge").exit_code == 0
    missing = run("remove", "bridge")
    assert missing.exit_code == 1 and "not on the avoid list" in missing.stderr


def test_history_text(tmp_path: Path):
    result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path), "history"])
    assert result.exit_code == 0 and result.stdout.strip() == "No sessions yet."


def test_typed_lines_are_read_for_what_the_coach_listens_for():
    import io

    from voicecoach.engine.events import AnswerHeard, CommandHeard, NotUnderstood
    from voicecoach.session.inbox import Inbox
    from voicecoach.session.textmode import Typed, read_commands
    from voicecoach.vocabulary import Expectation, Intent, Number

    typed = Typed()
    assert typed.read("7") == NotUnderstood("7")  # nobody asked for a number
    assert typed.read("next") == CommandHeard(Intent.NEXT, "next")
    typed.expect(Expectation(frozenset(), Number(0, 10)))
    assert typed.read("Seven.") == AnswerHeard(7, "Seven.")
    assert typed.read("next") == NotUnderstood("next")  # not listened for now
    assert typed.read("stop") == CommandHeard(Intent.STOP, "stop")  # always
    inbox = Inbox()
    read_commands(io.StringIO("7\n\nstop\n"), inbox, typed).join(timeout=20)
    assert [inbox.get(0), inbox.get(0), inbox.get(0)] == [
        CommandHeard(Intent.STOP, "stop"),  # the priority lane
        AnswerHeard(7, "7"),
        None,
    ]


def test_typed_check_ins_and_efforts_are_stored_and_shown_in_progress(tmp_path: Path):
    proc = coach(tmp_path, "run", "core-stability", "--text", "--time-scale", "0.025")
    _run_until(proc, lambda t: t.startswith("How is your back right now"), "4")
    _run_until(proc, lambda t: t.startswith("Was that easy"), "it was easy")
    _run_until(proc, lambda t: t.startswith("Was that easy"), "skip")
    _run_until(proc, lambda t: t.startswith("Was that easy"), "hard")
    _run_until(proc, lambda t: t.startswith("How is your back now, after"), "7")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    said = texts(out)
    assert prompts.pain_rose(4, 7) in " ".join(said)
    (session,) = cli_json(tmp_path, "history")
    assert session["checkins"] == {"start": 4, "end": 7}
    efforts = [(a["exercise"], a["value"]) for a in session["answers"] if a["topic"] == "effort"]
    assert efforts == [("neutral_spine_hold", "easy"), ("bridge", "hard")]
    progress = cli_json(tmp_path, "progress")
    assert [(s["pain_before"], s["pain_after"]) for s in progress["sessions"]] == [(4, 7)]
