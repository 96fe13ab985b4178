"""Where vosk models are found, and how the English one is downloaded (checked, atomic)."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from voicecoach import paths

log = logging.getLogger(__name__)

#: Where ``voicecoach models download`` puts a model (see ``paths.models_dir``).
MODELS_DIR = paths.models_dir()


@dataclass(frozen=True)
class ModelArchive:
    """A downloadable model: where from, its checksum, the folder it unpacks to."""

    name: str
    url: str
    sha256: str


ENGLISH_SMALL = ModelArchive(
    name="vosk-model-small-en-us-0.15",
    url="https://alphacephei.com/vosk/models/vosk-model-small-en-us-0.15.zip",
    sha256="30f26242c4eb449f948e42cb302dd7a686cb29a3423a8367f99ff41780942498",
)


class ModelNotFound(RuntimeError):
    """No model where we looked; the message lists the places and how to get one."""


def is_vosk_model(path: Path) -> bool:
    """A folder that looks like an unpacked vosk model (and not a half-extracted one)."""
    return path.is_dir() and (path / "am").is_dir() and (path / "conf").is_dir()


def search_path(explicit: Path | None = None) -> list[Path]:
    """Where to look, in order: option, $VOICECOACH_VOSK_MODEL, MODELS_DIR, caches, system."""
    places: list[Path] = []
    if explicit is not None:
        places.append(explicit)
    if os.environ.get("VOICECOACH_VOSK_MODEL"):
        places.append(Path(os.environ["VOICECOACH_VOSK_MODEL"]))
    places += [MODELS_DIR, Path.home() / ".cache" / "vosk", Path("/usr/share/vosk")]
    return places


def find_vosk_model(explicit: Path | None = None) -> Path:
    """The first vosk model found; a place may be the model or a folder holding models."""
    places = search_path(explicit)
    for place in places:
        if is_vosk_model(place):
            return place
        if place.is_dir():
            for child in sorted(place.iterdir()):
                if child.name.startswith("vosk-model") and is_vosk_model(child):
                    return child
    looked = "\n".join(f"  {p}" for p in places)
    raise ModelNotFound(
        "No vosk model found. Looked in:\n"
        f"{looked}\n"
        "Download the small English model with: voicecoach models download"
    )


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


Progress = Callable[[int, int | None], None]  # (bytes so far, total or None)


def download(archive: ModelArchive, dest: Path, progress: Progress | None = None) -> Path:
    """Fetch, verify and unpack ``archive`` into ``dest/<name>``; return that folder.

    The zip is checked against its SHA-256 before anything is unpacked, and unpacking happens
    in a temporary folder beside the target that is renamed into place only when complete, so
    a half-extracted model is never found by ``find_vosk_model``.
    """
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / archive.name
    if is_vosk_model(target):
        log.info("%s is already there", target)
        return target
    with tempfile.TemporaryDirectory(dir=dest, prefix=".download-") as tmp:
        zip_path = Path(tmp) / f"{archive.name}.zip"
        with urllib.request.urlopen(archive.url, timeout=60) as response, zip_path.open("wb") as f:
            total = int(response.headers.get("Content-Length") or 0) or None
            done = 0
            while block := response.read(1 << 16):
                f.write(block)
                done += len(block)
                if progress:
                    progress(done, total)
        actual = sha256_of(zip_path)
        if actual != archive.sha256:
            raise ValueError(
                f"checksum mismatch for {archive.url}: expected {archive.sha256}, got {actual}; "
                "nothing was installed"
            )
        unpacked = Path(tmp) / "unpacked"
        with zipfile.ZipFile(zip_path) as z:
            for member in z.namelist():  # refuse paths that would escape the folder
                if member.startswith("/") or ".." in Path(member).parts:
                    raise ValueError(f"unsafe path in archive: {member}")
            z.extractall(unpacked)
        inner = unpacked / archive.name
        source = inner if inner.is_dir() else unpacked
        if not is_vosk_model(source):
            raise ValueError(f"{archive.url} does not contain a vosk model")
        if target.exists():  # a broken earlier attempt: replace it
            shutil.rmtree(target)
        os.rename(source, target)  # atomic on one filesystem
    return target
