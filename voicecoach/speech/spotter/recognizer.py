"""The safety spotter as a recognizer: always armed for "stop" and pain, 80 ms at a time.

Two stages on the same features: the first (``head.npz``) must hold its threshold on k
consecutive decisions, and the verifier (``verifier.npz``, trained on the first stage's false
alarms in running speech) must agree on at least one of them.
"""

from __future__ import annotations

import collections
from pathlib import Path

import numpy as np

from voicecoach.audio import SAMPLE_RATE
from voicecoach.speech.recognizer import Detection, RecognizerUnavailable
from voicecoach.speech.spotter.features import CHUNK, FeatureStream
from voicecoach.speech.spotter.head import FRAMES, Head
from voicecoach.vocabulary import Intent

MODEL = Path(__file__).resolve().parent / "head.npz"
VERIFIER = MODEL.with_name("verifier.npz")
#: After a detection the same intent is not reported again for this long.
REFRACTORY_S = 1.5
PHRASE_S = 0.8  # rough length of a phrase, for the detection's start


class SpotterRecognizer:
    """Per-intent thresholds on k consecutive 80 ms decisions, verified, then a refractory period.

    ``verifier=None`` runs the first stage alone (for comparison in the benchmark).
    """

    name = "spotter"

    def __init__(self, model: Path = MODEL, verifier: Path | None = VERIFIER) -> None:
        try:
            self.head = Head.load(model)
            self.verifier = Head.load(verifier) if verifier is not None else None
            self.features = FeatureStream()
        except (OSError, ImportError, KeyError, ValueError) as exc:
            raise RecognizerUnavailable(f"the spotter model cannot be loaded: {exc}") from exc
        self.intents = {c: Intent(c) for c in self.head.classes if c != "background"}
        self._frames: collections.deque[np.ndarray] = collections.deque(maxlen=FRAMES)
        self._streak = dict.fromkeys(self.intents, 0)
        self._verified = dict.fromkeys(self.intents, False)  # within the current streak
        self._last = dict.fromkeys(self.intents, -1e9)
        self._samples = 0  # samples fed since reset, for chunk timing
        self._origin: float | None = None
        self.last_probabilities: np.ndarray | None = None

    def reset(self) -> None:
        """Nothing to forget between phrases: the spotter is always armed."""

    def accept(self, pcm: np.ndarray, t: float) -> list[Detection]:
        """Feed a block; detections whose decision completed in it."""
        if self._origin is None:
            self._origin = t
        out = []
        for embedding in self.features.push(pcm):
            self._samples += CHUNK
            self._frames.append(embedding)
            if len(self._frames) < FRAMES:
                continue
            end = self._origin + self._samples / SAMPLE_RATE
            window = np.concatenate(self._frames)[None, :]
            p = self.head.probabilities(window)[0]
            self.last_probabilities = p
            q = None
            for i, name in enumerate(self.head.classes):
                if name not in self.intents:
                    continue
                hit = p[i] >= self.head.thresholds.get(name, 0.99)
                self._streak[name] = self._streak[name] + 1 if hit else 0
                if not hit:
                    self._verified[name] = False
                elif self.verifier is None:
                    self._verified[name] = True
                elif not self._verified[name]:
                    q = self.verifier.probabilities(window)[0] if q is None else q
                    self._verified[name] = q[i] >= self.verifier.thresholds.get(name, 0.99)
                if (
                    self._streak[name] >= self.head.consecutive
                    and self._verified[name]
                    and end - self._last[name] >= REFRACTORY_S
                ):
                    self._last[name] = end
                    phrase = "stop" if name == "stop" else "that hurts"
                    out.append(
                        Detection(
                            self.intents[name], phrase, float(p[i]), end - PHRASE_S, end, self.name
                        )
                    )
        return out
