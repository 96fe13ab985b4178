"""File-system steps the store needs to be crash-safe: fsynced folders and names, flock locks."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


def make_dirs(folder: Path) -> None:
    """Like mkdir -p, but each new folder's name is fsynced into its parent.

    So a power cut cannot take the whole folder (and the first records in it) away.
    """
    missing = [f for f in (folder, *folder.parents) if not f.exists()]
    for new in reversed(missing):
        new.mkdir(mode=0o700, exist_ok=True)
        fsync_dir(new.parent)


def fsync_dir(directory: Path) -> None:
    """Make the names in ``directory`` (new, renamed, removed) durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    """Make a file's contents durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def open_lock(path: Path) -> int:
    """A descriptor on the lock file ``path`` (created if needed), for ``flock``."""
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)


def try_lock(path: Path) -> int | None:
    """Hold an exclusive lock on ``path``: its descriptor, or None if another process holds it.

    flock is released by the kernel when the holder dies, even by kill -9.
    """
    fd = open_lock(path)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def remove_with_sidecars(path: Path) -> None:
    """Remove an SQLite file and the journal, WAL and shared-memory files SQLite keeps beside it.

    A stale journal or WAL left by a killed process would otherwise be replayed into whatever
    new file takes that name.
    """
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
