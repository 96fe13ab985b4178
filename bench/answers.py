"""Answers benchmark: is a spoken pain score heard right, and is anything else never a score?

While a check-in is open, each utterance is transcribed and must be a whole number from 0 to 10
(``voicecoach/speech/answers.py``). This measures it on real people: every number word (zero to
nine) in the shared Speech Commands recordings (v0.01 and v2; no model here was trained on
them), and, as what must never become a score, every other word there, the read sentences and
the background noise. It compares Whisper tiny.en unprimed (what the coach uses), Whisper primed
with the numbers, and pocketsphinx's full language model (the fallback).

Run from the repository root after ``scripts/setup.sh --test``: ``.venv/bin/python
bench/answers.py``. It writes its table into docs/benchmarks.md between the ``answers`` markers.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy and ctranslate2 load

import csv  # noqa: E402
import sys  # noqa: E402
import wave  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._report import write_section  # noqa: E402
from voicecoach.audio import SAMPLE_RATE  # noqa: E402
from voicecoach.engine.plan import PAIN_SCORE  # noqa: E402
from voicecoach.speech.answers import _said_once  # noqa: E402
from voicecoach.speech.transcribe import FullTranscriber  # noqa: E402
from voicecoach.speech.whisper import WhisperTranscriber  # noqa: E402
from voicecoach.vocabulary import NUMBER_WORDS  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
SETS = ("speech", "speech-commands-v2")
NUMBERS = {w: n for n, w in enumerate(NUMBER_WORDS[:11])}

# (name, make it, judge every n-th clip that is no number: pocketsphinx's full LM is slow)
TRANSCRIBERS: list[tuple[str, Callable[[], Any], int]] = [
    ("Whisper tiny.en, unprimed (used)", WhisperTranscriber, 1),
    (
        "Whisper tiny.en, primed with the numbers",
        lambda: WhisperTranscriber(context=" ".join(f"{w.capitalize()}." for w in NUMBERS)),
        1,
    ),
    ("pocketsphinx full LM (fallback)", FullTranscriber, 4),
]


def _load(path: Path) -> np.ndarray:
    with wave.open(str(path)) as w:
        assert w.getframerate() == SAMPLE_RATE and w.getnchannels() == 1
        return np.frombuffer(w.readframes(w.getnframes()), np.int16)


def clips() -> list[dict[str, Any]]:
    """Every clip of the shared word sets: file, word, speaker."""
    out = []
    for name in SETS:
        with (DATA / name / "manifest.csv").open() as f:
            for row in csv.DictReader(f):
                out.append({"path": DATA / name / row["file"], **row})
    return out


def main() -> None:
    rows = clips()
    quiet = np.zeros(SAMPLE_RATE // 2, np.int16)
    audio = {str(r["path"]): np.concatenate([quiet, _load(r["path"]), quiet]) for r in rows}
    numbers = [r for r in rows if r["word"] in NUMBERS]
    others = [r for r in rows if r["word"] not in NUMBERS]
    speakers = len({r["speaker_id"] for r in numbers})
    other_speakers = len({r["speaker_id"] for r in others if r["word"] not in ("_noise_",)})
    lines = [
        f"Pain scores said by real people: {len(numbers)} number words (zero to nine) from "
        f"{speakers} speakers; what must never be a score: {len(others)} other clips (other "
        f"words and read sentences from {other_speakers} speakers, and background noise). "
        "Each clip with half a second of quiet before and after it (a session's utterance keeps "
        "0.2 s before the words and 0.6 s after). "
        "pocketsphinx is judged on every fourth clip that is no number (it is slow).",
        "",
        "| transcriber | scores heard right | heard as another number | false scores on other "
        "clips | s per clip |",
        "|---|---|---|---|---|",
    ]
    import time  # noqa: PLC0415

    for name, make, every in TRANSCRIBERS:
        transcriber = make()
        right = wrong = false = 0
        judged = [r for r in numbers] + others[::every]
        negatives = len(others[::every])
        started = time.process_time()
        for r in judged:
            value = PAIN_SCORE.match(_said_once(transcriber.transcribe(audio[str(r["path"])])))
            if r["word"] in NUMBERS:
                right += value == NUMBERS[r["word"]]
                wrong += value is not None and value != NUMBERS[r["word"]]
            else:
                false += value is not None
        per_clip = (time.process_time() - started) / len(judged)
        lines.append(
            f"| {name} | {right}/{len(numbers)} ({100 * right / len(numbers):.0f} %) | {wrong} "
            f"| {false}/{negatives} | {per_clip:.2f} |"
        )
        print(lines[-1], flush=True)
    write_section("answers", "\n".join(lines))


if __name__ == "__main__":
    main()
