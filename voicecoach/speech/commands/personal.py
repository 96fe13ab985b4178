"""A personal command model: the general one, adapted on the device to one person's voice.

The user's own takes of a phrase (five are enough) are augmented here (level, a room, noise)
and a copy of the general model's upper layers is fitted to tell them from everything that must
not fire (``negatives.npz``: other people's words and talk, noise, the coach's own voice; built
by ``training/negatives.py``). Each enrolled intent's threshold is then set so that, on held
negatives, the personal model fires no more often than the general one does: it may hear the
user better, never everyone else more. Intents without takes keep the general model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from voicecoach.vocabulary import PHRASES, Intent

#: What enrollment asks for, in this order: the safety phrases first.
ENROLL_PHRASES = ("that hurts", "ouch", "stop", "next", "pause", "resume", "repeat", "help", "finish")
TAKES = 5  # takes per phrase enrollment asks for


@dataclass(frozen=True)
class PhraseRecall:
    """How often one phrase was heard in the user's held-out takes (cross-validated)."""

    phrase: str
    heard: int
    trials: int

    @property
    def rate(self) -> float:
        """Share heard (0 with no trials)."""
        return self.heard / self.trials if self.trials else 0.0


@dataclass
class Adaptation:
    """The result of ``adapt``: the model to save and what it measured."""

    path_written: Path | None
    recall: dict[str, PhraseRecall] = field(default_factory=dict)
    seconds: float = 0.0


def intent_of(phrase: str) -> Intent:
    """The intent a phrase means (a key of ``vocabulary.PHRASES``)."""
    return PHRASES[phrase]


def adapt(
    takes: Mapping[str, Sequence[np.ndarray]], out: Path, *, seed: int = 0
) -> Adaptation:
    """Fit a personal model to ``takes`` (phrase -> 16 kHz int16 clips) and write it to ``out``.

    Raises ``ValueError`` for an unknown phrase or an empty take list.
    """
    raise NotImplementedError


def problem(path: Path) -> str | None:
    """Why the personal model at ``path`` cannot be used (missing, damaged, or adapted from
    another general model than the one installed), or None when it can."""
    raise NotImplementedError
