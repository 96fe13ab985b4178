"""Building microphone recordings for replay tests and benchmarks: phrases placed at known times,
noise at a chosen SNR, other people talking. The shared speech data is read in place.
"""

from __future__ import annotations

import csv
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voicecoach.audio import SAMPLE_RATE

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data" / "speech"
SHARED_MISSING = (
    None if (SHARED / "manifest.csv").exists() else f"no shared speech data at {SHARED}"
)


def manifest() -> list[dict[str, str]]:
    """Rows of the shared data's manifest."""
    with (SHARED / "manifest.csv").open() as f:
        return list(csv.DictReader(f))


def clips(word: str) -> list[Path]:
    """Files of one word (or ``_speech_`` sentences, ``_noise_``)."""
    return [SHARED / r["file"] for r in manifest() if r["word"] == word]


def trim(pcm: np.ndarray, level: int = 300) -> np.ndarray:
    """Cut silence at both ends."""
    loud = np.flatnonzero(np.abs(pcm.astype(np.int32)) > level)
    return pcm[loud[0] : loud[-1] + 1] if loud.size else pcm[:0]


def rms(pcm: np.ndarray) -> float:
    """Root mean square of the samples above a whisper (active speech level)."""
    x = pcm.astype(np.float64)
    active = x[np.abs(x) > 300]
    return float(np.sqrt(np.mean(active**2))) if active.size else 0.0


def scale_to(pcm: np.ndarray, target_rms: float) -> np.ndarray:
    """Scale to an active-speech RMS."""
    return np.clip(pcm * (target_rms / max(rms(pcm), 1.0)), -32768, 32767).astype(np.int16)


def add_noise(
    pcm: np.ndarray, noise: np.ndarray, snr_db: float, reference_rms: float
) -> np.ndarray:
    """Mix ``noise`` (looped) so that ``reference_rms`` is ``snr_db`` above its RMS."""
    n = np.resize(noise, len(pcm)).astype(np.float64)
    n *= reference_rms / (np.sqrt(np.mean(n**2)) + 1e-9) / 10 ** (snr_db / 20)
    return np.clip(pcm + n, -32768, 32767).astype(np.int16)


@dataclass
class Placed:
    """A phrase placed in a recording: where it ends (seconds)."""

    start: float
    end: float


def place(track: np.ndarray, phrase: np.ndarray, end_s: float) -> tuple[np.ndarray, Placed]:
    """Put a (trimmed) phrase into a track so that it ends at ``end_s``."""
    phrase = trim(phrase)
    end = int(end_s * SAMPLE_RATE)
    start = end - len(phrase)
    out = track.copy()
    if len(out) < end:
        out = np.concatenate([out, np.zeros(end - len(out), np.int16)])
    mixed = out[start:end].astype(np.int32) + phrase
    out[start:end] = np.clip(mixed, -32768, 32767)
    return out, Placed(start / SAMPLE_RATE, end / SAMPLE_RATE)


def write_wav(path: Path, pcm: np.ndarray) -> Path:
    """16 kHz mono 16-bit WAV."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(pcm.astype("<i2").tobytes())
    return path


def first_departure(a: np.ndarray, b: np.ndarray) -> float | None:
    """Seconds at which two renderings first differ (None: identical)."""
    n = min(len(a), len(b))
    diff = np.flatnonzero(a[:n] != b[:n])
    if diff.size:
        return diff[0] / SAMPLE_RATE
    return None if len(a) == len(b) else n / SAMPLE_RATE


def count_onsets(pcm: np.ndarray) -> list[float]:
    """Onsets of sounds that follow at least 0.15 s of silence (5 ms resolution)."""
    frame = SAMPLE_RATE // 200
    n = len(pcm) // frame
    loud = np.abs(pcm[: n * frame].astype(np.int32)).reshape(n, frame).max(axis=1) > 300
    out, quiet = [], 30
    for i, is_loud in enumerate(loud):
        if is_loud and quiet >= 30:
            out.append(i * frame / SAMPLE_RATE)
        quiet = 0 if is_loud else quiet + 1
    return out


def first_count(pcm: np.ndarray) -> float:
    """Onset of the first count of the first hold: the first of three onsets 1 s apart."""
    on = count_onsets(pcm)
    for a, b, c in zip(on, on[1:], on[2:], strict=False):
        if abs(b - a - 1) < 0.05 and abs(c - b - 1) < 0.05:
            return a
    raise AssertionError("no counted hold found")


def speech_sentences(without_commands: bool = True, held_out: bool = False) -> np.ndarray:
    """The shared read sentences, one after another with short pauses.

    Sentences whose transcript holds a command phrase ("not to stop more than ten minutes")
    are left out by default: hearing that "stop" is not a false command. ``held_out``: only the
    validation half, never trained on.
    """
    from training import corpus
    from voicecoach.vocabulary import find_command_phrase

    parts = []
    for clip in corpus.select(
        "_speech_", ("tune", "report") if held_out else ("train", "tune", "report")
    ):
        if without_commands and find_command_phrase(clip.transcript):
            continue
        parts += [corpus.load(clip), np.zeros(SAMPLE_RATE // 3, np.int16)]
    return np.concatenate(parts)


def quiet_spans(pcm: np.ndarray, min_s: float) -> list[tuple[float, float]]:
    """(start, end) of every silent stretch at least ``min_s`` long (10 ms resolution)."""
    frame = SAMPLE_RATE // 100
    n = len(pcm) // frame
    loud = np.abs(pcm[: n * frame].astype(np.int32)).reshape(n, frame).max(axis=1) > 300
    spans, start = [], None
    for i, is_loud in enumerate([*loud, True]):
        if not is_loud and start is None:
            start = i
        elif is_loud and start is not None:
            if (i - start) * frame / SAMPLE_RATE >= min_s:
                spans.append((start * frame / SAMPLE_RATE, i * frame / SAMPLE_RATE))
            start = None
    return spans


def no_questions(folder: Path) -> Path:
    """A config file that turns the coach's questions off (for sessions about something else)."""
    path = folder / "no-questions.toml"
    path.write_text("[session]\ncheckin = false\neffort = false\n")
    return path
