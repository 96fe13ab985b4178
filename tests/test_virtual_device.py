"""The real audio stack: sounddevice -> PortAudio -> ALSA pulse plugin -> PulseAudio null sink.

The sink's monitor is recorded; what the coach played must be there, and a cut must silence it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tests.scenes import no_questions
from tests.virtual_audio import MicFeeder, available, reinit_portaudio, virtual_audio
from voicecoach.audio import SAMPLE_RATE
from voicecoach.audio.output import LiveOutput
from voicecoach.audio.playout import Playout
from voicecoach.cli import cli
from voicecoach.speech.tts import EspeakSynth

REASON = available()
pytestmark = pytest.mark.skipif(
    REASON is not None and not os.environ.get("CI"), reason=f"no virtual audio: {REASON}"
)


@pytest.fixture(scope="module")
def audio(tmp_path_factory: pytest.TempPathFactory):
    with virtual_audio(tmp_path_factory.mktemp("pulse")) as va:
        reinit_portaudio()
        yield va
    reinit_portaudio()


def sound_spans(pcm: np.ndarray, level: int = 300, gap: float = 0.3) -> list[tuple[float, float]]:
    loud = np.flatnonzero(np.abs(pcm.astype(np.int32)) > level)
    if not loud.size:
        return []
    breaks = np.flatnonzero(np.diff(loud) > gap * SAMPLE_RATE)
    starts = [loud[0], *loud[breaks + 1]]
    ends = [*loud[breaks], loud[-1]]
    return [(s / SAMPLE_RATE, e / SAMPLE_RATE) for s, e in zip(starts, ends, strict=True)]


def test_speech_reaches_the_speaker_and_a_cut_silences_it(audio):
    synth = EspeakSynth()
    speech = synth.render("Lie on your back, with both knees bent and your feet flat on the mat.")
    playout = Playout()
    output = LiveOutput(playout, "pulse")
    try:
        assert output.wait_flowing()
        mark = audio.monitor_frames()
        playout.play(speech, utterance=1)
        time.sleep(len(speech) / SAMPLE_RATE + 0.6)
        assert [u for u, _ in playout.finished] == [1]
        tone = (np.sin(np.arange(5 * SAMPLE_RATE) * 2 * np.pi * 440 / SAMPLE_RATE) * 8000).astype(
            np.int16
        )
        played_at = time.monotonic()
        playout.play(tone, utterance=2)
        time.sleep(1.0)
        cut_at = time.monotonic()
        playout.cut()
        time.sleep(0.6)
        assert output.healthy and output.callback_error is None
    finally:
        output.close()
    time.sleep(0.2)
    recorded = audio.recorded(mark)
    spans = sound_spans(recorded)
    assert len(spans) == 2, spans
    (s0, e0), (s1, e1) = spans
    # The speech is all there: same length and the same waveform.
    assert abs((e0 - s0) - len(speech) / SAMPLE_RATE) < 0.05
    start = max(0, int(s0 * SAMPLE_RATE) - 800)
    got = recorded[start : start + len(speech) + 1600].astype(np.float64)
    ref = speech.astype(np.float64)
    lag = int(np.argmax(np.correlate(got, ref, mode="valid")))
    assert np.corrcoef(got[lag : lag + len(ref)], ref)[0, 1] > 0.95
    # The tone stopped within 100 ms of the cut (output latency cancels: both went through it).
    late = (e1 - s1) - (cut_at - played_at)
    assert output.latency_s() + late <= 0.100, (output.latency_s(), late)
    assert list(playout.cuts)  # the cut took effect in the render thread


def test_a_failing_callback_is_detected_not_silent(audio):
    class Broken(Playout):
        def render(self, n: int) -> np.ndarray:
            raise RuntimeError("boom")

    output = LiveOutput(Broken(), "pulse")
    try:
        time.sleep(0.3)
        assert isinstance(output.callback_error, RuntimeError) and not output.healthy
    finally:
        output.close()


def test_run_speaks_through_the_device_and_takes_typed_commands(audio, tmp_path: Path):
    mark = audio.monitor_frames()
    env = dict(audio.env)
    feeder = MicFeeder(audio)  # a working, quiet microphone
    proc = subprocess.Popen(
        [sys.executable, "-m", "voicecoach", "-v", "--data-dir", str(tmp_path)]
        + ["--config", str(no_questions(tmp_path)), "run", "desk-break"],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(4)
    try:
        out, err = proc.communicate("finish\n", timeout=60)
    finally:
        feeder.close()
    assert proc.returncode == 0, err
    assert "text mode" not in err and out == ""  # spoken, not printed
    # The session log ends with what the audio callbacks counted: the microphone was heard.
    counted = re.search(r"audio this session: microphone: (\d+) blocks heard", err)
    assert counted and int(counted.group(1)) > 0, err[-2000:]
    spans = sound_spans(audio.recorded(mark))
    assert sum(e - s for s, e in spans) > 2.0  # the welcome was heard
    history = CliRunner().invoke(cli, ["--data-dir", str(tmp_path), "history", "--json"])
    assert '"end_reason": "finished_early"' in history.stdout


def test_devices_lists_the_virtual_card(audio):
    result = CliRunner().invoke(cli, ["devices"])
    assert result.exit_code == 0 and "pulse" in result.stdout
