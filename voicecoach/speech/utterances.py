"""Cutting a stream into utterances by energy, for recognizers that transcribe whole ones.

A 20 ms frame is speech when it is ``SPEECH_DB`` above a noise floor that follows the quiet
frames (down fast, up slowly); an utterance ends after ``END_SILENCE_S`` of quiet, or at
``MAX_UTTERANCE_S``, and is kept only if it lasts ``MIN_UTTERANCE_S``. It starts with the
``LEAD_S`` before its first loud frame: a soft onset ("f" of "four") lies below the threshold,
and Whisper cut at the onset heard "four" as "far" (measured).
"""

from __future__ import annotations

import collections

import numpy as np

from voicecoach.audio import SAMPLE_RATE

FRAME = SAMPLE_RATE // 50
SPEECH_DB = 12.0
END_SILENCE_S = 0.6
MAX_UTTERANCE_S = 6.0
MIN_UTTERANCE_S = 0.3
LEAD_S = 0.2


class Utterances:
    """Takes 20 ms frames one by one; ``push`` returns an utterance once it has ended."""

    def __init__(self) -> None:
        self._noise_db = 40.0
        self._frames: list[np.ndarray] = []
        self._quiet = 0
        self._before: collections.deque[np.ndarray] = collections.deque(
            maxlen=round(LEAD_S * SAMPLE_RATE / FRAME)
        )
        self.lead = 0  # samples of the last utterance before its first loud frame
        self.tail = 0  # and after its last one

    def clear(self) -> None:
        """Drop the utterance under way (the noise floor is kept: the room has not changed)."""
        self._frames, self._quiet = [], 0
        self._before.clear()

    @property
    def active(self) -> bool:
        """An utterance is under way."""
        return bool(self._frames)

    def push(self, frame: np.ndarray) -> np.ndarray | None:
        """Take one frame; the whole utterance when this frame ended one, else None."""
        level = 10 * np.log10(np.mean(frame.astype(np.float64) ** 2) + 1)
        speech = level > self._noise_db + SPEECH_DB
        if not speech:
            rate = 0.3 if level < self._noise_db else 0.01
            self._noise_db += rate * (level - self._noise_db)
        if not self._frames:
            if not speech:
                self._before.append(frame)
                return None
            self.lead = len(self._before) * FRAME
            self._frames = list(self._before)
        self._frames.append(frame)
        self._quiet = 0 if speech else self._quiet + 1
        length = (len(self._frames) * FRAME - self.lead) / SAMPLE_RATE
        ended = self._quiet * FRAME / SAMPLE_RATE >= END_SILENCE_S or length >= MAX_UTTERANCE_S
        if not ended:
            return None
        utterance = np.concatenate(self._frames)
        self.tail = self._quiet * FRAME
        self.clear()
        return utterance if length >= MIN_UTTERANCE_S else None
