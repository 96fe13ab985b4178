"""Load routine folders into a ``Library``, rejecting broken files whole with file:line:col errors.

Files are loaded in two passes so a routine may use exercises defined in any sound file of its
folder (or the built-in library): first every file's exercises, then every file's routine.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voicecoach.routines.locate import Locations, locate
from voicecoach.routines.model import Exercise, Routine
from voicecoach.routines.validate import (
    Checker,
    Problem,
    check_exercises,
    check_routine,
    dotted,
    is_routine,
)

log = logging.getLogger(__name__)


def _builtin_dir() -> Path:
    # A wheel carries the library inside the package; a source checkout has it at the top level.
    packaged = Path(__file__).resolve().parent.parent / "library"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[2] / "routines"


BUILTIN_DIR = _builtin_dir()

_TOML_POS = re.compile(r"\(at line (\d+), column (\d+)\)")


@dataclass(frozen=True)
class FileError:
    """One error in a routine file, printable as ``path:line:col: dotted.path: message``."""

    path: Path
    line: int
    col: int
    where: str
    message: str

    def __str__(self) -> str:
        return f"{_display(self.path)}:{self.line}:{self.col}: {self.where}: {self.message}"


@dataclass
class Library:
    """Sound exercises and routines, plus the files that were skipped and why."""

    exercises: dict[str, Exercise] = field(default_factory=dict)
    routines: dict[str, Routine] = field(default_factory=dict)
    errors: list[FileError] = field(default_factory=list)

    @property
    def skipped(self) -> list[Path]:
        """Files rejected because of errors."""
        return sorted({e.path for e in self.errors})


def _display(path: Path) -> str:
    rel = os.path.relpath(path)
    return str(path) if rel.startswith("..") else rel


@dataclass
class _Parsed:
    path: Path
    data: dict[str, Any] | None = None
    locs: Locations | None = None
    errors: list[FileError] = field(default_factory=list)
    exercises: dict[str, Exercise] = field(default_factory=dict)

    def report(self, problems: Iterable[Problem]) -> None:
        assert self.locs is not None
        for p in problems:
            pos = self.locs.of_key(p.path) if p.at_key else self.locs.of_value(p.path)
            self.errors.append(FileError(self.path, pos.line, pos.col, dotted(p.path), p.message))


def _parse(path: Path) -> _Parsed:
    parsed = _Parsed(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        parsed.errors.append(FileError(path, 1, 1, "(file)", f"cannot read: {exc.strerror}"))
        return parsed
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        message = f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as UTF-8"
        parsed.errors.append(FileError(path, line, col, "(file)", message))
        return parsed
    try:
        parsed.data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = _TOML_POS.search(str(exc))
        line, col = (int(m.group(1)), int(m.group(2))) if m else (1, 1)
        message = _TOML_POS.sub("", str(exc)).strip()
        parsed.errors.append(FileError(path, line, col, "(toml)", f"syntax error: {message}"))
        return parsed
    parsed.locs = locate(text)
    return parsed


def toml_files(paths: Iterable[Path]) -> list[Path]:
    """The ``*.toml`` files named by ``paths`` (files as given, folders searched, sorted)."""
    files: list[Path] = []
    for p in paths:
        files.extend(sorted(p.glob("*.toml")) if p.is_dir() else [p])
    return files


def load_files(
    files: Iterable[Path],
    base: Library | None = None,
) -> Library:
    """Load ``files`` as one group on top of ``base`` (usually the built-in library)."""
    base = base or Library()
    parsed = [_parse(Path(f)) for f in files]
    group = Library()

    # Pass 1: exercises, and ids that clash with ones already defined.
    for p in parsed:
        if p.data is None:
            continue
        c = Checker()
        p.exercises = check_exercises(c, p.data)
        defined = p.data.get("exercises")
        for ex_id in defined if isinstance(defined, dict) else ():
            if ex_id in base.exercises or ex_id in group.exercises:
                c.add(("exercises", ex_id), f"exercise id '{ex_id}' is already defined", True)
        p.report(c.problems)
        if not p.errors:
            group.exercises.update(p.exercises)

    # Pass 2: routines, against everything sound so far plus the file's own exercises.
    for p in parsed:
        if p.data is None or not is_routine(p.data):
            continue
        c = Checker()
        known: Mapping[str, Exercise] = {**base.exercises, **group.exercises, **p.exercises}
        routine = check_routine(c, p.path.stem, p.data, known)
        if p.path.stem in base.routines or p.path.stem in group.routines:
            c.add((), f"routine id '{p.path.stem}' is already used; rename the file")
        p.report(c.problems)
        if routine and not p.errors:
            group.routines[routine.id] = _with_path(routine, p.path)

    for p in parsed:
        p.errors.sort(key=lambda e: (e.line, e.col))
        if p.errors:
            log.info("skipped %s: %d error(s), first: %s", p.path, len(p.errors), p.errors[0])
            group.errors.extend(p.errors)
            for ex_id in p.exercises:
                group.exercises.pop(ex_id, None)
            group.routines.pop(p.path.stem, None)
    return group


def _with_path(routine: Routine, path: Path) -> Routine:
    return dataclasses.replace(routine, path=path)


def merge(*libraries: Library) -> Library:
    """Combine libraries loaded in layers (built-in first)."""
    out = Library()
    for lib in libraries:
        out.exercises.update(lib.exercises)
        out.routines.update(lib.routines)
        out.errors.extend(lib.errors)
    return out


def load_builtin() -> Library:
    """The library shipped with the package."""
    return load_files(toml_files([BUILTIN_DIR]))


def load_library(user_dir: Path | None) -> Library:
    """The built-in library plus the user's routines folder (when it exists)."""
    builtin = load_builtin()
    if user_dir is None or not user_dir.is_dir():
        return builtin
    return merge(builtin, load_files(toml_files([user_dir]), base=builtin))


def validate_paths(paths: list[Path]) -> list[FileError]:
    """Validate files or folders against the built-in exercise library; all errors, in order."""
    builtin = load_builtin()
    errors = list(builtin.errors)
    files = toml_files(paths)
    builtin_files = {f.resolve() for f in toml_files([BUILTIN_DIR])}
    own = [f for f in files if f.resolve() not in builtin_files]
    if own:
        errors += load_files(own, base=builtin).errors
    return errors
