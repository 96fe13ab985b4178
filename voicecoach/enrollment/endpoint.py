"""When a take's recording may stop: speech was heard, then a stretch of quiet."""

from __future__ import annotations

import numpy as np

from voicecoach.audio import SAMPLE_RATE
from voicecoach.enrollment.takes import FRAME, NOISY_DB

QUIET_AFTER_S = 0.6  # a pause inside a phrase ("that ... hurts") is shorter than this


class SpeechEnd:
    """Fed a recording block by block; ``done`` once speech was followed by ``QUIET_AFTER_S``.

    Levels are judged like ``takes.measure``: speech rises ``NOISY_DB`` above the quietest
    frame so far, and a frame is quiet below halfway from that background to the loudest.
    """

    def __init__(self) -> None:
        self._pending = np.zeros(0, np.float64)
        self._background = np.inf
        self._loudest = -np.inf
        self._quiet_frames = 0
        self.done = False

    def push(self, block: np.ndarray) -> bool:
        """Take the next samples; whether the recording may stop now."""
        self._pending = np.concatenate([self._pending, np.asarray(block, dtype=np.float64)])
        whole = len(self._pending) // FRAME * FRAME
        frames, self._pending = self._pending[:whole], self._pending[whole:]
        for frame in frames.reshape(-1, FRAME):
            db = 20 * np.log10(max(float(np.sqrt(np.mean(frame**2))), 1.0) / 32768)
            self._background = min(self._background, db)
            self._loudest = max(self._loudest, db)
            if self._loudest - self._background < NOISY_DB:
                continue  # no speech yet
            quiet = db < (self._background + self._loudest) / 2
            self._quiet_frames = self._quiet_frames + 1 if quiet else 0
            if self._quiet_frames * FRAME >= QUIET_AFTER_S * SAMPLE_RATE:
                self.done = True
        return self.done
