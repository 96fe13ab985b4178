"""Real espeak-ng speech rendered to WAV: counts land on the beat, cuts are instant."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from voicecoach.audio import SAMPLE_RATE
from voicecoach.audio.output import FileOutput, read_wav
from voicecoach.audio.playout import Playout
from voicecoach.cli import cli
from voicecoach.engine import plan
from voicecoach.routines.loader import load_builtin
from voicecoach.speech.tts import EspeakSynth, list_voices, trim_leading_silence
from voicecoach.speech.voice import VoiceSpeaker

FRAME = SAMPLE_RATE // 200  # 5 ms analysis frames


def onsets(pcm: np.ndarray, level: float = 300.0, gap_s: float = 0.15) -> list[float]:
    """Start times of sounds that follow at least ``gap_s`` of silence (5 ms resolution)."""
    n = len(pcm) // FRAME
    peak = np.abs(pcm[: n * FRAME].astype(np.int32)).reshape(n, FRAME).max(axis=1)
    loud = peak > level
    out, quiet = [], int(gap_s * 200)
    silent_run = quiet
    for i, is_loud in enumerate(loud):
        if is_loud:
            if silent_run >= quiet:
                # refine to the sample inside the frame
                frame = pcm[i * FRAME : (i + 1) * FRAME]
                first = int(np.flatnonzero(np.abs(frame.astype(np.int32)) > level)[0])
                out.append((i * FRAME + first) / SAMPLE_RATE)
            silent_run = 0
        else:
            silent_run += 1
    return out


@pytest.fixture(scope="module")
def synth() -> EspeakSynth:
    return EspeakSynth()


def test_synthesis_is_speech_at_16k_with_no_leading_silence(synth: EspeakSynth):
    pcm = synth.render("Lie on your back.")
    assert pcm.dtype == np.int16 and 0.8 < len(pcm) / SAMPLE_RATE < 2.5
    assert abs(int(pcm[0])) > 200  # trimmed to the first loud sample
    assert np.abs(pcm).max() > 5000
    assert synth.render("Lie on your back.") is pcm  # cached
    assert len(trim_leading_silence(np.zeros(10, np.int16))) == 0


def test_voices_are_listed():
    voices = list_voices()
    assert ("English (America)", "en-us", "en-US") in voices
    assert any(file == "en" for _, _, file in voices)  # the default voice


def test_cut_through_the_file_output_is_exact(tmp_path: Path, synth: EspeakSynth):
    playout = Playout()
    speaker = VoiceSpeaker(synth, playout)
    output = FileOutput(playout, tmp_path / "cut.wav")
    done = []
    speaker.say("Tighten your tummy muscles, and gently press your back down.", 1, done.append)
    output.advance_to(SAMPLE_RATE)  # one second in, mid-sentence
    speaker.cut()
    output.advance_to(2 * SAMPLE_RATE)
    output.close()
    audio = read_wav(tmp_path / "cut.wav")
    assert np.abs(audio[SAMPLE_RATE - 800 : SAMPLE_RATE]).max() > 0  # it was speaking
    assert not audio[SAMPLE_RATE:].any()  # zero samples of speech after the cut
    speaker.report_finished()
    assert done == []  # a cut utterance is never reported finished


def _render(tmp_path: Path, routine: str, *extra: str) -> np.ndarray:
    out = tmp_path / f"{routine}.wav"
    cmd = [sys.executable, "-m", "voicecoach", "--data-dir", str(tmp_path), *extra]
    cmd += ["run", routine, "--audio-out", str(out)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=300)
    return read_wav(out)


def _count_runs(times: list[float]) -> list[list[float]]:
    """Runs of onsets about one second apart (the counted holds)."""
    runs, current = [], [times[0]]
    for a, b in zip(times, times[1:], strict=False):
        if 0.8 < b - a < 1.2:
            current.append(b)
        else:
            if len(current) >= 3:
                runs.append(current)
            current = [b]
    if len(current) >= 3:
        runs.append(current)
    return runs


def test_rendered_session_counts_on_the_beat_and_matches_its_estimate(tmp_path: Path):
    audio = _render(tmp_path, "core-stability")
    listed = json.loads(CliRunner().invoke(cli, ["list", "--json"]).stdout)
    estimate = next(r["duration_s"] for r in listed if r["id"] == "core-stability")
    length = len(audio) / SAMPLE_RATE
    assert abs(length - estimate) / estimate < 0.10
    runs = _count_runs(onsets(audio))
    # neutral spine hold 5 x 10 s, pelvic tilt 5 x 5 s, bridge 5 x 5 s: every count found
    assert [len(r) for r in runs] == [10] * 5 + [5] * 10
    for run in runs:
        gaps = np.diff(run)
        assert np.all(np.abs(gaps - 1.0) <= 0.030), gaps


def test_no_drift_over_a_two_minute_hold(tmp_path: Path):
    """Child's pose progressed to 2 minutes: every count where start + k puts it."""
    routines = tmp_path / "routines"
    routines.mkdir()
    (routines / "long-rest.toml").write_text(
        'title = "Long rest"\nsummary = "s"\nsource = "t"\n'
        '[[steps]]\nexercise = "childs_pose"\nhold_s = 120\n'
    )
    audio = _render(tmp_path, "long-rest", "--routines-dir", str(routines))
    times = onsets(audio)
    ex = load_builtin().exercises["childs_pose"]
    hold = dataclasses.replace(ex.hold, seconds=120)
    offsets = np.array([m.offset for m in plan.hold_marks(hold, ex.count, ex.reminders)])
    assert offsets[-1] == 119 and len(offsets) >= 16
    # "ten" is the first sound 10 s after the last one (the action cue); every other mark must
    # then sit where hold start + offset puts it, within 30 ms, up to the last "one" at 119 s.
    ten = next(t for a, t in zip(times, times[1:], strict=False) if t - a > 10)
    expected = ten + offsets - offsets[0]
    error = np.array([min(times, key=lambda t, e=e: abs(t - e)) - e for e in expected])
    assert np.abs(error).max() <= 0.030, error


def test_say_writes_a_wav(tmp_path: Path):
    out = tmp_path / "say.wav"
    result = CliRunner().invoke(
        cli, ["say", "Hello there.", "--audio-out", str(out), "--rate", "140"]
    )
    assert result.exit_code == 0, result.output
    audio = read_wav(out)
    assert 0.4 < len(audio) / SAMPLE_RATE < 3 and np.abs(audio).max() > 5000


def test_unknown_voice_is_a_clear_error(tmp_path: Path):
    result = CliRunner().invoke(
        cli, ["say", "Hi", "--voice", "no-such-voice", "--audio-out", str(tmp_path / "x.wav")]
    )
    assert result.exit_code == 1 and "no espeak-ng voice called 'no-such-voice'" in result.stderr


def test_config_file_sets_the_voice(tmp_path: Path):
    config = tmp_path / "config.toml"
    config.write_text("[voice]\nrate = 300\n")
    fast, slow = tmp_path / "fast.wav", tmp_path / "slow.wav"
    text = "Tighten your tummy muscles and press your back into the mat."
    assert (
        CliRunner()
        .invoke(cli, ["--config", str(config), "say", text, "--audio-out", str(fast)])
        .exit_code
        == 0
    )
    assert CliRunner().invoke(cli, ["say", text, "--audio-out", str(slow)]).exit_code == 0
    assert len(read_wav(fast)) < 0.75 * len(read_wav(slow))
    config.write_text("[voice]\nrate = 9000\n")
    bad = CliRunner().invoke(cli, ["--config", str(config), "list"])
    assert bad.exit_code == 1 and "voice.rate: 9000 is out of range" in bad.stderr
