"""The room for spoken enrollment: the coach's voice and the tone on a playout, a microphone.

The caller owns the output device that plays ``playout`` (``voicecoach enroll`` opens one, the
service has its own). The microphone stream stays open for the whole enrollment and only keeps
what arrives while a take is recorded: the coach's own words and the tone are never in a take.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from voicecoach.audio import SAMPLE_RATE
from voicecoach.audio.output import AudioDeviceError
from voicecoach.audio.playout import BLOCK, Playout
from voicecoach.enrollment.endpoint import SpeechEnd
from voicecoach.enrollment.spoken import tone_pcm
from voicecoach.speech.tts import EspeakSynth

#: After the last sample leaves the playout, the device and the room still sound this long.
SETTLE_S = 0.05


class LiveDevices:
    """``spoken.Devices`` on a real speaker (through ``playout``) and microphone."""

    def __init__(
        self,
        synth: EspeakSynth,
        playout: Playout,
        output_latency_s: float,
        input_device: int | str | None = None,
        on_say: Callable[[str], None] | None = None,
    ) -> None:
        import sounddevice as sd  # noqa: PLC0415 - PortAudio only where a device is used

        self.synth = synth
        self.playout = playout
        self.output_latency_s = output_latency_s
        self.on_say = on_say
        self._utterance = 0
        self._recording = False
        self._blocks: queue.Queue[np.ndarray] = queue.Queue()
        try:
            self._stream = sd.InputStream(
                samplerate=SAMPLE_RATE,
                channels=1,
                dtype="int16",
                blocksize=BLOCK,
                device=input_device,
                callback=self._callback,
            )
            self._stream.start()
        except Exception as exc:  # PortAudioError, ValueError for a bad device
            raise AudioDeviceError(f"cannot open the microphone: {exc}") from exc

    def _callback(self, indata: Any, _frames: int, _time: Any, _status: Any) -> None:
        if self._recording:
            self._blocks.put_nowait(indata[:, 0].copy())

    def _play(self, pcm: np.ndarray) -> None:
        self._utterance += 1
        utterance = self._utterance
        self.playout.play(pcm, utterance)
        deadline = time.monotonic() + len(pcm) / SAMPLE_RATE + 5.0  # a stalled device
        while time.monotonic() < deadline:
            if any(u == utterance for u, _ in self.playout.finished):
                break
            time.sleep(0.01)
        else:
            raise AudioDeviceError("the speaker stopped playing")
        time.sleep(self.output_latency_s + SETTLE_S)

    def say(self, text: str) -> None:
        """Speak ``text`` and wait until it has been heard."""
        if self.on_say is not None:
            self.on_say(text)
        self._play(self.synth.render(text))

    def tone(self) -> None:
        """Play the tone and wait until it has been heard."""
        self._play(tone_pcm())

    def record(self, seconds: float) -> np.ndarray:
        """Up to ``seconds`` of microphone, stopping once speech has ended."""
        while not self._blocks.empty():
            self._blocks.get_nowait()
        end = SpeechEnd()
        blocks: list[np.ndarray] = []
        wanted = int(seconds * SAMPLE_RATE)
        got = 0
        self._recording = True
        try:
            while got < wanted:
                try:
                    block = self._blocks.get(timeout=2.0)
                except queue.Empty:
                    raise AudioDeviceError("the microphone stopped delivering sound") from None
                blocks.append(block)
                got += len(block)
                if end.push(block):
                    break
        finally:
            self._recording = False
        return np.concatenate(blocks)[:wanted]

    def close(self) -> None:
        """Close the microphone."""
        self._stream.stop()
        self._stream.close()
