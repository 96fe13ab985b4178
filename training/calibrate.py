"""Choose each intent's operating point on validation audio, at a fixed false-accept budget.

The threshold of an intent is the lowest score at which the decision rule the coach listens
with (``voicecoach/speech/commands/decision.py``) fires no more often than its budget on the
*tune* negatives: other people's words and sentences, texts read aloud by voices at settings
never trained on, noise, and the coach's own voice. Commands are not looked at to choose it;
recall is then whatever that threshold gives, measured on speakers and voices never trained on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from training.evalsets import Trial
from voicecoach.audio import SAMPLE_RATE
from voicecoach.speech.commands.decision import REFRACTORY_S, STEP_S, detect, peaks
from voicecoach.speech.commands.features import CHUNK, FeatureStream, embed_clip
from voicecoach.speech.commands.model import FRAMES, CommandModel

#: False commands per hour each intent may make on the tune negatives. Stop and pain are
#: allowed more: a false stop only pauses the session (the coach asks before ending it), a
#: missed one breaks the product's promise.
BUDGET_PER_HOUR = {
    "stop": 0.15,
    "pain": 0.15,
    "next": 0.05,
    "pause": 0.05,
    "resume": 0.05,
    "repeat": 0.05,
    "help": 0.05,
    "finish": 0.05,
}
FLOOR = 0.0  # never below log-odds 0 (p = 0.5), whatever the negatives allow


class Scorer:
    """Score traces of whole recordings: one row of per-intent scores per 80 ms decision."""

    def __init__(self, model: CommandModel) -> None:
        self.model = model
        self.stream = FeatureStream()
        self.columns = [model.classes.index(n) for n in model.intents]

    def trace(self, pcm: np.ndarray) -> np.ndarray:
        """Scores (decisions x intents); decision ``i`` ends at ``(i + FRAMES) * 80 ms``."""
        emb = embed_clip(self.stream, pcm)
        if len(emb) < FRAMES:
            return np.zeros((0, len(self.columns)))
        idx = np.arange(FRAMES - 1, len(emb))
        windows = np.stack([emb[i - FRAMES + 1 : i + 1].reshape(-1) for i in idx])
        out = []
        for i in range(0, len(windows), 4096):
            out.append(self.model.scores(windows[i : i + 4096])[:, self.columns])
        return np.concatenate(out)


def decision_time(index: int) -> float:
    """End of the audio a decision has heard (seconds from the start)."""
    return (index + FRAMES) * CHUNK / SAMPLE_RATE


def count_events(peak: np.ndarray, threshold: float) -> int:
    """How often one intent fires at ``threshold`` (refractory included) on a peak series."""
    refractory = int(round(REFRACTORY_S / STEP_S))
    count, quiet_until = 0, -1
    for i in np.flatnonzero(peak >= threshold):
        if i >= quiet_until:
            count += 1
            quiet_until = i + refractory
    return count


@dataclass
class Negatives:
    """Peak series per source and intent, and the hours behind them."""

    peaks: dict[str, np.ndarray]  # source -> decisions x intents
    hours: dict[str, float]

    @property
    def total_hours(self) -> float:
        """All the negative audio, in hours."""
        return sum(self.hours.values())

    def events(self, column: int, threshold: float) -> int:
        """False commands of one intent at a threshold, over every source."""
        return sum(count_events(p[:, column], threshold) for p in self.peaks.values())


def score_negatives(scorer: Scorer, audio: dict[str, np.ndarray], consecutive: int) -> Negatives:
    """Run the model over each source of negative audio."""
    return Negatives(
        {name: peaks(scorer.trace(pcm), consecutive) for name, pcm in audio.items()},
        {name: len(pcm) / SAMPLE_RATE / 3600 for name, pcm in audio.items()},
    )


def choose(negatives: Negatives, intents: list[str], budget: dict[str, float]) -> dict[str, float]:
    """Per intent, the lowest threshold whose false commands stay within the budget."""
    out = {}
    for column, intent in enumerate(intents):
        allowed = int(np.floor(budget[intent] * negatives.total_hours + 1e-9))
        values = np.concatenate([p[:, column] for p in negatives.peaks.values()])
        candidates = np.unique(values[np.isfinite(values) & (values >= FLOOR)])[::-1]
        threshold = FLOOR
        if len(candidates) and negatives.events(column, FLOOR) > allowed:
            # walk down from the highest peak; stop before the count exceeds the budget
            threshold = float(candidates[0]) + 1e-3
            for c in candidates:
                if negatives.events(column, float(c)) > allowed:
                    break
                threshold = float(c)
        out[intent] = round(threshold + 1e-4, 4)
    return out


@dataclass(frozen=True)
class Outcome:
    """What the model did with one trial."""

    trial: Trial
    heard: bool
    wrong: tuple[str, ...]  # other intents it fired on
    latency: float | None  # decision time minus the end of the phrase


def judge(
    scorer: Scorer, trials: Iterable[Trial], thresholds: dict[str, float], consecutive: int
) -> list[Outcome]:
    """Run each trial through the decision rule."""
    intents = scorer.model.intents
    values = [thresholds[i] for i in intents]
    out = []
    for trial in trials:
        fired = detect(scorer.trace(trial.pcm), values, consecutive)
        names = [intents[f.column] for f in fired]
        right = [f for f in fired if intents[f.column] == trial.intent]
        latency = decision_time(right[0].index) - trial.end if right else None
        wrong = tuple(n for n in names if n != trial.intent)
        out.append(Outcome(trial, bool(right), wrong, latency))
    return out
