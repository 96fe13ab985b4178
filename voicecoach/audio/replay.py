"""A recorded microphone, and a simulated room that feeds the coach's own voice back into it.

With ``--audio-in`` the microphone is a WAV file read in step with the rendered output (sample
n of input and output share one time zero); past its end the input is silence. The room adds
the coach's output, convolved with a room impulse response, to that input: the closed loop a
real speaker and microphone make, deterministic and as fast as the machine allows.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import soxr

from voicecoach.audio import SAMPLE_RATE


def load_input(path: Path) -> np.ndarray:
    """A mono 16-bit WAV as 16 kHz int16 (resampled if needed)."""
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2:
            raise ValueError(f"{path}: expected 16-bit PCM")
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        channels, rate = w.getnchannels(), w.getframerate()
    if channels > 1:
        pcm = pcm.reshape(-1, channels).mean(axis=1).astype(np.int16)
    if rate != SAMPLE_RATE:
        pcm = np.asarray(soxr.resample(pcm, rate, SAMPLE_RATE), dtype=np.int16)
    return pcm.astype(np.int16)


class RecordedMicrophone:
    """Samples of a recording by frame number; silence before and after it."""

    def __init__(self, pcm: np.ndarray) -> None:
        self.pcm = pcm

    def read(self, start: int, n: int) -> np.ndarray:
        """``n`` samples from frame ``start``."""
        out = np.zeros(n, np.int16)
        a, b = max(start, 0), min(start + n, len(self.pcm))
        if a < b:
            out[a - start : b - start] = self.pcm[a:b]
        return out


def room_impulse(rt60: float = 0.35, delay_s: float = 0.003, seed: int = 0) -> np.ndarray:
    """A synthetic room: a direct path, then exponentially decaying diffuse reflections.

    Unit energy, so the echo level is set by the gain alone. RT60 0.35 s is a furnished room.
    """
    rng = np.random.default_rng(seed)
    n = int(rt60 * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    h = rng.standard_normal(n) * np.exp(-6.9 * t / rt60) * 0.3
    start = int(delay_s * SAMPLE_RATE)
    h[:start] = 0
    h[start] = 1.0
    return np.asarray(h / np.sqrt(np.sum(h**2)))


class RoomEcho:
    """Streaming convolution of the coach's output with a room response (FFT overlap-add)."""

    def __init__(self, gain_db: float, impulse: np.ndarray | None = None) -> None:
        h = room_impulse() if impulse is None else impulse
        self.gain = 10 ** (gain_db / 20)
        self._h = h
        self._tail = np.zeros(len(h) - 1)
        self._spectra: dict[int, np.ndarray] = {}

    def apply(self, ref: np.ndarray) -> np.ndarray:
        """The echo (float) of the next ``len(ref)`` output samples."""
        n = len(ref)
        size = 1 << int(np.ceil(np.log2(n + len(self._h) - 1)))
        if size not in self._spectra:
            self._spectra[size] = np.fft.rfft(self._h, size)
        y = np.fft.irfft(np.fft.rfft(ref.astype(np.float64), size) * self._spectra[size], size)
        y = y[: n + len(self._h) - 1]
        y[: len(self._tail)] += self._tail
        out, rest = y[:n], y[n:]
        self._tail = np.zeros(len(self._h) - 1)
        self._tail[: len(rest)] = rest
        return np.asarray(out * self.gain)


def mix(mic: np.ndarray, echo: np.ndarray) -> np.ndarray:
    """Add an echo to microphone samples, clipping like a real converter."""
    return np.asarray(np.clip(mic.astype(np.float64) + echo, -32768, 32767), dtype=np.int16)
