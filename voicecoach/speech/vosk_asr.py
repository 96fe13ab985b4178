"""vosk (Kaldi) recognition restricted to the command grammar.

Grammar mode forces any speech onto grammar words, so the grammar includes ``[unk]`` where the
model has it, and results are accepted only with every word's confidence above a threshold.
Every grammar word is looked up in the model first: a missing word is reported (its phrases are
left out and listed by ``missing``), never silently dropped by Kaldi.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection
from pathlib import Path
from typing import Any

import numpy as np

from voicecoach.speech.recognizer import Answer, Detection, RecognizerUnavailable
from voicecoach.vocabulary import PHRASES_BY_LANGUAGE, Expectation, Intent, Value

log = logging.getLogger(__name__)

#: Minimum per-word confidence of a final result (vosk reports 1.0 for forced grammar words
#: often, so this mostly filters the obvious misfits).
MIN_CONFIDENCE = 0.6


def load_model(path: Path) -> Any:
    """A vosk Model from ``path`` (import and load errors become RecognizerUnavailable)."""
    try:
        import vosk  # noqa: PLC0415 - optional at import time

        vosk.SetLogLevel(-1)
        return vosk.Model(str(path))
    except Exception as exc:  # ImportError, or vosk's own exception on a bad folder
        raise RecognizerUnavailable(f"cannot load the vosk model at {path}: {exc}") from exc


def build_grammar(model: Any, phrases: Collection[str]) -> tuple[list[str], list[str]]:
    """(grammar entries, missing words): phrases whose words the model knows, plus [unk]."""
    missing = sorted({w for p in phrases for w in p.split() if model.vosk_model_find_word(w) < 0})
    usable = [p for p in phrases if not set(p.split()) & set(missing)]
    grammar = sorted(usable)
    if model.vosk_model_find_word("[unk]") >= 0:
        grammar.append("[unk]")
    else:
        log.warning(
            "this vosk model has no [unk]: out-of-grammar speech is filtered by confidence only"
        )
    for word in missing:
        log.warning("vosk model lacks the word %r: phrases with it are not recognized", word)
    return grammar, missing


def _whole_phrase(
    result: dict[str, Any], phrases: Collection[str], offset: float, min_conf: float
) -> tuple[str, float, float, float] | None:
    """(phrase, confidence, start, end) when a final result is one whole confident phrase."""
    words = [w for w in result.get("result", []) if w.get("word") != "[unk]"]
    text = " ".join(w["word"] for w in words)
    if not words or text not in phrases or len(words) != len(result.get("result", [])):
        return None
    confidence = min(float(w.get("conf", 0.0)) for w in words)
    if confidence < min_conf:
        return None
    return text, confidence, offset + words[0]["start"], offset + words[-1]["end"]


def parse_result(
    result: dict[str, Any], phrases: dict[str, Intent], offset: float, min_conf: float
) -> Detection | None:
    """A final vosk result (with word timings) -> a detection of a whole phrase, or None."""
    heard = _whole_phrase(result, phrases, offset, min_conf)
    if heard is None:
        return None
    text, confidence, start, end = heard
    return Detection(phrases[text], text, confidence, start, end, "vosk")


def parse_answer(
    result: dict[str, Any], answers: dict[str, Value], offset: float, min_conf: float
) -> Answer | None:
    """A final vosk result -> the expected answer it is as a whole, or None."""
    heard = _whole_phrase(result, answers, offset, min_conf)
    if heard is None:
        return None
    text, confidence, start, end = heard
    return Answer(answers[text], text, confidence, start, end, "vosk")


class VoskRecognizer:
    """Grammar-restricted vosk, acting early on partial results for the safety phrases.

    ``expect`` swaps the grammar to what is expected: every command phrase, and the expected
    answer's phrases. Commands not expected stay in the grammar and are dropped when heard:
    taken out, the speech they matched is forced onto what is left (measured: with only stop
    and pain in the grammar, "next" was heard as "stop" by a model without ``[unk]``).
    """

    name = "vosk"

    def __init__(self, model_path: Path, language: str = "en", min_conf: float = MIN_CONFIDENCE):
        import vosk  # noqa: PLC0415

        self.model_path = model_path
        self.phrases = PHRASES_BY_LANGUAGE[language]
        self.model = load_model(model_path)
        self.commands = self.phrases  # the command phrases listened for now
        self.answers: dict[str, Value] = {}  # the answer phrases listened for now
        self.grammar, self.missing = build_grammar(self.model, self.phrases)
        self.min_conf = min_conf
        self._vosk = vosk
        self._rec = self._new()
        self._origin: float | None = None  # audio time of the first sample fed since reset
        self._fired: set[str] = set()  # safety phrases already reported from partials

    def _new(self) -> Any:
        grammar = json.dumps(self.grammar, ensure_ascii=False)
        rec = self._vosk.KaldiRecognizer(self.model, 16000, grammar)
        rec.SetWords(True)
        return rec

    def reset(self) -> None:
        """Start a fresh utterance."""
        self._rec = self._new()
        self._origin = None
        self._fired = set()

    def expect(self, expectation: Expectation) -> None:
        """Listen with a grammar of what is expected; the utterance in progress is dropped."""
        self.commands = expectation.commands(self.phrases)
        # A command phrase that is also an answer stays a command (stop must always stop).
        self.answers = {
            p: v for p, v in expectation.answer_phrases().items() if p not in self.phrases
        }
        self.grammar, self.missing = build_grammar(self.model, [*self.phrases, *self.answers])
        self.reset()

    def accept(self, pcm: np.ndarray, t: float) -> list[Detection | Answer]:
        """Feed a block; final results, and safety phrases as soon as a partial shows them."""
        if self._origin is None:
            self._origin = t  # vosk's word times count from the first sample it was given
        out: list[Detection | Answer] = []
        if self._rec.AcceptWaveform(pcm.astype("<i2").tobytes()):
            result = json.loads(self._rec.Result())
            detection = parse_result(result, self.commands, self._origin, self.min_conf)
            if detection and detection.phrase not in self._fired:
                out.append(detection)
            answer = parse_answer(result, self.answers, self._origin, self.min_conf)
            if answer is not None:
                out.append(answer)
            self._fired = set()
        else:
            partial = json.loads(self._rec.PartialResult()).get("partial", "")
            intent = self.commands.get(partial)
            if intent is not None and intent.is_safety and partial not in self._fired:
                self._fired.add(partial)
                end = t + len(pcm) / 16000
                out.append(Detection(intent, partial, 0.5, end, end, "vosk-partial"))
        return out
