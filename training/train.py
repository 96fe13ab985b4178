"""Train the command model: ``python -m training.train --seed 7``.

1. Build the training windows (``dataset.py``): synthetic voices of five engines, real "stop"s
   and other words from the training half of the shared recordings' speakers, the coach's own
   voice, noise, rooms.
2. Fit a first MLP (``fit.py``), and with it mine hard negatives: long stretches of talk
   (sentences, real words in a row) where it hears a command that is not there.
3. Fit the final MLP on both.
4. Choose each intent's threshold on the *tune* part of the validation data at a fixed
   false-accept budget (``calibrate.py``).
5. Write ``voicecoach/speech/commands/commands.npz`` and the training section of its model card.

The result depends on ``--seed`` only (not on ``--workers``); renders and feature chunks are
cached, so a rerun recomputes only what changed. ``--scale 0.01`` is the smoke run CI does.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from pathlib import Path

import numpy as np

from training import calibrate, corpus, dataset, evalsets
from training.card import replace_section
from training.fit import fit
from training.paths import CACHE, MODEL_DIR
from training.phrases import CLASSES

log = logging.getLogger(__name__)

MODEL = MODEL_DIR / "commands.npz"
CONSECUTIVE = 2


def main(argv: list[str] | None = None) -> None:
    """Build, fit, calibrate, save."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scale", type=float, default=1.0, help="data size (0.01: smoke run)")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", type=Path, default=MODEL)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    missing = corpus.shared_missing()
    if missing:
        raise SystemExit(f"cannot train: {missing}")
    started = time.monotonic()
    x, y, counts = dataset.build(args.seed, args.scale, args.workers)
    log.info("data: %s (%.0f s)", counts, time.monotonic() - started)
    first = fit(x, y, CLASSES, seed=args.seed, epochs=args.epochs)
    miner = CACHE / "miners" / f"first-s{args.seed}-x{args.scale}.npz"
    miner.parent.mkdir(parents=True, exist_ok=True)
    first.save(miner)
    x_hard, y_hard, mined = dataset.build(args.seed, args.scale, args.workers, miner=miner)
    counts.update(
        {f"mined {k}": v for k, v in mined.items() if "examples" in k or "background" in k}
    )
    log.info("mined %d hard negative windows (%.0f s)", len(y_hard), time.monotonic() - started)
    model = fit(
        np.concatenate([x, x_hard]),
        np.concatenate([y, y_hard]),
        CLASSES,
        seed=args.seed,
        epochs=args.epochs,
    )
    model.consecutive = CONSECUTIVE
    fitted = time.monotonic()
    scorer = calibrate.Scorer(model)
    # all of the tune negatives whatever the data scale, but for smoke runs
    tune_size = 1.0 if args.scale >= 0.1 else args.scale
    negatives = calibrate.score_negatives(
        scorer, evalsets.negatives("tune", tune_size), CONSECUTIVE
    )
    model.thresholds = calibrate.choose(negatives, model.intents, calibrate.BUDGET_PER_HOUR)
    log.info("thresholds %s on %.2f h of tune negatives", model.thresholds, negatives.total_hours)
    model.info = {
        "seed": args.seed,
        "scale": args.scale,
        "epochs": args.epochs,
        "data": counts,
        "train_seconds": round(fitted - started),
        "tune_hours": round(negatives.total_hours, 2),
        "budget_per_hour": calibrate.BUDGET_PER_HOUR,
    }
    model.save(args.out)
    if args.out == MODEL:
        write_training_card(model)
    log.info("saved %s, %.0f s in all", args.out, time.monotonic() - started)


def write_training_card(model: calibrate.CommandModel) -> None:
    """Record the training run in the model card."""
    i = model.info
    lines = [
        f"- command: `python -m training.train --seed {i['seed']} --scale {i['scale']}"
        f" --epochs {i['epochs']}`",
        f"- building the data and fitting: {i['train_seconds']} s (2 processes, 2-core x86 machine)",
        f"- network: {' -> '.join(str(w.shape[0]) for w, _ in model.layers)}"
        f" -> {model.layers[-1][0].shape[1]} classes ({', '.join(model.classes)})",
        f"- decision: log-odds thresholds {model.thresholds} on {model.consecutive}"
        " consecutive 80 ms decisions",
        f"- chosen on {i['tune_hours']} h of tune negatives at false commands per hour"
        f" {i['budget_per_hour']}",
    ]
    lines += [f"- {k}: {v}" for k, v in i["data"].items()]
    replace_section("training", "\n".join(lines))


if __name__ == "__main__":
    main()
