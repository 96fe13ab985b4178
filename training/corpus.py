"""The real recordings and texts training and evaluation draw on, split so they never meet.

Human recordings (``../shared/data``, each folder credited in its SOURCES.md):
- ``speech/``: Speech Commands v0.01 words, background noise, and read sentences (Hi-Fi TTS
  speaker 6097);
- ``speech-commands-v2/``: 269 "stop" from 102 speakers and about 850 other words.
``one-speaker/`` is one person's voice and is left to enrollment: it is not evidence that the
general model hears people it has never met.

Split by speaker (sentences: by file), half for training and half for validation; the
validation half is cut again into *tune* (where thresholds are chosen) and *report* (what the
benchmark counts false commands on). No speaker is in two parts.
"""

from __future__ import annotations

import csv
import functools
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.paths import DATA, SEEDS
from voicecoach.audio.replay import load_input
from voicecoach.vocabulary import find_command_phrase

FOLDERS = ("speech", "speech-commands-v2")
LICENCES = Path("/usr/share/common-licenses")
#: Long texts the held-out voices read as running speech, one set per part. Different texts,
#: so a threshold is never chosen on the words it is then judged on.
TUNE_TEXTS = ("GPL-2", "LGPL-2.1", "Artistic", "MPL-1.1")
REPORT_TEXTS = ("GPL-3", "Apache-2.0", "MPL-2.0", "GFDL-1.3", "CC0-1.0")


@dataclass(frozen=True)
class Clip:
    """One recording of the shared data."""

    path: Path
    word: str  # "stop", another word, "_speech_" (a sentence) or "_noise_"
    speaker: str
    transcript: str

    @property
    def split_key(self) -> str:
        """Sentences come from one reader: split them by file; everything else by speaker."""
        return self.path.name if self.word == "_speech_" else self.speaker

    @property
    def part(self) -> str:
        """train, tune or report."""
        if zlib.crc32(self.split_key.encode()) % 2 == 0:
            return "train"
        return "tune" if zlib.crc32((self.split_key + "/tune").encode()) % 2 == 0 else "report"


def shared_missing() -> str | None:
    """Why training and the benchmark cannot run here, or None."""
    missing = [f for f in FOLDERS if not (DATA / f / "manifest.csv").exists()]
    return f"no shared recordings at {DATA} ({', '.join(missing)})" if missing else None


@functools.cache
def clips() -> tuple[Clip, ...]:
    """Every clip of the shared folders used here."""
    out = []
    for folder in FOLDERS:
        with (DATA / folder / "manifest.csv").open() as f:
            for row in csv.DictReader(f):
                out.append(
                    Clip(
                        DATA / folder / row["file"],
                        row["word"],
                        row["speaker_id"],
                        row["transcript"],
                    )
                )
    return tuple(out)


def select(word: str | None, parts: tuple[str, ...]) -> list[Clip]:
    """Clips of one word (None: every word but stop, sentences and noise) in these parts."""

    def wanted(c: Clip) -> bool:
        if word is None:
            return c.word not in ("stop", "_speech_", "_noise_")
        return c.word == word

    return [c for c in clips() if wanted(c) and c.part in parts]


def load(clip: Clip) -> np.ndarray:
    """16 kHz int16 samples."""
    return load_input(clip.path)


def noise(part: str) -> list[np.ndarray]:
    """The shared background noise, a part of each file.

    The first half of each file trains; the second half is held out, its first quarter for
    tuning and its last for the benchmark ("held-out" is both).
    """
    out = []
    for clip in (c for c in clips() if c.word == "_noise_"):
        pcm = load(clip)
        n = len(pcm)
        pieces = {
            "train": pcm[: n // 2],
            "held-out": pcm[n // 2 :],
            "tune": pcm[n // 2 : 3 * n // 4],
            "report": pcm[3 * n // 4 :],
        }
        out.append(pieces[part])
    return out


_SENTENCE = re.compile(r"(?<=[.!?;:])\s+")


def sentences(text: str) -> list[str]:
    """Plain sentences of 3 to 40 words without a command phrase (those would be commands)."""
    out = []
    for s in _SENTENCE.split(" ".join(text.split())):
        s = re.sub(r"[^A-Za-z0-9 ,.'?!-]", " ", s).strip()
        words = s.split()
        if 3 <= len(words) <= 40 and not find_command_phrase(s) and not re.search(r"\d{3}", s):
            out.append(" ".join(words))
    return out


@functools.cache
def texts(part: str) -> tuple[str, ...]:
    """Sentences for running speech: the guidance articles train; licence texts evaluate."""
    if part == "train":
        paths = sorted(SEEDS.glob("*.txt"))
    else:
        names = TUNE_TEXTS if part == "tune" else REPORT_TEXTS
        paths = [LICENCES / n for n in names if (LICENCES / n).exists()]
    return tuple(s for p in paths for s in sentences(p.read_text(errors="replace")))
