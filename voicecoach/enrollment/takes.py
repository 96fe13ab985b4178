"""Checks on one enrollment take, each problem one sentence the coach can say.

A take teaches the personal model what the user sounds like, so it must hold the whole phrase,
clearly above the room, and not be something the general model already takes for another
command. The general model *not* hearing the phrase is fine: that is why people enroll.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voicecoach.audio import SAMPLE_RATE
from voicecoach.speech.commands.recognizer import CommandRecognizer
from voicecoach.vocabulary import PHRASES, phrases_for

FRAME = SAMPLE_RATE // 50  # 20 ms: short enough to find where speech starts and ends
FULL_SCALE = 32700  # a sample this large sits on the converter's limit: a flat top

#: Nothing rises this far above the background: steady noise alone measures under 2 dB.
NO_SPEECH_DB = 4.0
#: Loudest 20 ms below this is digital silence: a muted or disconnected microphone.
SILENT_DBFS = -70.0
#: Speech quieter than this is below the quietest level the command model is trained on (-38).
QUIET_DBFS = -42.0
#: More of the speech than this on full scale is mostly flat tops, not a voice (the shared
#: one-speaker recordings, loud as they are, stay under a fifth).
CLIPPED_SHARE = 0.25
#: Speech less than this above the background teaches the model as much room as voice.
NOISY_DB = 12.0
#: The outer 40 ms within 6 dB of the loudest part is a word, not a breath or a click: cut off.
EDGE_S = 0.04
EDGE_DB = 6.0
#: Silence around a take when the general model listens to it, as around a spoken command.
PAD_S = 1.0

NO_SPEECH = "I did not hear anything. Please say it again, a little louder."
QUIET = "That was too quiet. Please say it a little louder."
CLIPPED = "That was too loud and sounded distorted. Please say it a little more softly."
NOISY = "It is too noisy to hear you clearly. Please say it again when it is quieter."
CUT_START = "The start was cut off. Please wait for the tone, then say it."
CUT_END = "The end was cut off. Please say it straight after the tone, in one go."


def heard_as(other: str, phrase: str) -> str:
    """The problem when the general model takes a take of ``phrase`` for ``other``."""
    return f"That sounded like '{other}' to me. Please say: {phrase}."


@dataclass(frozen=True)
class Levels:
    """A take measured in 20 ms frames (dB of full scale)."""

    loudest_dbfs: float  # the loudest frame
    speech_dbfs: float  # RMS over the frames of speech
    background_dbfs: float  # the quietest tenth of the frames
    clipped_share: float  # share of the speech samples on full scale
    head_db: float  # the loudest of the first EDGE_S, below the loudest frame
    tail_db: float  # the same for the last EDGE_S

    @property
    def ratio_db(self) -> float:
        """Speech over background."""
        return self.speech_dbfs - self.background_dbfs


def _dbfs(x: np.ndarray) -> np.ndarray:
    return np.asarray(20 * np.log10(np.maximum(x, 1.0) / 32768.0))


def measure(pcm: np.ndarray) -> Levels:
    """The levels of a take (16 kHz int16, at least one frame long)."""
    x = np.asarray(pcm, dtype=np.float64)
    frames = x[: len(x) // FRAME * FRAME].reshape(-1, FRAME)
    if not len(frames):
        frames = np.zeros((1, FRAME))
    db = _dbfs(np.sqrt(np.mean(frames**2, axis=1)))
    loudest = float(db.max())
    background = float(np.percentile(db, 10))
    # Speech frames: louder than halfway from the background to the loudest frame.
    speech = frames[db > (background + loudest) / 2] if loudest > background else frames
    edge = max(1, round(EDGE_S * SAMPLE_RATE / FRAME))
    return Levels(
        loudest_dbfs=loudest,
        speech_dbfs=float(_dbfs(np.sqrt(np.mean(speech**2)))),
        background_dbfs=background,
        clipped_share=float(np.mean(np.abs(speech) >= FULL_SCALE)),
        head_db=loudest - float(db[:edge].max()),
        tail_db=loudest - float(db[-edge:].max()),
    )


def level_problem(pcm: np.ndarray) -> str | None:
    """What is wrong with how a take sounds (level, noise, cut), or None."""
    levels = measure(pcm)
    if levels.loudest_dbfs < SILENT_DBFS or levels.ratio_db < NO_SPEECH_DB:
        return NO_SPEECH
    if levels.speech_dbfs < QUIET_DBFS:
        return QUIET
    if levels.clipped_share > CLIPPED_SHARE:
        return CLIPPED
    if levels.ratio_db < NOISY_DB:
        return NOISY
    if levels.head_db < EDGE_DB:
        return CUT_START
    if levels.tail_db < EDGE_DB:
        return CUT_END
    return None


class TakeChecker:
    """Checks takes; holds the general command model, loaded on the first take that needs it."""

    def __init__(self) -> None:
        self._general: CommandRecognizer | None = None

    def heard_instead(self, pcm: np.ndarray, phrase: str) -> str | None:
        """The command the general model hears in a take of ``phrase`` instead of it, or None.

        None too when it hears nothing, or the phrase's own command (alone or among others).
        """
        if self._general is None:
            self._general = CommandRecognizer()
        self._general.reset()
        pad = np.zeros(int(PAD_S * SAMPLE_RATE), np.int16)
        audio = np.concatenate([pad, np.asarray(pcm, dtype=np.int16), pad])
        block = 1280
        heard = []
        for start in range(0, len(audio), block):
            heard += self._general.accept(audio[start : start + block], start / SAMPLE_RATE)
        intents = [d.intent for d in heard]
        if not intents or PHRASES.get(phrase) in intents:
            return None
        return phrases_for(intents[0])[0]

    def problem(self, pcm: np.ndarray, phrase: str) -> str | None:
        """Why a take of ``phrase`` cannot be used, as the coach would say it; None if good."""
        found = level_problem(pcm)
        if found is not None:
            return found
        other = self.heard_instead(pcm, phrase)
        return heard_as(other, phrase) if other is not None else None
