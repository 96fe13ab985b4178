"""The coach's questions answered by voice in replayed sessions: the CORE question chooses the
routine, and both pain check-ins are stored. The real recognizers hear a recording whose
answers are said by a voice that is not the coach's, in the quiet after each question."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tests.scenes import place, quiet_spans, write_wav
from training.voices import Voice, render
from voicecoach.audio import SAMPLE_RATE
from voicecoach.audio.output import read_wav
from voicecoach.cli import cli
from voicecoach.engine.session import ANSWER_WAIT_S

USER_VOICE = Voice("flite", "slt", rate=150)  # a user: not the coach's voice
PATTERNS = ("eased-by-sitting", "eased-by-standing-or-lying", "not-eased-by-position")
TINY = """title = "Tiny {pattern}"
summary = "One short exercise, for replay tests."
source = "Exercise for Back Pain Relief (physiotherapy article)"
suits = "{pattern}"

[[steps]]
exercise = "pelvic_tilt"
reps = 3
"""


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("questions")
    (root / "routines").mkdir()
    for pattern in PATTERNS:
        (root / "routines" / f"tiny-{pattern}.toml").write_text(TINY.format(pattern=pattern))
    (root / "no-questions.toml").write_text("[session]\ncheckin = false\neffort = false\n")
    (root / "checkins.toml").write_text("[session]\ncheckin = true\neffort = false\n")
    write_wav(root / "silent.wav", np.zeros(SAMPLE_RATE, np.int16))
    return root


def replay(root: Path, name: str, audio_in: Path, config: str, *routine: str) -> dict:
    data = root / f"data-{name}"
    out = root / f"{name}.wav"
    args = ["--routines-dir", str(root / "routines"), "--data-dir", str(data)]
    args += ["--config", str(root / config), "run", *routine]
    result = CliRunner().invoke(cli, [*args, "--audio-in", str(audio_in), "--audio-out", str(out)])
    assert result.exit_code == 0, result.output
    history = CliRunner().invoke(cli, ["--data-dir", str(data), "history", "--json"])
    return {"wav": read_wav(out), "history": json.loads(history.stdout)[-1], "data": data}


def waits(pcm: np.ndarray) -> list[float]:
    """Where the coach went quiet to wait for an answer (the ends of its questions)."""
    return [start for start, _ in quiet_spans(pcm, ANSWER_WAIT_S - 1)]


def answering(root: Path, name: str, said: list[tuple[str, float]]) -> Path:
    """A recording in which the user says each text, starting 1 s after the given instant."""
    track = np.zeros(SAMPLE_RATE, np.int16)
    for text, after in said:
        phrase = render(USER_VOICE, text)
        track, _ = place(track, phrase, after + 1.0 + len(phrase) / SAMPLE_RATE)
    track = np.concatenate([track, np.zeros(2 * SAMPLE_RATE, np.int16)])
    return write_wav(root / f"{name}-in.wav", track)


@pytest.fixture(scope="module")
def unanswered(root: Path) -> dict:
    return replay(root, "unanswered", root / "silent.wav", "no-questions.toml")


def test_unanswered_the_core_question_is_asked_twice_and_nothing_is_guessed(unanswered):
    assert len(waits(unanswered["wav"])) == 2
    assert unanswered["history"]["routine"] == "core-question"
    assert unanswered["history"]["exercises"] == []


@pytest.mark.parametrize(
    ("answer", "pattern"),
    [
        ("sitting", "eased-by-sitting"),
        ("lying down", "eased-by-standing-or-lying"),
        ("neither", "not-eased-by-position"),
    ],
)
def test_the_spoken_core_answer_chooses_the_matching_routine(root, unanswered, answer, pattern):
    asked = waits(unanswered["wav"])[0]
    recording = answering(root, f"core-{pattern}", [(answer, asked)])
    run = replay(root, f"core-{pattern}", recording, "no-questions.toml")
    assert run["history"]["routine"] == f"tiny-{pattern}"
    assert run["history"]["answers"] == [{"topic": "routine", "exercise": None, "value": pattern}]
    assert [e["outcome"] for e in run["history"]["exercises"]] == ["done"]
    assert run["history"]["end_reason"] == "completed"


def test_spoken_check_ins_are_stored_and_progress_shows_them(root):
    """Four before, seven after: both kept, and the rise is said back with the advice."""
    routine = "tiny-eased-by-sitting"
    silent = replay(root, "checkin-0", root / "silent.wav", "checkins.toml", routine)
    start_wait = waits(silent["wav"])[0]
    first = answering(root, "checkin-1", [("four", start_wait)])
    half = replay(root, "checkin-1", first, "checkins.toml", routine)
    assert half["history"]["checkins"] == {"start": 4, "end": None}
    end_wait = waits(half["wav"])[-2]  # asked, asked again, then the summary
    both = answering(root, "checkin-2", [("four", start_wait), ("seven", end_wait)])
    run = replay(root, "checkin-2", both, "checkins.toml", routine)
    assert run["history"]["checkins"] == {"start": 4, "end": 7}
    assert len(run["wav"]) < len(half["wav"])  # answered: not asked again, not waited for
    progress = CliRunner().invoke(cli, ["--data-dir", str(run["data"]), "progress", "--json"])
    assert progress.exit_code == 0, progress.output
    [session] = json.loads(progress.stdout)["sessions"]
    assert (session["pain_before"], session["pain_after"]) == (4, 7)


def test_a_rendered_preview_asks_nothing_and_is_not_recorded(root):
    """Nobody can answer a rendering without a microphone: no question, no session kept."""
    data = root / "data-preview"
    out = root / "preview.wav"
    args = ["--routines-dir", str(root / "routines"), "--data-dir", str(data)]
    args += ["--config", str(root / "checkins.toml"), "run", "tiny-eased-by-sitting"]
    result = CliRunner().invoke(cli, [*args, "--audio-out", str(out)])
    assert result.exit_code == 0, result.output
    assert waits(read_wav(out)) == []  # no pause for an answer
    history = CliRunner().invoke(cli, ["--data-dir", str(data), "history", "--json"])
    assert json.loads(history.stdout) == []


def test_a_preview_needs_a_routine(root):
    args = ["--data-dir", str(root / "data-none"), "run", "--audio-out", str(root / "x.wav")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2 and "name a ROUTINE to render" in result.output
    assert not (root / "x.wav").exists()
