"""The verified backup after each session, and restoring it over a damaged database.

Real SQLite files throughout; the end-to-end test drives the real CLI (a text session in a child
process, the other commands through CliRunner).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from voicecoach.cli import cli
from voicecoach.store import BackupError, Store, restore, write_backup

REPO = Path(__file__).resolve().parent.parent


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


def voicecoach(data_dir: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--data-dir", str(data_dir), *args])


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


def test_restore_refuses_while_a_session_runs(data_dir: Path) -> None:
    session_with_pain(data_dir, "bridge")
    fd = os.open(data_dir / "voicecoach.lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a running `serve` or `run` holds it
        with pytest.raises(BackupError, match="running sessions"):
            restore(data_dir, force=True)
    finally:
        os.close(fd)


# -- the command line, end to end -----------------------------------------------------------


def test_damaged_database_refused_restored_and_the_avoid_list_is_back(data_dir: Path) -> None:
    assert voicecoach(data_dir, "avoid", "add", "bridge").exit_code == 0
    session = subprocess.run(
        [sys.executable, "-m", "voicecoach", "--data-dir", str(data_dir)]
        + ["run", "desk-break", "--text", "--time-scale", "0.002"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert session.returncode == 0, session.stderr
    db = data_dir / "voicecoach.db"
    damaged = db.read_bytes()[:4096] + b"\x5a" * 50_000  # the header survives, the rest is lost
    db.write_bytes(damaged)

    for command in (["avoid", "list"], ["history"], ["run", "desk-break", "--text"]):
        refused = voicecoach(data_dir, *command)
        assert refused.exit_code == 1, (command, refused.output)
        assert "voicecoach.db is damaged" in refused.stderr
        assert f"The last verified backup is {latest(data_dir)}" in refused.stderr
        assert f"Restore it with: voicecoach --data-dir {data_dir} restore" in refused.stderr
        assert "Traceback" not in refused.output
    assert db.read_bytes() == damaged

    restored = voicecoach(data_dir, "restore")
    assert restored.exit_code == 0, restored.output
    assert "1 session, 1 exercise on the avoid list (bridge)" in restored.stdout
    assert "damaged-" in restored.stdout  # where the damaged file was put
    (aside,) = data_dir.glob("voicecoach.db.damaged-*[0-9]Z")
    assert aside.read_bytes() == damaged
    listed = voicecoach(data_dir, "avoid", "list")
    assert listed.exit_code == 0 and listed.stdout.startswith("bridge  since ")


def test_an_empty_database_file_is_refused_by_every_command(data_dir: Path) -> None:
    data_dir.mkdir()
    (data_dir / "voicecoach.db").touch()
    refused = voicecoach(data_dir, "avoid", "list")
    assert refused.exit_code == 1
    assert "voicecoach.db is empty (0 bytes)" in refused.stderr
    assert "no usable backup" in refused.stderr
    assert f"To start afresh, move {data_dir / 'voicecoach.db'} aside" in refused.stderr
    assert "The avoid list is empty" not in refused.output
    assert (data_dir / "voicecoach.db").stat().st_size == 0


def test_restore_command_without_a_backup_exits_1(data_dir: Path) -> None:
    data_dir.mkdir()
    (data_dir / "voicecoach.db").touch()
    result = voicecoach(data_dir, "restore")
    assert result.exit_code == 1
    assert f"Error: there is no backup in {data_dir / 'backup'}" in result.stderr
    assert (data_dir / "voicecoach.db").stat().st_size == 0


def test_restore_command_over_a_readable_database_exits_1(data_dir: Path) -> None:
    session_with_pain(data_dir, "bridge")
    result = voicecoach(data_dir, "restore")
    assert result.exit_code == 1 and "--force" in result.stderr
    forced = voicecoach(data_dir, "restore", "--force")
    assert forced.exit_code == 0, forced.output
    assert "before-restore-" in forced.stdout
