"""The user's voice folder, ``<data_dir>/voice/``: clips, the personal model and its status.

Voice recordings are personal: the folder is private (0700) and nothing here ever leaves it.
Every write is atomic (a temporary file renamed over the old one), so a power cut leaves the
previous enrollment or the new one, never half of either.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import wave
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from voicecoach.audio import SAMPLE_RATE
from voicecoach.speech.commands import personal
from voicecoach.store.files import fsync_dir, make_dirs

FOLDER = "voice"
CLIPS = "clips"
MODEL = "personal.npz"
STATUS = "enrollment.json"


def clip_folder_name(phrase: str) -> str:
    """A phrase as a folder name: ``"that hurts"`` -> ``"that_hurts"``."""
    return phrase.replace(" ", "_")


def phrase_of_folder(name: str) -> str:
    """The phrase a clip folder stands for: ``"that_hurts"`` -> ``"that hurts"``."""
    return name.replace("_", " ")


@dataclass(frozen=True)
class PhraseResult:
    """One enrolled phrase: the takes kept, and how many held-out takes the model then heard."""

    takes: int
    heard: int
    trials: int


@dataclass(frozen=True)
class Enrollment:
    """What ``enrollment.json`` holds: the phrases enrolled, when, and how long adapting took."""

    phrases: dict[str, PhraseResult]
    when: str  # ISO 8601, local time with offset
    seconds: float

    def to_json(self) -> dict[str, Any]:
        """The JSON object written to the status file."""
        return {
            "phrases": {
                p: {"takes": r.takes, "heard": r.heard, "trials": r.trials}
                for p, r in self.phrases.items()
            },
            "when": self.when,
            "seconds": round(self.seconds, 1),
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Enrollment:
        """Read the status file's object; ``KeyError``/``TypeError``/``ValueError`` if damaged."""
        phrases = {
            str(p): PhraseResult(int(r["takes"]), int(r["heard"]), int(r["trials"]))
            for p, r in obj["phrases"].items()
        }
        return cls(phrases, str(obj["when"]), float(obj["seconds"]))


def _write_atomically(path: Path, write: Any) -> None:
    """``write(file)`` into a temporary file beside ``path``, then rename it over ``path``."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # born 0600
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def _write_wav(f: Any, pcm: np.ndarray) -> None:
    with wave.open(f, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(np.asarray(pcm, dtype="<i2").tobytes())


class VoiceFolder:
    """One user's voice folder under a data folder (created on the first write)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / FOLDER
        self.clips = self.path / CLIPS
        self.model = self.path / MODEL
        self.status_file = self.path / STATUS

    def create(self) -> None:
        """Make the folder, private: only its owner may read voice recordings."""
        make_dirs(self.path)
        self.path.chmod(0o700)  # an existing folder keeps whatever mode it had otherwise

    # -- writing ---------------------------------------------------------------------------
    def save_takes(self, takes: Mapping[str, Sequence[np.ndarray]]) -> None:
        """Replace all clips with ``takes`` (phrase -> 16 kHz int16 clips), ``<n>.wav`` from 1.

        The new clips are written beside the old ones and swapped in by one rename.
        """
        self.create()
        new = Path(tempfile.mkdtemp(dir=self.path, prefix=".clips-new-"))
        try:
            for phrase, clips in takes.items():
                folder = new / clip_folder_name(phrase)
                folder.mkdir(mode=0o700)
                for n, pcm in enumerate(clips, 1):
                    _write_atomically(folder / f"{n}.wav", lambda f, pcm=pcm: _write_wav(f, pcm))
            old = self.path / ".clips-old"
            shutil.rmtree(old, ignore_errors=True)
            if self.clips.exists():
                self.clips.rename(old)
            new.rename(self.clips)
            fsync_dir(self.path)
            shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(new, ignore_errors=True)

    def install_model(self, written: Path) -> None:
        """Make the model file ``written`` (inside this folder) the personal model."""
        os.replace(written, self.model)
        fsync_dir(self.path)

    def new_model_path(self) -> Path:
        """Where an adaptation writes before ``install_model`` (ends in .npz: numpy insists)."""
        self.create()
        return self.path / ".personal-new.npz"

    def save_status(self, enrollment: Enrollment) -> None:
        """Write ``enrollment.json``."""
        self.create()
        text = json.dumps(enrollment.to_json(), indent=2) + "\n"
        _write_atomically(self.status_file, lambda f: f.write(text.encode()))

    # -- reading ---------------------------------------------------------------------------
    def enrolled_clips(self) -> dict[str, list[Path]]:
        """Phrase -> its clip files, in take order (empty when nothing is enrolled)."""
        if not self.clips.is_dir():
            return {}
        found = {}
        for folder in sorted(p for p in self.clips.iterdir() if p.is_dir()):
            wavs = sorted(folder.glob("*.wav"), key=lambda p: (len(p.stem), p.stem))
            if wavs:
                found[phrase_of_folder(folder.name)] = wavs
        return found

    def status(self) -> Enrollment | None:
        """The status file's contents; None when there is none or it cannot be read."""
        try:
            return Enrollment.from_json(json.loads(self.status_file.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def model_problem(self) -> str | None:
        """Why the personal model is not used (there is none, or ``personal.problem``), or None."""
        if not self.model.is_file():
            return "no personal voice"
        return personal.problem(self.model)

    def model_stamp(self) -> tuple[int, int] | None:
        """The personal model file's modification time and size; None without one.

        A change means the model was adapted again or removed (the service rebuilds then).
        """
        try:
            found = self.model.stat()
        except OSError:
            return None
        return found.st_mtime_ns, found.st_size

    def active_model(self) -> Path | None:
        """The personal model to listen with, or None (then the general model is used)."""
        return self.model if self.model_problem() is None else None

    # -- removing --------------------------------------------------------------------------
    def remove(self) -> list[Path]:
        """Delete the clips, the model and the status (nothing else); what was deleted."""
        deleted = []
        # What an interrupted write left behind is voice data too; it goes without mention.
        if self.path.is_dir():
            for leftover in self.path.glob(".*"):
                if leftover.name.startswith((".clips-", ".personal-new", f".{STATUS}.")):
                    _delete(leftover)
        for path in (self.clips, self.model, self.status_file):
            if path.exists():
                _delete(path)
                deleted.append(path)
        if deleted:
            fsync_dir(self.path)
        return deleted


def _delete(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink()
