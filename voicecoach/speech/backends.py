"""Choosing recognizers: the general one (vosk or pocketsphinx) and the safety spotter beside it."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from voicecoach.speech.models import ModelNotFound, find_vosk_model
from voicecoach.speech.recognizer import Recognizer, RecognizerUnavailable

log = logging.getLogger(__name__)

ASR_CHOICES = ("auto", "vosk", "pocketsphinx", "none")


@dataclass
class Choice:
    """What listens, and why (shown by ``voicecoach doctor`` and logged at start)."""

    recognizers: list[Recognizer] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)


def choose(
    asr: str = "auto",
    vosk_model: Path | None = None,
    language: str = "en",
    spotter: bool = True,
) -> Choice:
    """Build the recognizers: ``asr`` for every command, plus the spotter for stop and pain."""
    choice = Choice()
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
            choice.reasons.append(f"commands: vosk, model {path}{missing}")
        except (ModelNotFound, RecognizerUnavailable) as exc:
            if asr == "vosk":
                raise RecognizerUnavailable(str(exc)) from exc
            choice.reasons.append(f"vosk not used: {str(exc).splitlines()[0]}")
    safety_lane = None
    if spotter:
        try:
            from voicecoach.speech.spotter.recognizer import SpotterRecognizer  # noqa: PLC0415

            safety_lane = SpotterRecognizer()
        except RecognizerUnavailable as exc:
            choice.reasons.append(f"safety lane unavailable: {exc}")
    if asr == "pocketsphinx" or (asr == "auto" and not choice.recognizers):
        from voicecoach.speech.pocketsphinx_asr import PocketsphinxRecognizer  # noqa: PLC0415

        choice.recognizers.append(PocketsphinxRecognizer(safety=safety_lane is None))
        lane = "other commands" if safety_lane else "all commands"
        choice.reasons.append(
            f"{lane}: pocketsphinx keyword spotting, verified (model in its package)"
        )
    if safety_lane is not None:
        choice.recognizers.append(safety_lane)
        choice.reasons.append("stop and pain: the trained safety spotter")
    for reason in choice.reasons:
        log.info("%s", reason)
    return choice
