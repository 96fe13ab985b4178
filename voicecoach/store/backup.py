"""The verified backup of the database, and putting it back when the database is damaged.

After every session the store copies the database with SQLite's backup API into a scratch file,
checks the copy (``PRAGMA integrity_check``) and only then renames it into place, keeping the
backup it replaces as the previous one. So a crash mid-copy leaves the last good backup as it
was, and a copy that fails its check (a database gone bad on disk) replaces nothing::

    DATA_DIR/backup/voicecoach.db            the newest verified copy
    DATA_DIR/backup/voicecoach.previous.db   the one before it

``restore`` copies the best of the two that still passes its check over ``voicecoach.db``; the
file it replaces (and its WAL) is kept beside it under a new name, never deleted.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sqlite3
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from voicecoach.store.files import (
    fsync_dir,
    fsync_file,
    make_dirs,
    open_lock,
    remove_with_sidecars,
    try_lock,
)
from voicecoach.store.schema import StoreError, user_version

DB_NAME = "voicecoach.db"
RUNNER_LOCK_NAME = "voicecoach.lock"
BACKUP_DIR = "backup"
LATEST_NAME = "voicecoach.db"
PREVIOUS_NAME = "voicecoach.previous.db"
SCRATCH_NAME = "voicecoach.db.tmp"
BACKUP_LOCK_NAME = "lock"
RESTORING_NAME = "voicecoach.db.restoring"
BUSY_TIMEOUT_S = 5.0


class BackupError(StoreError):
    """No backup could be made, checked or restored; the message says which file and why."""


@dataclass(frozen=True)
class BackupInfo:
    """A backup that passed its integrity check, and what it holds."""

    path: Path
    made: str  # when it was written (the file's time), ISO-8601 UTC
    sessions: int
    avoided: tuple[str, ...]  # the exercises on its avoid list

    def describe(self) -> str:
        """'3 sessions, 1 exercise on the avoid list (bridge)'."""
        sessions = f"{self.sessions} session{'s' if self.sessions != 1 else ''}"
        count = len(self.avoided)
        avoided = f"{count} exercise{'s' if count != 1 else ''} on the avoid list"
        return f"{sessions}, {avoided}" + (f" ({', '.join(self.avoided)})" if count else "")


class DamagedDatabaseError(StoreError):
    """The database cannot be trusted: empty, damaged, or missing where a backup shows it was.

    Starting afresh would lose the avoid list, so the store refuses and names the backup.
    """

    def __init__(self, path: Path, problem: str) -> None:
        folder = backup_dir(path.parent)
        self.path = path
        self.problem = problem
        self.backup, problems = best_backup(path.parent)
        if self.backup is not None:
            b = self.backup
            self.found = f"The last verified backup is {b.path} (made {b.made}: {b.describe()})."
        else:
            why = f" ({'; '.join(problems)})" if problems else ""
            self.found = f"There is no usable backup in {folder}{why}."
        # What to move aside to start afresh: a backup file, even a bad one, marks a used folder.
        self.to_move: tuple[Path, ...] = (path,) if path.exists() else ()
        if has_backup(path.parent):
            self.to_move += (folder,)
        super().__init__(f"{path} {problem}. {self.found}")


@dataclass(frozen=True)
class Restored:
    """What ``restore`` did: the backup it put in place and where the old file was kept."""

    backup: BackupInfo
    kept_aside: Path | None  # None when there was no database file to keep


def backup_dir(data_dir: Path) -> Path:
    """Where the backups of ``data_dir/voicecoach.db`` live."""
    return data_dir / BACKUP_DIR


def has_backup(data_dir: Path) -> bool:
    """True when a backup file exists, good or not: the data folder has held a database."""
    folder = backup_dir(data_dir)
    return (folder / LATEST_NAME).exists() or (folder / PREVIOUS_NAME).exists()


def is_damage(err: sqlite3.Error) -> bool:
    """True for SQLite's 'malformed' and 'not a database' errors (not for busy or I/O ones)."""
    code = getattr(err, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


def damage(conn: sqlite3.Connection) -> str | None:
    """What ``PRAGMA quick_check`` finds wrong with an open database, or None when it is sound.

    quick_check reads every page (it skips only the index cross-checks), so a truncated or
    overwritten file shows up here, before anything is written to it.
    """
    try:
        rows = conn.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as err:
        if is_damage(err):
            return str(err)
        raise
    problems = [str(row[0]) for row in rows]
    if problems == ["ok"]:
        return None
    more = f" (and {len(problems) - 2} more)" if len(problems) > 2 else ""
    return "; ".join(problems[:2]) + more


def inspect(path: Path) -> BackupInfo:
    """Check a copy (read-only, full ``integrity_check``) and read what it holds."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
        try:
            problems = [str(row[0]) for row in conn.execute("PRAGMA integrity_check")]
            if problems != ["ok"]:
                raise BackupError(f"{path} failed its check: {'; '.join(problems[:2])}")
            if user_version(conn) == 0:
                raise BackupError(f"{path} failed its check: it holds no voicecoach data")
            (sessions,) = conn.execute("SELECT count(*) FROM sessions").fetchone()
            avoided = tuple(r[0] for r in conn.execute("SELECT exercise FROM avoid ORDER BY since"))
        finally:
            conn.close()
    except sqlite3.Error as err:
        raise BackupError(f"{path} failed its check: {err}") from err
    made = datetime.fromtimestamp(path.stat().st_mtime, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return BackupInfo(path, made, int(sessions), avoided)


def best_backup(data_dir: Path) -> tuple[BackupInfo | None, list[str]]:
    """The newest backup that passes its check, and what is wrong with those that do not."""
    problems: list[str] = []
    folder = backup_dir(data_dir)
    for name in (LATEST_NAME, PREVIOUS_NAME):
        path = folder / name
        if not path.exists():
            continue
        try:
            return inspect(path), problems
        except (BackupError, OSError) as err:
            problems.append(str(err))
    return None, problems


def write_backup(source: Path, data_dir: Path) -> BackupInfo:
    """Copy the database ``source`` into ``data_dir``'s backup folder, verified; the new backup.

    Raises ``BackupError`` (and leaves the existing backups as they were) when the copy fails
    or does not pass its check.
    """
    folder = backup_dir(data_dir)
    make_dirs(folder)
    lock = open_lock(folder / BACKUP_LOCK_NAME)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process's backup (an `avoid add`) goes first
        scratch = folder / SCRATCH_NAME
        remove_with_sidecars(scratch)  # what a crash mid-backup left
        try:
            _copy(source, scratch)
            info = inspect(scratch)
            fsync_file(scratch)
        except BaseException:
            remove_with_sidecars(scratch)
            raise
        latest = folder / LATEST_NAME
        if latest.exists():
            os.replace(latest, folder / PREVIOUS_NAME)
        os.replace(scratch, latest)
        fsync_dir(folder)
    finally:
        os.close(lock)
    return replace(info, path=latest)


def restore(data_dir: Path, *, force: bool = False) -> Restored:
    """Put the best verified backup in place of ``data_dir/voicecoach.db``.

    The replaced file (with its WAL) is kept beside it as ``voicecoach.db.damaged-<time>``.
    Refuses (``BackupError``, nothing changed) when there is no usable backup, when a process
    is running sessions on this folder, or, unless ``force``, when the database reads as sound.
    """
    folder = backup_dir(data_dir)
    if not has_backup(data_dir):
        raise BackupError(f"there is no backup in {folder}; nothing was changed")
    lock = try_lock(data_dir / RUNNER_LOCK_NAME)
    if lock is None:
        raise BackupError(
            f"another voicecoach is running sessions on {data_dir} (voicecoach serve or run); "
            "stop it first"
        )
    try:
        backup, problems = best_backup(data_dir)
        if backup is None:
            raise BackupError("; ".join(problems) + "; nothing was changed")
        db = data_dir / DB_NAME
        problem = _problem(db)
        if problem is None and not force:
            raise BackupError(
                f"{db} reads as sound, so there is nothing to restore; to replace it with the "
                f"backup of {backup.made} anyway (it is kept aside), add --force"
            )
        scratch = data_dir / RESTORING_NAME
        remove_with_sidecars(scratch)
        try:
            _copy(backup.path, scratch)
            inspect(scratch)
            fsync_file(scratch)
        except BaseException:
            remove_with_sidecars(scratch)
            raise
        kept = _keep_aside(db, "before-restore" if problem is None else "damaged")
        os.replace(scratch, db)
        fsync_dir(data_dir)
    finally:
        os.close(lock)
    return Restored(backup, kept)


def _copy(source: Path, dest: Path) -> None:
    # A plain file in rollback-journal mode: it opens read-only later without WAL side files.
    # Created here first so it is private (0600) like the database; SQLite would make it 0644.
    os.close(os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
    try:
        src = sqlite3.connect(source, timeout=BUSY_TIMEOUT_S)
        try:
            out = sqlite3.connect(dest, isolation_level=None)
            try:
                src.backup(out)
                out.execute("PRAGMA journal_mode = DELETE")
            finally:
                out.close()
        finally:
            src.close()
    except sqlite3.Error as err:
        raise BackupError(f"could not copy {source}: {err}") from err


def _problem(db: Path) -> str | None:
    # Read-only, so looking at a damaged file changes nothing in it.
    if not db.exists():
        return "is missing"
    if db.stat().st_size == 0:
        return "is empty"
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
        try:
            return damage(conn)
        finally:
            conn.close()
    except sqlite3.DatabaseError as err:
        return str(err)


def _keep_aside(db: Path, why: str) -> Path | None:
    # A hard link keeps the old file under its new name while voicecoach.db still exists, so
    # a crash here never leaves no database at all (which would start afresh).
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    kept = db.with_name(f"{db.name}.{why}-{stamp}")
    n = 1
    while Path(f"{kept}").exists() or Path(f"{kept}-wal").exists():
        n += 1
        kept = db.with_name(f"{db.name}.{why}-{stamp}-{n}")
    moved = False
    if db.exists():
        try:
            os.link(db, kept)
        except OSError:  # a file system without hard links
            shutil.copy2(db, kept)
            fsync_file(kept)
        moved = True
    # Its WAL belongs to the old file: left in place, SQLite would replay it onto the backup.
    for suffix in ("-wal", "-shm"):
        sidecar = Path(f"{db}{suffix}")
        if sidecar.exists():
            os.replace(sidecar, Path(f"{kept}{suffix}"))
            moved = True
    return kept if moved else None
