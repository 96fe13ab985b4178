"""The database schema as ordered migration steps, tracked by ``PRAGMA user_version``.

Step *n* (counting from 1) takes a database from version n-1 to n, in one transaction, so a
crash mid-migration leaves the old version intact. A shipped step is never edited: a change is a
new step appended to ``MIGRATIONS``, so every device's database follows the same path.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator, Sequence
from enum import StrEnum
from pathlib import Path

from voicecoach.engine.effects import EndReason, Outcome

log = logging.getLogger(__name__)

OUTCOMES: tuple[str, ...] = tuple(o.value for o in Outcome)
"""How one exercise of a session ended (one row per session and exercise)."""

END_REASONS: tuple[str, ...] = tuple(r.value for r in EndReason)
"""How a session ended; ``interrupted`` is set on the next start after a crash."""


def _one_of(values: type[StrEnum]) -> str:
    """The SQL list of an enum's values, as in a CHECK (... IN ('a', 'b'))."""
    return ", ".join(f"'{value}'" for value in values)


# The CHECK lists come from the engine's enums, so the database accepts exactly what the engine
# emits. A step must mean the same thing forever, so a test pins step 1's text as shipped: a new
# value means freezing the lists here and appending a step that rebuilds the tables.
MIGRATIONS: tuple[str, ...] = (
    # 1: sessions, their per-exercise outcomes, pain reports and the avoid list.
    f"""
    CREATE TABLE sessions (
        id         INTEGER PRIMARY KEY,
        routine    TEXT NOT NULL,
        started    TEXT NOT NULL,
        ended      TEXT,
        end_reason TEXT CHECK (end_reason IN
                       ({_one_of(EndReason)})),
        CHECK ((ended IS NULL) = (end_reason IS NULL))
    );
    CREATE INDEX sessions_open ON sessions (id) WHERE ended IS NULL;

    CREATE TABLE outcomes (
        id         INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        exercise   TEXT NOT NULL,
        outcome    TEXT NOT NULL CHECK (outcome IN
                       ({_one_of(Outcome)})),
        at         TEXT NOT NULL,
        UNIQUE (session_id, exercise)
    );

    CREATE TABLE pain_events (
        id         INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        exercise   TEXT,
        side       TEXT,
        rep        INTEGER CHECK (rep IS NULL OR typeof(rep) = 'integer'),
        second     REAL CHECK (second IS NULL OR typeof(second) = 'real'),
        at         TEXT NOT NULL
    );
    CREATE INDEX pain_events_session ON pain_events (session_id);

    CREATE TABLE avoid (
        exercise   TEXT PRIMARY KEY,
        since      TEXT NOT NULL,
        reason     TEXT NOT NULL,
        session_id INTEGER REFERENCES sessions (id) ON DELETE SET NULL
    );
    """,
    # 2: the dose each exercise was guided at, answers to the coach's questions (pain
    # check-ins, effort, the CORE question), and every change to the avoid list (for progress).
    """
    ALTER TABLE outcomes ADD COLUMN reps INTEGER
        CHECK (reps IS NULL OR typeof(reps) = 'integer');
    ALTER TABLE outcomes ADD COLUMN hold_s INTEGER
        CHECK (hold_s IS NULL OR typeof(hold_s) = 'integer');

    CREATE TABLE answers (
        id         INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        topic      TEXT NOT NULL CHECK (topic IN ('pain_start', 'pain_end', 'effort', 'routine')),
        exercise   TEXT,
        value      TEXT NOT NULL,
        at         TEXT NOT NULL
    );
    CREATE INDEX answers_session ON answers (session_id);

    CREATE TABLE avoid_log (
        id         INTEGER PRIMARY KEY,
        exercise   TEXT NOT NULL,
        change     TEXT NOT NULL CHECK (change IN ('added', 'removed')),
        reason     TEXT,
        at         TEXT NOT NULL
    );
    INSERT INTO avoid_log (exercise, change, reason, at)
        SELECT exercise, 'added', reason, since FROM avoid ORDER BY since;
    """,
)


class StoreError(Exception):
    """The store cannot be used as it is (for example, a database from a newer voicecoach)."""


class SchemaTooNewError(StoreError):
    """The database was written by a newer voicecoach; opening it could corrupt its data."""

    def __init__(self, path: Path | str, found: int, known: int) -> None:
        super().__init__(
            f"{path} has schema version {found}, but this voicecoach knows only versions up to "
            f"{known}; upgrade voicecoach (or move that file away to start afresh)"
        )
        self.found = found
        self.known = known


def user_version(conn: sqlite3.Connection) -> int:
    """The schema version stored in the database file (0 for a new, empty file)."""
    value = conn.execute("PRAGMA user_version").fetchone()[0]
    return int(value)


def migrate(conn: sqlite3.Connection, path: Path | str, steps: Sequence[str] = MIGRATIONS) -> int:
    """Bring the database up to ``len(steps)``, one transaction per step; the final version.

    ``conn`` must be in autocommit mode (``isolation_level=None``). The version is re-read under
    the write lock, so two processes opening a new file at once apply each step only once.
    """
    known = len(steps)
    version = user_version(conn)
    if version > known:
        raise SchemaTooNewError(path, version, known)
    while version < known:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = user_version(conn)
            if version > known:
                raise SchemaTooNewError(path, version, known)
            if version < known:
                for statement in _statements(steps[version]):
                    conn.execute(statement)
                version += 1
                # PRAGMA takes no parameters; version is an int we computed.
                conn.execute(f"PRAGMA user_version = {version:d}")
                log.info("%s: migrated to schema version %d", path, version)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return version


def _statements(script: str) -> Iterator[str]:
    # sqlite3's execute() takes one statement, and executescript() would COMMIT our open
    # transaction first; so split on the semicolons that really end a statement.
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip() != ";":
                yield pending.strip()
            pending = ""
    if pending.strip(" \t\r\n;"):
        raise ValueError(f"incomplete SQL statement in migration: {pending.strip()!r}")
