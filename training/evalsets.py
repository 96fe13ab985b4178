"""Audio the command model is judged on, never trained on: commands to hear, talk to ignore.

Two parts, as ``corpus`` splits the people: *tune* (thresholds are chosen there) and
*report* (the benchmark's figures). Both use only speakers, voices, texts and noise that no
training example contains:
- human "stop" from validation speakers, level-normalised, quiet and in held-out noise;
- every phrase of every intent in held-out voice families (Piper joe, a Kokoro speaker kept
  out of training) for the report, and new settings of the training engines for tuning;
- long stretches of what must not fire: other people's words and sentences, texts read
  aloud, noise, and the coach's own voice in a room.

Renders are cached (``voices.render``); a set is deterministic for its seed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from training import augment, corpus
from training.dataset import coach_prompts
from training.phrases import positives
from training.voices import (
    COACH_VOICE,
    Voice,
    available_engines,
    held_out_voices,
    render,
    training_voices,
    trim,
)
from voicecoach.audio import SAMPLE_RATE
from voicecoach.audio.replay import room_impulse

LEVEL = 4000.0  # active-speech RMS of a user's phrase at the microphone (about -18 dBFS)
CONDITIONS = (("quiet", None), ("10 dB", 10.0), ("0 dB", 0.0))


@dataclass(frozen=True)
class Trial:
    """A command to hear: the audio, the intent, and when the phrase ends (seconds)."""

    group: str  # "human stop", "piper joe", ...
    intent: str
    phrase: str
    condition: str
    speaker: str
    pcm: np.ndarray
    end: float


def scale_to(pcm: np.ndarray, level: float) -> np.ndarray:
    """Scale to an active-speech RMS."""
    return augment.clip16(pcm * (level / augment.rms(pcm)))


def add_noise(pcm: np.ndarray, noise: np.ndarray, snr_db: float, level: float) -> np.ndarray:
    """Noise (looped) at ``snr_db`` below a speech level."""
    n = np.resize(noise, len(pcm)).astype(np.float64)
    n *= level / (np.sqrt(np.mean(n**2)) + 1e-9) / 10 ** (snr_db / 20)
    return augment.clip16(pcm + n)


def _place(rng: np.random.Generator, phrase: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Silence around a phrase at a level within 6 dB of LEVEL: (track, phrase end, level)."""
    level = LEVEL * 10 ** (rng.uniform(-6, 6) / 20)
    phrase = scale_to(phrase, level)
    lead = int(rng.uniform(0.5, 1.0) * SAMPLE_RATE)
    track = np.concatenate([np.zeros(lead, np.int16), phrase, np.zeros(SAMPLE_RATE, np.int16)])
    return track, (lead + len(phrase)) / SAMPLE_RATE, level


def _conditions(
    rng: np.random.Generator,
    group: str,
    intent: str,
    phrase: str,
    speaker: str,
    pcm: np.ndarray,
    noise: list[np.ndarray],
) -> Iterator[Trial]:
    for condition, snr in CONDITIONS:
        track, end, level = _place(rng, pcm)
        if snr is not None:
            bank = noise[int(rng.integers(len(noise)))]
            start = int(rng.integers(0, max(1, len(bank) - len(track))))
            track = add_noise(track, bank[start:], snr, level)
        yield Trial(group, intent, phrase, condition, speaker, track, end)


def human_stops(part: tuple[str, ...], seed: int = 11) -> list[Trial]:
    """Validation speakers' "stop", each clip quiet, at 10 dB and at 0 dB SNR."""
    rng = np.random.default_rng(seed)
    noise = corpus.noise("report" if "report" in part else "tune")
    out = []
    for clip in corpus.select("stop", part):
        pcm = corpus.load(clip)
        from training.examples import speech_span  # noqa: PLC0415

        a, b = speech_span(pcm)
        word = pcm[max(0, a - 800) : b + 800]
        out += _conditions(rng, "human stop", "stop", "stop", clip.speaker, word, noise)
    return out


def voice_trials(
    groups: dict[str, list[Voice]], noise: list[np.ndarray], seed: int = 12
) -> list[Trial]:
    """Every phrase of every intent in each voice of each group, in each condition."""
    rng = np.random.default_rng(seed)
    out = []
    for group, voices in groups.items():
        for intent, phrases in positives().items():
            for phrase in phrases:
                for voice in voices:
                    pcm = render(voice, phrase)
                    speaker = f"{voice.family} {voice.rate} {voice.variant}"
                    out += _conditions(rng, group, intent, phrase, speaker, pcm, noise)
    return out


def held_out_trials(settings: int = 6) -> list[Trial]:
    """The report's synthetic commands: held-out voice families only."""
    groups = held_out_voices(np.random.default_rng(21), settings)
    return voice_trials(groups, corpus.noise("report"))


def tune_trials(settings: int = 2) -> list[Trial]:
    """Commands in training engines at settings never drawn for training (seed 99)."""
    engines = [e for e in available_engines() if e != "piper"]
    voices = training_voices(np.random.default_rng(99), settings, engines)
    return voice_trials({"training engines, new settings": voices}, corpus.noise("tune"))


# -- what must not fire ---------------------------------------------------------------------
def _join(rng: np.random.Generator, pieces: list[np.ndarray], lo: float, hi: float) -> np.ndarray:
    parts = []
    for p in pieces:
        parts += [p, augment.silence(rng, lo, hi)]
    return np.concatenate(parts) if parts else np.zeros(0, np.int16)


def _levelled(rng: np.random.Generator, pcm: np.ndarray) -> np.ndarray:
    return scale_to(pcm, LEVEL * 10 ** (rng.uniform(-6, 6) / 20))


def read_aloud(rng: np.random.Generator, voices: list[Voice], texts: tuple[str, ...]) -> np.ndarray:
    """Texts read sentence by sentence, each sentence by the next voice in turn."""
    pieces = [_levelled(rng, render(voices[i % len(voices)], s)) for i, s in enumerate(texts)]
    return _join(rng, [p for p in pieces if p.size], 0.3, 0.9)


def coach_in_room(rng: np.random.Generator, minutes: float, noise: list[np.ndarray]) -> np.ndarray:
    """The coach's prompts one after another, through a room, with a little noise (20 dB)."""
    prompts = coach_prompts()
    coach = Voice(*COACH_VOICE)
    pieces: list[np.ndarray] = []
    total = 0
    while total < minutes * 60 * SAMPLE_RATE:
        p = render(coach, str(rng.choice(prompts)))
        pieces.append(p)
        total += len(p) + SAMPLE_RATE // 2
    pcm = _join(rng, pieces, 0.2, 0.8).astype(np.float64)
    h = room_impulse(rt60=0.35, seed=3)
    room = np.convolve(pcm, h)[: len(pcm)]
    room = augment.clip16(room * LEVEL / augment.rms(augment.clip16(room)))
    return add_noise(room, np.concatenate(noise), 20.0, LEVEL)


def negatives(part: str, size: float = 1.0, seed: int = 13) -> dict[str, np.ndarray]:
    """Name -> long audio with no command in it, for ``part`` "tune" or "report".

    ``size`` < 1 keeps that share of every source (for smoke runs).
    """
    rng = np.random.default_rng(seed)

    def share(items: list) -> list:
        return items[: max(1, int(np.ceil(len(items) * size)))]

    noise = corpus.noise(part)
    words = [trim(corpus.load(c)) for c in share(corpus.select(None, (part,)))]
    from voicecoach.vocabulary import find_command_phrase  # noqa: PLC0415

    talk = [
        corpus.load(c)
        for c in share(corpus.select("_speech_", (part,)))
        if not find_command_phrase(c.transcript)
    ]
    texts = tuple(share(list(corpus.texts(part))))
    if part == "report":
        readers = held_out_voices(np.random.default_rng(22), 4)
        read = {
            f"{group} reading texts": read_aloud(rng, voices, texts)
            for group, voices in readers.items()
        }
    else:
        engines = [e for e in available_engines() if e != "piper"]
        voices = training_voices(np.random.default_rng(98), 3, engines)
        order = rng.permutation(len(voices))
        read = {
            "training engines, new settings, reading texts": read_aloud(
                rng, [voices[i] for i in order], texts
            )
        }
    return {
        "human isolated words": _join(rng, [_levelled(rng, w) for w in words if w.size], 0.5, 1.0),
        "human read sentences": _join(rng, talk, 0.3, 0.6),
        "noise": np.concatenate(noise),
        **read,
        "the coach's prompts in a room": coach_in_room(rng, 10 * size, noise),
    }
