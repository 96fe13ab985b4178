"""The command model's decision rule and file format: pure logic, no audio."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from voicecoach.speech.commands.decision import REFRACTORY_S, STEP_S, Decider, detect, peaks
from voicecoach.speech.commands.model import CommandModel


def test_an_intent_fires_only_after_its_threshold_holds_on_consecutive_decisions():
    decider = Decider([1.0, 2.0], consecutive=2)
    assert decider.push(np.array([1.5, 0.0])) == []  # one decision is not enough
    assert decider.push(np.array([0.5, 0.0])) == []  # the streak broke
    assert decider.push(np.array([1.5, 0.0])) == []
    fired = decider.push(np.array([1.2, 2.5]))
    assert [(f.column, f.index) for f in fired] == [(0, 3)]
    assert fired[0].score == 1.2


def test_after_firing_an_intent_is_quiet_for_the_refractory_period_only():
    quiet = int(round(REFRACTORY_S / STEP_S))
    scores = np.full((3 * quiet, 1), 5.0)
    fired = detect(scores, [1.0], consecutive=2)
    assert [f.index for f in fired] == [1, 1 + quiet, 1 + 2 * quiet]


def test_each_intent_keeps_its_own_streak_and_refractory():
    scores = np.array([[3.0, 0.0], [3.0, 3.0], [3.0, 3.0], [0.0, 3.0]])
    fired = detect(scores, [1.0, 1.0], consecutive=2)
    assert [(f.column, f.index) for f in fired] == [(0, 1), (1, 2)]


def test_peaks_say_exactly_which_thresholds_fire():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(200, 3))
    p = peaks(scores, 3)
    assert np.all(np.isneginf(p[:2]))
    for t in (-0.5, 0.0, 0.8):
        fires = {f.index for f in detect(scores, [t] * 3, 3) if f.column == 1}
        # every detection happens where the peak holds the threshold
        assert all(p[i, 1] >= t for i in fires)
        # and where the peak holds it, a detection happened then or within the refractory
        quiet = int(round(REFRACTORY_S / STEP_S))
        for i in np.flatnonzero(p[:, 1] >= t):
            assert any(0 <= i - j < quiet for j in fires)


def _model(rng: np.random.Generator) -> CommandModel:
    layers = [
        (rng.normal(size=(6, 5)).astype(np.float32), rng.normal(size=5).astype(np.float32)),
        (rng.normal(size=(5, 3)).astype(np.float32), rng.normal(size=3).astype(np.float32)),
    ]
    return CommandModel(
        layers,
        np.zeros(6, np.float32),
        np.ones(6, np.float32),
        ["background", "stop", "next"],
        {"stop": 1.5, "next": 2.0},
        2,
        {"seed": 1},
    )


def test_scores_are_the_log_odds_of_the_softmax():
    rng = np.random.default_rng(1)
    model = _model(rng)
    x = rng.normal(size=(10, 6)).astype(np.float32)
    z = model.logits(x).astype(np.float64)
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    assert np.allclose(model.scores(x), np.log(p / (1 - p)), atol=1e-6)
    assert model.intents == ["stop", "next"]


def test_a_saved_model_loads_back_identical(tmp_path: Path):
    rng = np.random.default_rng(2)
    model = _model(rng)
    model.save(tmp_path / "m.npz")
    back = CommandModel.load(tmp_path / "m.npz")
    x = rng.normal(size=(4, 6)).astype(np.float32)
    assert np.array_equal(back.logits(x), model.logits(x))
    assert (back.classes, back.thresholds, back.consecutive, back.info) == (
        model.classes,
        model.thresholds,
        model.consecutive,
        model.info,
    )
