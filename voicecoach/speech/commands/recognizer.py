"""The command model as a recognizer: every session command, always armed, 80 ms at a time."""

from __future__ import annotations

import collections
from pathlib import Path

import numpy as np

from voicecoach.audio import SAMPLE_RATE
from voicecoach.speech.commands.decision import Decider
from voicecoach.speech.commands.features import CHUNK, FeatureStream
from voicecoach.speech.commands.model import FRAMES, CommandModel
from voicecoach.speech.commands.personal import combine
from voicecoach.speech.recognizer import Detection, RecognizerUnavailable
from voicecoach.vocabulary import Expectation, Intent, phrases_for

MODEL = Path(__file__).resolve().parent / "commands.npz"
PHRASE_S = 0.8  # rough length of a phrase, for the detection's start


class CommandRecognizer:
    """Scores the last 1.28 s every 80 ms; an intent fires on its threshold (``decision.py``)."""

    name = "command model"

    def __init__(self, model: Path = MODEL, personal: Path | None = None) -> None:
        try:
            self.model = CommandModel.load(model)
            self.personal = None if personal is None else CommandModel.load(personal)
            self.features = FeatureStream()
        except (OSError, ImportError, KeyError, ValueError) as exc:
            raise RecognizerUnavailable(f"the command model cannot be loaded: {exc}") from exc
        names = self.model.intents
        self._columns = [self.model.classes.index(n) for n in names]
        self._intents = [Intent(n) for n in names]
        thresholds = [self.model.thresholds[n] for n in names]
        # An enrolled intent fires when either model clears its own bar (``personal.combine``).
        self._mine: list[tuple[int, int, float]] = []  # (column here, column there, shift)
        if self.personal is not None:
            self.name = "command model (personal)"
            for column, n in enumerate(names):
                if n in self.personal.intents:
                    shift = thresholds[column] - self.personal.thresholds[n]
                    self._mine.append((column, self.personal.classes.index(n), shift))
        self._decider = Decider(thresholds, self.model.consecutive)
        self._frames: collections.deque[np.ndarray] = collections.deque(maxlen=FRAMES)
        self._samples = 0
        self._origin: float | None = None
        self.last_scores: np.ndarray | None = None  # per intent, for diagnostics
        self._armed = [True] * len(self._intents)  # per intent: reported when it fires

    def expect(self, expectation: Expectation) -> None:
        """Report only the commands expected (stop and pain always); the scores are unchanged."""
        self._armed = [expectation.allows(intent) for intent in self._intents]

    def reset(self) -> None:
        """Forget all audio heard (window, streaks, refractory, time origin): as if just built."""
        self.features.reset()
        self._decider.reset()
        self._frames.clear()
        self._samples = 0
        self._origin = None
        self.last_scores = None

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
            scores = self.model.scores(window)[0, self._columns]
            if self.personal is not None:
                mine = self.personal.scores(window)[0]
                for column, there, shift in self._mine:
                    scores[column] = combine(mine[there], scores[column], shift)
            self.last_scores = scores
            for fired in self._decider.push(scores):
                if not self._armed[fired.column]:
                    continue
                intent = self._intents[fired.column]
                confidence = float(1 / (1 + np.exp(-fired.score)))
                out.append(
                    Detection(
                        intent,
                        phrases_for(intent)[0],
                        confidence,
                        end - PHRASE_S,
                        end,
                        self.name,
                    )
                )
        return out
