"""Train the safety spotter from synthetic speech: ``python -m voicecoach.speech.spotter.train``.

Positives are "stop" and the pain phrases, alone and inside sentences, in many synthetic voices
(espeak-ng accents x variants x speeds x pitches, flite, festival), reverberated, with noise from
-3 to 30 dB SNR and speech before and after. Negatives are confusable words, other commands,
sentences, noise, human non-command speech (training speakers only), and every prompt the
routine library makes the coach say, in the coach's own voice and in a room: the coach must
never trigger itself. No human "stop" is ever used for training; the benchmark judges on them.

Reproducible from ``--seed``; ``--scale`` shrinks everything for a smoke run.
"""

from __future__ import annotations

import argparse
import csv
import logging
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voicecoach.audio import SAMPLE_RATE
from voicecoach.audio.replay import load_input, room_impulse
from voicecoach.speech.spotter.card import replace_section
from voicecoach.speech.spotter.features import CHUNK, FeatureStream, embed_clip
from voicecoach.speech.spotter.head import FRAMES, Head, train
from voicecoach.speech.spotter.voices import COACH_VOICE, Voice, render, voices

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
MODEL = HERE / "head.npz"
SHARED = HERE.parents[3] / "shared" / "data" / "speech"

CLASSES = ["background", "stop", "pain"]
POSITIVES = {
    "stop": ["stop"],
    "pain": [
        "that hurts",
        "it hurts",
        "this hurts",
        "ouch",
        "that hurts, stop",
        "ouch, that hurts",
    ],
}
CARRIERS = ["{}", "{}", "{}", "oh {}", "{} please", "okay {}", "I said {}", "no, {}", "{} now"]
CONFUSABLE = [
    "top",
    "shop",
    "stomp",
    "stock",
    "step",
    "stuck",
    "spot",
    "strap",
    "stoop",
    "stove",
    "drop",
    "hearts",
    "hurt",
    "hurry",
    "heard",
    "hats",
    "that hut",
    "it hits",
    "this heart",
    "that's hard",
    "couch",
    "pouch",
    "out",
    "ow",
    "oops",
    "ouzo",
    "each",
    "touch",
    "watch",
    "stopwatch",
    "next",
    "nest",
    "text",
    "pause",
    "paws",
    "wait",
    "resume",
    "continue",
    "repeat",
    "again",
    "help",
    "finish",
    "go on",
    "skip",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "twenty",
    "thirty",
    "hello",
    "yes",
    "no",
    "okay",
    "thank you",
]
SENTENCES = [
    "I am going to lie down on the mat now.",
    "The weather is lovely today.",
    "Can you turn the light on in the kitchen?",
    "My sister called me this morning.",
    "We had pasta for dinner last night.",
    "The dog wants to go out for a walk.",
    "Let me get a glass of water first.",
    "That was a long day at work.",
    "Put the kettle on, would you?",
    "I think it will rain later.",
    "The bus was late again this morning.",
    "Where did I leave my glasses?",
    "This mat is quite comfortable.",
    "I feel a gentle stretch in my leg.",
    "The heart rate monitor is on the table.",
    "He stopped by the shop on the way home.",
    "It hurt a little yesterday but it is fine now.",
    "The top shelf is too high.",
]
STOP_IN_SPEECH = ["please {} right there", "can you {} for a moment", "{} I need a break"]


@dataclass(frozen=True)
class Example:
    """An audio example and, for positives, where its phrase ends (samples) and its class."""

    pcm: np.ndarray
    label: int
    phrase_start: int = 0
    phrase_end: int = 0


# -- audio helpers -------------------------------------------------------------------------
def _noise_bank(split: str) -> list[np.ndarray]:
    """The shared background noise, first half of each file for training, second for eval."""
    bank = []
    for path in sorted((SHARED / "noise").glob("*.wav")):
        pcm = load_input(path)
        half = len(pcm) // 2
        bank.append(pcm[:half] if split == "train" else pcm[half:])
    return bank


def in_training_split(row: dict[str, str]) -> bool:
    """Half the speakers train, the other half evaluate (sentences: half the files)."""
    key = row["file"] if row["word"] == "_speech_" else row["speaker_id"]
    return zlib.crc32(key.encode()) % 2 == 0


def _human(split: str) -> list[np.ndarray]:
    """Human non-command speech, split by speaker (training never sees evaluation speakers)."""
    out: list[np.ndarray] = []
    manifest = SHARED / "manifest.csv"
    if not manifest.exists():
        return out
    with manifest.open() as f:
        for row in csv.DictReader(f):
            if row["word"] in ("stop", "_noise_"):
                continue  # never train on a human "stop"; noise is handled separately
            if (split == "train") == in_training_split(row):
                out.append(load_input(SHARED / row["file"]))
    return out


def _mix_noise(rng: np.random.Generator, pcm: np.ndarray, bank: list[np.ndarray]) -> np.ndarray:
    if not bank or rng.random() < 0.25:
        return pcm
    noise = bank[int(rng.integers(len(bank)))]
    start = int(rng.integers(0, max(1, len(noise) - len(pcm))))
    piece = np.resize(noise[start : start + len(pcm)], len(pcm)).astype(np.float64)
    snr = rng.uniform(-3, 30)
    p_sig = np.mean(pcm.astype(np.float64) ** 2) + 1
    p_noise = np.mean(piece**2) + 1
    piece *= np.sqrt(p_sig / (p_noise * 10 ** (snr / 10)))
    return np.clip(pcm + piece, -32768, 32767).astype(np.int16)


def _reverb(rng: np.random.Generator, pcm: np.ndarray) -> np.ndarray:
    if rng.random() < 0.4:
        return pcm
    h = room_impulse(
        rt60=rng.uniform(0.15, 0.6),
        delay_s=rng.uniform(0.001, 0.01),
        seed=int(rng.integers(1 << 30)),
    )
    y = np.convolve(pcm.astype(np.float64), h)[: len(pcm)]
    y *= np.sqrt(np.mean(pcm.astype(np.float64) ** 2) / (np.mean(y**2) + 1))
    return np.clip(y, -32768, 32767).astype(np.int16)


def _gain(rng: np.random.Generator, pcm: np.ndarray) -> np.ndarray:
    target = 10 ** (rng.uniform(-32, -12) / 20) * 32767  # RMS from quiet to loud
    rms = np.sqrt(np.mean(pcm.astype(np.float64) ** 2)) + 1
    return np.asarray(np.clip(pcm * (target / rms), -32768, 32767), dtype=np.int16)


def _silence(rng: np.random.Generator, lo: float, hi: float) -> np.ndarray:
    return np.zeros(int(rng.uniform(lo, hi) * SAMPLE_RATE), np.int16)


def _augment(rng: np.random.Generator, ex: Example, noise: list[np.ndarray]) -> Example:
    pcm = _gain(rng, _reverb(rng, ex.pcm))
    return Example(_mix_noise(rng, pcm, noise), ex.label, ex.phrase_start, ex.phrase_end)


# -- examples ------------------------------------------------------------------------------
def positives(
    rng: np.random.Generator, pool: list[Voice], n: int, context: list[np.ndarray]
) -> Iterator[Example]:
    """Command phrases, alone or inside a carrier sentence, with speech or silence around."""
    for _ in range(n):
        label = int(rng.integers(1, len(CLASSES)))
        phrase = str(rng.choice(POSITIVES[CLASSES[label]]))
        voice = pool[int(rng.integers(len(pool)))]
        carrier = str(rng.choice(CARRIERS + (STOP_IN_SPEECH if label == 1 else [])))
        before, _, after = carrier.partition("{}")
        lead = render(voice, before) if before.strip() else np.zeros(0, np.int16)
        core = render(voice, phrase)
        tail = render(voice, after) if after.strip() else np.zeros(0, np.int16)
        pre = _silence(rng, 0.3, 1.2)
        if context and rng.random() < 0.3:  # someone else talking just before
            other = context[int(rng.integers(len(context)))]
            pre = np.concatenate(
                [pre, other[: int(rng.uniform(0.3, 1.0) * SAMPLE_RATE)], _silence(rng, 0.1, 0.4)]
            )
        gap = _silence(rng, 0.02, 0.12)
        parts = [pre, lead, gap if lead.size else lead, core]
        start = sum(len(p) for p in parts) - len(core)
        end = start + len(core)
        parts += [gap if tail.size else tail, tail, _silence(rng, 0.4, 0.8)]
        yield Example(np.concatenate(parts), label, start, end)


def negatives(rng: np.random.Generator, pool: list[Voice], n: int) -> Iterator[Example]:
    """Confusable words and sentences in synthetic voices."""
    for _ in range(n):
        voice = pool[int(rng.integers(len(pool)))]
        text = str(rng.choice(CONFUSABLE if rng.random() < 0.6 else SENTENCES))
        yield Example(
            np.concatenate([_silence(rng, 0.3, 1.0), render(voice, text), _silence(rng, 0.3, 0.8)]),
            0,
        )


def coach_prompts() -> list[str]:
    """Every utterance the library makes the coach say (except the few that quote commands)."""
    from voicecoach.engine.effects import Count, Say
    from voicecoach.engine.harness import run_script
    from voicecoach.routines.loader import load_builtin
    from voicecoach.vocabulary import Intent

    texts: set[str] = set()
    for routine in load_builtin().routines.values():
        base = run_script(routine)
        first = base.of(Count)[0].t
        runs = [base] + [
            run_script(routine, [(first + 0.1, i), (first + 2, Intent.RESUME)]) for i in Intent
        ]
        for tr in runs:
            for e in tr.effects:
                if (
                    isinstance(e.effect, Say)
                    and not e.effect.quotes_commands
                    or isinstance(e.effect, Count)
                ):
                    texts.add(e.effect.text)
    return sorted(texts)


def coach_negatives(rng: np.random.Generator, texts: list[str], n: int) -> Iterator[Example]:
    """The coach's own voice: hard negatives, clean and in a room."""
    coach = Voice(*COACH_VOICE)
    for _ in range(n):
        k = int(rng.integers(1, 4))
        pieces = [render(coach, str(rng.choice(texts))) for _ in range(k)]
        gaps = [_silence(rng, 0.05, 0.6) for _ in range(k)]
        pcm = np.concatenate(
            [_silence(rng, 0.2, 0.6)] + [x for pair in zip(pieces, gaps, strict=True) for x in pair]
        )
        yield Example(pcm, 0)


def noise_negatives(rng: np.random.Generator, bank: list[np.ndarray], n: int) -> Iterator[Example]:
    """Background noise alone."""
    for _ in range(n):
        noise = bank[int(rng.integers(len(bank)))]
        length = int(rng.uniform(1.5, 3.0) * SAMPLE_RATE)
        start = int(rng.integers(0, max(1, len(noise) - length)))
        yield Example(_gain(rng, noise[start : start + length]), 0)


# -- windows -------------------------------------------------------------------------------
def windows(
    stream: FeatureStream, ex: Example, rng: np.random.Generator
) -> tuple[list[np.ndarray], list[int]]:
    """Training windows (16 embeddings, flattened) and labels from one example."""
    emb = embed_clip(stream, ex.pcm)
    xs, ys = [], []
    for i in range(FRAMES - 1, len(emb)):
        end = (i + 1) * CHUNK  # sample at which this window's last chunk ends
        window = emb[i - FRAMES + 1 : i + 1].reshape(-1)
        if ex.label == 0:
            if rng.random() < 0.5:
                xs.append(window)
                ys.append(0)
        elif ex.phrase_end <= end <= ex.phrase_end + 3 * CHUNK:
            xs.append(window)
            ys.append(ex.label)
        elif end < ex.phrase_start + (ex.phrase_end - ex.phrase_start) // 2 and rng.random() < 0.3:
            xs.append(window)  # only part of the phrase heard yet: not a command
            ys.append(0)
    return xs, ys


def build(seed: int, scale: float) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """Generate the whole training set."""
    rng = np.random.default_rng(seed)
    pool = voices(rng, per_family=max(2, int(12 * scale)))
    noise = _noise_bank("train")
    human = _human("train")
    prompts = coach_prompts()
    stream = FeatureStream()
    counts = {"positive examples": 0, "negative examples": 0}
    sources: list[Iterator[Example]] = [
        positives(rng, pool, int(3000 * scale), human),
        negatives(rng, pool, int(1500 * scale)),
        coach_negatives(rng, prompts, int(1200 * scale)),
        noise_negatives(rng, noise, int(300 * scale)),
        (
            Example(np.concatenate([_silence(rng, 0.3, 0.8), h, _silence(rng, 0.3, 0.8)]), 0)
            for h in human
        ),
    ]
    xs: list[np.ndarray] = []
    ys: list[int] = []
    for source in sources:
        for ex in source:
            copies = 2 if ex.label else 1
            for _ in range(copies):
                x, y = windows(stream, _augment(rng, ex, noise), rng)
                xs += x
                ys += y
            counts["positive examples" if ex.label else "negative examples"] += copies
    counts["windows"] = len(ys)
    counts.update({f"{c} windows": int(np.sum(np.array(ys) == i)) for i, c in enumerate(CLASSES)})
    counts["voices"] = len(pool)
    counts["coach prompts"] = len(prompts)
    counts["human negative clips"] = len(human)
    return np.array(xs, np.float32), np.array(ys, np.int64), counts


def write_training_card(head: Head) -> None:
    """Record the training run in the model card."""
    i = head.info
    lines = [
        f"- command: `python -m voicecoach.speech.spotter.train --seed {i['seed']}"
        f" --scale {i['scale']} --epochs {i['epochs']}`",
        f"- training time: {i['train_seconds']} s (one process; 2-core machine)",
        f"- training accuracy (windows): {i['train_accuracy']:.4f}",
        f"- decision: thresholds {head.thresholds}, {head.consecutive} consecutive",
    ]
    lines += [f"- {k}: {v}" for k, v in i["data"].items()]
    replace_section("training", "\n".join(lines))


def main(argv: list[str] | None = None) -> None:
    """Build the data set, train the head, save it."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--scale", type=float, default=1.0, help="data size factor (0.05 for a smoke run)"
    )
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--out", type=Path, default=MODEL)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    started = time.monotonic()
    x, y, counts = build(args.seed, args.scale)
    log.info("data: %s (%.0f s)", counts, time.monotonic() - started)
    head = train(x, y, CLASSES, seed=args.seed, epochs=args.epochs)
    # 0.995 on 2 consecutive decisions: chosen on the training speakers' side of the shared
    # recordings and on synthetic voices; the benchmark reports what it gives on the rest.
    head.thresholds = {"stop": 0.995, "pain": 0.995}
    head.consecutive = 2
    head.info = {
        "seed": args.seed,
        "scale": args.scale,
        "epochs": args.epochs,
        "data": counts,
        "train_seconds": round(time.monotonic() - started),
    }
    accuracy = float(np.mean(head.probabilities(x).argmax(axis=1) == y))
    head.info["train_accuracy"] = round(accuracy, 4)
    head.save(args.out)
    if args.out == MODEL:
        write_training_card(head)
    log.info(
        "saved %s: train accuracy %.4f, %.0f s in all",
        args.out,
        accuracy,
        time.monotonic() - started,
    )


if __name__ == "__main__":
    main()
