"""Build ``negatives.npz``: what a personal model must not fire on, as speech embeddings.

Enrollment adapts the command model on the device, where the shared recordings are not; this
is the summary it takes along: embedding sequences (float16, 96-d per 80 ms) of other people's
words and read sentences, noise, the coach's prompts in a room, and synthetic voices reading
text and confusable words. Two parts that never share a speaker, a text or a stretch of noise:
*fit* (the training half: the personal model learns from it) and *hold* (the tune half: the
personal thresholds are set there so the personal model fires no more often than the general
one). The benchmark's report half is in neither.

    python -m training.negatives            # writes voicecoach/speech/commands/negatives.npz
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np

from training import corpus, evalsets
from training.phrases import negative_words
from training.voices import render, training_voices, trim
from voicecoach.speech.commands.features import FeatureStream, embed_clip
from voicecoach.speech.commands.personal import NEGATIVES

log = logging.getLogger(__name__)

COACH_MINUTES = 4.0
SENTENCES = 60  # sentences read by synthetic voices, per part


def _sources(part: str, seed: int) -> dict[str, np.ndarray]:
    """Name -> long audio with no command in it, for corpus part "train" or "tune"."""
    rng = np.random.default_rng(seed)
    noise = corpus.noise(part)
    words = [trim(corpus.load(c)) for c in corpus.select(None, (part,))]
    talk = [corpus.load(c) for c in corpus.select("_speech_", (part,))]
    voices = training_voices(np.random.default_rng(seed + 1), 3, ["espeak", "flite"])
    texts = list(corpus.texts(part))[:SENTENCES]
    read = [
        evalsets._levelled(rng, render(voices[i % len(voices)], s)) for i, s in enumerate(texts)
    ]
    out = {
        "other people's words": evalsets._join(
            rng, [evalsets._levelled(rng, w) for w in words if w.size], 0.5, 1.0
        ),
        "other people's sentences": evalsets._join(rng, talk, 0.3, 0.6),
        "noise": np.concatenate(noise),
        "synthetic voices reading": evalsets._join(rng, [p for p in read if p.size], 0.3, 0.9),
        "the coach's prompts in a room": evalsets.coach_in_room(rng, COACH_MINUTES, noise),
    }
    if part == "train":  # words that sound close to a command, for learning only
        confusable = [
            evalsets._levelled(rng, render(voices[i % len(voices)], w))
            for i, w in enumerate(negative_words())
        ]
        out["confusable words"] = evalsets._join(rng, [p for p in confusable if p.size], 0.3, 0.8)
    return out


def build(out: Path, seed: int = 31) -> dict[str, float]:
    """Write the pack; return seconds of audio per entry."""
    stream = FeatureStream()
    arrays: dict[str, np.ndarray] = {}
    seconds: dict[str, float] = {}
    for pack_part, corpus_part in (("fit", "train"), ("hold", "tune")):
        for name, pcm in _sources(corpus_part, seed if pack_part == "fit" else seed + 10).items():
            key = f"{pack_part}/{name}"
            arrays[key] = embed_clip(stream, pcm).astype(np.float16)
            seconds[key] = round(len(pcm) / 16000, 1)
            log.info("%s: %.0f s", key, seconds[key])
    meta = {"seconds": seconds, "seed": seed}
    arrays["meta"] = np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)
    np.savez_compressed(out, allow_pickle=False, **arrays)
    return seconds


def main() -> None:
    """Build the pack from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=NEGATIVES)
    parser.add_argument("--seed", type=int, default=31)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    seconds = build(args.out, args.seed)
    log.info("%d entries, %.1f min in all, %s", len(seconds), sum(seconds.values()) / 60, args.out)


if __name__ == "__main__":
    main()
