"""The reference gate: tells the user's voice from the coach's own voice coming back.

The coach knows exactly what it plays (the reference). Per 20 ms frame and per band it predicts
how much of that reference reaches the microphone (a short non-negative filter over the recent
reference band powers, adapted by NLMS while only the coach plays), and flags "double talk"
when enough bands hold clearly more than that prediction. A detection made while the coach was
talking is believed only if its span holds double-talk frames; an echo canceller alone does not
stop self-triggering (measured: recognizers ignore level), this does.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass

import numpy as np

from voicecoach.audio import SAMPLE_RATE

FRAME = SAMPLE_RATE // 50  # 20 ms
BANDS = 16
TAPS = 30  # 0.6 s of room and device delay
MU = 0.3
OVER_DB = 6.0  # a band is "user" when this far above the predicted echo + noise
BAND_SHARE = 0.2  # ... in at least this share of the bands
SPAN_MARGIN_S = 0.1
MIN_FRAMES = 2
PRIOR_GAIN = 2.0  # 3 dB above a same-level echo
PRIOR_TAPS = 5
SILENT_REF = 1e3  # reference frame power (int16 units^2 per bin) below which the coach is quiet


def _band_edges() -> np.ndarray:
    freqs = np.fft.rfftfreq(2 * FRAME, 1 / SAMPLE_RATE)
    edges = np.geomspace(300, 4000, BANDS + 1)
    return np.searchsorted(freqs, edges)


_EDGES = _band_edges()
_WINDOW = np.hanning(2 * FRAME)


def band_powers(frame: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """Mean power per log band (300-4000 Hz) of a 20 ms frame (40 ms window with the last)."""
    x = np.concatenate([previous, frame]).astype(np.float64) * _WINDOW
    spectrum = np.abs(np.fft.rfft(x)) ** 2
    return np.array([spectrum[a:b].mean() for a, b in zip(_EDGES[:-1], _EDGES[1:], strict=True)])


@dataclass
class _Mark:
    t: float
    double_talk: bool
    coach: bool


class ReferenceGate:
    """Tracks, frame by frame, whether the microphone holds more than the coach's echo."""

    def __init__(self, history_s: float = 10.0) -> None:
        # Start by assuming the echo is as loud as what is played (a speaker next to the mat),
        # spread over the first 100 ms: until the filter has learned the room, the gate errs
        # toward "that was the coach", never toward the coach triggering itself.
        self._weights = np.zeros((BANDS, TAPS))
        self._weights[:, :PRIOR_TAPS] = PRIOR_GAIN / PRIOR_TAPS
        self._refs = np.zeros((BANDS, TAPS))  # newest first
        self._noise = np.full(BANDS, 1e4)
        self._prev_mic = np.zeros(FRAME)
        self._prev_ref = np.zeros(FRAME)
        self._marks: collections.deque[_Mark] = collections.deque(
            maxlen=int(history_s * SAMPLE_RATE / FRAME)
        )

    def update(self, mic: np.ndarray, ref: np.ndarray, t: float) -> bool:
        """Take one 20 ms frame of microphone and reference starting at ``t``; True: double talk."""
        m = band_powers(mic, self._prev_mic)
        r = band_powers(ref, self._prev_ref)
        self._prev_mic, self._prev_ref = mic, ref
        self._refs = np.roll(self._refs, 1, axis=1)
        self._refs[:, 0] = r
        coach = bool(self._refs.max() > SILENT_REF * FRAME)
        echo = np.einsum("bk,bk->b", self._weights, self._refs)
        floor = echo + 2 * self._noise
        loud = m > floor * 10 ** (OVER_DB / 10)
        double_talk = bool(loud.mean() >= BAND_SHARE)
        if not coach:
            # Noise floor: follow quiet frames quickly down, slowly up.
            self._noise = np.where(m < self._noise, 0.7 * self._noise + 0.3 * m, 1.01 * self._noise)
        elif not double_talk:
            # NLMS on band powers, only while the coach alone is heard.
            error = m - self._noise - echo
            norm = np.einsum("bk,bk->b", self._refs, self._refs) + 1e-9
            self._weights += MU * (error / norm)[:, None] * self._refs
            np.maximum(self._weights, 0, out=self._weights)
        self._marks.append(_Mark(t, double_talk, coach))
        return double_talk

    def allows(self, start: float, end: float) -> bool:
        """Believe a detection spanning start-end: the coach was quiet, or the user spoke."""
        span = [k for k in self._marks if start - SPAN_MARGIN_S <= k.t <= end + SPAN_MARGIN_S]
        if not span or not any(k.coach for k in span):
            return True
        return sum(k.double_talk for k in span) >= MIN_FRAMES
