"""``voicecoach enroll --from-dir DIR``: enroll from recordings, ``DIR/<phrase>/*.wav``.

A phrase folder is the phrase with ``_`` for spaces (``that_hurts``). Every take is checked
like a spoken one; refused takes are reported and left out, the rest are used.
"""

from __future__ import annotations

import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voicecoach.audio.replay import load_input
from voicecoach.enrollment.adaptation import adapt_and_keep
from voicecoach.enrollment.folder import (
    Enrollment,
    VoiceFolder,
    clip_folder_name,
    phrase_of_folder,
)
from voicecoach.enrollment.takes import TakeChecker
from voicecoach.speech.commands.personal import ORDINARY
from voicecoach.vocabulary import PHRASES


class EnrollError(Exception):
    """Enrollment cannot go on; the message is one line for the user."""


@dataclass(frozen=True)
class Refused:
    """A recording left out, and why."""

    path: Path
    reason: str


def _known_phrases() -> str:
    return ", ".join(clip_folder_name(p) for p in [*PHRASES, ORDINARY])


def phrase_folders(directory: Path) -> dict[str, Path]:
    """Phrase -> its folder in ``directory``; ``EnrollError`` for a folder that is no phrase."""
    if not directory.is_dir():
        raise EnrollError(f"{directory}: no such folder")
    found = {}
    for folder in sorted(p for p in directory.iterdir() if p.is_dir()):
        if folder.name.startswith("."):
            continue
        phrase = phrase_of_folder(folder.name)
        if phrase not in PHRASES and phrase != ORDINARY:
            raise EnrollError(
                f"{folder}: '{folder.name}' is not a command phrase; "
                f"the folders must be named after these: {_known_phrases()}"
            )
        found[phrase] = folder
    if not found:
        raise EnrollError(
            f"{directory} has no phrase folders; put each phrase's WAV files in a folder "
            f"named after it ({_known_phrases()})"
        )
    return found


def good_takes(
    directory: Path, checker: TakeChecker, on_refused: Callable[[Refused], None]
) -> dict[str, list[np.ndarray]]:
    """Every phrase's good takes; each refused one is told to ``on_refused`` first.

    ``EnrollError`` when a phrase has no good take left.
    """
    takes: dict[str, list[np.ndarray]] = {}
    for phrase, folder in phrase_folders(directory).items():
        takes[phrase] = []
        for path in sorted(folder.glob("*.wav")):
            try:
                pcm = load_input(path)
            except (OSError, ValueError, EOFError, wave.Error) as exc:
                on_refused(
                    Refused(path, f"not a 16-bit PCM WAV file ({exc or type(exc).__name__})")
                )
                continue
            problem = checker.problem(pcm, phrase)
            if problem is not None:
                on_refused(Refused(path, problem))
            else:
                takes[phrase].append(pcm)
    empty = [clip_folder_name(p) for p, clips in takes.items() if not clips]
    if empty:
        raise EnrollError(f"no good take of: {', '.join(empty)} (in {directory}); nothing changed")
    return takes


def enroll_from_dir(
    directory: Path,
    folder: VoiceFolder,
    on_refused: Callable[[Refused], None],
    checker: TakeChecker | None = None,
) -> Enrollment:
    """Check the recordings in ``directory``, adapt to the good ones, keep the result."""
    takes = good_takes(directory, checker or TakeChecker(), on_refused)
    try:
        return adapt_and_keep(folder, takes)
    except ValueError as exc:
        raise EnrollError(f"the personal model cannot be adapted: {exc}") from exc
