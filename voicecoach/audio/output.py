"""Where rendered PCM goes: a sound card through sounddevice, or a WAV file.

Both pull from one ``Playout``. The live stream is long-lived (opened once per session), so a cut
never waits for a device to open or close.
"""

from __future__ import annotations

import logging
import threading
import time
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from voicecoach.audio import SAMPLE_RATE
from voicecoach.audio.playout import BLOCK, Playout

log = logging.getLogger(__name__)

#: Requested output latency. PortAudio's "low" (8-40 ms) starves through PulseAudio's ALSA
#: plugin (the callback stops being called, measured); 60 ms works there and on ALSA hardware.
LATENCY_S = 0.06


class AudioDeviceError(RuntimeError):
    """No usable audio device, or it failed."""


class LiveOutput:
    """A sounddevice output stream whose callback renders the playout, and nothing else."""

    def __init__(
        self, playout: Playout, device: int | str | None = None, latency: float = LATENCY_S
    ) -> None:
        import sounddevice as sd  # noqa: PLC0415 - PortAudio only where a device is used

        self.playout = playout
        self.status_flags = 0  # output underflows and the like, counted by the callback
        self.callback_error: BaseException | None = None
        self.ended = threading.Event()
        try:
            self._stream = sd.OutputStream(
                samplerate=SAMPLE_RATE,
                channels=1,
                dtype="int16",
                blocksize=BLOCK,
                latency=latency,
                device=device,
                callback=self._callback,
                finished_callback=self.ended.set,
            )
            self._stream.start()
        except Exception as exc:  # PortAudioError, ValueError for a bad device
            raise AudioDeviceError(f"cannot open the audio output: {exc}") from exc
        log.info("output stream open: %s, latency %.0f ms", device, self._stream.latency * 1000)

    def _callback(self, outdata: Any, frames: int, time_info: Any, status: Any) -> None:
        # python-sounddevice's rules: copy, count flags, never block. An exception here would
        # silently stop the stream, so it is caught, kept for the main thread, and silence played.
        if status:
            self.status_flags += 1
        try:
            self.playout.timing = (self.playout.frames, time_info.outputBufferDacTime)
            outdata[:, 0] = self.playout.render(frames)
        except BaseException as exc:
            self.callback_error = exc
            outdata.fill(0)

    def wait_flowing(self, timeout: float = 2.0) -> bool:
        """Wait until the device consumes audio (0.2 s of it); False on timeout.

        Some stacks fill the first buffer and then stall for a moment (PulseAudio's ALSA plugin,
        measured): speaking before the flow starts would chop the first words.
        """
        deadline = time.monotonic() + timeout
        first = self.playout.frames
        while time.monotonic() < deadline:
            if self.playout.frames - first >= SAMPLE_RATE // 5:
                return True
            time.sleep(0.01)
        return False

    def counters(self) -> dict[str, int]:
        """Diagnostics for ``status`` and the session log: blocks the device flagged."""
        return {"output_flagged": self.status_flags}

    @property
    def healthy(self) -> bool:
        """The stream is running and its callback has not failed."""
        return self.callback_error is None and not self.ended.is_set()

    def latency_s(self) -> float:
        """The device's output latency."""
        return float(self._stream.latency)

    def close(self) -> None:
        """Stop and close the stream."""
        self._stream.stop()
        self._stream.close()


class FileOutput:
    """Renders the playout into a 16 kHz mono WAV, exactly as a speaker would play it.

    Time zero is the session start; silence is written too, so sample n is session time
    n / 16000 s. Rendering runs only when asked (``advance_to``), as fast as the machine allows.
    """

    def __init__(self, playout: Playout, path: Path) -> None:
        self.playout = playout
        self.path = path
        self._wav = wave.open(str(path), "wb")  # noqa: SIM115 - closed by close()
        self._wav.setnchannels(1)
        self._wav.setsampwidth(2)
        self._wav.setframerate(SAMPLE_RATE)

    def advance_to(
        self,
        frame: int,
        on_boundary: Callable[[], bool] | None = None,
        on_block: Callable[[np.ndarray, int], None] | None = None,
    ) -> None:
        """Render up to ``frame``; stop early when ``on_boundary()`` says something happened.

        ``on_block(pcm, first_frame)`` sees every rendered block (the listener's reference).
        """
        while self.playout.frames < frame:
            start = self.playout.frames
            n = self.playout.frames_to_boundary(min(BLOCK, frame - start))
            pcm = self.playout.render(n)
            self._wav.writeframes(pcm.astype("<i2").tobytes())
            if on_block is not None:
                on_block(pcm, start)
            if on_boundary is not None and on_boundary():
                return

    def close(self) -> None:
        """Finish the WAV file."""
        self._wav.close()


def read_wav(path: Path) -> np.ndarray:
    """A 16-bit mono WAV as int16 samples (any rate; the caller checks)."""
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise ValueError(f"{path}: expected 16-bit mono WAV")
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.int16)
