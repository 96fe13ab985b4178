"""The durable record: sessions, exercise outcomes, pain reports and the avoid list, in SQLite.

Every write method runs in its own ``BEGIN IMMEDIATE`` ... ``COMMIT`` and returns only after the
commit, which with ``journal_mode=WAL`` and ``synchronous=FULL`` means after the log is fsynced.
So when the coach says "I've taken it out", a kill -9 or a power cut cannot undo it (given
storage that honours fsync; cheap SD cards may not).

A database file that exists but is empty or damaged is refused, never replaced by a fresh one:
that would silently empty the avoid list. A new database is built under a scratch name and
linked into place whole, so a first start cut short never leaves an empty ``voicecoach.db``
behind. After each session (and each change to the avoid list) a verified backup is written;
see ``backup.py``.

Timestamps are ISO-8601 UTC strings taken here (the engine never reads clocks). They are for
people to read: order comes from row ids, because a Pi without a real-time clock may jump its date.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from voicecoach.engine.effects import EndReason, Outcome
from voicecoach.store.backup import (
    DB_NAME,
    RUNNER_LOCK_NAME,
    DamagedDatabaseError,
    damage,
    has_backup,
    is_damage,
    write_backup,
)
from voicecoach.store.files import fsync_dir, make_dirs, open_lock, try_lock
from voicecoach.store.protocol import (
    AvoidEntry,
    answer_value,
    check_answer,
    check_dose,
    check_end_reason,
    check_outcome,
    check_pain,
    session_record,
)
from voicecoach.store.schema import StoreError, migrate, user_version

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000


def utc_now() -> datetime:
    """The current time in UTC (the default clock for timestamps)."""
    return datetime.now(UTC)


def stamp(moment: datetime) -> str:
    """``moment`` as the store writes it: ISO-8601 UTC to the second."""
    if moment.tzinfo is None:
        raise ValueError("the store's clock must return timezone-aware datetimes")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Store:
    """The voicecoach database. Open with ``Store.open(data_dir)``; safe to share across threads.

    One process runs sessions: it opens with ``recover=True`` (the default), which marks the
    sessions a crash left open as ``interrupted``. Processes that only read or edit the avoid
    list (the CLI while the daemon runs) open with ``recover=False``. As a second guard, the
    recovering store holds an exclusive lock on ``voicecoach.lock`` while it is open, and a
    store that cannot get that lock leaves open sessions alone: they belong to a live process.
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        path: Path,
        now: Callable[[], datetime] = utc_now,
        runner_lock: int | None = None,
    ) -> None:
        self._conn = conn
        self._path = path
        self._now = now
        self._runner_lock = runner_lock
        self._mutex = threading.RLock()

    @classmethod
    def open(
        cls,
        data_dir: Path,
        *,
        recover: bool = True,
        now: Callable[[], datetime] = utc_now,
    ) -> Self:
        """Open (creating and migrating as needed) ``data_dir/voicecoach.db``.

        A missing file is a first run: a new database is made. Raises
        ``DamagedDatabaseError`` for a file that is empty, not a database or fails
        ``quick_check``, or is missing while backups show there was one (nothing is written to
        it); ``SchemaTooNewError`` for a database written by a newer voicecoach; and
        ``StoreError`` for one SQLite cannot use otherwise (locked past the busy timeout).
        """
        data_dir = Path(data_dir)
        make_dirs(data_dir)
        path = data_dir / DB_NAME
        if not path.exists():
            _create(path)
        elif path.stat().st_size == 0:
            # SQLite would take it for a new database: the avoid list would start empty.
            raise DamagedDatabaseError(
                path,
                "is empty (0 bytes), so the history and avoid list it held are gone; "
                "voicecoach will not start over with an empty avoid list",
            )
        try:
            conn = sqlite3.connect(
                path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as err:
            raise StoreError(f"cannot open {path}: {err}") from err
        lock: int | None = None
        try:
            problem = damage(conn)  # before anything is written to it
            if problem is not None:
                raise DamagedDatabaseError(path, f"is damaged ({problem})")
            _configure(conn, path)
            migrate(conn, path)
            store = cls(conn, path, now)
            if recover:
                lock = try_lock(data_dir / RUNNER_LOCK_NAME)
                store._runner_lock = lock
                if lock is None:
                    log.info("%s: another process is running sessions; not recovering", path)
                else:
                    store._recover()
        except BaseException as err:
            conn.close()
            if lock is not None:
                os.close(lock)
            if isinstance(err, sqlite3.DatabaseError) and is_damage(err):
                raise DamagedDatabaseError(path, f"is damaged ({err})") from err
            if isinstance(err, sqlite3.DatabaseError):
                raise StoreError(f"cannot open {path}: {err}") from err
            raise
        log.debug("%s: open, schema version %d", path, user_version(conn))
        return store

    @property
    def path(self) -> Path:
        """The database file."""
        return self._path

    def close(self) -> None:
        """Close the database (and release the runner lock); closing twice is harmless."""
        with self._mutex:
            self._conn.close()
            if self._runner_lock is not None:
                os.close(self._runner_lock)
                self._runner_lock = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- sessions ---------------------------------------------------------------------------

    def start_session(self, routine: str) -> int:
        """Record that a routine has started; the new session's id."""
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT INTO sessions (routine, started) VALUES (?, ?)", (routine, self._stamp())
            )
            session_id = cursor.lastrowid
        assert session_id is not None  # an INSERT into a rowid table always sets it
        log.info("session %d started: %s", session_id, routine)
        return session_id

    def record_outcome(
        self,
        session_id: int,
        exercise: str,
        outcome: str,
        reps: int | None = None,
        hold_s: int | None = None,
    ) -> None:
        """Record how an exercise ended (and its dose); again in the same session replaces it."""
        check_outcome(outcome)
        check_dose(reps, hold_s)
        with self._write() as conn:
            _require_session(conn, session_id)
            _set_outcome(conn, session_id, exercise, outcome, self._stamp(), reps, hold_s)

    def record_answer(
        self, session_id: int, topic: str, exercise: str | None, value: int | str
    ) -> None:
        """Record the user's answer to one of the coach's questions."""
        check_answer(topic, value)
        with self._write() as conn:
            _require_session(conn, session_id)
            conn.execute(
                "INSERT INTO answers (session_id, topic, exercise, value, at)"
                " VALUES (?, ?, ?, ?, ?)",
                (session_id, str(topic), exercise, str(value), self._stamp()),
            )

    def set_routine(self, session_id: int, routine: str) -> None:
        """The session guides ``routine`` (chosen by the CORE question after it started)."""
        with self._write() as conn:
            _require_session(conn, session_id)
            conn.execute("UPDATE sessions SET routine = ? WHERE id = ?", (routine, session_id))

    def efforts(self) -> dict[str, list[str]]:
        """Each exercise's "easy / fine / hard" answers, oldest first (the engine doses by them)."""
        with self._mutex:
            rows = self._conn.execute(
                "SELECT exercise, value FROM answers WHERE topic = 'effort' ORDER BY id"
            ).fetchall()
        out: dict[str, list[str]] = {}
        for exercise, value in rows:
            out.setdefault(exercise, []).append(value)
        return out

    def record_pain(
        self,
        session_id: int,
        exercise: str | None,
        side: str | None,
        rep: int | None,
        second: float | None,
    ) -> None:
        """Record a pain report and, for a known exercise, drop it now and avoid it from now on.

        All in one transaction, durable on return: only then may the coach say it is taken out.
        An exercise already on the avoid list keeps its entry (with the earlier ``since``).
        """
        check_pain(rep, second)
        at = self._stamp()
        with self._write() as conn:
            _require_session(conn, session_id)
            conn.execute(
                "INSERT INTO pain_events (session_id, exercise, side, rep, second, at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (session_id, exercise, side, rep, None if second is None else float(second), at),
            )
            if exercise is not None:
                _set_outcome(conn, session_id, exercise, Outcome.DROPPED_PAIN, at)
                new = conn.execute("SELECT 1 FROM avoid WHERE exercise = ?", (exercise,))
                if new.fetchone() is None:
                    _log_avoid(conn, exercise, "added", "pain", at)
                conn.execute(
                    "INSERT INTO avoid (exercise, since, reason, session_id)"
                    " VALUES (?, ?, 'pain', ?)"
                    " ON CONFLICT (exercise) DO UPDATE SET since = min(since, excluded.since)",
                    (exercise, at, session_id),
                )
        log.info(
            "session %d: pain recorded (exercise=%s side=%s rep=%s)",
            session_id,
            exercise,
            side,
            rep,
        )

    def end_session(self, session_id: int, reason: str) -> None:
        """Record how a session ended. A session that has already ended keeps its first ending."""
        check_end_reason(reason)
        with self._write() as conn:
            _require_session(conn, session_id)
            cursor = conn.execute(
                "UPDATE sessions SET ended = ?, end_reason = ? WHERE id = ? AND ended IS NULL",
                (self._stamp(), reason, session_id),
            )
        if cursor.rowcount == 0:
            log.warning("session %d had already ended; keeping its first end reason", session_id)
        else:
            log.info("session %d ended: %s", session_id, reason)
            self.back_up()

    # -- avoid list -------------------------------------------------------------------------

    def avoided(self) -> list[AvoidEntry]:
        """The avoid list, oldest entry first."""
        with self._mutex:
            rows = self._conn.execute(
                "SELECT exercise, since, reason FROM avoid ORDER BY since, exercise"
            ).fetchall()
        return [AvoidEntry(*row) for row in rows]

    def avoid_add(self, exercise: str, reason: str = "added by hand") -> bool:
        """Put an exercise on the avoid list; False if it was already there (entry unchanged)."""
        at = self._stamp()
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT INTO avoid (exercise, since, reason) VALUES (?, ?, ?)"
                " ON CONFLICT (exercise) DO NOTHING",
                (exercise, at, reason),
            )
            if cursor.rowcount == 1:
                _log_avoid(conn, exercise, "added", reason, at)
        if cursor.rowcount == 1:
            self.back_up()
        return cursor.rowcount == 1

    def avoid_remove(self, exercise: str) -> bool:
        """Take an exercise off the avoid list; False if it was not there."""
        at = self._stamp()
        with self._write() as conn:
            cursor = conn.execute("DELETE FROM avoid WHERE exercise = ?", (exercise,))
            if cursor.rowcount == 1:
                _log_avoid(conn, exercise, "removed", None, at)
        if cursor.rowcount == 1:
            self.back_up()
        return cursor.rowcount == 1

    # -- reading ----------------------------------------------------------------------------

    def history(self) -> list[dict[str, Any]]:
        """Every session, oldest first, with its outcomes and pain reports; JSON-ready."""
        with self._snapshot() as conn:
            sessions = conn.execute(
                "SELECT id, routine, started, ended, end_reason FROM sessions ORDER BY id"
            ).fetchall()
            outcomes = conn.execute(
                "SELECT session_id, exercise, outcome, reps, hold_s FROM outcomes ORDER BY id"
            ).fetchall()
            pains = conn.execute(
                "SELECT session_id, exercise, side, rep, second, at FROM pain_events ORDER BY id"
            ).fetchall()
            answers = conn.execute(
                "SELECT session_id, topic, exercise, value FROM answers ORDER BY id"
            ).fetchall()
        parts: dict[int, tuple[list[Any], list[Any], list[Any]]] = {
            s[0]: ([], [], []) for s in sessions
        }
        for sid, exercise, outcome, reps, hold_s in outcomes:
            parts[sid][0].append(
                {"exercise": exercise, "outcome": outcome, "reps": reps, "hold_s": hold_s}
            )
        for sid, exercise, side, rep, second, at in pains:
            parts[sid][1].append(
                {"exercise": exercise, "side": side, "rep": rep, "second": second, "at": at}
            )
        for sid, topic, exercise, value in answers:
            parts[sid][2].append(
                {"topic": topic, "exercise": exercise, "value": answer_value(topic, value)}
            )
        return [
            session_record(sid, routine, started, ended, reason, *parts[sid])
            for sid, routine, started, ended, reason in sessions
        ]

    def sessions_running(self) -> bool:
        """Whether a process (this one, or a service) is running sessions on this store now.

        When none is, an open session was cut short (a crash, a power cut): it is interrupted,
        though it is only marked so when a session runner next opens the store.
        """
        if self._runner_lock is not None:
            return True
        lock = try_lock(self.path.parent / RUNNER_LOCK_NAME)
        if lock is None:
            return True
        os.close(lock)
        return False

    def avoid_changes(self) -> list[dict[str, Any]]:
        """Every change to the avoid list, oldest first: exercise, change, reason, at."""
        with self._snapshot() as conn:
            rows = conn.execute(
                "SELECT exercise, change, reason, at FROM avoid_log ORDER BY id"
            ).fetchall()
        return [dict(zip(("exercise", "change", "reason", "at"), row, strict=True)) for row in rows]

    def back_up(self) -> Path | None:
        """Write a verified backup of the database now; its path, or None if that failed.

        Called after each session ends, when a crashed session is recovered and when the avoid
        list is edited, so ``run`` and the service both keep one. A failure is logged, not
        raised: the records are safe in the database, and the previous backup is kept.
        """
        try:
            info = write_backup(self._path, self._path.parent)
        except (StoreError, OSError) as err:
            log.error("%s: no new backup (the last good one is kept): %s", self._path, err)
            return None
        log.debug("backed up to %s: %s", info.path, info.describe())
        return info.path

    def pragmas(self) -> dict[str, int | str]:
        """The settings this connection really runs with, for diagnostics and tests."""
        names = ("journal_mode", "synchronous", "foreign_keys", "busy_timeout", "user_version")
        with self._mutex:
            return {name: self._conn.execute(f"PRAGMA {name}").fetchone()[0] for name in names}

    # -- internals --------------------------------------------------------------------------

    def _recover(self) -> None:
        with self._write() as conn:
            dangling = conn.execute("SELECT count(*) FROM sessions WHERE ended IS NULL")
            count = int(dangling.fetchone()[0])
            if count:
                conn.execute(
                    "UPDATE sessions SET ended = ?, end_reason = ? WHERE ended IS NULL",
                    (self._stamp(), EndReason.INTERRUPTED),
                )
        if count:
            log.warning("%s: marked %d unfinished session(s) interrupted", self._path, count)
            self.back_up()  # that session's pain reports were never backed up

    def _stamp(self) -> str:
        return stamp(self._now())

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        # IMMEDIATE takes the write lock up front, so a busy database waits here (busy_timeout)
        # instead of failing half-way; the COMMIT is the durability point.
        with self._mutex:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    @contextmanager
    def _snapshot(self) -> Iterator[sqlite3.Connection]:
        # Several SELECTs in one read transaction see one consistent state.
        with self._mutex:
            conn = self._conn
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                if conn.in_transaction:
                    conn.execute("COMMIT")


def _configure(conn: sqlite3.Connection, path: Path) -> None:
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS:d}")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = FULL")
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        # Some filesystems (network mounts) cannot do WAL; FULL sync keeps commits durable.
        log.warning("%s: journal_mode is %s, not wal", path, mode)


def _create(path: Path) -> None:
    # Built under a scratch name and linked into place whole; the scratch file's flock makes a
    # second process starting at the same moment wait, then find the finished database.
    if has_backup(path.parent):
        raise DamagedDatabaseError(
            path, "is missing, but a backup of it exists, so this is not a first run"
        )
    scratch = path.with_name(path.name + ".new")
    fd = open_lock(scratch)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        if not path.exists():
            # What a creation cut short left: empty the file we hold locked (a new inode would
            # not be), and drop its stale journal so it is not replayed into the new one.
            os.ftruncate(fd, 0)
            for suffix in ("-journal", "-wal", "-shm"):
                Path(f"{scratch}{suffix}").unlink(missing_ok=True)
            conn = sqlite3.connect(scratch, isolation_level=None)
            try:
                conn.execute("PRAGMA synchronous = FULL")
                migrate(conn, path)
            finally:
                conn.close()
            try:
                os.link(scratch, path)  # never replaces a database that appeared meanwhile
            except FileExistsError:
                pass
            except OSError:  # a file system without hard links
                os.replace(scratch, path)
            fsync_dir(path.parent)  # so the new file's name survives a power cut too
        scratch.unlink(missing_ok=True)
    except sqlite3.Error as err:
        raise StoreError(f"cannot create {path}: {err}") from err
    finally:
        os.close(fd)


def _require_session(conn: sqlite3.Connection, session_id: int) -> None:
    if conn.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is None:
        raise ValueError(f"no session with id {session_id!r}")


def _set_outcome(
    conn: sqlite3.Connection,
    session_id: int,
    exercise: str,
    outcome: str,
    at: str,
    reps: int | None = None,
    hold_s: int | None = None,
) -> None:
    # A pain report replaces the outcome but keeps the dose the exercise was guided at.
    conn.execute(
        "INSERT INTO outcomes (session_id, exercise, outcome, at, reps, hold_s)"
        " VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (session_id, exercise) DO UPDATE"
        " SET outcome = excluded.outcome, at = excluded.at,"
        " reps = coalesce(excluded.reps, reps), hold_s = coalesce(excluded.hold_s, hold_s)",
        (session_id, exercise, outcome, at, reps, hold_s),
    )


def _log_avoid(
    conn: sqlite3.Connection, exercise: str, change: str, reason: str | None, at: str
) -> None:
    conn.execute(
        "INSERT INTO avoid_log (exercise, change, reason, at) VALUES (?, ?, ?, ?)",
        (exercise, change, reason, at),
    )
