"""Train the spotter's second stage: ``python -m voicecoach.speech.spotter.verifier``.

The first stage (``head.npz``) hears "stop" and pain well, but inside running speech it also
fires on stretches that merely sound alike ("...knowing that there was time to spare"). The
verifier is a second head on the same features, trained on exactly that confusion: windows at
the end of a command phrase against windows of running speech on which the first stage fires
(hard negatives, mined with the shipped first stage). A detection needs both stages.

The running speech is random strings of English words (everyday words from the shared guidance
articles, the coach's own prompts and the training sentences, and words from the pronouncing
dictionary in the pocketsphinx wheel) in training voices drawn afresh for every chunk, plus the
training half of the shared human recordings. Chunks of examples are generated in worker
processes, each chunk from its own seed, and joined in order: the result depends on ``--seed``
only, not on the number of processes.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import functools
import logging
import multiprocessing
import os
import re
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from voicecoach.speech.spotter import train as first
from voicecoach.speech.spotter.card import replace_section
from voicecoach.speech.spotter.features import CHUNK, FeatureStream, embed_clip
from voicecoach.speech.spotter.head import FRAMES, Head, train
from voicecoach.speech.spotter.voices import render, voices

log = logging.getLogger(__name__)

VERIFIER = first.HERE / "verifier.npz"
SEEDS = first.SHARED.parents[1] / "seeds"  # the guidance articles: a source of everyday words
CHUNK_EXAMPLES = 50
MINE_AT = 0.2  # first-stage probability from which a negative window is "hard"
EASY_SHARE = 0.05  # ... and this share of the other negative windows, so background stays known
# Words never put into running speech: the commands themselves.
COMMAND_WORD = re.compile(r"^(stop|hurt|ouch|ow$|owe)")


@functools.cache
def _words() -> tuple[list[str], list[str]]:
    """Everyday words (coach prompts, sentences) and dictionary words, commands left out."""
    import pocketsphinx

    texts = first.coach_prompts() + first.SENTENCES
    texts += [p.read_text() for p in sorted(SEEDS.glob("*.txt"))]
    everyday = set()
    for text in texts:
        everyday.update(re.findall(r"[a-z]+", text.lower()))
    path = Path(pocketsphinx.get_model_path()) / "en-us" / "cmudict-en-us.dict"
    with path.open() as f:
        dictionary = {line.split()[0] for line in f if re.match(r"^[a-z]+ ", line)}
    return _without_commands(everyday), _without_commands(dictionary)


def _without_commands(words: set[str]) -> list[str]:
    return sorted(w for w in words if not COMMAND_WORD.match(w))


@functools.cache
def _recordings() -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per worker process: the training noise and the training human speech."""
    return first._noise_bank("train"), first._human("train")


def _positive_chunk(seed: int, chunk: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Windows ending on a command phrase (the first stage's own positive recipe)."""
    rng = np.random.default_rng([seed, 1, chunk])
    pool = voices(rng, per_family=12)
    noise, human = _recordings()
    stream = FeatureStream()
    xs, ys = [], []
    for ex in first.positives(rng, pool, n, human):
        for _ in range(2):
            e = first._augment(rng, ex, noise)
            emb = embed_clip(stream, e.pcm)
            for i in range(FRAMES - 1, len(emb)):
                if e.phrase_end <= (i + 1) * CHUNK <= e.phrase_end + 3 * CHUNK:
                    xs.append(emb[i - FRAMES + 1 : i + 1].reshape(-1))
                    ys.append(e.label)
    return np.array(xs, np.float32).reshape(-1, FRAMES * 96), np.array(ys, np.int64)


def _negative_chunk(seed: int, chunk: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Running speech, kept where the first stage fires (and a few easy windows)."""
    rng = np.random.default_rng([seed, 2, chunk])
    pool = voices(rng, per_family=12)
    noise, human = _recordings()
    everyday, dictionary = _words()
    head = Head.load(first.MODEL)
    stream = FeatureStream()
    xs: list[np.ndarray] = []
    for _ in range(n):
        r = rng.random()
        if r < 0.75 or not human:
            words = [
                str(rng.choice(everyday if rng.random() < 0.7 else dictionary))
                for _ in range(int(rng.integers(4, 16)))
            ]
            pcm = render(pool[int(rng.integers(len(pool)))], " ".join(words))
        elif r < 0.85:
            pcm = human[int(rng.integers(len(human)))]
        else:
            pcm = render(pool[int(rng.integers(len(pool)))], str(rng.choice(first.SENTENCES)))
        pcm = np.concatenate([first._silence(rng, 0.2, 0.6), pcm, first._silence(rng, 0.2, 0.6)])
        emb = embed_clip(stream, first._augment(rng, first.Example(pcm, 0), noise).pcm)
        if len(emb) < FRAMES:
            continue
        w = np.stack([emb[i - FRAMES + 1 : i + 1].reshape(-1) for i in range(FRAMES - 1, len(emb))])
        fired = head.probabilities(w)[:, 1:].max(axis=1)
        keep = (fired >= MINE_AT) | (rng.random(len(fired)) < EASY_SHARE)
        xs += list(w[keep])
    return np.array(xs, np.float32).reshape(-1, FRAMES * 96), np.zeros(len(xs), np.int64)


def build(seed: int, scale: float, workers: int) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """Generate the verifier's training set in parallel chunks, joined in chunk order."""
    jobs = []
    for kind, total in ((_positive_chunk, int(1800 * scale)), (_negative_chunk, int(5500 * scale))):
        for chunk, start in enumerate(range(0, max(total, 1), CHUNK_EXAMPLES)):
            jobs.append((kind, seed, chunk, min(CHUNK_EXAMPLES, max(total, 1) - start)))
    # Fresh worker interpreters ("spawn"): a forked worker inherits whatever state its parent
    # happens to hold, and its output was measured to differ from run to run.
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
        parts = list(pool.map(_run, jobs))
    x = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    counts = {f"{c} windows": int(np.sum(y == i)) for i, c in enumerate(first.CLASSES)}
    counts["positive examples"] = int(1800 * scale)
    counts["running-speech examples"] = int(5500 * scale)
    return x, y, counts


Chunk = Callable[[int, int, int], tuple[np.ndarray, np.ndarray]]


def _run(job: tuple[Chunk, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    kind, seed, chunk, n = job
    return kind(seed, chunk, n)


def write_training_card(head: Head) -> None:
    """Record the verifier's training run in the model card."""
    i = head.info
    lines = [
        f"- command: `python -m voicecoach.speech.spotter.verifier --seed {i['seed']}"
        f" --scale {i['scale']} --epochs {i['epochs']}`",
        f"- training time: {i['train_seconds']} s ({i['workers']} processes; 2-core machine)",
        f"- training accuracy (windows): {i['train_accuracy']:.4f}",
        f"- decision: the verifier's probability >= {head.thresholds} on one of the first"
        " stage's consecutive decisions",
    ]
    lines += [f"- {k}: {v}" for k, v in i["data"].items()]
    replace_section("verifier", "\n".join(lines))


def main(argv: list[str] | None = None) -> None:
    """Build the data set, train the verifier, save it."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scale", type=float, default=1.0, help="0.02 for a smoke run")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", type=Path, default=VERIFIER)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    started = time.monotonic()
    x, y, counts = build(args.seed, args.scale, args.workers)
    log.info("data: %s (%.0f s)", counts, time.monotonic() - started)
    head = train(x, y, first.CLASSES, seed=args.seed, epochs=args.epochs)
    # Chosen on the training speakers' sentences and synthetic voices; the benchmark and the
    # replay tests judge it on held-out human speech.
    head.thresholds = {"stop": 0.999, "pain": 0.999}
    head.info = {
        "seed": args.seed,
        "scale": args.scale,
        "epochs": args.epochs,
        "workers": args.workers,
        "data": counts,
        "train_seconds": round(time.monotonic() - started),
        "train_accuracy": round(float(np.mean(head.probabilities(x).argmax(axis=1) == y)), 4),
    }
    head.save(args.out)
    if args.out == VERIFIER:
        write_training_card(head)
    log.info("saved %s in %.0f s", args.out, time.monotonic() - started)


if __name__ == "__main__":
    main()
