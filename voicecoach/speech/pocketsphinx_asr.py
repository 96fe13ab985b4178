"""pocketsphinx keyword spotting: the embedded recognizer, whose English model is in its wheel.

Keyword spotting (one threshold per phrase) rather than a JSGF grammar: a grammar forces every
sound onto a command (measured: most other words became commands), a spotter can say "none".
"ouch" is left out: as a keyphrase it fires on almost anything (measured), and because the search
restarts after each hit it would also mask the other phrases.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from voicecoach.speech.recognizer import Detection, RecognizerUnavailable
from voicecoach.vocabulary import PHRASES, Intent

log = logging.getLogger(__name__)

#: Detection thresholds: lower fires more. Safety phrases favour recall, "next" precision.
THRESHOLDS: dict[str, float] = {
    "stop": 1e-20,
    "that hurts": 1e-30,
    "it hurts": 1e-30,
    "this hurts": 1e-30,
    "that hurts stop": 1e-30,
    "next": 1e-10,
    "next one": 1e-15,
    "skip": 1e-10,
    "pause": 1e-15,
    "wait": 1e-10,
    "resume": 1e-15,
    "continue": 1e-20,
    "go on": 1e-10,
    "repeat": 1e-20,
    "again": 1e-10,
    "help": 1e-10,
    "what can i say": 1e-20,
    "finish": 1e-15,
    "end session": 1e-20,
}
LEFT_OUT = ("ouch",)


class PocketsphinxRecognizer:
    """Keyword spotting over the command phrases, 10 ms frames, restarted after each hit."""

    name = "pocketsphinx"

    def __init__(self, thresholds: dict[str, float] | None = None) -> None:
        try:
            from pocketsphinx import Decoder, get_model_path  # noqa: PLC0415
        except ImportError as exc:
            raise RecognizerUnavailable(f"pocketsphinx is not installed: {exc}") from exc
        self.thresholds = dict(THRESHOLDS if thresholds is None else thresholds)
        model = Path(get_model_path()) / "en-us"
        with tempfile.NamedTemporaryFile("w", suffix=".kws", delete=False) as f:
            for phrase, threshold in self.thresholds.items():
                f.write(f"{phrase} /{threshold:.0e}/\n")
            kws = f.name
        try:
            self._decoder: Any = Decoder(
                hmm=str(model / "en-us"),
                dict=str(model / "cmudict-en-us.dict"),
                kws=kws,
                loglevel="FATAL",
            )
        finally:
            os.unlink(kws)
        self._origin: float | None = None
        self._decoder.start_utt()

    def reset(self) -> None:
        """Restart the search."""
        self._decoder.end_utt()
        self._decoder.start_utt()
        self._origin = None

    def accept(self, pcm: np.ndarray, t: float) -> list[Detection]:
        """Feed a block; a hit restarts the search so one phrase is reported once."""
        if self._origin is None:
            self._origin = t
        self._decoder.process_raw(pcm.astype("<i2").tobytes(), False, False)
        hyp = self._decoder.hyp()
        if hyp is None:
            return []
        phrase = " ".join(hyp.hypstr.split())  # several hits come joined by two spaces
        segments = list(self._decoder.seg())
        end = t + len(pcm) / 16000
        start = self._origin + segments[0].start_frame / 100 if segments else end
        self.reset()
        words = phrase.split()
        # Report the longest phrase in the hypothesis that is a command.
        for n in range(len(words), 0, -1):
            candidate = " ".join(words[-n:])
            if candidate in PHRASES and candidate not in LEFT_OUT:
                intent: Intent = PHRASES[candidate]
                return [Detection(intent, candidate, 1.0, start, end, self.name)]
        return []
