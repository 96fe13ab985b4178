"""The verified backup after each session, and restoring it over a damaged database.

Real SQLite files throughout.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from pathlib import Path

import pytest

from voicecoach.store import BackupError, Store, restore, write_backup


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def latest(data_dir: Path) -> Path:
    return data_dir / "backup" / "voicecoach.db"


def previous(data_dir: Path) -> Path:
    return data_dir / "backup" / "voicecoach.previous.db"


def read(db: Path, sql: str) -> list[tuple[object, ...]]:
    """Query a file read-only, so looking changes nothing."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def session_with_pain(data_dir: Path, exercise: str, end: bool = True) -> None:
    with Store.open(data_dir) as store:
        sid = store.start_session("gentle")
        store.record_pain(sid, exercise, None, 1, 2.0)
        if end:
            store.end_session(sid, "completed")


# -- the backup -----------------------------------------------------------------------------


def test_ending_a_session_leaves_a_verified_backup(data_dir: Path) -> None:
    with Store.open(data_dir) as store:
        sid = store.start_session("gentle")
        store.record_pain(sid, "bridge", "left", 2, 3.0)
        assert not latest(data_dir).exists()  # not before the session ends
        store.end_session(sid, "stopped")
        assert read(latest(data_dir), "PRAGMA integrity_check") == [("ok",)]
        assert read(latest(data_dir), "SELECT exercise FROM avoid") == [("bridge",)]
        assert read(latest(data_dir), "SELECT end_reason FROM sessions") == [("stopped",)]
    # A plain file: no journal or WAL beside it, nothing left from the copy.
    assert sorted(p.name for p in latest(data_dir).parent.iterdir()) == ["lock", "voicecoach.db"]


def test_the_previous_good_backup_is_kept(data_dir: Path) -> None:
    session_with_pain(data_dir, "bridge")
    session_with_pain(data_dir, "plank")
    assert read(previous(data_dir), "SELECT count(*) FROM sessions") == [(1,)]
    assert read(latest(data_dir), "SELECT count(*) FROM sessions") == [(2,)]
    assert read(previous(data_dir), "PRAGMA integrity_check") == [("ok",)]


def test_a_crash_mid_backup_never_becomes_the_backup(data_dir: Path) -> None:
    session_with_pain(data_dir, "bridge")
    good = latest(data_dir).read_bytes()
    # What a kill -9 during the copy leaves: a half-written scratch file.
    scratch = data_dir / "backup" / "voicecoach.db.tmp"
    scratch.write_bytes(good[: len(good) // 3])
    assert latest(data_dir).read_bytes() == good
    session_with_pain(data_dir, "plank")  # the next backup starts its scratch file afresh
    assert read(latest(data_dir), "PRAGMA integrity_check") == [("ok",)]
    assert read(latest(data_dir), "SELECT count(*) FROM sessions") == [(2,)]
    assert not scratch.exists()


def test_a_copy_that_fails_its_check_replaces_nothing(data_dir: Path) -> None:
    session_with_pain(data_dir, "bridge")
    good = latest(data_dir).read_bytes()
    damaged = data_dir / "elsewhere" / "voicecoach.db"
    damaged.parent.mkdir()
    whole = (data_dir / "voicecoach.db").read_bytes()
    page = 4096
    damaged.write_bytes(whole[: 2 * page] + b"\xff" * page + whole[3 * page :])
    with pytest.raises(BackupError, match="failed its check"):
        write_backup(damaged, data_dir)
    assert latest(data_dir).read_bytes() == good
    assert not (data_dir / "backup" / "voicecoach.db.tmp").exists()


def test_a_session_cut_by_a_crash_is_backed_up_when_it_is_recovered(data_dir: Path) -> None:
    session_with_pain(data_dir, "bridge", end=False)  # never ended: a crash
    assert not latest(data_dir).exists()
    Store.open(data_dir).close()  # the next runner marks it interrupted, then backs up
    assert read(latest(data_dir), "SELECT exercise FROM avoid") == [("bridge",)]
    assert read(latest(data_dir), "SELECT end_reason FROM sessions") == [("interrupted",)]


def test_avoid_list_edits_are_backed_up(data_dir: Path) -> None:
    with Store.open(data_dir, recover=False) as store:
        store.avoid_add("plank")
    assert read(latest(data_dir), "SELECT exercise FROM avoid") == [("plank",)]


# -- restoring ------------------------------------------------------------------------------


def test_restore_brings_the_avoid_list_back_and_keeps_the_damaged_file(data_dir: Path) -> None:
    session_with_pain(data_dir, "bridge")
    db = data_dir / "voicecoach.db"
    db.write_bytes(b"\0" * 8192)
    (data_dir / "voicecoach.db-wal").write_bytes(b"wal of the damaged file")
    restored = restore(data_dir)
    assert restored.backup.path == latest(data_dir)
    assert (restored.backup.sessions, restored.backup.avoided) == (1, ("bridge",))
    assert restored.kept_aside is not None
    assert restored.kept_aside.read_bytes() == b"\0" * 8192  # kept, byte for byte
    wal_aside = restored.kept_aside.with_name(restored.kept_aside.name + "-wal")
    assert wal_aside.read_bytes() == b"wal of the damaged file"
    assert not (data_dir / "voicecoach.db-wal").exists()  # never replayed onto the backup
    with Store.open(data_dir) as store:
        assert [e.exercise for e in store.avoided()] == ["bridge"]
        assert [s["end_reason"] for s in store.history()] == ["completed"]


def test_restore_falls_back_to_the_previous_backup(data_dir: Path) -> None:
    session_with_pain(data_dir, "bridge")
    session_with_pain(data_dir, "plank")
    latest(data_dir).write_bytes(b"rotten")
    (data_dir / "voicecoach.db").write_bytes(b"")
    restored = restore(data_dir)
    assert restored.backup.path == previous(data_dir)
    assert restored.backup.avoided == ("bridge",)


def test_restore_without_a_backup_fails_and_touches_nothing(data_dir: Path) -> None:
    data_dir.mkdir()
    (data_dir / "voicecoach.db").write_bytes(b"")
    with pytest.raises(BackupError, match=r"no backup in .*backup"):
        restore(data_dir)
    assert sorted(p.name for p in data_dir.iterdir()) == ["voicecoach.db"]


def test_restore_from_an_unreadable_backup_fails(data_dir: Path) -> None:
    session_with_pain(data_dir, "bridge")
    latest(data_dir).write_bytes(b"rotten")
    (data_dir / "voicecoach.db").write_bytes(b"")
    with pytest.raises(BackupError, match=r"voicecoach.db failed its check"):
        restore(data_dir)
    assert (data_dir / "voicecoach.db").read_bytes() == b""


def test_restore_leaves_a_readable_database_alone_unless_forced(data_dir: Path) -> None:
    session_with_pain(data_dir, "bridge")
    with Store.open(data_dir) as store:
        store.avoid_remove("bridge")  # a later change the backup also has
        store.start_session("later")  # and one it does not (still open)
    with pytest.raises(BackupError, match="readable"):
        restore(data_dir)
    restored = restore(data_dir, force=True)
    assert restored.kept_aside is not None and "before-restore" in restored.kept_aside.name
    assert read(restored.kept_aside, "SELECT count(*) FROM sessions") == [(2,)]


def test_restore_waits_for_no_one_while_a_session_runs(data_dir: Path) -> None:
    session_with_pain(data_dir, "bridge")
    fd = os.open(data_dir / "voicecoach.lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a running `serve` or `run` holds it
        with pytest.raises(BackupError, match="running sessions"):
            restore(data_dir, force=True)
    finally:
        os.close(fd)
