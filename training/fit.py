"""Fit the command model's MLP with numpy: Adam, softmax cross-entropy, class weights, dropout.

The device runs the same network in numpy (``voicecoach/speech/commands/model.py``); training
adds nothing a Pi would need.
"""

from __future__ import annotations

import logging

import numpy as np

from voicecoach.speech.commands.model import CommandModel

log = logging.getLogger(__name__)


def fit(
    x: np.ndarray,
    y: np.ndarray,
    classes: list[str],
    seed: int,
    hidden: tuple[int, ...] = (256, 128),
    epochs: int = 20,
    batch: int = 512,
    lr: float = 1e-3,
    decay: float = 1e-4,
    dropout: float = 0.3,
    background_weight: float = 1.0,
) -> CommandModel:
    """Train on windows ``x`` (n x 1536, any float type) with integer labels ``y``.

    Each class weighs as much as the others in the loss (background times
    ``background_weight``), however many windows it has.
    """
    rng = np.random.default_rng(seed)
    mean = np.zeros(x.shape[1])
    sq = np.zeros(x.shape[1])
    for i in range(0, len(x), 65536):
        part = x[i : i + 65536].astype(np.float64)
        mean += part.sum(axis=0)
        sq += (part**2).sum(axis=0)
    mean /= len(x)
    std = np.sqrt(np.maximum(sq / len(x) - mean**2, 0)) + 1e-3
    k = len(classes)
    counts = np.bincount(y, minlength=k).astype(np.float64)
    weights = len(y) / (k * np.maximum(counts, 1))
    weights[0] *= background_weight
    weights = (weights / weights.mean()).astype(np.float32)
    sizes = [x.shape[1], *hidden, k]
    params = []
    for a, b in zip(sizes, sizes[1:], strict=False):
        w = rng.standard_normal((a, b)) * np.sqrt(2 / a)
        params.append([w.astype(np.float32), np.zeros(b, np.float32)])
    m = [[np.zeros_like(p) for p in layer] for layer in params]
    v = [[np.zeros_like(p) for p in layer] for layer in params]
    mean32, std32 = mean.astype(np.float32), std.astype(np.float32)
    steps_per_epoch = (len(y) + batch - 1) // batch
    total = epochs * steps_per_epoch
    step = 0
    for epoch in range(epochs):
        order = rng.permutation(len(y))
        loss_sum = 0.0
        for i in range(0, len(order), batch):
            idx = np.sort(order[i : i + batch])
            xb = (x[idx].astype(np.float32) - mean32) / std32
            yb = y[idx]
            # forward, keeping what backprop needs
            acts = [xb]
            masks = []
            h = xb
            for j, (w, b) in enumerate(params):
                h = h @ w + b
                if j < len(params) - 1:
                    h = np.maximum(h, 0)
                    mask = (rng.random(h.shape) >= dropout).astype(np.float32) / (1 - dropout)
                    h = h * mask
                    masks.append(mask)
                    acts.append(h)
            h -= h.max(axis=1, keepdims=True)
            p = np.exp(h)
            p /= p.sum(axis=1, keepdims=True)
            sample_w = weights[yb][:, None] / len(idx)
            loss_sum += float(-(np.log(p[np.arange(len(yb)), yb] + 1e-12) * sample_w[:, 0]).sum())
            grad = (p - np.eye(k, dtype=np.float32)[yb]) * sample_w
            # backward
            step += 1
            rate = lr * 0.5 * (1 + np.cos(np.pi * step / total))  # cosine decay to zero
            for j in range(len(params) - 1, -1, -1):
                w, b = params[j]
                gw = acts[j].T @ grad + decay * w
                gb = grad.sum(axis=0)
                if j > 0:
                    grad = (grad @ w.T) * (acts[j] > 0) * masks[j - 1]
                for n, g in enumerate((gw, gb)):
                    m[j][n] = 0.9 * m[j][n] + 0.1 * g
                    v[j][n] = 0.999 * v[j][n] + 0.001 * g * g
                    m_hat = m[j][n] / (1 - 0.9**step)
                    v_hat = v[j][n] / (1 - 0.999**step)
                    params[j][n] -= (rate * m_hat / (np.sqrt(v_hat) + 1e-8)).astype(np.float32)
        log.info("epoch %d/%d: loss %.4f", epoch + 1, epochs, loss_sum / steps_per_epoch)
    layers = [(w, b) for w, b in params]
    return CommandModel(layers, mean32, std32, list(classes))
