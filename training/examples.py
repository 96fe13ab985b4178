"""Training examples: audio, its class, and where a command phrase ends in it.

Every generator draws from its own ``rng`` only, so a chunk of examples depends on its seed
and nothing else (``dataset.py`` relies on that to cache and to run in parallel).
"""

from __future__ import annotations

import functools
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training import augment, corpus
from training.phrases import CARRIERS, CLASSES, negative_words, positives
from training.voices import COACH_VOICE, Voice, render
from voicecoach.audio import SAMPLE_RATE
from voicecoach.vocabulary import find_command_phrase


@dataclass(frozen=True)
class Example:
    """Audio and its label; for a command, the phrase's span in samples."""

    pcm: np.ndarray
    label: int  # index into CLASSES; 0 is background
    start: int = 0
    end: int = 0


def speech_span(pcm: np.ndarray) -> tuple[int, int]:
    """Where the speech in a short recording starts and ends (10 ms energy, relative level).

    Speech Commands clips are one second with the word somewhere inside and noise around it.
    """
    frame = SAMPLE_RATE // 100
    n = len(pcm) // frame
    if n == 0:
        return 0, len(pcm)
    energy = (pcm[: n * frame].astype(np.float64).reshape(n, frame) ** 2).mean(axis=1)
    db = 10 * np.log10(energy + 1)
    floor = np.percentile(db, 10)
    loud = np.flatnonzero(db > max(floor + 10, db.max() - 30))
    if not loud.size:
        return 0, len(pcm)
    return int(loud[0] * frame), int(min(len(pcm), (loud[-1] + 1) * frame))


def _context(rng: np.random.Generator, talk: list[np.ndarray]) -> np.ndarray:
    """Silence before a phrase, sometimes after someone else's speech."""
    pre = augment.silence(rng, 0.3, 1.2)
    if talk and rng.random() < 0.25:
        other = talk[int(rng.integers(len(talk)))]
        cut = other[: int(rng.uniform(0.3, 1.2) * SAMPLE_RATE)]
        pre = np.concatenate([pre, cut, augment.silence(rng, 0.1, 0.5)])
    return pre


def _finish(
    rng: np.random.Generator,
    parts: list[np.ndarray],
    label: int,
    core: int,
    noise: list[np.ndarray],
) -> Example:
    """Join parts (``parts[core]`` is the phrase), put a room and a microphone around them."""
    start = sum(len(p) for p in parts[:core])
    end = start + len(parts[core])
    pcm = augment.room_and_mic(rng, np.concatenate(parts), noise)
    return Example(pcm, label, start, end)


def synthetic_command(
    rng: np.random.Generator,
    voices: list[Voice],
    noise: list[np.ndarray],
    talk: list[np.ndarray],
    coach: list[np.ndarray],
) -> Example:
    """A command phrase in a synthetic voice, maybe inside a carrier, maybe over the coach."""
    label = int(rng.integers(1, len(CLASSES)))
    phrase = str(rng.choice(positives()[CLASSES[label]]))
    voice = voices[int(rng.integers(len(voices)))]
    before, _, after = str(rng.choice(CARRIERS)).partition("{}")
    core = augment.speed(rng, render(voice, phrase), 0.9, 1.1)
    lead = render(voice, before) if before.strip() else core[:0]
    tail = render(voice, after) if after.strip() else core[:0]
    gap = augment.silence(rng, 0.02, 0.15)
    parts = [_context(rng, talk), lead, gap if lead.size else core[:0], core]
    parts += [gap if tail.size else core[:0], tail, augment.silence(rng, 0.4, 0.8)]
    ex = _finish(rng, parts, label, 3, noise)
    return _over_coach(rng, ex, coach) if rng.random() < 0.2 else ex


def human_stop(
    rng: np.random.Generator,
    clip: np.ndarray,
    noise: list[np.ndarray],
    talk: list[np.ndarray],
    coach: list[np.ndarray],
) -> Example:
    """A real person's "stop": the recording as it is (its own room and noise), then more."""
    a, b = speech_span(clip)
    word = augment.speed(rng, clip[max(0, a - 800) : b + 800], 0.9, 1.1)
    a, b = speech_span(word)
    parts = [_context(rng, talk), word[:a], word[a:b], word[b:], augment.silence(rng, 0.4, 0.8)]
    ex = _finish(rng, parts, CLASSES.index("stop"), 2, noise)
    return _over_coach(rng, ex, coach) if rng.random() < 0.2 else ex


def _over_coach(rng: np.random.Generator, ex: Example, coach: list[np.ndarray]) -> Example:
    """The coach talking under the user: what is left of its echo, 0-25 dB below the user."""
    if not coach:
        return ex
    return Example(
        augment.mix(rng, ex.pcm, coach[int(rng.integers(len(coach)))], rng.uniform(0, 25)),
        ex.label,
        ex.start,
        ex.end,
    )


#: Engines that take about a second per phrase: each voice of theirs says only a fixed few of
#: the negative texts (chosen by the voice), so their renders are bounded and cached.
SLOW_ENGINES = ("kokoro", "festival")


def _texts_for(
    voice: Voice, texts: tuple[str, ...], rng: np.random.Generator, per_voice: int = 16
) -> str:
    if voice.engine not in SLOW_ENGINES:
        return str(rng.choice(texts))
    own = np.random.default_rng(zlib.crc32(repr(voice).encode()))
    subset = own.choice(len(texts), size=min(per_voice, len(texts)), replace=False)
    return texts[int(subset[int(rng.integers(len(subset)))])]


@functools.cache
def _short_sentences() -> tuple[str, ...]:
    """Training sentences of at most 12 words: what the slow engines read."""
    return tuple(s for s in corpus.texts("train") if len(s.split()) <= 12)


def confusable(rng: np.random.Generator, voices: list[Voice], noise: list[np.ndarray]) -> Example:
    """A word or phrase that sounds close to a command, alone or in a carrier."""
    voice = voices[int(rng.integers(len(voices)))]
    word = _texts_for(voice, negative_words(), rng)
    carrier = "{}" if voice.engine in SLOW_ENGINES else str(rng.choice(CARRIERS))
    text = carrier.replace("{}", word)
    parts = [augment.silence(rng, 0.3, 1.0), render(voice, text), augment.silence(rng, 0.3, 0.8)]
    return _finish(rng, parts, 0, 1, noise)


@functools.cache
def dictionary_words() -> tuple[str, ...]:
    """Words of the pronouncing dictionary in the pocketsphinx wheel, commands left out."""
    import pocketsphinx  # noqa: PLC0415

    path = Path(pocketsphinx.get_model_path()) / "en-us" / "cmudict-en-us.dict"
    with path.open() as f:
        words = {line.split()[0] for line in f if re.match(r"^[a-z]+ ", line)}
    return tuple(sorted(w for w in words if not find_command_phrase(w)))


def running_speech(
    rng: np.random.Generator, voices: list[Voice], noise: list[np.ndarray]
) -> Example:
    """Someone talking: a sentence of the training texts, or a string of dictionary words."""
    voice = voices[int(rng.integers(len(voices)))]
    if voice.engine in SLOW_ENGINES:
        text = _texts_for(voice, _short_sentences(), rng, per_voice=6)
    elif rng.random() < 0.5:
        text = str(rng.choice(corpus.texts("train")))
    else:
        words = dictionary_words()
        text = " ".join(
            words[int(rng.integers(len(words)))] for _ in range(int(rng.integers(4, 14)))
        )
    parts = [augment.silence(rng, 0.2, 0.6), render(voice, text), augment.silence(rng, 0.2, 0.6)]
    return _finish(rng, parts, 0, 1, noise)


def talk(
    rng: np.random.Generator,
    voices: list[Voice],
    human: list[np.ndarray],
    noise: list[np.ndarray],
) -> Example:
    """A longer stretch of talk with no command: sentences in a voice, or real words in a row."""
    pieces = []
    if rng.random() < 0.5:
        for _ in range(int(rng.integers(2, 4))):
            speech = running_speech(rng, voices, [])
            pieces += [speech.pcm, augment.silence(rng, 0.1, 0.6)]
    else:
        for _ in range(int(rng.integers(3, 9))):
            word = human[int(rng.integers(len(human)))]
            pieces += [augment.gain(rng, augment.speed(rng, word), -30, -18)]
            pieces += [augment.silence(rng, 0.05, 0.6)]
    parts = [augment.silence(rng, 0.2, 0.5), np.concatenate(pieces)]
    return _finish(rng, parts, 0, 1, noise)


def recorded(rng: np.random.Generator, pcm: np.ndarray, noise: list[np.ndarray]) -> Example:
    """A real recording that is not a command (another word, a sentence)."""
    parts = [
        augment.silence(rng, 0.2, 0.8),
        augment.speed(rng, pcm),
        augment.silence(rng, 0.2, 0.8),
    ]
    return _finish(rng, parts, 0, 1, noise)


def coach_voice(rng: np.random.Generator, prompts: list[str], noise: list[np.ndarray]) -> Example:
    """The coach's own voice: a few prompts, clean or through a room, with noise."""
    coach = Voice(*COACH_VOICE)
    pieces = []
    for _ in range(int(rng.integers(1, 4))):
        pieces += [render(coach, str(rng.choice(prompts))), augment.silence(rng, 0.05, 0.6)]
    parts = [augment.silence(rng, 0.2, 0.6), np.concatenate(pieces)]
    return _finish(rng, parts, 0, 1, noise)


def noise_only(rng: np.random.Generator, noise: list[np.ndarray]) -> Example:
    """Background noise alone, or near silence."""
    length = int(rng.uniform(1.5, 3.5) * SAMPLE_RATE)
    if rng.random() < 0.2:
        return Example(augment.clip16(rng.normal(0, rng.uniform(1, 30), length)), 0)
    bank = noise[int(rng.integers(len(noise)))]
    start = int(rng.integers(0, max(1, len(bank) - length)))
    piece = augment.gain(rng, bank[start : start + length], -50, -15)
    return Example(piece, 0)
