"""Build the training windows: examples in seeded chunks, in parallel, cached on disk.

A chunk is ``n`` examples of one kind drawn from ``rng([seed, kind, chunk])``; its windows
depend on that and on the data code only, so chunks are computed in worker processes in any
order and joined in chunk order (the result does not depend on the number of processes), and a
chunk already in the cache is not computed again.
"""

from __future__ import annotations

import concurrent.futures
import functools
import hashlib
import logging
import multiprocessing
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training import corpus, examples
from training.paths import CACHE
from training.phrases import CLASSES
from training.voices import COACH_VOICE, Voice, available_engines, render, training_voices
from voicecoach.speech.commands.features import CHUNK, FeatureStream, embed_clip
from voicecoach.speech.commands.model import FRAMES, CommandModel

log = logging.getLogger(__name__)

EXAMPLES_PER_CHUNK = 100
LABEL_AFTER = 3  # a window is the command if it ends 0-3 chunks (0-240 ms) after the phrase
NEGATIVE_SHARE = 0.4  # of the windows of a negative example, this share is kept


@dataclass(frozen=True)
class Kind:
    """One kind of example, how many of it at scale 1, and the version of its recipe.

    Bump a kind's version when a change makes it produce other examples: its cached chunks
    are then made anew, the other kinds' are kept.
    """

    name: str
    count: int
    version: int
    mined: bool = False  # kept only where a first model scores a command (hard negatives)


KINDS = (
    Kind("command", 16000, 2),
    Kind("human stop", 6000, 2),
    Kind("confusable", 8000, 3),
    Kind("running speech", 5000, 2),
    Kind("human words", 3000, 2),
    Kind("coach", 3000, 2),
    Kind("noise", 1200, 2),
    Kind("mined talk", 12000, 1, mined=True),
)
#: A window of a mined kind is kept when the first model gives any intent at least this
#: log-odds, and otherwise with this probability.
MINE_AT = -1.0
MINE_EASY = 0.02


@dataclass(frozen=True)
class Setup:
    """What every chunk of one training run shares."""

    seed: int
    per_family: int
    engines: tuple[str, ...]


@functools.cache
def _voices(setup: Setup) -> list[Voice]:
    return training_voices(
        np.random.default_rng([setup.seed, 0]), setup.per_family, list(setup.engines)
    )


@functools.cache
def _noise() -> list[np.ndarray]:
    return corpus.noise("train")


@functools.cache
def _human_words() -> list[np.ndarray]:
    train = corpus.select(None, ("train",)) + corpus.select("_speech_", ("train",))
    return [corpus.load(c) for c in train]


@functools.cache
def _human_stops() -> list[np.ndarray]:
    return [corpus.load(c) for c in corpus.select("stop", ("train",))]


@functools.cache
def coach_prompts() -> list[str]:
    """Every utterance the library makes the coach say (except the few that quote commands)."""
    from voicecoach.engine.effects import Count, Say  # noqa: PLC0415
    from voicecoach.routines.loader import load_builtin  # noqa: PLC0415
    from voicecoach.session.harness import run_script  # noqa: PLC0415
    from voicecoach.vocabulary import Intent  # noqa: PLC0415

    texts: set[str] = set()
    for routine in load_builtin().routines.values():
        base = run_script(routine)
        first = base.of(Count)[0].t
        runs = [base] + [
            run_script(routine, [(first + 0.1, i), (first + 2, Intent.RESUME)]) for i in Intent
        ]
        for tr in runs:
            for e in tr.effects:
                quoting = isinstance(e.effect, Say) and e.effect.quotes_commands
                if isinstance(e.effect, Say | Count) and not quoting:
                    texts.add(e.effect.text)
    return sorted(texts)


@functools.cache
def _coach() -> list[np.ndarray]:
    return [render(Voice(*COACH_VOICE), t) for t in coach_prompts()]


def _make(kind: str, setup: Setup, rng: np.random.Generator) -> examples.Example:
    noise = _noise()
    if kind == "command":
        return examples.synthetic_command(rng, _voices(setup), noise, _human_words(), _coach())
    if kind == "human stop":
        stops = _human_stops()
        clip = stops[int(rng.integers(len(stops)))]
        return examples.human_stop(rng, clip, noise, _human_words(), _coach())
    if kind == "confusable":
        return examples.confusable(rng, _voices(setup), noise)
    if kind == "running speech":
        return examples.running_speech(rng, _voices(setup), noise)
    if kind == "human words":
        words = _human_words()
        return examples.recorded(rng, words[int(rng.integers(len(words)))], noise)
    if kind == "coach":
        return examples.coach_voice(rng, coach_prompts(), noise)
    if kind == "mined talk":
        return examples.talk(rng, _voices(setup), _human_words(), noise)
    return examples.noise_only(rng, noise)


def windows(
    stream: FeatureStream,
    ex: examples.Example,
    rng: np.random.Generator,
    keep: float | None = None,
) -> tuple[list[np.ndarray], list[int]]:
    """Training windows (16 embeddings, flattened) and their labels from one example.

    A command's windows are labelled from where they end: just after the phrase, the command;
    before half of it was heard, background; in between or later, not used (ambiguous).
    """
    share = NEGATIVE_SHARE if keep is None else keep
    emb = embed_clip(stream, ex.pcm)
    xs, ys = [], []
    for i in range(FRAMES - 1, len(emb)):
        end = (i + 1) * CHUNK
        window = emb[i - FRAMES + 1 : i + 1].reshape(-1)
        if ex.label == 0:
            if rng.random() < share:
                xs.append(window)
                ys.append(0)
        elif ex.end <= end <= ex.end + LABEL_AFTER * CHUNK:
            xs.append(window)
            ys.append(ex.label)
        elif end < (ex.start + ex.end) // 2 and rng.random() < share:
            xs.append(window)
            ys.append(0)
    return xs, ys


@dataclass(frozen=True)
class Job:
    """One chunk to make (``miner``: the first model, for mined kinds)."""

    kind: str
    setup: Setup
    index: int
    n: int
    cache: Path
    miner: Path | None = None


def _chunk_path(job: Job) -> Path:
    version = next(k.version for k in KINDS if k.name == job.kind)
    setup = job.setup
    engines = "-".join(setup.engines)
    name = f"{job.kind.replace(' ', '_')}-v{version}-s{setup.seed}-f{setup.per_family}-{engines}"
    if job.miner is not None:
        name += "-m" + hashlib.sha1(job.miner.read_bytes()).hexdigest()[:10]
    return job.cache / "chunks" / f"{name}-{job.index}-{job.n}.npz"


@functools.cache
def _miner(path: Path) -> CommandModel:
    return CommandModel.load(path)


def _chunk(job: Job) -> tuple[np.ndarray, np.ndarray]:
    kind, setup, index, n = job.kind, job.setup, job.index, job.n
    path = _chunk_path(job)
    if path.exists():
        with np.load(path) as z:
            return z["x"], z["y"]
    kind_id = [k.name for k in KINDS].index(kind) + 1
    rng = np.random.default_rng([setup.seed, kind_id, index])
    stream = FeatureStream()
    xs: list[np.ndarray] = []
    ys: list[int] = []
    for _ in range(n):
        x, y = windows(stream, _make(kind, setup, rng), rng, keep=1.0 if job.miner else None)
        xs += x
        ys += y
    x_arr = np.array(xs, np.float16).reshape(-1, FRAMES * 96)
    y_arr = np.array(ys, np.int8)
    if job.miner is not None and len(x_arr):
        miner = _miner(job.miner)
        scores = miner.scores(x_arr.astype(np.float32))[:, 1:].max(axis=1)
        keep = (scores >= MINE_AT) | (rng.random(len(scores)) < MINE_EASY)
        x_arr, y_arr = x_arr[keep], y_arr[keep]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
    np.savez(tmp, x=x_arr, y=y_arr)
    tmp.replace(path)
    return x_arr, y_arr


def build(
    seed: int,
    scale: float,
    workers: int,
    engines: list[str] | None = None,
    cache: Path = CACHE,
    miner: Path | None = None,
) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """Every training window of a run, in a fixed order, and counts for the model card.

    Without ``miner`` the ordinary kinds; with it (a first model fitted on those), the mined
    kinds: only the windows that model mistakes for a command.
    """
    engines = engines if engines is not None else available_engines()
    engines = [e for e in engines if e != "piper"]  # a held-out test voice, never trained on
    setup = Setup(seed, max(2, round(16 * min(1.0, scale * 4))), tuple(sorted(engines)))
    jobs = []
    counts: dict[str, int] = {}
    for kind in KINDS:
        if kind.mined != (miner is not None):
            continue
        total = max(1, int(kind.count * scale))
        counts[f"{kind.name} examples"] = total
        for index, start in enumerate(range(0, total, EXAMPLES_PER_CHUNK)):
            n = min(EXAMPLES_PER_CHUNK, total - start)
            jobs.append(Job(kind.name, setup, index, n, cache, miner))
    # Always in fresh interpreters ("spawn"), one worker too: the calling process (or a forked
    # worker) may hold state that changes what is rendered (espeak-ng's voice settings, set by
    # whatever spoke before in it; onnxruntime's threads).
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max(1, workers), mp_context=context) as pool:
        parts = list(pool.map(_chunk, jobs))
    x = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts]).astype(np.int64)
    counts.update({f"{c} windows": int(np.sum(y == i)) for i, c in enumerate(CLASSES)})
    counts["voices"] = len(_voices(setup))
    counts["engines"] = len(engines)
    counts["human stop clips (training speakers)"] = len(corpus.select("stop", ("train",)))
    counts["human other clips (training speakers)"] = len(_human_words())
    counts["coach prompts"] = len(coach_prompts())
    return x, y, counts
