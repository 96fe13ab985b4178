"""Load routine folders into a ``Library``, rejecting broken files whole with file:line:col errors.

A routine may use exercises defined in any sound file of its folder (or the built-in library), so
every file's exercises are checked before the routines. Only regular files up to
``MAX_FILE_BYTES`` are read, and the work per file grows with its size, never faster: a hostile
file is refused in moments instead of hanging ``list``, ``run`` or ``serve``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import stat
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voicecoach import paths
from voicecoach.routines.locate import MAX_DEPTH, Locations, locate
from voicecoach.routines.model import Exercise, Routine
from voicecoach.routines.validate import (
    MAX_PROBLEMS,
    Checker,
    Problem,
    check_exercises,
    check_routine,
    dotted,
    is_routine,
)

log = logging.getLogger(__name__)


BUILTIN_DIR = paths.builtin_routines_dir()

#: A routine file is a few kilobytes (the built-in exercise library is about 20 kB).
MAX_FILE_BYTES = 1024 * 1024

_TOML_POS = re.compile(r"\(at line (\d+), column (\d+)\)")
_TOO_DEEP = f"nested too deeply (at most {MAX_DEPTH} levels of tables, keys and lists)"


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
    #: Ids of routines that replace a routine of an earlier layer (a user's copy of a built-in).
    overrides: set[str] = field(default_factory=set)

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
    more: bool = False  # errors beyond MAX_PROBLEMS were left out

    def report(self, problems: Iterable[Problem]) -> None:
        assert self.locs is not None
        for p in problems:
            if len(self.errors) >= MAX_PROBLEMS:
                self.more = True
                return
            pos = self.locs.of_key(p.path) if p.at_key else self.locs.of_value(p.path)
            self.errors.append(FileError(self.path, pos.line, pos.col, dotted(p.path), p.message))


_KINDS = {
    stat.S_IFDIR: "a folder",
    stat.S_IFIFO: "a named pipe",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a device",
    stat.S_IFBLK: "a device",
}


def _read(path: Path) -> bytes | str:
    """The bytes of a routine file, or why it cannot be one.

    Only a regular file is read: a named pipe would block the reader forever. It is opened
    without blocking and checked again once open, in case it was swapped in between.
    """
    too_large = f"larger than {MAX_FILE_BYTES // 1024} KiB; a routine file is a few kilobytes"
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            kind = _KINDS.get(stat.S_IFMT(info.st_mode), "not a regular file")
            return f"not a routine file: it is {kind}"
        if info.st_size > MAX_FILE_BYTES:
            return too_large
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                return "not a routine file: it is not a regular file"
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        return f"cannot read: {exc.strerror}"
    return too_large if len(raw) > MAX_FILE_BYTES else raw


def _parse(path: Path) -> _Parsed:
    parsed = _Parsed(path)
    raw = _read(path)
    if isinstance(raw, str):
        parsed.errors.append(FileError(path, 1, 1, "(file)", raw))
        return parsed
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")  # editors on Windows add a BOM
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        message = f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as UTF-8"
        parsed.errors.append(FileError(path, line, col, "(file)", message))
        return parsed
    # Located first: the scanner stops at nesting that would make tomllib recurse or crawl.
    locs = locate(text)
    if locs.too_deep:
        line, col = locs.too_deep.line, locs.too_deep.col
        parsed.errors.append(FileError(path, line, col, "(toml)", _TOO_DEEP))
        return parsed
    try:
        parsed.data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = _TOML_POS.search(str(exc))
        line, col = (int(m.group(1)), int(m.group(2))) if m else (1, 1)
        message = _TOML_POS.sub("", str(exc)).strip()
        parsed.errors.append(FileError(path, line, col, "(toml)", f"syntax error: {message}"))
        return parsed
    except RecursionError:  # the scanner lost its way in broken TOML before the depth limit
        parsed.errors.append(FileError(path, 1, 1, "(toml)", _TOO_DEEP))
        return parsed
    parsed.locs = locs
    return parsed


def toml_files(paths: Iterable[Path]) -> list[Path]:
    """The ``*.toml`` files named by ``paths``: folders searched (sorted), each file once.

    A path ending in ``.toml`` is always taken as a file, so a folder or a pipe of that name is
    reported rather than searched or read.
    """
    files: list[Path] = []
    seen: set[Path] = set()
    for p in paths:
        found = sorted(p.glob("*.toml")) if p.suffix != ".toml" and p.is_dir() else [p]
        for f in found:
            key = f.resolve()
            if key not in seen:
                seen.add(key)
                files.append(f)
    return files


def load_files(
    files: Iterable[Path],
    base: Library | None = None,
) -> Library:
    """Load ``files`` as one group on top of ``base`` (usually the built-in library).

    A broken file contributes nothing, so one file can never knock out another: files broken on
    their own go first, then routines that need what they took with them, and only then are the
    ids that two of the remaining files both claim refused (in every file that claims them).
    A routine may replace a routine of ``base`` with the same id.
    """
    base = base or Library()
    parsed = [_parse(Path(f)) for f in files]

    # Each file's exercises on their own, and ids the base already defines.
    for p in parsed:
        if p.data is None:
            continue
        c = Checker()
        p.exercises = check_exercises(c, p.data)
        defined = p.data.get("exercises")
        for ex_id in defined if isinstance(defined, dict) else ():
            if ex_id in base.exercises:
                c.add(("exercises", ex_id), f"exercise id '{ex_id}' is already defined", True)
        p.report(c.problems)

    sound = [p for p in parsed if p.data is not None and not p.errors]
    routines: list[tuple[_Parsed, Routine]] = []
    while True:
        claims: dict[str, list[_Parsed]] = {}
        for p in sound:
            for ex_id in p.exercises:
                claims.setdefault(ex_id, []).append(p)
        pool = {i: ps[0].exercises[i] for i, ps in claims.items() if len(ps) == 1}
        disputed = {i for i, ps in claims.items() if len(ps) > 1}

        # Routines against the undisputed exercises; steps naming a disputed one wait.
        routines.clear()
        for p in sound:
            assert p.data is not None
            if not is_routine(p.data):
                continue
            c = Checker()
            known: Mapping[str, Exercise] = {**base.exercises, **pool, **p.exercises}
            routine = check_routine(c, p.path.stem, p.data, known, disputed)
            p.report(c.problems)
            if routine and not p.errors:
                routines.append((p, _with_path(routine, p.path)))
        if any(p.errors for p in sound):
            sound = [p for p in sound if not p.errors]
            continue

        # Only sound files are left: an id two of them claim is refused in all of them.
        for ex_id in sorted(disputed):
            for p in claims[ex_id]:
                others = _others(claims[ex_id], p)
                message = f"exercise id '{ex_id}' is also defined in {others}"
                p.report([Problem(("exercises", ex_id), message, at_key=True)])
        by_id: dict[str, list[_Parsed]] = {}
        for p, routine in routines:
            by_id.setdefault(routine.id, []).append(p)
        for routine_id, ps in by_id.items():
            for p in ps if len(ps) > 1 else ():
                message = f"routine id '{routine_id}' is also used by {_others(ps, p)}"
                p.report([Problem((), message)])
        if not any(p.errors for p in sound):
            break
        sound = [p for p in sound if not p.errors]

    group = Library()
    for p in sound:
        group.exercises.update(p.exercises)
    group.routines = {routine.id: routine for _, routine in routines}
    for p in parsed:
        if p.errors:
            p.errors.sort(key=lambda e: (e.line, e.col))
            if p.more or len(p.errors) >= MAX_PROBLEMS:
                message = f"only the first {len(p.errors)} errors are shown; fix these first"
                p.errors.append(FileError(p.path, 1, 1, "(file)", message))
            log.info("skipped %s: %d error(s), first: %s", p.path, len(p.errors), p.errors[0])
            group.errors.extend(p.errors)
    return group


def _others(claimants: list[_Parsed], p: _Parsed) -> str:
    return ", ".join(_display(o.path) for o in claimants if o is not p)


def _with_path(routine: Routine, path: Path) -> Routine:
    return dataclasses.replace(routine, path=path)


def merge(*libraries: Library) -> Library:
    """Combine libraries loaded in layers (built-in first); a later layer's routine wins."""
    out = Library()
    for lib in libraries:
        out.overrides |= lib.overrides | (lib.routines.keys() & out.routines.keys())
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
