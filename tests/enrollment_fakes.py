"""Shared by the enrollment tests: real takes from the shared data, and a fake adaptation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import SHARED
from voicecoach.audio.replay import load_input
from voicecoach.speech.commands import personal

STOP_TAKES = SHARED / "data" / "one-speaker" / "stop"
NO_SHARED = None if STOP_TAKES.is_dir() else f"no shared recordings at {STOP_TAKES}"
needs_shared = pytest.mark.skipif(NO_SHARED is not None, reason=str(NO_SHARED))


def word_takes(word: str, n: int) -> list[np.ndarray]:
    """The one speaker's first ``n`` recordings of another word (or ``none``: other speech)."""
    return [load_input(p) for p in sorted((STOP_TAKES.parent / word).glob("*.wav"))[:n]]


def stop_files() -> list[Path]:
    """The one speaker's recordings of "stop"."""
    return sorted(STOP_TAKES.glob("*.wav"))


def stop_takes(n: int | None = None) -> list[np.ndarray]:
    """The first ``n`` of them, as 16 kHz int16."""
    return [load_input(p) for p in stop_files()[:n]]


class FakeAdapt:
    """Stands in for ``personal.adapt``: writes a small file, measures every take but one."""

    def __init__(self) -> None:
        self.calls: list[dict[str, int]] = []

    def __call__(
        self,
        takes: Mapping[str, Sequence[np.ndarray]],
        out: Path,
        *,
        other: Sequence[np.ndarray] = (),
        seed: int = 0,
    ) -> personal.Adaptation:
        self.calls.append({p: len(c) for p, c in takes.items()})
        self.other = len(other)
        np.savez(out, phrases=np.array(sorted(takes)))
        recall = {p: personal.PhraseRecall(p, len(c) - 1, len(c)) for p, c in takes.items()}
        return personal.Adaptation(out, recall, seconds=0.25 * len(takes))


def fake_problem(path: Path) -> str | None:
    """``personal.problem`` for the fake's files: a file the fake wrote is fine."""
    try:
        with np.load(path) as model:
            model["phrases"]
    except (OSError, ValueError, KeyError):
        return "the personal model is damaged"
    return None


def install_fake_adapt(monkeypatch: pytest.MonkeyPatch) -> FakeAdapt:
    """Replace ``personal.adapt`` and ``personal.problem`` by the fakes (for one test)."""
    fake = FakeAdapt()
    monkeypatch.setattr(personal, "adapt", fake)
    monkeypatch.setattr(personal, "problem", fake_problem)
    return fake


class FakeRoom:
    """``spoken.Devices`` that hands out prepared takes and writes down what happened."""

    def __init__(self, recordings: list[np.ndarray]) -> None:
        self.recordings = list(recordings)
        self.events: list[str] = []

    def say(self, text: str) -> None:
        self.events.append(f"say: {text}")

    def tone(self) -> None:
        self.events.append("tone")

    def record(self, seconds: float) -> np.ndarray:
        self.events.append(f"record {seconds}")
        return self.recordings.pop(0)

    def close(self) -> None:
        self.events.append("close")
