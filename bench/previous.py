"""The listening the command model replaced, for the benchmark's comparison column.

Until the command model, ``voicecoach run`` listened with pocketsphinx keyword spotting for
next, pause, resume, repeat, help and finish, and a two-stage "safety spotter" for stop and
pain. The spotter's weights are read from the repository's history (the commit below); its
decision rule is restated here as it was, so the same audio can be run through both.
"""

from __future__ import annotations

import collections
import io
import json
import subprocess
from pathlib import Path

import numpy as np

from voicecoach.audio import SAMPLE_RATE
from voicecoach.speech.commands.features import CHUNK, FeatureStream
from voicecoach.speech.recognizer import Detection
from voicecoach.vocabulary import Intent

REPO = Path(__file__).resolve().parent.parent
COMMIT = "6723a9e"  # the last commit with the spotter
FRAMES = 16
REFRACTORY_S = 1.5


class _Head:
    """The spotter's MLP file format (1536 -> 128 -> 3 classes)."""

    def __init__(self, path: str) -> None:
        blob = subprocess.run(
            ["git", "show", f"{COMMIT}:{path}"], cwd=REPO, capture_output=True, check=True
        ).stdout
        with np.load(io.BytesIO(blob)) as z:
            self.w1, self.b1, self.w2, self.b2 = z["w1"], z["b1"], z["w2"], z["b2"]
            self.mean, self.std = z["mean"], z["std"]
            meta = json.loads(bytes(z["meta"]).decode())
        self.classes: list[str] = meta["classes"]
        self.thresholds: dict[str, float] = meta["thresholds"]
        self.consecutive: int = meta["consecutive"]

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        h = np.maximum(0, ((x - self.mean) / self.std) @ self.w1 + self.b1)
        z = h @ self.w2 + self.b2
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return np.asarray(p / p.sum(axis=1, keepdims=True))


class PreviousSpotter:
    """Stop and pain: the first stage holds its threshold on k decisions, the verifier agrees."""

    name = "previous spotter"

    def __init__(self) -> None:
        self.head = _Head("voicecoach/speech/spotter/head.npz")
        self.verifier = _Head("voicecoach/speech/spotter/verifier.npz")
        self.features = FeatureStream()
        self.intents = {c: Intent(c) for c in self.head.classes if c != "background"}
        self._frames: collections.deque[np.ndarray] = collections.deque(maxlen=FRAMES)
        self._streak = dict.fromkeys(self.intents, 0)
        self._verified = dict.fromkeys(self.intents, False)
        self._last = dict.fromkeys(self.intents, -1e9)
        self._samples = 0
        self._origin: float | None = None

    def reset(self) -> None:
        """Always armed."""

    def accept(self, pcm: np.ndarray, t: float) -> list[Detection]:
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
            q = None
            for i, name in enumerate(self.head.classes):
                if name not in self.intents:
                    continue
                hit = p[i] >= self.head.thresholds[name]
                self._streak[name] = self._streak[name] + 1 if hit else 0
                if not hit:
                    self._verified[name] = False
                elif not self._verified[name]:
                    q = self.verifier.probabilities(window)[0] if q is None else q
                    self._verified[name] = q[i] >= self.verifier.thresholds[name]
                if (
                    self._streak[name] >= self.head.consecutive
                    and self._verified[name]
                    and end - self._last[name] >= REFRACTORY_S
                ):
                    self._last[name] = end
                    out.append(
                        Detection(self.intents[name], name, float(p[i]), end - 0.8, end, self.name)
                    )
        return out


def previous_default() -> list:
    """What ``voicecoach run`` listened with before: pocketsphinx beside the spotter."""
    from voicecoach.speech.pocketsphinx_asr import PocketsphinxRecognizer  # noqa: PLC0415

    return [PocketsphinxRecognizer(safety=False), PreviousSpotter()]
