"""Free transcription of one utterance.

Whisper tiny.en, or pocketsphinx's full language model where Whisper is not installed. Used
between sessions (idle requests) and in a session for answers (``speech/answers.py``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Protocol

import numpy as np

log = logging.getLogger(__name__)


class Transcriber(Protocol):
    """The words of one utterance."""

    def transcribe(self, pcm: np.ndarray) -> str:
        """The words heard in ``pcm`` (16 kHz mono int16)."""
        ...


class FullTranscriber:
    """pocketsphinx with its full English language model: free text, no grammar to force."""

    def __init__(self) -> None:
        from pocketsphinx import Decoder, get_model_path  # noqa: PLC0415

        model = Path(get_model_path()) / "en-us"
        self._decoder: Any = Decoder(
            hmm=str(model / "en-us"),
            dict=str(model / "cmudict-en-us.dict"),
            lm=str(model / "en-us.lm.bin"),
            maxhmmpf=2000,
            maxwpf=10,
            loglevel="FATAL",
        )

    def transcribe(self, pcm: np.ndarray) -> str:
        """The words heard in one utterance."""
        self._decoder.start_utt()
        self._decoder.process_raw(pcm.astype("<i2").tobytes(), False, True)
        self._decoder.end_utt()
        hyp = self._decoder.hyp()
        return hyp.hypstr if hyp is not None else ""


def best(context: str | None = None) -> Transcriber:
    """Whisper tiny.en primed with ``context``, or pocketsphinx where Whisper is missing."""
    from voicecoach.speech.recognizer import RecognizerUnavailable  # noqa: PLC0415
    from voicecoach.speech.whisper import WhisperTranscriber  # noqa: PLC0415

    try:
        whisper = WhisperTranscriber(context=context)
        log.info("transcribing with Whisper tiny.en")
        return whisper
    except RecognizerUnavailable as exc:
        log.warning("transcribing with pocketsphinx (%s)", exc)
        return FullTranscriber()
