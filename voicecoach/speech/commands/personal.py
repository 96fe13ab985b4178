"""A personal command model: the general one, adapted on the device to one person's voice.

The user's own takes of a phrase (five are enough) are varied here (level, speed, a room,
noise) and a copy of the general model's upper layers is fitted to tell them from what must not
fire (``negatives.npz``: other people's words and talk, noise, synthetic voices reading, the
coach's own voice; built by ``training/negatives.py``). The first layer stays the general one,
so its features are computed once and fitting takes seconds. An enrolled intent then fires
when either model clears its own bar: the personal model hears the user's way of saying it, the
general one still hears the phrases they did not enroll. The personal bar is the lowest at which
the two together fire no more often than the general model alone, on audio held apart from
fitting (other people, noise, the coach, and the user's own speech that is not that intent),
plus a margin: it may hear the user better, never everyone else more. With fewer than three
other phrases enrolled, the user's speech says too little, and the personal bar is never below
the general one. Intents without takes keep the general model.
"""

from __future__ import annotations

import collections
import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from voicecoach.audio import SAMPLE_RATE
from voicecoach.audio.replay import room_impulse
from voicecoach.speech.commands.decision import REFRACTORY_S, STEP_S, detect, peaks
from voicecoach.speech.commands.features import CHUNK, FeatureStream, embed_clip
from voicecoach.speech.commands.model import BACKGROUND, FRAMES, CommandModel
from voicecoach.vocabulary import PHRASES, Intent

#: What enrollment asks for, in this order: the safety phrases first.
ENROLL_PHRASES = (
    "that hurts",
    "ouch",
    "stop",
    "next",
    "pause",
    "resume",
    "repeat",
    "help",
    "finish",
)
TAKES = 5  # takes per phrase enrollment asks for
#: The user's own speech that is no command: it teaches the model that their voice alone is not
#: one (measured: without it, the same voice's other words were heard as "stop" more often).
ORDINARY = "ordinary speech"
ORDINARY_SENTENCES = (
    "The weather is nice today.",
    "I am lying on my mat.",
    "My back feels a little better.",
)
HERE = Path(__file__).resolve().parent
GENERAL = HERE / "commands.npz"
NEGATIVES = HERE / "negatives.npz"

VARIANTS = 20  # varied copies of each take the model learns from
LEAD_S = 1.4  # a phrase ends after the first full decision window (1.28 s)
TAIL_S = 0.4
LABEL = (-1, 3)  # a window is the phrase if it ends 1 chunk before to 3 after the phrase's end
UNCLEAR = 12  # windows up to this many chunks after the end hold the phrase: not learned either way
EPOCHS = 30
NEGATIVE_STEP = 2  # every second window of the pack (neighbours are near copies)
CHECK_SNR_DB = 10.0
#: Below this many other enrolled phrases, the user's own speech says too little about how their
#: other words score, and an intent's bar stays at least the general model's (measured: with
#: "stop" alone enrolled, the same voice's other words fired it 46 times in 297 at the bar the
#: negatives allowed).
OWN_PHRASES_MIN = 3
MARGIN = 1.0  # log-odds added to each bar the held sets allow: they are finite (see docs)


@dataclass(frozen=True)
class PhraseRecall:
    """How often one phrase was heard in the user's held-out takes (cross-validated)."""

    phrase: str
    heard: int
    trials: int

    @property
    def rate(self) -> float:
        """Share heard (0 with no trials)."""
        return self.heard / self.trials if self.trials else 0.0


@dataclass
class Adaptation:
    """The result of ``adapt``: where the model went and what was measured on the way."""

    path_written: Path | None
    recall: dict[str, PhraseRecall] = field(default_factory=dict)
    seconds: float = 0.0


def intent_of(phrase: str) -> Intent:
    """The intent a phrase means (a key of ``vocabulary.PHRASES``)."""
    return PHRASES[phrase]


def fingerprint(path: Path = GENERAL) -> str:
    """What identifies the general model a personal one was adapted from."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def problem(path: Path, general: Path = GENERAL) -> str | None:
    """Why the personal model at ``path`` cannot be used, or None when it can.

    Missing, damaged, or adapted from another general model than the one installed.
    """
    if not path.is_file():
        return f"no personal model at {path}"
    try:
        model = CommandModel.load(path)
    except (OSError, KeyError, ValueError) as exc:
        return f"the personal model {path} cannot be read ({exc})"
    if model.info.get("general") != fingerprint(general):
        return "the personal model was adapted for another version of the general model"
    return None


# -- the user's takes, varied ----------------------------------------------------------------
def speech_span(pcm: np.ndarray) -> tuple[int, int]:
    """Where the speech of a take starts and ends (10 ms energy against the take's quietest)."""
    frame = SAMPLE_RATE // 100
    n = len(pcm) // frame
    if n == 0:
        return 0, len(pcm)
    energy = (pcm[: n * frame].astype(np.float64).reshape(n, frame) ** 2).mean(axis=1)
    db = 10 * np.log10(energy + 1)
    loud = np.flatnonzero(db > max(np.percentile(db, 10) + 10, db.max() - 30))
    if not loud.size:
        return 0, len(pcm)
    return int(loud[0] * frame), int(min(len(pcm), (loud[-1] + 1) * frame))


def _coloured_noise(rng: np.random.Generator, n: int) -> np.ndarray:
    """Noise from white to brown (a random spectral slope): fans, traffic, rooms."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.maximum(np.fft.rfftfreq(n, 1 / SAMPLE_RATE), 20.0)
    spectrum *= f ** (-rng.uniform(0, 1.0))
    out = np.fft.irfft(spectrum, n)
    return np.asarray(out / (np.sqrt(np.mean(out**2)) + 1e-9))


def _active_rms(x: np.ndarray) -> float:
    active = x[np.abs(x) > 0.01 * (np.abs(x).max() + 1e-9)]
    return float(np.sqrt(np.mean(active**2))) if active.size else 1.0


def place(
    phrase: np.ndarray, noise: np.ndarray | None = None, snr_db: float = 0.0
) -> tuple[np.ndarray, int]:
    """A phrase after LEAD_S of silence and before TAIL_S, perhaps in noise: (track, end)."""
    lead = int(LEAD_S * SAMPLE_RATE)
    x = np.concatenate(
        [np.zeros(lead), phrase.astype(np.float64), np.zeros(int(TAIL_S * SAMPLE_RATE))]
    )
    if noise is not None:
        level = _active_rms(phrase.astype(np.float64)) / 10 ** (snr_db / 20)
        x += np.resize(noise, len(x)) * level
    return np.clip(np.round(x), -32768, 32767).astype(np.int16), lead + len(phrase)


def _noise(rng: np.random.Generator, n: int, voice: Sequence[np.ndarray]) -> np.ndarray:
    """Unit-power noise: steady or fluctuating, white to brown, or babble of reversed speech."""
    kind = rng.random()
    if kind < 0.25 and voice:  # speech-like, but no word: the user's takes backwards, overlaid
        out = np.zeros(n)
        for _ in range(3):
            clip = voice[int(rng.integers(len(voice)))][::-1].astype(np.float64)
            out += np.roll(np.resize(clip, n), int(rng.integers(n)))
        return np.asarray(out / (np.sqrt(np.mean(out**2)) + 1e-9))
    out = _coloured_noise(rng, n)
    if kind < 0.5:  # a tap, a passing car: loudness that comes and goes
        envelope = np.interp(np.arange(n), np.linspace(0, n, 8), rng.uniform(0.2, 1.5, 8))
        out = out * envelope / np.sqrt(np.mean(envelope**2))
    return out


def _jumbled(rng: np.random.Generator, voice: Sequence[np.ndarray]) -> np.ndarray:
    """Pieces of the user's takes (about a syllable each) in random order: their voice, no word."""
    size = int(0.12 * SAMPLE_RATE)
    pieces = []
    for _ in range(int(rng.integers(4, 9))):
        clip = voice[int(rng.integers(len(voice)))]
        start = int(rng.integers(0, max(1, len(clip) - size)))
        piece = clip[start : start + size]
        pieces.append(piece[::-1] if rng.random() < 0.5 else piece)
    return np.concatenate(pieces)


def vary(
    rng: np.random.Generator, take: np.ndarray, voice: Sequence[np.ndarray] = ()
) -> tuple[np.ndarray, int]:
    """One varied copy of a take: level, speed, a room, noise (0-30 dB SNR or none)."""
    a, b = speech_span(take)
    pad = SAMPLE_RATE // 20
    x = take[max(0, a - pad) : b + pad].astype(np.float64)
    factor = rng.uniform(0.9, 1.1)  # a little faster or slower (and higher or lower)
    x = np.interp(np.arange(0, len(x) - 1, factor), np.arange(len(x)), x)
    if rng.random() < 0.5:
        h = room_impulse(
            rng.uniform(0.15, 0.6), rng.uniform(0.001, 0.01), int(rng.integers(1 << 30))
        )
        x = np.convolve(x, h)[: len(x)]
    x *= 10 ** (rng.uniform(-36, -14) / 20) * 32767 / _active_rms(x)
    if rng.random() < 0.75:
        n = len(x) + int((LEAD_S + TAIL_S) * SAMPLE_RATE) + 1
        return place(x, _noise(rng, n, voice), rng.uniform(0, 30))
    return place(x)


# -- windows and the general model's first layer -----------------------------------------------
def windows(embeddings: np.ndarray) -> np.ndarray:
    """Every decision window of an embedding sequence, flattened (n - 15 x 1536)."""
    if len(embeddings) < FRAMES:
        return np.zeros((0, FRAMES * embeddings.shape[1]), np.float32)
    view = sliding_window_view(embeddings, (FRAMES, embeddings.shape[1]))[:, 0]
    return view.reshape(len(view), -1).astype(np.float32)


def _first_layer(model: CommandModel, x: np.ndarray) -> np.ndarray:
    w, b = model.layers[0]
    return np.asarray(np.maximum(((x - model.mean) / model.std) @ w + b, 0), np.float32)


def _head_logits(layers: list[list[np.ndarray]], h1: np.ndarray) -> np.ndarray:
    h = h1
    for i, (w, b) in enumerate(layers):
        h = h @ w + b
        if i < len(layers) - 1:
            h = np.maximum(h, 0)
    return h


def _log_odds(z: np.ndarray) -> np.ndarray:
    """Per class ``z_i - logsumexp(z_j, j != i)``, as ``CommandModel.scores``."""
    z = z.astype(np.float64)
    out = np.empty_like(z)
    for i in range(z.shape[1]):
        others = np.delete(z, i, axis=1)
        top = others.max(axis=1, keepdims=True)
        out[:, i] = z[:, i] - (top[:, 0] + np.log(np.exp(others - top).sum(axis=1)))
    return out


@dataclass
class _Examples:
    """First-layer activations of windows, their labels, and which take each came from."""

    h1: list[np.ndarray] = field(default_factory=list)
    labels: list[np.ndarray] = field(default_factory=list)
    take: list[np.ndarray] = field(default_factory=list)

    def add(self, h1: np.ndarray, labels: np.ndarray, take: int) -> None:
        self.h1.append(h1)
        self.labels.append(labels)
        self.take.append(np.full(len(labels), take))

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return np.concatenate(self.h1), np.concatenate(self.labels), np.concatenate(self.take)


def _track_examples(
    general: CommandModel, stream: FeatureStream, track: np.ndarray, end: int, label: int
) -> tuple[np.ndarray, np.ndarray]:
    """Windows of one track, labelled: the phrase near its end, background before, none after."""
    x = windows(embed_clip(stream, track))
    ends = (np.arange(len(x)) + FRAMES) * CHUNK  # the sample each window ends at
    after = (ends - end) / CHUNK  # chunks after the phrase's end
    labels = np.where((after >= LABEL[0]) & (after <= LABEL[1]), label, 0)
    keep = (after < LABEL[0] - 4) | ((after >= LABEL[0]) & (after <= LABEL[1])) | (after > UNCLEAR)
    return _first_layer(general, x[keep]), labels[keep]


# -- fitting ------------------------------------------------------------------------------------
def _fit(
    init: list[list[np.ndarray]],
    h1: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray,
    seed: int,
    epochs: int = EPOCHS,
    batch: int = 256,
    lr: float = 1e-3,
    anchor: float = 1e-3,
) -> list[list[np.ndarray]]:
    """Adam on weighted softmax cross-entropy, pulled towards the general weights (L2-SP)."""
    rng = np.random.default_rng(seed)
    params = [[p.copy() for p in layer] for layer in init]
    m = [[np.zeros_like(p) for p in layer] for layer in params]
    v = [[np.zeros_like(p) for p in layer] for layer in params]
    k = init[-1][0].shape[1]
    weights = (weights / weights.mean()).astype(np.float32)
    eye = np.eye(k, dtype=np.float32)
    step = 0
    for _ in range(epochs):
        order = rng.permutation(len(y))
        for i in range(0, len(order), batch):
            idx = order[i : i + batch]
            acts = [h1[idx]]
            h = acts[0]
            for j, (w, b) in enumerate(params):
                h = h @ w + b
                if j < len(params) - 1:
                    h = np.maximum(h, 0)
                    acts.append(h)
            h = h - h.max(axis=1, keepdims=True)
            p = np.exp(h)
            p /= p.sum(axis=1, keepdims=True)
            grad = (p - eye[y[idx]]) * (weights[idx][:, None] / len(idx))
            step += 1
            for j in range(len(params) - 1, -1, -1):
                w, b = params[j]
                gw = acts[j].T @ grad + anchor * (w - init[j][0])
                gb = grad.sum(axis=0)
                if j > 0:
                    grad = (grad @ w.T) * (acts[j] > 0)
                for n, g in enumerate((gw, gb)):
                    m[j][n] = 0.9 * m[j][n] + 0.1 * g
                    v[j][n] = 0.999 * v[j][n] + 0.001 * g * g
                    m_hat = m[j][n] / (1 - 0.9**step)
                    v_hat = v[j][n] / (1 - 0.999**step)
                    params[j][n] -= (lr * m_hat / (np.sqrt(v_hat) + 1e-8)).astype(np.float32)
    return params


def _weights(mine: np.ndarray, others: int, k: int) -> np.ndarray:
    """Per window: each class weighs the same, and the user's own "no command" as much as all else.

    Otherwise the model could learn to tell the voice instead of the words.
    """
    out = np.zeros(len(mine) + others)
    for c in range(1, k):
        out[: len(mine)][mine == c] = 1 / max(1, int((mine == c).sum()))
    own = mine == 0
    out[: len(mine)][own] = 0.5 / max(1, int(own.sum()))
    out[len(mine) :] = 0.5 / max(1, others)
    return out


# -- thresholds ---------------------------------------------------------------------------------
def _fires(lows: list[np.ndarray], threshold: float) -> int:
    """How often the decision rule fires, given ``decision.peaks`` of one intent's scores."""
    quiet = int(round(REFRACTORY_S / STEP_S))
    count = 0
    for low in lows:
        until = -1
        for i in np.flatnonzero(low >= threshold):
            if i >= until:
                count += 1
                until = int(i) + quiet
    return count


def combine(mine: np.ndarray, general: np.ndarray, shift: float) -> np.ndarray:
    """An enrolled intent's score: the general one, or the personal one moved onto its scale.

    ``shift`` is the general threshold minus the personal one, so the intent fires when either
    model clears its own bar: the personal model adds the user's way of saying it, the general
    one keeps every phrase the user did not enroll (measured: the personal model alone missed
    an enrolled intent's other phrases).
    """
    return np.asarray(np.maximum(general, mine + shift))


def _bar(pairs: list[tuple[np.ndarray, np.ndarray]], threshold: float, consecutive: int) -> float:
    """The lowest personal threshold at which ``combine`` fires no more often than alone.

    ``pairs`` are (personal, general) score sequences of one intent; ``threshold`` the general
    model's.
    """

    def fires(bar: float) -> int:
        fused = [combine(m, g, threshold - bar)[:, None] for m, g in pairs]
        return _fires([peaks(f, consecutive)[:, 0] for f in fused], threshold)

    budget = fires(np.inf)
    lo, hi = -20.0, max(float(m.max()) for m, _ in pairs if len(m)) + 1e-3
    if fires(lo) <= budget:
        return lo
    for _ in range(30):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if fires(mid) <= budget else (mid, hi)
    return hi


@dataclass
class _Held:
    """Audio no command is said in, never fitted on: first-layer activations and general scores."""

    h1: list[np.ndarray] = field(default_factory=list)  # per source, its windows
    general: list[np.ndarray] = field(default_factory=list)  # windows x classes, log-odds
    phrase: list[str | None] = field(default_factory=list)  # the user's phrase it is, if any

    def add(self, general: CommandModel, h1: np.ndarray, phrase: str | None = None) -> None:
        head = [[w, b] for w, b in general.layers[1:]]
        self.h1.append(h1)
        self.general.append(_log_odds(_head_logits(head, h1)))
        self.phrase.append(phrase)


@dataclass
class _Pack:
    fit: np.ndarray  # first-layer activations of the fit windows
    hold: _Held  # other people, noise, the coach


def _load_pack(general: CommandModel, path: Path) -> _Pack:
    fit, hold = [], []
    with np.load(path) as z:
        for key in sorted(z.files):
            if key == "meta":
                continue
            x = windows(z[key].astype(np.float32))
            if key.startswith("fit/"):
                fit.append(_first_layer(general, x[::NEGATIVE_STEP]))
            else:
                hold.append(_first_layer(general, x))
    held = _Held()
    for h in hold:
        held.add(general, h)
    return _Pack(np.concatenate(fit), held)


def _calibrate(
    general: CommandModel,
    held: list[_Held],
    head: list[list[np.ndarray]],
    intents: list[str],
    floor: set[str],
) -> dict[str, float]:
    """Per intent, the lowest bar at which it fires no more often than the general model does.

    On each held set apart (other people, noise and the coach; the user's own speech that is
    not this intent: other phrases, ordinary sentences, takes backwards or jumbled), counted at
    the general model's own bar. Intents in ``floor`` never go below the general model's bar.
    """
    out = {}
    for column, intent in enumerate(intents, start=1):
        g = general.classes.index(intent)
        bar = general.thresholds[intent] if intent in floor else -np.inf
        for held_set in held:
            keep = [
                i
                for i, p in enumerate(held_set.phrase)
                if p is None or intent_of(p).value != intent
            ]
            pairs = [
                (
                    _log_odds(_head_logits(head, held_set.h1[i]))[:, column],
                    held_set.general[i][:, g],
                )
                for i in keep
            ]
            bar = max(bar, _bar(pairs, general.thresholds[intent], general.consecutive))
        out[intent] = float(bar) + MARGIN
    return out


def _heard(
    general: CommandModel,
    head: list[list[np.ndarray]],
    intents: list[str],
    thresholds: list[float],
    h1: np.ndarray,
    intent: str,
) -> bool:
    mine = _log_odds(_head_logits(head, h1))[:, 1:]
    theirs = _log_odds(_head_logits([[w, b] for w, b in general.layers[1:]], h1))
    bars = [general.thresholds[n] for n in intents]
    scores = np.stack(
        [
            combine(mine[:, i], theirs[:, general.classes.index(n)], bars[i] - thresholds[i])
            for i, n in enumerate(intents)
        ],
        axis=1,
    )
    fired = detect(scores, bars, general.consecutive)
    return any(intents[f.column] == intent for f in fired)


def _own_held(
    general: CommandModel,
    stream: FeatureStream,
    rng: np.random.Generator,
    takes: Mapping[str, Sequence[np.ndarray]],
    other: Sequence[np.ndarray],
    voice: Sequence[np.ndarray],
) -> _Held:
    """The user's own voice saying no command, varied anew and never fitted on.

    Each take (a negative for every other intent), each take backwards or jumbled, and each
    ordinary sentence twice.
    """
    held = _Held()

    def add(pcm: np.ndarray, phrase: str | None = None) -> None:
        track, _ = vary(rng, pcm, voice)
        held.add(general, _first_layer(general, windows(embed_clip(stream, track))), phrase)

    for phrase, clips in takes.items():
        for n, take in enumerate(clips):
            add(take, phrase)
            add(_jumbled(rng, voice) if n % 2 else take[::-1].copy())
    for clip in other:
        add(clip)
        add(clip)
    return held


# -- the whole adaptation -----------------------------------------------------------------------
def adapt(
    takes: Mapping[str, Sequence[np.ndarray]],
    out: Path,
    *,
    other: Sequence[np.ndarray] = (),
    seed: int = 0,
    general_path: Path = GENERAL,
    negatives: Path = NEGATIVES,
    cross_validate: bool = True,
    progress: Callable[[str], None] | None = None,
) -> Adaptation:
    """Fit a personal model to ``takes`` (phrase -> 16 kHz int16 clips) and write it to ``out``.

    ``other`` is the user's own speech that is no command (ordinary sentences): what teaches
    the model that this voice alone is not a command.

    With ``cross_validate``, each take is also left out once (with the same take of every
    other phrase), the model fitted without it and asked to hear it, quiet and in noise at
    10 dB: the recall reported per phrase. Raises ``ValueError`` for an unknown phrase or a
    phrase without takes.
    """
    started = time.monotonic()
    say = progress or (lambda _m: None)
    for phrase, clips in takes.items():
        if phrase not in PHRASES:
            raise ValueError(f"{phrase!r} is not a command phrase")
        if not clips:
            raise ValueError(f"no takes of {phrase!r}")
    general = CommandModel.load(general_path)
    intents = sorted({intent_of(p).value for p in takes}, key=general.intents.index)
    classes = [BACKGROUND, *intents]
    columns = [general.classes.index(c) for c in classes]
    init = [[w.copy(), b.copy()] for w, b in general.layers[1:]]
    init[-1] = [init[-1][0][:, columns].copy(), init[-1][1][columns].copy()]

    say("Reading what must not fire")
    pack = _load_pack(general, negatives)
    rng = np.random.default_rng(seed)
    stream = FeatureStream()
    mine = _Examples()
    checks: list[tuple[str, int, np.ndarray]] = []  # (phrase, take, first-layer windows)
    say("Learning your voice")
    voice = [take[slice(*speech_span(take))] for clips in takes.values() for take in clips]
    for phrase, clips in takes.items():
        label = classes.index(intent_of(phrase).value)
        for n, take in enumerate(clips):
            for v in range(VARIANTS):
                track, end = vary(rng, take, voice)
                mine.add(*_track_examples(general, stream, track, end, label), take=n)
                if v < VARIANTS // 2:  # the same voice, no word: backwards, or pieces shuffled
                    track, end = vary(
                        rng, _jumbled(rng, voice) if v % 2 else take[::-1].copy(), voice
                    )
                    mine.add(*_track_examples(general, stream, track, end, 0), take=n)
            if cross_validate:
                a, b = speech_span(take)
                phrase_pcm = take[a:b]
                for noise in (None, _coloured_noise(rng, len(take) + 3 * SAMPLE_RATE)):
                    track, _ = place(phrase_pcm, noise, CHECK_SNR_DB)
                    checks.append(
                        (phrase, n, _first_layer(general, windows(embed_clip(stream, track))))
                    )
    for n, clip in enumerate(other):
        for _ in range(VARIANTS // 2):
            track, end = vary(rng, clip, voice)
            mine.add(*_track_examples(general, stream, track, end, 0), take=n)
    h1, y, take_of = mine.arrays()
    say("Listening to what is not a command")
    own = _own_held(general, stream, np.random.default_rng(seed + 1), takes, other, voice)
    phrases_of = collections.Counter(intent_of(p).value for p in takes)
    floor = {i for i in intents if len(takes) - phrases_of[i] < OWN_PHRASES_MIN}

    def fit_without(left_out: int | None) -> tuple[list[list[np.ndarray]], dict[str, float]]:
        keep = np.ones(len(y), bool) if left_out is None else take_of != left_out
        x = np.concatenate([h1[keep], pack.fit])
        labels = np.concatenate([y[keep], np.zeros(len(pack.fit), np.int64)])
        head = _fit(init, x, labels, _weights(y[keep], len(pack.fit), len(classes)), seed)
        return head, _calibrate(general, [pack.hold, own], head, intents, floor)

    recall: dict[str, PhraseRecall] = {}
    if cross_validate:
        counts = {p: [0, 0] for p in takes}
        for fold in range(max(len(c) for c in takes.values())):
            say(f"Checking on your takes ({fold + 1})")
            head, thresholds = fit_without(fold)
            t = [thresholds[i] for i in intents]
            for phrase, n, h in checks:
                if n == fold:
                    counts[phrase][0] += _heard(
                        general, head, intents, t, h, intent_of(phrase).value
                    )
                    counts[phrase][1] += 1
        recall = {p: PhraseRecall(p, heard, trials) for p, (heard, trials) in counts.items()}

    say("Fitting the model you will use")
    head, thresholds = fit_without(None)
    layers = [general.layers[0], *[(w, b) for w, b in head]]
    model = CommandModel(
        layers,
        general.mean,
        general.std,
        classes,
        thresholds,
        general.consecutive,
        {
            "general": fingerprint(general_path),
            "phrases": {p: len(c) for p, c in takes.items()},
            "recall": {p: [r.heard, r.trials] for p, r in recall.items()},
        },
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp.npz")
    model.save(tmp)
    tmp.replace(out)
    return Adaptation(out, recall, time.monotonic() - started)


def describe(path: Path) -> dict[str, object]:
    """What a saved personal model says of itself (phrases, takes, recall)."""
    model = CommandModel.load(path)
    return {"intents": model.intents, **model.info, "thresholds": model.thresholds}
