"""Making a clean phrase sound like a person in a room: level, speed, colour, echo, noise."""

from __future__ import annotations

import numpy as np
import soxr

from voicecoach.audio import SAMPLE_RATE
from voicecoach.audio.replay import room_impulse


def clip16(x: np.ndarray) -> np.ndarray:
    """Float samples to int16, clipped."""
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def rms(pcm: np.ndarray) -> float:
    """RMS of the active part (above a whisper)."""
    x = pcm.astype(np.float64)
    active = x[np.abs(x) > 300]
    return float(np.sqrt(np.mean(active**2))) if active.size else 1.0


def silence(rng: np.random.Generator, lo: float, hi: float) -> np.ndarray:
    """A random stretch of digital silence."""
    return np.zeros(int(rng.uniform(lo, hi) * SAMPLE_RATE), np.int16)


def speed(
    rng: np.random.Generator, pcm: np.ndarray, lo: float = 0.88, hi: float = 1.12
) -> np.ndarray:
    """Faster or slower (and higher or lower), as different people speak."""
    factor = rng.uniform(lo, hi)
    return np.asarray(
        soxr.resample(pcm.astype(np.float32), SAMPLE_RATE * factor, SAMPLE_RATE)
    ).astype(np.int16)


def colour(rng: np.random.Generator, pcm: np.ndarray) -> np.ndarray:
    """A microphone's and a room's frequency response: a random tilt and band limits."""
    n = len(pcm)
    if n < 64:
        return pcm
    spectrum = np.fft.rfft(pcm.astype(np.float64))
    f = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
    octaves = np.log2(np.maximum(f, 50) / 1000)
    gain_db = rng.uniform(-3, 3) * octaves  # tilt, dB per octave around 1 kHz
    low = rng.uniform(50, 400)
    high = rng.uniform(3500, 8000)
    gain_db -= 12 * np.maximum(0, np.log2(low / np.maximum(f, 1)))  # 12 dB/octave below low
    gain_db -= 12 * np.maximum(0, np.log2(np.maximum(f, 1) / high))
    y = np.fft.irfft(spectrum * 10 ** (gain_db / 20), n)
    return clip16(y * rms(pcm) / max(rms(clip16(y)), 1.0))


def reverb(rng: np.random.Generator, pcm: np.ndarray) -> np.ndarray:
    """A room: RT60 0.15-0.7 s, the direct path 1-10 ms away."""
    h = room_impulse(
        rt60=rng.uniform(0.15, 0.7),
        delay_s=rng.uniform(0.001, 0.01),
        seed=int(rng.integers(1 << 30)),
    )
    n = len(pcm) + len(h) - 1
    size = 1 << int(np.ceil(np.log2(max(n, 2))))
    y = np.fft.irfft(np.fft.rfft(pcm.astype(np.float64), size) * np.fft.rfft(h, size), size)
    y = y[: len(pcm)]
    return clip16(y * np.sqrt(np.mean(pcm.astype(np.float64) ** 2) / (np.mean(y**2) + 1)))


def gain(rng: np.random.Generator, pcm: np.ndarray, lo: float = -38, hi: float = -12) -> np.ndarray:
    """Active-speech RMS from quiet (far away) to loud, in dB of full scale."""
    target = 10 ** (rng.uniform(lo, hi) / 20) * 32767
    return clip16(pcm * (target / rms(pcm)))


def mix(rng: np.random.Generator, pcm: np.ndarray, other: np.ndarray, snr_db: float) -> np.ndarray:
    """Add ``other`` (a random stretch of it, looped if short) at ``snr_db`` below ``pcm``."""
    if not len(other):
        return pcm
    start = int(rng.integers(0, max(1, len(other) - len(pcm))))
    piece = np.resize(other[start : start + len(pcm)], len(pcm)).astype(np.float64)
    p_sig = rms(pcm) ** 2
    p_other = np.mean(piece**2) + 1
    piece *= np.sqrt(p_sig / (p_other * 10 ** (snr_db / 20 * 2)))
    return clip16(pcm + piece)


def room_and_mic(rng: np.random.Generator, pcm: np.ndarray, noise: list[np.ndarray]) -> np.ndarray:
    """The usual chain: colour, maybe a room, level, maybe noise (-3 to 30 dB SNR)."""
    if rng.random() < 0.6:
        pcm = colour(rng, pcm)
    if rng.random() < 0.6:
        pcm = reverb(rng, pcm)
    pcm = gain(rng, pcm)
    if noise and rng.random() < 0.7:
        pcm = mix(rng, pcm, noise[int(rng.integers(len(noise)))], rng.uniform(-3, 30))
    return pcm
