"""Spoken enrollment's devices on the real audio stack: a virtual speaker and microphone."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from tests.enrollment_fakes import NO_SHARED, stop_takes
from tests.virtual_audio import MicFeeder, available, reinit_portaudio, virtual_audio
from voicecoach.audio import SAMPLE_RATE
from voicecoach.audio.output import LiveOutput
from voicecoach.audio.playout import Playout
from voicecoach.enrollment.live import LiveDevices
from voicecoach.enrollment.spoken import RECORD_S, TONE_HZ
from voicecoach.speech.tts import EspeakSynth

REASON = available() or NO_SHARED
pytestmark = pytest.mark.skipif(
    REASON is not None and not os.environ.get("CI"), reason=f"cannot run: {REASON}"
)


@pytest.fixture(scope="module")
def audio(tmp_path_factory: pytest.TempPathFactory):
    with virtual_audio(tmp_path_factory.mktemp("pulse")) as va:
        reinit_portaudio()
        yield va
    reinit_portaudio()


def test_the_coach_asks_plays_the_tone_and_records_the_take(audio):
    take = stop_takes(1)[0]
    quiet = take[:1600]  # the recording's own room
    # Someone saying "stop" every two seconds or so, whenever the microphone listens.
    feeder = MicFeeder(audio, np.concatenate([np.tile(quiet, 8), take] * 20))
    playout = Playout()
    output = LiveOutput(playout, "pulse")
    said: list[str] = []
    try:
        assert output.wait_flowing()
        devices = LiveDevices(EspeakSynth(), playout, output.latency_s(), "pulse", said.append)
        try:
            mark = audio.monitor_frames()
            devices.say("After the tone, say: stop.")
            devices.tone()
            time.sleep(0.3)
            played = audio.recorded(mark).astype(np.float64)
            started = time.monotonic()
            recorded = devices.record(RECORD_S)
            took = time.monotonic() - started
        finally:
            devices.close()
    finally:
        output.close()
        feeder.close()
    assert said == ["After the tone, say: stop."]
    # The tone is the last thing played: its 0.15 s are dominated by 880 Hz.
    loud = np.flatnonzero(np.abs(played) > 2000)
    tail = played[loud[-1] - int(0.12 * SAMPLE_RATE) : loud[-1]]
    peak_hz = np.argmax(np.abs(np.fft.rfft(tail))) * SAMPLE_RATE / len(tail)
    assert abs(peak_hz - TONE_HZ) < 20
    # The take holds the word, and stopped once it was over (or at the limit).
    assert recorded.dtype == np.int16 and len(recorded) <= RECORD_S * SAMPLE_RATE
    assert np.abs(recorded.astype(np.int32)).max() > 10000
    assert took < RECORD_S + 1.0
