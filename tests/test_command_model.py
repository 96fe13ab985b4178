"""The command model: the shipped weights on real and held-out speech, heard through
``voicecoach listen`` (the same path as a session), and a smoke training run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tests.scenes import write_wav
from training import corpus
from training.phrases import positives
from training.voices import KOKORO_HELD_OUT, Voice, VoiceMissing, render
from voicecoach.audio import SAMPLE_RATE
from voicecoach.cli import cli
from voicecoach.speech.commands.model import CommandModel
from voicecoach.speech.commands.recognizer import MODEL, CommandRecognizer
from voicecoach.speech.tts import EspeakSynth
from voicecoach.vocabulary import Intent

SHARED_MISSING = corpus.shared_missing()
SILENCE = np.zeros(SAMPLE_RATE // 2, np.int16)


def listen(*paths: Path) -> list[dict]:
    result = CliRunner().invoke(cli, ["listen", "--json", *map(str, paths)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_the_shipped_model_is_small_and_documented():
    assert MODEL.stat().st_size < 3_000_000
    model = CommandModel.load(MODEL)
    assert model.classes == ["background"] + [i.value for i in Intent]
    assert set(model.thresholds) == {i.value for i in Intent}
    assert model.info["seed"] and model.info["data"]["stop windows"] > 5_000
    assert model.info["tune_hours"] >= 1.0  # thresholds chosen on real amounts of audio
    assert (MODEL.parent / "MODEL_CARD.md").exists()


@pytest.mark.skipif(SHARED_MISSING is not None, reason=str(SHARED_MISSING))
def test_validation_speakers_stops_are_heard(tmp_path: Path):
    clips = corpus.select("stop", ("report",))
    assert len({c.speaker for c in clips}) >= 15  # people never trained on
    paths = [write_wav(tmp_path / f"{i}.wav", corpus.load(c)) for i, c in enumerate(clips)]
    results = listen(*paths)
    heard = [any(h["intent"] == "stop" for h in r["heard"]) for r in results]
    assert sum(heard) >= 0.9 * len(clips)  # the benchmark has the exact figure
    assert all(h["intent"] == "stop" for r in results for h in r["heard"])


def test_every_command_is_heard_in_a_voice_family_never_trained_on(tmp_path: Path):
    try:
        voice = Voice("kokoro", KOKORO_HELD_OUT, rate=160)
        render(voice, "stop")
    except VoiceMissing as exc:
        pytest.skip(str(exc))
    phrases = [(intent, p) for intent, ps in positives().items() for p in ps]
    paths = [
        write_wav(tmp_path / f"{i}.wav", np.concatenate([SILENCE, render(voice, p), SILENCE]))
        for i, (_, p) in enumerate(phrases)
    ]
    results = listen(*paths)
    right = [
        [h["intent"] for h in r["heard"]] == [intent]
        for (intent, _), r in zip(phrases, results, strict=True)
    ]
    # measured 15 of 21 (single words such as "pause", "finish", "ouch" are missed): the
    # benchmark has every intent; the aim is 95 %
    assert sum(right) >= 0.65 * len(phrases), list(zip(phrases, results, strict=True))


def test_the_coach_never_triggers_it():
    synth = EspeakSynth()
    lines = [
        "Lie on your back with your knees bent and your feet flat on the floor.",
        "Tighten your tummy muscles, and gently press your back down into the mat.",
        "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "Let your back relax.",
        "Now the left leg.",
        "Exercise two of three: Bridge.",
        "After this one: Pelvic tilt.",
        "Well done. That is the end of the session.",
    ]  # fmt: skip
    pcm = np.concatenate([np.concatenate([synth.render(t), SILENCE]) for t in lines * 2])
    rec = CommandRecognizer()
    found = []
    for i in range(0, len(pcm), 320):
        found += rec.accept(pcm[i : i + 320], i / SAMPLE_RATE)
    assert found == []


def _feed(rec: CommandRecognizer, pcm: np.ndarray, t0: float) -> list:
    found = []
    for i in range(0, len(pcm), 320):
        found += rec.accept(pcm[i : i + 320], t0 + i / SAMPLE_RATE)
    return found


def test_after_reset_it_hears_like_a_fresh_recognizer():
    """Reused for a second session: same detections at the same times as a new one."""
    user = Voice("flite", "slt", rate=150)
    stop, next_ = render(user, "stop"), render(user, "next")
    # The first session ends just after a "stop": its frames, streaks and refractory are live.
    before = np.concatenate([SILENCE, SILENCE, stop, SILENCE[:4000]])
    after = np.concatenate([SILENCE, SILENCE, stop, SILENCE, next_, SILENCE, SILENCE])
    fresh = _feed(CommandRecognizer(), after, 0.0)
    assert [d.intent for d in fresh] == [Intent.STOP, Intent.NEXT]
    reused = CommandRecognizer()
    assert [d.intent for d in _feed(reused, before, 50.0)] == [Intent.STOP]
    reused.reset()
    assert _feed(reused, after, 0.0) == fresh


def test_listen_reports_a_file_it_cannot_read_and_still_hears_the_others(tmp_path: Path):
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio")
    good = write_wav(tmp_path / "quiet.wav", np.zeros(SAMPLE_RATE, np.int16))
    result = CliRunner().invoke(cli, ["listen", str(bad), str(good)])
    assert result.exit_code == 1
    assert "notes.wav: not a 16-bit PCM WAV file" in result.stderr
    assert "quiet.wav: nothing heard" in result.stdout


@pytest.mark.skipif(SHARED_MISSING is not None, reason=f"training reads it: {SHARED_MISSING}")
def test_smoke_training_run(tmp_path: Path):
    from training import train

    out = tmp_path / "commands.npz"
    train.main(["--seed", "3", "--scale", "0.01", "--epochs", "2", "--out", str(out)])
    model = CommandModel.load(out)
    assert model.info["seed"] == 3 and model.info["data"]["stop windows"] > 0
    assert set(model.thresholds) == {i.value for i in Intent}
    rec = CommandRecognizer(out)
    silence = np.zeros(3 * SAMPLE_RATE, np.int16)
    assert rec.accept(silence, 0.0) == []  # silence is not a command


@pytest.mark.skipif(SHARED_MISSING is not None, reason=f"training reads it: {SHARED_MISSING}")
def test_training_data_depends_on_the_seed_only(tmp_path: Path):
    from training import dataset

    # a chunk cache of its own for each run, so nothing is simply read back
    built = [dataset.build(5, 0.002, w, cache=tmp_path / f"cache-{w}") for w in (1, 2)]
    (x1, y1, counts1), (x2, y2, counts2) = built
    assert len(y1) > 100 and counts1 == counts2
    assert np.array_equal(x1, x2) and np.array_equal(y1, y2)
