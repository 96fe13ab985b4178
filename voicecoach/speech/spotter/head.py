"""The spotter's classifier head: a small MLP over the last 16 embeddings (1.28 s of speech).

Plain numpy for both inference and training, so the device needs nothing beyond onnxruntime for
the features. Training is Adam on softmax cross-entropy with class weights.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

FRAMES = 16  # embeddings per decision
HIDDEN = 128


@dataclass
class Head:
    """Weights, input normalisation, class names and decision settings."""

    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    classes: list[str]
    thresholds: dict[str, float] = field(default_factory=dict)
    consecutive: int = 2
    info: dict[str, Any] = field(default_factory=dict)

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities for flattened windows (n x 1536)."""
        h = np.maximum(0, ((x - self.mean) / self.std) @ self.w1 + self.b1)
        logits = h @ self.w2 + self.b2
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return np.asarray(p / p.sum(axis=1, keepdims=True))

    def save(self, path: Path) -> None:
        """Write an .npz (weights) with the settings as JSON inside."""
        meta = {
            "classes": self.classes,
            "thresholds": self.thresholds,
            "consecutive": self.consecutive,
            "info": self.info,
        }
        np.savez_compressed(
            path,
            w1=self.w1.astype(np.float32),
            b1=self.b1.astype(np.float32),
            w2=self.w2.astype(np.float32),
            b2=self.b2.astype(np.float32),
            mean=self.mean.astype(np.float32),
            std=self.std.astype(np.float32),
            meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
        )

    @classmethod
    def load(cls, path: Path) -> Head:
        """Read a head written by ``save``."""
        with np.load(path) as z:
            meta = json.loads(bytes(z["meta"]).decode())
            return cls(
                z["w1"],
                z["b1"],
                z["w2"],
                z["b2"],
                z["mean"],
                z["std"],
                meta["classes"],
                meta["thresholds"],
                meta["consecutive"],
                meta["info"],
            )


def train(
    x: np.ndarray,
    y: np.ndarray,
    classes: list[str],
    seed: int,
    epochs: int = 30,
    batch: int = 256,
    lr: float = 1e-3,
    decay: float = 1e-4,
) -> Head:
    """Fit the head on windows ``x`` (n x 1536) with integer labels ``y``."""
    rng = np.random.default_rng(seed)
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-3
    xn = ((x - mean) / std).astype(np.float32)
    k = len(classes)
    counts = np.bincount(y, minlength=k).astype(np.float64)
    weights = (len(y) / (k * np.maximum(counts, 1))).astype(np.float32)
    params = {
        "w1": (rng.standard_normal((x.shape[1], HIDDEN)) * np.sqrt(2 / x.shape[1])).astype(
            np.float32
        ),
        "b1": np.zeros(HIDDEN, np.float32),
        "w2": (rng.standard_normal((HIDDEN, k)) * np.sqrt(1 / HIDDEN)).astype(np.float32),
        "b2": np.zeros(k, np.float32),
    }
    m = {n: np.zeros_like(p) for n, p in params.items()}
    v = {n: np.zeros_like(p) for n, p in params.items()}
    step = 0
    for _ in range(epochs):
        order = rng.permutation(len(y))
        for i in range(0, len(order), batch):
            idx = order[i : i + batch]
            xb, yb = xn[idx], y[idx]
            h_pre = xb @ params["w1"] + params["b1"]
            h = np.maximum(0, h_pre)
            logits = h @ params["w2"] + params["b2"]
            logits -= logits.max(axis=1, keepdims=True)
            p = np.exp(logits)
            p /= p.sum(axis=1, keepdims=True)
            sample_w = weights[yb][:, None] / len(idx)
            d_logits = (p - np.eye(k, dtype=np.float32)[yb]) * sample_w
            grads = {
                "w2": h.T @ d_logits + decay * params["w2"],
                "b2": d_logits.sum(axis=0),
            }
            d_h = (d_logits @ params["w2"].T) * (h_pre > 0)
            grads["w1"] = xb.T @ d_h + decay * params["w1"]
            grads["b1"] = d_h.sum(axis=0)
            step += 1
            for n in params:
                m[n] = 0.9 * m[n] + 0.1 * grads[n]
                v[n] = 0.999 * v[n] + 0.001 * grads[n] ** 2
                m_hat = m[n] / (1 - 0.9**step)
                v_hat = v[n] / (1 - 0.999**step)
                params[n] -= (lr * m_hat / (np.sqrt(v_hat) + 1e-8)).astype(np.float32)
    return Head(params["w1"], params["b1"], params["w2"], params["b2"], mean, std, classes)
