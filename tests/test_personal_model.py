"""The personal command model for real: adapted from real takes, used by a replayed session.

The enrollment flow's own tests use a fake adaptation; this is its real twin. Recognition
rates are the benchmark's (bench/enrollment.py); here each check is one fact about a take.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tests.enrollment_fakes import needs_shared, stop_takes, word_takes
from tests.scenes import first_count, no_questions, place, rms, scale_to, trim, write_wav
from training.voices import held_out_voices, render
from voicecoach.audio import SAMPLE_RATE
from voicecoach.audio.output import read_wav
from voicecoach.cli import cli
from voicecoach.speech.commands import personal
from voicecoach.speech.commands.decision import peaks
from voicecoach.speech.commands.model import CommandModel
from voicecoach.speech.commands.recognizer import CommandRecognizer

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


def heard(rec: CommandRecognizer, pcm: np.ndarray) -> list[str]:
    """What a recognizer hears in one take, after 2 s of silence (as ``voicecoach listen``)."""
    rec.reset()
    track = np.concatenate([np.zeros(2 * SAMPLE_RATE, np.int16), scale_to(pcm, 4000.0)])
    track = np.concatenate([track, np.zeros(SAMPLE_RATE, np.int16)])
    return [
        d.intent.value
        for i in range(0, len(track), 1280)
        for d in rec.accept(track[i : i + 1280], i / SAMPLE_RATE)
    ]


def write_takes(folder: Path, phrase: str, takes: list[np.ndarray]) -> Path:
    (folder / phrase.replace(" ", "_")).mkdir(parents=True)
    for n, pcm in enumerate(takes):
        write_wav(folder / phrase.replace(" ", "_") / f"{n}.wav", pcm)
    return folder


def as_recorded(pcm: np.ndarray) -> np.ndarray:
    """A rendered phrase as a microphone takes it after the tone: a little quiet either side."""
    quiet = np.zeros(SAMPLE_RATE // 4, np.int16)
    return np.concatenate([quiet, pcm, quiet])


def clearest(rec: CommandRecognizer, takes: list[np.ndarray], intent: str) -> np.ndarray:
    """The take ``rec`` scores highest for ``intent``: the one least near its bar."""
    column = rec.model.intents.index(intent)

    def peak(pcm: np.ndarray) -> float:
        rec.reset()
        best = -np.inf
        for i in range(0, len(pcm), 1280):
            rec.accept(pcm[i : i + 1280], i / SAMPLE_RATE)
            if rec.last_scores is not None:
                best = max(best, float(rec.last_scores[column]))
        return best

    return max(takes, key=peak)


def enroll(data: Path, takes_dir: Path) -> None:
    result = CliRunner().invoke(
        cli, ["--data-dir", str(data), "enroll", "--from-dir", str(takes_dir)]
    )
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A short routine and its undisturbed rendering."""
    root = tmp_path_factory.mktemp("personal")
    routines = root / "routines"
    routines.mkdir()
    (routines / "short-check.toml").write_text(ROUTINE)
    silent = write_wav(root / "silent.wav", np.zeros(SAMPLE_RATE, np.int16))
    return {
        "root": root,
        "routines": routines,
        "base": replay(root, routines, root / "base", silent),
    }


def replay(root: Path, routines: Path, data: Path, audio_in: Path) -> dict:
    out = data.with_suffix(".wav")
    args = ["--routines-dir", str(routines), "--data-dir", str(data)]
    args += ["--config", str(no_questions(root)), "run", "short-check"]
    result = CliRunner().invoke(cli, [*args, "--audio-in", str(audio_in), "--audio-out", str(out)])
    assert result.exit_code == 0, result.output
    history = CliRunner().invoke(cli, ["--data-dir", str(data), "history", "--json"]).stdout
    return {"wav": read_wav(out), "history": json.loads(history)[-1]}


def during_first_hold(session: dict, phrase: np.ndarray, name: str) -> Path:
    """The phrase said in the first hold, between the coach's counts "two" and "three".

    Said in the quiet after "two", so the reference gate has the user's voice alone to judge
    (over the coach's own voice is the barge-in benchmark's question, not this one's).
    """
    base = session["base"]["wav"]
    two = first_count(base) + 1.0
    frame = SAMPLE_RATE // 100
    after = base[int(two * SAMPLE_RATE) : int((two + 0.9) * SAMPLE_RATE)]  # "three" at 1.0
    loud = [i for i in range(len(after) // frame) if rms(after[i * frame : (i + 1) * frame]) > 0]
    start = two + ((loud[-1] + 1) * 0.01 if loud else 0.5) + 0.03
    said = trim(scale_to(phrase, 6000.0))
    end = start + len(said) / SAMPLE_RATE
    silence = np.zeros(int((end + 1) * SAMPLE_RATE), np.int16)
    track, _ = place(silence, said, end)
    return write_wav(session["root"] / f"{name}-in.wav", track)


def test_an_enrolled_ouch_in_a_voice_the_general_model_misses_drops_the_exercise(session):
    """Piper's "joe", a voice family never trained on: its "ouch" is heard only once enrolled."""
    voices = held_out_voices(np.random.default_rng(45), 11)["piper joe"]
    root, routines = session["root"], session["routines"]
    data = root / "data-joe"
    enroll(
        data,
        write_takes(root / "joe", "ouch", [as_recorded(render(v, "ouch")) for v in voices[:5]]),
    )
    general, mine = CommandRecognizer(), CommandRecognizer(personal=data / "voice" / "personal.npz")
    later = [render(v, "ouch") for v in voices[5:]]  # settings not among the takes
    missed = [t for t in later if "pain" not in heard(general, t)]
    found = [t for t in missed if "pain" in heard(mine, t)]
    assert found, f"the personal model hears none of the {len(missed)} later takes missed"
    audio_in = during_first_hold(session, clearest(mine, found, "pain"), "joe-ouch")

    before = replay(root, routines, root / "data-general", audio_in)
    assert before["history"]["end_reason"] == "completed"
    after = replay(root, routines, data, audio_in)
    exercises = {e["exercise"]: e["outcome"] for e in after["history"]["exercises"]}
    assert exercises["pelvic_tilt"] == "dropped_pain"
    assert after["history"]["pain"][0]["exercise"] == "pelvic_tilt"


@needs_shared
def test_a_later_stop_of_a_real_enrolled_voice_that_the_general_model_misses_stops(session):
    """One person recorded over time: five early takes teach it a later one."""
    stops = stop_takes()
    root = session["root"]
    data = root / "data-real"
    enroll(data, write_takes(root / "real", "stop", stops[:5]))
    model = data / "voice" / "personal.npz"
    general, mine = CommandRecognizer(), CommandRecognizer(personal=model)
    missed = [t for t in stops[5:] if "stop" not in heard(general, t)]
    found = [t for t in missed if "stop" in heard(mine, t)]
    assert found, f"the personal model hears none of the {len(missed)} later takes missed"
    take = clearest(mine, found, "stop")
    run = replay(root, session["routines"], data, during_first_hold(session, take, "real"))
    assert run["history"]["end_reason"] == "stopped"


@pytest.fixture(scope="module")
def adapted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not stop_takes(1):
        pytest.skip("no shared recordings of one speaker")
    out = tmp_path_factory.mktemp("adapted") / "personal.npz"
    personal.adapt({"stop": stop_takes(5)}, out, other=word_takes("none", 3), cross_validate=False)
    return out


def test_a_personal_model_decides_only_the_intents_it_was_adapted_for(adapted: Path):
    model = CommandModel.load(adapted)
    assert model.intents == ["stop"] and personal.problem(adapted) is None
    general, mine = CommandRecognizer(), CommandRecognizer(personal=adapted)
    assert "personal" in mine.name
    voice = held_out_voices(np.random.default_rng(45), 1)["piper joe"][0]
    for phrase in ("that hurts", "next one"):  # not enrolled: heard as by the general model
        take = render(voice, phrase)
        assert heard(mine, take) == heard(general, take) != []


def test_it_fires_no_more_often_than_the_general_model_on_the_held_negatives(adapted: Path):
    general = CommandModel.load(personal.GENERAL)
    pack = personal._load_pack(general, personal.NEGATIVES)
    model = CommandModel.load(adapted)
    head = [[w, b] for w, b in model.layers[1:]]
    mine = [personal._log_odds(personal._head_logits(head, h))[:, 1] for h in pack.hold.h1]
    g = general.classes.index("stop")
    theirs = [s[:, g] for s in pack.hold.general]

    def fires(scores: list[np.ndarray], threshold: float) -> int:
        return personal._fires([peaks(s[:, None], 2)[:, 0] for s in scores], threshold)

    bar = general.thresholds["stop"]
    shift = bar - model.thresholds["stop"]
    both = [personal.combine(a, b, shift) for a, b in zip(mine, theirs, strict=True)]
    assert fires(both, bar) <= fires(theirs, bar)
    # Enrolled alone, "stop" keeps at least the general bar: no other phrase of this voice to
    # measure against.
    assert model.thresholds["stop"] >= general.thresholds["stop"]


def test_a_model_for_another_general_model_or_a_damaged_one_is_not_used(
    adapted: Path, tmp_path: Path
):
    other_general = tmp_path / "general.npz"
    other_general.write_bytes(b"another version")
    assert "another version" in str(personal.problem(adapted, general=other_general))
    damaged = tmp_path / "personal.npz"
    damaged.write_bytes(adapted.read_bytes()[:100])
    assert "cannot be read" in str(personal.problem(damaged))
    assert "no personal model" in str(personal.problem(tmp_path / "none.npz"))


def test_unknown_phrases_and_missing_takes_are_refused(tmp_path: Path):
    with pytest.raises(ValueError, match="not a command phrase"):
        personal.adapt({"hello": [np.zeros(SAMPLE_RATE, np.int16)]}, tmp_path / "p.npz")
    with pytest.raises(ValueError, match="no takes"):
        personal.adapt({"stop": []}, tmp_path / "p.npz")
    assert not (tmp_path / "p.npz").exists()
