"""Choosing recognizers: the command model, always armed, and a general recognizer beside it."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from voicecoach.speech.models import ModelNotFound, find_vosk_model
from voicecoach.speech.recognizer import Recognizer, RecognizerUnavailable

log = logging.getLogger(__name__)


@dataclass
class Choice:
    """What listens, and why (shown by ``voicecoach doctor`` and logged at start)."""

    recognizers: list[Recognizer] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)


def choose(
    asr: str = "auto",
    vosk_model: Path | None = None,
    language: str = "en",
    command_model: bool = True,
    personal: Path | None = None,
) -> Choice:
    """Build the recognizers: the command model, plus ``asr`` beside it.

    ``personal``: a personal model from enrollment, which then hears the intents it was
    adapted for beside the general model (``speech/commands/personal.py``).
    """
    choice = Choice()
    command_model_on = False
    if command_model:
        try:
            from voicecoach.speech.commands.recognizer import CommandRecognizer  # noqa: PLC0415

            choice.recognizers.append(CommandRecognizer(personal=personal))
            command_model_on = True
            choice.reasons.append(
                "every command: the trained command model"
                + ("" if personal is None else ", with your personal voice")
            )
        except RecognizerUnavailable as exc:
            choice.reasons.append(f"command model unavailable: {exc}")
    if asr in ("auto", "vosk"):
        try:
            from voicecoach.speech.vosk_asr import VoskRecognizer  # noqa: PLC0415

            path = find_vosk_model(vosk_model)
            recognizer = VoskRecognizer(path, language)
            choice.recognizers.append(recognizer)
            missing = (
                f"; words missing from the model: {', '.join(recognizer.missing)}"
                if recognizer.missing
                else ""
            )
            choice.reasons.append(f"also: vosk, model {path}{missing}")
        except (ModelNotFound, RecognizerUnavailable) as exc:
            if asr == "vosk":
                raise RecognizerUnavailable(str(exc)) from exc
            choice.reasons.append(f"vosk not used: {exc}")
    if asr == "pocketsphinx" or (not choice.recognizers and asr == "auto"):
        # Beside the command model, stop and pain are left to it: spotted by pocketsphinx they
        # fired on everyday speech (measured). Without it, pocketsphinx hears every command.
        from voicecoach.speech.pocketsphinx_asr import PocketsphinxRecognizer  # noqa: PLC0415

        choice.recognizers.append(PocketsphinxRecognizer(safety=not command_model_on))
        choice.reasons.append("also: pocketsphinx keyword spotting (model in its package)")
    if not any(r.name == "vosk" for r in choice.recognizers):
        # Answers (a pain score, "easy", "lying down") are free words: transcribed, only while
        # a question is open. Vosk hears them by its grammar instead.
        from voicecoach.speech.answers import AnswerRecognizer  # noqa: PLC0415
        from voicecoach.speech.transcribe import best  # noqa: PLC0415

        choice.recognizers.append(AnswerRecognizer(best))
        choice.reasons.append("answers to questions: transcribed while a question is open")
    for reason in choice.reasons:
        log.info("%s", reason)
    return choice
