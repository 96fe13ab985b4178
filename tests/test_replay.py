"""Replayed sessions: recordings as the microphone, output rendered to WAV, the real recognizers.

A session with "that hurts" or a human "stop" during the first hold must depart from the
undisturbed rendering within 300 ms of the end of the phrase; a session over other people
talking, noise, or the coach's own voice in a room must complete untouched.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tests.scenes import (
    SHARED_MISSING,
    add_noise,
    clips,
    first_count,
    first_departure,
    no_questions,
    place,
    rms,
    scale_to,
    speech_sentences,
    trim,
    write_wav,
)
from training.voices import Voice, render
from voicecoach.audio import SAMPLE_RATE
from voicecoach.audio.output import read_wav
from voicecoach.audio.replay import load_input
from voicecoach.cli import cli

ROUTINE = """title = "Short check"
summary = "Two exercises, for replay tests."
source = "Exercise for Back Pain Relief (physiotherapy article)"

[[steps]]
exercise = "pelvic_tilt"
reps = 3

[[steps]]
exercise = "bridge"
reps = 3
"""
USER_VOICE = Voice("flite", "slt", rate=150)  # a user: not the coach's voice


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("replay")
    routines = root / "routines"
    routines.mkdir()
    (routines / "short-check.toml").write_text(ROUTINE)
    silent = write_wav(root / "silent.wav", np.zeros(SAMPLE_RATE, np.int16))
    base = replay(root, routines, "base", silent)
    return {"root": root, "routines": routines, "base": base}


def replay(root: Path, routines: Path, name: str, audio_in: Path, *extra: str) -> dict:
    data = root / f"data-{name}"
    out = root / f"{name}.wav"
    args = [
        "--routines-dir",
        str(routines),
        "--data-dir",
        str(data),
        "--config",
        str(no_questions(root)),  # these sessions are about hearing commands
        "run",
        "short-check",
        "--audio-in",
        str(audio_in),
        "--audio-out",
        str(out),
        *extra,
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    history = json.loads(
        CliRunner().invoke(cli, ["--data-dir", str(data), "history", "--json"]).stdout
    )
    return {"wav": read_wav(out), "history": history[-1]}


def outcomes(run: dict) -> dict[str, str]:
    return {e["exercise"]: e["outcome"] for e in run["history"]["exercises"]}


def test_replay_is_deterministic(setup):
    again = replay(setup["root"], setup["routines"], "again", setup["root"] / "silent.wav")
    assert np.array_equal(again["wav"], setup["base"]["wav"])
    assert outcomes(again) == outcomes(setup["base"]) == {"pelvic_tilt": "done", "bridge": "done"}


def _during_first_hold(setup, phrase: np.ndarray, name: str, *extra: str, level: float = 6000.0):
    end = first_count(setup["base"]["wav"]) + 1.6  # between "one" and "three"
    track, placed = place(
        np.zeros(int((end + 1) * SAMPLE_RATE), np.int16), scale_to(phrase, level), end
    )
    audio_in = write_wav(setup["root"] / f"{name}-in.wav", track)
    return replay(setup["root"], setup["routines"], name, audio_in, *extra), placed


def test_that_hurts_during_the_first_hold_drops_the_exercise_within_300_ms(setup):
    run, placed = _during_first_hold(setup, render(USER_VOICE, "that hurts"), "hurts")
    departure = first_departure(run["wav"], setup["base"]["wav"])
    assert departure is not None and departure - placed.end <= 0.300, (departure, placed)
    assert outcomes(run)["pelvic_tilt"] == "dropped_pain"
    assert run["history"]["pain"][0]["exercise"] == "pelvic_tilt"
    assert outcomes(run)["bridge"] == "done"


@pytest.mark.skipif(SHARED_MISSING is not None, reason=str(SHARED_MISSING))
def test_a_recorded_human_stop_stops_within_300_ms(setup):
    human = trim(load_input(clips("stop")[0]))
    run, placed = _during_first_hold(setup, human, "human-stop")
    departure = first_departure(run["wav"], setup["base"]["wav"])
    assert departure is not None and departure - placed.end <= 0.300, (departure, placed)
    assert run["history"]["end_reason"] == "stopped"  # nobody answered the stop question


def _completes_untouched(run: dict) -> None:
    assert run["history"]["end_reason"] == "completed"
    assert outcomes(run) == {"pelvic_tilt": "done", "bridge": "done"}
    assert run["history"]["pain"] == []


@pytest.mark.skipif(SHARED_MISSING is not None, reason=str(SHARED_MISSING))
def test_other_people_talking_change_nothing(setup):
    talk = speech_sentences(held_out=True)  # people the command model never trained on
    length = len(setup["base"]["wav"])
    audio_in = write_wav(setup["root"] / "talk-in.wav", np.resize(talk, length))
    run = replay(setup["root"], setup["routines"], "talk", audio_in)
    assert run["history"]["end_reason"] == "completed"
    assert run["history"]["pain"] == []  # nothing stopped or dropped
    # Known: "... the number he may expect" is heard as "next" (2.6 minutes of these sentences,
    # one false command); the benchmark measures the rate over hours. Never more than that.
    assert list(outcomes(run).values()).count("skipped") <= 1
    assert set(outcomes(run).values()) <= {"done", "skipped"}


@pytest.mark.skipif(SHARED_MISSING is not None, reason=str(SHARED_MISSING))
def test_noise_changes_nothing(setup):
    length = len(setup["base"]["wav"])
    noise = np.concatenate([load_input(p) for p in clips("_noise_")])
    audio_in = write_wav(
        setup["root"] / "noise-in.wav", add_noise(np.zeros(length, np.int16), noise, 0.0, 3000.0)
    )
    _completes_untouched(replay(setup["root"], setup["routines"], "noise", audio_in))


def test_the_coachs_own_voice_in_a_room_changes_nothing(setup):
    _completes_untouched(
        replay(
            setup["root"],
            setup["routines"],
            "room",
            setup["root"] / "silent.wav",
            "--room-echo-db",
            "0",
        )
    )


@pytest.mark.xfail(
    strict=True,
    reason="a known gap, not yet met: the command model hears a phrase said over the coach's "
    "voice at equal level about half the time (docs/benchmarks.md, barge-in); here it misses "
    "the phrase even with the echo 12 dB below it, while alone it is heard",
)
def test_that_hurts_over_the_coachs_voice_at_equal_level_still_drops(setup):
    base = setup["base"]["wav"]
    # Say it while the coach is speaking the first exercise's setup, as loud as the echo.
    start = first_count(base) - 12.0
    phrase = scale_to(render(USER_VOICE, "that hurts"), rms(base))
    end = start + len(trim(phrase)) / SAMPLE_RATE
    coach_then = base[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
    assert rms(coach_then) > 1000  # the coach really is talking then
    track, placed = place(np.zeros(int((end + 1) * SAMPLE_RATE), np.int16), phrase, end)
    audio_in = write_wav(setup["root"] / "over-in.wav", track)
    run = replay(setup["root"], setup["routines"], "over", audio_in, "--room-echo-db", "0")
    assert outcomes(run)["pelvic_tilt"] == "dropped_pain"
    departure = first_departure(
        run["wav"],
        replay(
            setup["root"],
            setup["routines"],
            "room-base",
            setup["root"] / "silent.wav",
            "--room-echo-db",
            "0",
        )["wav"],
    )
    assert departure is not None and departure - placed.end <= 0.300
