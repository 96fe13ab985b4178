"""Enrollment by voice: the coach asks for each phrase, takes after a tone, and checks each take.

The flow only talks to ``Devices`` (say, tone, record), so it runs the same on a sound card
(``live.py``), through the service, or against a fake in the tests.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from voicecoach.audio import SAMPLE_RATE
from voicecoach.enrollment.adaptation import adapt_and_keep, recall_sentences
from voicecoach.enrollment.folder import Enrollment, VoiceFolder
from voicecoach.enrollment.takes import TakeChecker
from voicecoach.speech.commands.personal import (
    ENROLL_PHRASES,
    ORDINARY,
    ORDINARY_SENTENCES,
    TAKES,
)

RECORD_S = 2.5  # the longest phrase ("that hurts stop") takes well under two seconds
TRIES = 3  # attempts at one take before moving on: past that, asking again only annoys

TONE_S = 0.15
TONE_HZ = 880.0
TONE_FADE_S = 0.01  # fades in and out, so the tone starts and stops without a click
TONE_LEVEL = 0.3  # of full scale: clearly audible, well under the coach's speech peaks

INTRO = (
    "Let's teach me your voice. I will ask for each command {takes} times. "
    "After each tone, say the words I ask for, as you would in a session."
)
ASK = "After the tone, say: {phrase}."
GIVE_UP_TAKE = "I could not get a good take of that one. Let's move on."
GIVE_UP_PHRASE = "I will keep listening for '{phrase}' as I do for everyone."
NOTHING_KEPT = "I did not get a good take of anything, so nothing has changed."
ORDINARY_INTRO = "Now three ordinary sentences, so I learn what is not a command."
ADAPTING = "Thank you. I am learning your voice now; this takes a little while."
DONE = "Your voice is enrolled. From now on I listen for you."


class Devices(Protocol):
    """What the flow needs of the room: a voice, a tone, and a microphone."""

    def say(self, text: str) -> None:
        """Speak ``text`` and return once it has been played."""
        ...

    def tone(self) -> None:
        """Play the short tone that says "now" and return once it has been played."""
        ...

    def record(self, seconds: float) -> np.ndarray:
        """Record up to ``seconds`` (16 kHz int16); may stop early once speech has ended."""
        ...


def tone_pcm() -> np.ndarray:
    """A 0.15 s 880 Hz sine with short fades, 16 kHz int16."""
    n = int(TONE_S * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    wave = np.sin(2 * np.pi * TONE_HZ * t)
    fade = int(TONE_FADE_S * SAMPLE_RATE)
    ramp = np.linspace(0.0, 1.0, fade)
    wave[:fade] *= ramp
    wave[-fade:] *= ramp[::-1]
    return np.asarray(wave * TONE_LEVEL * 32767, dtype=np.int16)


def one_take(
    devices: Devices, checker: TakeChecker, phrase: str, kind: str | None = None
) -> np.ndarray | None:
    """A good take of ``phrase``, asking up to ``TRIES`` times; None when none was good.

    The take is checked as ``kind`` (by default the phrase itself).
    """
    for _ in range(TRIES):
        devices.say(ASK.format(phrase=phrase))
        devices.tone()
        pcm = devices.record(RECORD_S)
        problem = checker.problem(pcm, kind or phrase)
        if problem is None:
            return pcm
        devices.say(problem)
    devices.say(GIVE_UP_TAKE)
    return None


def enroll_spoken(
    devices: Devices,
    folder: VoiceFolder,
    checker: TakeChecker | None = None,
    phrases: Sequence[str] = ENROLL_PHRASES,
    takes: int = TAKES,
    sentences: Sequence[str] = ORDINARY_SENTENCES,
    adapt: Callable[[VoiceFolder, dict[str, list[np.ndarray]]], Enrollment] = adapt_and_keep,
) -> Enrollment | None:
    """Talk the user through enrollment; the new enrollment, or None when nothing was kept."""
    checker = checker or TakeChecker()
    devices.say(INTRO.format(takes=takes))
    good: dict[str, list[np.ndarray]] = {}
    for phrase in phrases:
        kept = [
            pcm for _ in range(takes) if (pcm := one_take(devices, checker, phrase)) is not None
        ]
        if kept:
            good[phrase] = kept
        else:
            devices.say(GIVE_UP_PHRASE.format(phrase=phrase))
    if not good:
        devices.say(NOTHING_KEPT)
        return None
    if sentences:
        devices.say(ORDINARY_INTRO)
    ordinary = [
        pcm
        for sentence in sentences
        if (pcm := one_take(devices, checker, sentence, ORDINARY)) is not None
    ]
    if ordinary:
        good[ORDINARY] = ordinary
    devices.say(ADAPTING)
    enrollment = adapt(folder, good)
    for sentence in recall_sentences(enrollment):
        devices.say(sentence)
    devices.say(DONE)
    return enrollment
