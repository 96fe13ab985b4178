"""When a stream of command-model scores becomes a detection: one rule for listening and training.

An intent fires when its score holds its threshold on ``consecutive`` 80 ms decisions in a
row; then it is quiet for ``refractory`` seconds. Training chooses the thresholds by running
exactly this rule over validation audio (``training/calibrate.py``), so the operating point it
reports is the one the coach listens with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: After a detection the same intent is not reported again for this long (seconds).
REFRACTORY_S = 1.5
STEP_S = 0.08  # one decision per 80 ms


@dataclass(frozen=True)
class Fired:
    """An intent (its column in the scores) fired at a decision index."""

    column: int
    index: int
    score: float


class Decider:
    """Streaming: feed one score vector per decision; get what fired."""

    def __init__(
        self, thresholds: Sequence[float], consecutive: int, refractory_s: float = REFRACTORY_S
    ) -> None:
        self.thresholds = np.asarray(thresholds, np.float64)
        self.consecutive = consecutive
        self.refractory = int(round(refractory_s / STEP_S))
        self.reset()

    def reset(self) -> None:
        """Forget streaks and refractory periods."""
        n = len(self.thresholds)
        self._streak = np.zeros(n, np.int64)
        self._quiet_until = np.full(n, -1, np.int64)
        self._index = -1

    def push(self, scores: np.ndarray) -> list[Fired]:
        """Scores of the next decision (one per intent column)."""
        self._index += 1
        hit = scores >= self.thresholds
        self._streak = np.where(hit, self._streak + 1, 0)
        out = []
        for c in np.flatnonzero((self._streak >= self.consecutive) & hit):
            if self._index >= self._quiet_until[c]:
                self._quiet_until[c] = self._index + self.refractory
                out.append(Fired(int(c), self._index, float(scores[c])))
        return out


def detect(scores: np.ndarray, thresholds: Sequence[float], consecutive: int) -> list[Fired]:
    """Everything that fires in a whole score sequence (decisions x intents)."""
    decider = Decider(thresholds, consecutive)
    return [f for row in scores for f in decider.push(row)]


def peaks(scores: np.ndarray, consecutive: int) -> np.ndarray:
    """Per decision and intent, the lowest score of the last ``consecutive`` decisions.

    A threshold ``t`` fires at a decision exactly when this value is >= ``t`` (refractory
    aside): what calibration sweeps thresholds over.
    """
    out = np.full(scores.shape, -np.inf)
    if len(scores) >= consecutive:
        view = np.lib.stride_tricks.sliding_window_view(scores, consecutive, axis=0)
        out[consecutive - 1 :] = view.min(axis=-1)
    return out
