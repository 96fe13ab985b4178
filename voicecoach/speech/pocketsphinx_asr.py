"""pocketsphinx keyword spotting: the embedded recognizer, whose English model is in its wheel.

Safety phrases (when the command model is not beside it) are reported at once, unverified:
they favour recall. Every other command favours precision and is verified as below.

Keyword spotting (one threshold per phrase) rather than a JSGF grammar: a grammar forces every
sound onto a command (measured: most other words became commands), a spotter can say "none".
"ouch" is left out: as a keyphrase it fires on almost anything (measured), and because the search
restarts after each hit it would also mask the other phrases.

Spotting alone still fires on everyday speech (measured: several times a minute), so each hit
of a non-safety command is verified: the audio around it is decoded again with the full English
language model, and the hit stands only if that free transcription contains the phrase.
Full-LM decoding was measured to make no false accepts; its misses only cost recall.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from voicecoach.speech.recognizer import Detection, RecognizerUnavailable
from voicecoach.vocabulary import PHRASES, Expectation

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
RECENT_S = 3
VERIFY_AFTER_S = 0.3  # audio after a hit that the verification decodes too


class PocketsphinxRecognizer:
    """Keyword spotting over the command phrases, 10 ms frames, restarted after each hit."""

    name = "pocketsphinx"

    def __init__(self, thresholds: dict[str, float] | None = None, safety: bool = True) -> None:
        try:
            from pocketsphinx import Decoder, get_model_path  # noqa: PLC0415
        except ImportError as exc:
            raise RecognizerUnavailable(f"pocketsphinx is not installed: {exc}") from exc
        self.thresholds = dict(THRESHOLDS if thresholds is None else thresholds)
        # Beside the command model, stop and pain are left to it: spotted here they fired on
        # everyday speech (measured), and a false stop halts a session.
        self.safety = safety
        if not safety:
            self.thresholds = {p: v for p, v in self.thresholds.items() if not PHRASES[p].is_safety}
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
        self._verifier: Any = Decoder(
            hmm=str(model / "en-us"),
            dict=str(model / "cmudict-en-us.dict"),
            lm=str(model / "en-us.lm.bin"),
            maxhmmpf=2000,  # capped beams: full-LM decoding was 10x slower than real time without
            maxwpf=10,
            loglevel="FATAL",
        )
        self._recent = np.zeros(0, np.int16)  # the last few seconds, for verification
        self._recent_end = 0.0
        self._origin: float | None = None
        self._pending: tuple[str, float, float] | None = None  # (phrase, start, verify at)
        self._expectation = Expectation()
        self._decoder.start_utt()

    def reset(self) -> None:
        """Forget everything heard: afterwards it hears exactly as a freshly built one."""
        self._decoder.end_utt()
        # Both decoders adapt their features (cepstral mean) to the room as they hear it.
        self._decoder.reinit_feat()
        self._verifier.reinit_feat()
        self._decoder.start_utt()
        self._recent = np.zeros(0, np.int16)
        self._recent_end = 0.0
        self._origin = None
        self._pending = None

    def _restart_search(self) -> None:
        """After a hit: spot the next phrase from here, keeping the audio kept for verifying."""
        self._decoder.end_utt()
        self._decoder.start_utt()
        self._origin = None

    def expect(self, expectation: Expectation) -> None:
        """Report only the commands expected (stop and pain always).

        The spotter keeps searching for every phrase (its search is fixed when it is built);
        hits of commands not expected are dropped. It hears no answers: it spots phrases only.
        """
        self._expectation = expectation

    def accept(self, pcm: np.ndarray, t: float) -> list[Detection]:
        """Feed a block; a hit is verified once 0.3 s more audio has arrived, then reported."""
        return [d for d in self._spot(pcm, t) if self._expectation.allows(d.intent)]

    def _spot(self, pcm: np.ndarray, t: float) -> list[Detection]:
        if self._origin is None:
            self._origin = t
        self._recent = np.concatenate([self._recent, pcm])[-RECENT_S * 16000 :]
        self._recent_end = end = t + len(pcm) / 16000
        out = []
        if self._pending and end >= self._pending[2]:
            phrase, start, _ = self._pending
            self._pending = None
            if PHRASES[phrase].is_safety or self._verified(phrase, start):
                out.append(Detection(PHRASES[phrase], phrase, 1.0, start, end, self.name))
        self._decoder.process_raw(pcm.astype("<i2").tobytes(), False, False)
        hyp = self._decoder.hyp()
        if hyp is None:
            return out
        words = " ".join(hyp.hypstr.split()).split()  # several hits come joined by two spaces
        segments = list(self._decoder.seg())
        start = self._origin + segments[0].start_frame / 100 if segments else end
        self._restart_search()
        # The longest command at the end of the hypothesis, checked once the word has ended.
        for n in range(len(words), 0, -1):
            candidate = " ".join(words[-n:])
            if candidate in PHRASES and candidate not in LEFT_OUT:
                if PHRASES[candidate].is_safety:  # favour recall: act at once, unverified
                    out.append(Detection(PHRASES[candidate], candidate, 1.0, start, end, self.name))
                else:
                    self._pending = (candidate, start, end + VERIFY_AFTER_S)
                break
        return out

    def _verified(self, phrase: str, start: float) -> bool:
        """Whether a free full-LM transcription of the hit's audio contains the phrase."""
        begin = max(0, len(self._recent) - int((self._recent_end - start + 0.2) * 16000))
        self._verifier.start_utt()
        self._verifier.process_raw(self._recent[begin:].astype("<i2").tobytes(), False, True)
        self._verifier.end_utt()
        hyp = self._verifier.hyp()
        heard = f" {hyp.hypstr} " if hyp is not None else ""
        log.debug("verify %r: full LM heard %r", phrase, heard.strip())
        return f" {phrase} " in heard
