"""The command model's classifier: a small MLP over the last 16 speech embeddings (1.28 s).

Plain numpy, so the device needs nothing beyond onnxruntime for the features. The file
(``commands.npz``) holds the weights, the input normalisation, the class names and the
operating point chosen by training (``training/calibrate.py``): per intent, a score threshold
that must hold on ``consecutive`` 80 ms decisions.

Scores are log-odds (``log p / (1 - p)``), not probabilities: near certainty a probability
rounds to 1.0 in float32, and thresholds chosen there could not be told apart.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

FRAMES = 16  # embeddings per decision
BACKGROUND = "background"


@dataclass
class CommandModel:
    """Weights (one (w, b) pair per layer, ReLU between), normalisation and decision settings."""

    layers: list[tuple[np.ndarray, np.ndarray]]
    mean: np.ndarray
    std: np.ndarray
    classes: list[str]
    thresholds: dict[str, float] = field(default_factory=dict)
    consecutive: int = 2
    info: dict[str, Any] = field(default_factory=dict)

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Raw class scores for flattened windows (n x 1536)."""
        h = (x - self.mean) / self.std
        for i, (w, b) in enumerate(self.layers):
            h = h @ w + b
            if i < len(self.layers) - 1:
                h = np.maximum(h, 0)
        return np.asarray(h)

    def scores(self, x: np.ndarray) -> np.ndarray:
        """Per class log-odds, ``z_i - logsumexp(z_j, j != i)`` (n x classes)."""
        z = self.logits(x).astype(np.float64)
        out = np.empty_like(z)
        for i in range(z.shape[1]):
            others = np.delete(z, i, axis=1)
            top = others.max(axis=1, keepdims=True)
            out[:, i] = z[:, i] - (top[:, 0] + np.log(np.exp(others - top).sum(axis=1)))
        return out

    @property
    def intents(self) -> list[str]:
        """The classes that are commands (all but background), in model order."""
        return [c for c in self.classes if c != BACKGROUND]

    def save(self, path: Path) -> None:
        """Write an .npz (weights) with the settings as JSON inside."""
        meta = {
            "classes": self.classes,
            "thresholds": self.thresholds,
            "consecutive": self.consecutive,
            "info": self.info,
            "layers": len(self.layers),
        }
        arrays: dict[str, np.ndarray] = {
            "mean": self.mean.astype(np.float32),
            "std": self.std.astype(np.float32),
            "meta": np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8),
        }
        for i, (w, b) in enumerate(self.layers):
            arrays[f"w{i}"] = w.astype(np.float32)
            arrays[f"b{i}"] = b.astype(np.float32)
        np.savez_compressed(path, allow_pickle=False, **arrays)

    @classmethod
    def load(cls, path: Path) -> CommandModel:
        """Read a model written by ``save``; a damaged file raises ValueError, like a bad array."""
        try:
            return cls._read(path)
        except zipfile.BadZipFile as exc:
            raise ValueError(f"{path} is not a model file ({exc})") from exc

    @classmethod
    def _read(cls, path: Path) -> CommandModel:
        with np.load(path) as z:
            meta = json.loads(bytes(z["meta"]).decode())
            layers = [(z[f"w{i}"], z[f"b{i}"]) for i in range(meta["layers"])]
            return cls(
                layers,
                z["mean"],
                z["std"],
                meta["classes"],
                meta["thresholds"],
                meta["consecutive"],
                meta["info"],
            )
