"""The SQLite store against real database files: schema, PRAGMAs, recovery, records, history."""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from voicecoach.store import (
    END_REASONS,
    OUTCOMES,
    AvoidEntry,
    DamagedDatabaseError,
    SchemaTooNewError,
    Store,
)
from voicecoach.store.schema import MIGRATIONS, migrate, user_version

START = datetime(2025, 3, 1, 9, 0, 0, tzinfo=UTC)


class FakeClock:
    """Each reading is one minute after the last, so every timestamp is distinct and known."""

    def __init__(self, start: datetime = START) -> None:
        self.current = start - timedelta(minutes=1)

    def __call__(self) -> datetime:
        self.current += timedelta(minutes=1)
        return self.current


def stamp(minutes: int) -> str:
    return (START + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data" / "voicecoach"


@pytest.fixture
def store(data_dir: Path) -> Iterator[Store]:
    with Store.open(data_dir, now=FakeClock()) as opened:
        yield opened


def raw(data_dir: Path) -> sqlite3.Connection:
    """A second, independent connection: sees only what the store has committed."""
    return sqlite3.connect(data_dir / "voicecoach.db", isolation_level=None)


# -- schema and connection settings ---------------------------------------------------------


def test_open_creates_the_folder_and_the_schema(data_dir: Path) -> None:
    with Store.open(data_dir) as store:
        assert store.path == data_dir / "voicecoach.db"
    assert store.path.is_file()
    conn = raw(data_dir)
    assert user_version(conn) == len(MIGRATIONS)
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"sessions", "outcomes", "pain_events", "avoid"} <= tables


def test_reopening_keeps_data_and_version(data_dir: Path) -> None:
    with Store.open(data_dir) as store:
        sid = store.start_session("gentle")
        store.end_session(sid, "completed")
        store.avoid_add("plank")
    with Store.open(data_dir) as store:
        assert store.pragmas()["user_version"] == len(MIGRATIONS)
        assert [s["routine"] for s in store.history()] == ["gentle"]
        assert [e.exercise for e in store.avoided()] == ["plank"]


def test_pragmas_are_really_set(store: Store, data_dir: Path) -> None:
    assert store.pragmas() == {
        "journal_mode": "wal",
        "synchronous": 2,  # FULL
        "foreign_keys": 1,
        "busy_timeout": 5000,
        "user_version": len(MIGRATIONS),
    }
    # WAL is a property of the file: an unrelated connection sees it too.
    assert raw(data_dir).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_migrations_run_in_order_from_an_empty_file(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "x.db", isolation_level=None)
    steps = ["CREATE TABLE a (x);", "ALTER TABLE a ADD COLUMN y; CREATE TABLE b (z);"]
    assert migrate(conn, "x.db", steps) == 2
    assert user_version(conn) == 2
    assert migrate(conn, "x.db", steps) == 2  # nothing left to do
    assert [r[1] for r in conn.execute("PRAGMA table_info(a)")] == ["x", "y"]


def test_a_failing_migration_step_leaves_the_previous_version_intact(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "x.db", isolation_level=None)
    steps = ["CREATE TABLE a (x);", "CREATE TABLE b (z); INSERT INTO nowhere VALUES (1);"]
    with pytest.raises(sqlite3.OperationalError, match="nowhere"):
        migrate(conn, "x.db", steps)
    assert user_version(conn) == 1
    assert not conn.in_transaction
    names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert names == {"a"}  # step 2's table was rolled back with it


def test_a_database_from_a_newer_voicecoach_is_refused(data_dir: Path) -> None:
    Store.open(data_dir).close()
    raw(data_dir).execute("PRAGMA user_version = 99")
    with pytest.raises(SchemaTooNewError, match=r"schema version 99.*upgrade voicecoach"):
        Store.open(data_dir)
    assert user_version(raw(data_dir)) == 99  # untouched


def filled(data_dir: Path) -> bytes:
    """A real database with a few pages of history and an avoid entry; its bytes."""
    with Store.open(data_dir, now=FakeClock()) as store:
        for n in range(40):
            sid = store.start_session(f"routine-{n:02d}-" + "x" * 200)
            store.end_session(sid, "completed")
        store.avoid_add("plank")
    return (data_dir / "voicecoach.db").read_bytes()


def test_a_file_that_is_not_a_database_is_refused_clearly(data_dir: Path) -> None:
    data_dir.mkdir(parents=True)
    garbage = b"not sqlite at all, just some bytes" * 100
    (data_dir / "voicecoach.db").write_bytes(garbage)
    with pytest.raises(DamagedDatabaseError, match=r"voicecoach.db is damaged \(file is not a"):
        Store.open(data_dir)
    assert (data_dir / "voicecoach.db").read_bytes() == garbage  # nothing overwritten
    assert not (data_dir / "voicecoach.db-wal").exists()


def test_an_empty_database_file_is_refused_not_started_afresh(data_dir: Path) -> None:
    data_dir.mkdir(parents=True)
    (data_dir / "voicecoach.db").touch()
    for recover in (True, False):
        with pytest.raises(DamagedDatabaseError, match=r"voicecoach.db is empty \(0 bytes\)"):
            Store.open(data_dir, recover=recover)
    assert (data_dir / "voicecoach.db").stat().st_size == 0
    assert sorted(p.name for p in data_dir.iterdir()) == ["voicecoach.db"]


def test_a_truncated_database_is_refused(data_dir: Path) -> None:
    whole = filled(data_dir)
    half = whole[: len(whole) // 2]
    (data_dir / "voicecoach.db").write_bytes(half)
    with pytest.raises(DamagedDatabaseError, match=r"voicecoach.db is damaged"):
        Store.open(data_dir)
    assert (data_dir / "voicecoach.db").read_bytes() == half


def test_the_refusal_names_the_verified_backup(data_dir: Path) -> None:
    filled(data_dir)  # ending sessions leaves a backup
    (data_dir / "voicecoach.db").write_bytes(b"")
    with pytest.raises(DamagedDatabaseError) as refused:
        Store.open(data_dir)
    backup = refused.value.backup
    assert backup is not None and backup.path == data_dir / "backup" / "voicecoach.db"
    assert (backup.sessions, backup.avoided) == (40, ("plank",))
    assert str(backup.path) in str(refused.value)


def test_without_a_backup_the_refusal_says_so(data_dir: Path) -> None:
    data_dir.mkdir(parents=True)
    (data_dir / "voicecoach.db").write_bytes(b"")
    with pytest.raises(DamagedDatabaseError, match=r"no usable backup in .*backup") as refused:
        Store.open(data_dir)
    assert refused.value.backup is None
    assert refused.value.to_move == (data_dir / "voicecoach.db",)


def test_a_backup_that_fails_its_check_is_named_and_not_offered(data_dir: Path) -> None:
    filled(data_dir)
    (data_dir / "backup" / "voicecoach.db").write_bytes(b"rotten")
    (data_dir / "backup" / "voicecoach.previous.db").unlink()
    (data_dir / "voicecoach.db").write_bytes(b"")
    with pytest.raises(DamagedDatabaseError, match=r"voicecoach.db failed its check") as refused:
        Store.open(data_dir)
    assert refused.value.backup is None
    # Starting afresh needs the backup folder out of the way too (a first run has none).
    assert refused.value.to_move == (data_dir / "voicecoach.db", data_dir / "backup")


def test_a_missing_database_with_a_backup_is_not_a_first_run(data_dir: Path) -> None:
    filled(data_dir)
    (data_dir / "voicecoach.db").unlink()
    with pytest.raises(DamagedDatabaseError, match=r"voicecoach.db is missing"):
        Store.open(data_dir)
    assert not (data_dir / "voicecoach.db").exists()


def test_the_first_run_creates_a_database_silently(
    data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING), Store.open(data_dir) as store:
        assert store.avoided() == [] and store.history() == []
    assert caplog.records == []
    leftovers = sorted(p.name for p in data_dir.iterdir() if "voicecoach.db" in p.name)
    assert leftovers == ["voicecoach.db"]  # no half-built file beside it


def test_a_creation_cut_short_leaves_no_empty_database(data_dir: Path) -> None:
    # A first open killed mid-way leaves at most its scratch file, never an empty
    # voicecoach.db that the next open would have to refuse.
    data_dir.mkdir(parents=True)
    (data_dir / "voicecoach.db.new").write_bytes(b"half a database")
    (data_dir / "voicecoach.db.new-journal").write_bytes(b"a stale journal")
    with Store.open(data_dir) as store:
        assert store.pragmas()["user_version"] == len(MIGRATIONS)
    assert not (data_dir / "voicecoach.db.new").exists()
    assert not (data_dir / "voicecoach.db.new-journal").exists()


# -- recovery -------------------------------------------------------------------------------


def test_open_marks_sessions_left_open_by_a_crash_interrupted(data_dir: Path) -> None:
    with Store.open(data_dir, now=FakeClock()) as store:
        done = store.start_session("gentle")
        store.end_session(done, "completed")
        dangling = store.start_session("gentle")  # closed without end_session: a crash
    with Store.open(data_dir, recover=False) as reader:
        assert reader.history()[1]["ended"] is None
    with Store.open(data_dir, now=lambda: START + timedelta(hours=1)) as store:
        first, second = store.history()
    assert (first["id"], first["end_reason"], first["ended"]) == (done, "completed", stamp(1))
    assert (second["id"], second["end_reason"]) == (dangling, "interrupted")
    assert second["ended"] == stamp(60)


def test_a_live_runners_open_session_is_not_recovered(data_dir: Path) -> None:
    with Store.open(data_dir) as runner:
        sid = runner.start_session("gentle")
        # A second recovering open while the runner lives must not touch its session.
        with Store.open(data_dir) as other:
            assert other.history()[0]["ended"] is None
        runner.record_pain(sid, "plank", None, 2, None)
    with Store.open(data_dir) as after:  # the runner is gone: now it is recovered
        assert after.history()[0]["end_reason"] == "interrupted"


# -- records --------------------------------------------------------------------------------


def test_record_pain_drops_the_exercise_and_avoids_it(store: Store, data_dir: Path) -> None:
    sid = store.start_session("gentle")  # minute 0
    store.record_outcome(sid, "cat_cow", "done")  # 1
    store.record_outcome(sid, "bridge", "done")  # 2
    store.record_pain(sid, "cat_cow", "left", 3, 4.5)  # 3
    # Committed on return: an independent connection sees all three effects.
    conn = raw(data_dir)
    assert conn.execute(
        "SELECT session_id, exercise, side, rep, second FROM pain_events"
    ).fetchall() == [(sid, "cat_cow", "left", 3, 4.5)]
    assert conn.execute("SELECT exercise, outcome FROM outcomes ORDER BY id").fetchall() == [
        ("cat_cow", "dropped_pain"),
        ("bridge", "done"),
    ]
    assert conn.execute("SELECT * FROM avoid").fetchall() == [("cat_cow", stamp(3), "pain", sid)]

    later = store.start_session("gentle")  # 4
    store.record_pain(later, "cat_cow", None, None, None)  # 5: already avoided
    assert store.avoided() == [AvoidEntry("cat_cow", stamp(3), "pain")]


def test_record_pain_is_all_or_nothing(store: Store, data_dir: Path) -> None:
    sid = store.start_session("gentle")
    store.record_outcome(sid, "cat_cow", "done")
    raw(data_dir).execute(
        "CREATE TRIGGER fail_avoid BEFORE INSERT ON avoid BEGIN SELECT RAISE(ABORT, 'disk'); END"
    )
    with pytest.raises(sqlite3.IntegrityError, match="disk"):
        store.record_pain(sid, "cat_cow", "left", 1, 2.0)
    conn = raw(data_dir)
    assert conn.execute("SELECT count(*) FROM pain_events").fetchone() == (0,)
    assert conn.execute("SELECT outcome FROM outcomes").fetchall() == [("done",)]
    assert store.avoided() == []
    store.start_session("next")  # the store is still usable: no transaction was left open


def test_pain_without_an_exercise_is_recorded_alone(store: Store) -> None:
    sid = store.start_session("gentle")
    store.record_pain(sid, None, None, None, None)
    [session] = store.history()
    [pain] = session["pain"]
    assert pain | {"at": None} == {
        "exercise": None,
        "side": None,
        "rep": None,
        "second": None,
        "at": None,
    }
    assert session["exercises"] == []
    assert store.avoided() == []


def test_recording_an_outcome_again_replaces_it_in_place(store: Store) -> None:
    sid = store.start_session("gentle")
    store.record_outcome(sid, "a", "skipped")
    store.record_outcome(sid, "b", "done")
    store.record_outcome(sid, "a", "done")
    assert store.history()[0]["exercises"] == [
        {"exercise": "a", "outcome": "done", "reps": None, "hold_s": None},
        {"exercise": "b", "outcome": "done", "reps": None, "hold_s": None},
    ]


def test_ending_a_session_twice_keeps_the_first_ending(store: Store) -> None:
    sid = store.start_session("gentle")
    store.end_session(sid, "stopped")
    store.end_session(sid, "completed")
    assert store.history()[0]["end_reason"] == "stopped"


def test_avoid_list_add_remove_and_order(store: Store) -> None:
    assert store.avoided() == []
    assert store.avoid_add("plank") is True  # minute 0
    assert store.avoid_add("bird_dog", reason="physio said so") is True  # 1
    assert store.avoid_add("plank") is False  # 2: already there, entry unchanged
    sid = store.start_session("gentle")  # 3
    store.record_pain(sid, "bridge", None, None, None)  # 4
    assert store.avoided() == [
        AvoidEntry("plank", stamp(0), "added by hand"),
        AvoidEntry("bird_dog", stamp(1), "physio said so"),
        AvoidEntry("bridge", stamp(4), "pain"),
    ]
    assert store.avoid_remove("plank") is True
    assert store.avoid_remove("plank") is False
    assert [e.exercise for e in store.avoided()] == ["bird_dog", "bridge"]


def test_avoid_list_ties_on_since_are_ordered_by_name(data_dir: Path) -> None:
    with Store.open(data_dir, now=lambda: START) as store:
        for name in ("c", "a", "b"):
            store.avoid_add(name)
        assert [e.exercise for e in store.avoided()] == ["a", "b", "c"]


def test_history_shape_and_order(store: Store) -> None:
    first = store.start_session("gentle")  # 0
    store.record_outcome(first, "pelvic_tilt", "done")  # 1
    store.record_pain(first, "bridge", "right", 2, 1.5)  # 2
    store.record_outcome(first, "knee_hug", "skipped")  # 3
    store.end_session(first, "finished_early")  # 4
    second = store.start_session("morning")  # 5
    history = store.history()
    assert history == [
        {
            "id": first,
            "routine": "gentle",
            "started": stamp(0),
            "ended": stamp(4),
            "end_reason": "finished_early",
            "exercises": [
                {"exercise": "pelvic_tilt", "outcome": "done", "reps": None, "hold_s": None},
                {"exercise": "bridge", "outcome": "dropped_pain", "reps": None, "hold_s": None},
                {"exercise": "knee_hug", "outcome": "skipped", "reps": None, "hold_s": None},
            ],
            "pain": [
                {"exercise": "bridge", "side": "right", "rep": 2, "second": 1.5, "at": stamp(2)}
            ],
            "checkins": {"start": None, "end": None},
            "answers": [],
        },
        {
            "id": second,
            "routine": "morning",
            "started": stamp(5),
            "ended": None,
            "end_reason": None,
            "exercises": [],
            "pain": [],
            "checkins": {"start": None, "end": None},
            "answers": [],
        },
    ]
    assert json.loads(json.dumps(history)) == history


def test_timestamps_are_utc_iso_8601_with_seconds(data_dir: Path) -> None:
    cest = timezone(timedelta(hours=2))
    with Store.open(data_dir, now=lambda: datetime(2025, 6, 1, 8, 30, 15, 999, tzinfo=cest)) as s:
        s.start_session("gentle")
        assert s.history()[0]["started"] == "2025-06-01T06:30:15Z"
        assert datetime.fromisoformat(s.history()[0]["started"]).tzinfo is not None


def test_a_clock_without_a_timezone_is_refused(data_dir: Path) -> None:
    with Store.open(data_dir, now=datetime.now) as store, pytest.raises(ValueError, match="aware"):
        store.start_session("gentle")


# -- bad values -----------------------------------------------------------------------------


def test_bad_values_are_rejected(store: Store) -> None:
    sid = store.start_session("gentle")
    with pytest.raises(ValueError, match="unknown outcome 'finished'"):
        store.record_outcome(sid, "bridge", "finished")
    with pytest.raises(ValueError, match="unknown end reason 'crashed'"):
        store.end_session(sid, "crashed")
    with pytest.raises(ValueError, match="no session with id 999"):
        store.record_outcome(999, "bridge", "done")
    with pytest.raises(ValueError, match="no session with id 999"):
        store.record_pain(999, "bridge", None, None, None)
    with pytest.raises(ValueError, match="no session with id 999"):
        store.end_session(999, "completed")
    with pytest.raises(ValueError, match="rep"):
        store.record_pain(sid, "bridge", None, "3", None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="second"):
        store.record_pain(sid, "bridge", None, 3, "1.5")  # type: ignore[arg-type]
    assert store.history()[0]["exercises"] == []
    assert store.avoided() == []


def test_check_constraints_agree_with_the_constants(store: Store, data_dir: Path) -> None:
    conn = raw(data_dir)
    conn.execute("PRAGMA foreign_keys = ON")
    sid = store.start_session("gentle")
    for i, outcome in enumerate(OUTCOMES):
        conn.execute(
            "INSERT INTO outcomes (session_id, exercise, outcome, at) VALUES (?, ?, ?, 'now')",
            (sid, f"ex{i}", outcome),
        )
    for reason in END_REASONS:
        conn.execute(
            "INSERT INTO sessions (routine, started, ended, end_reason) VALUES ('r', 'a', 'b', ?)",
            (reason,),
        )
    outcome = "INSERT INTO outcomes (session_id, exercise, outcome, at) VALUES (?, 'x', ?, 'n')"
    session = "INSERT INTO sessions (routine, started, ended, end_reason) VALUES ('r', 'a', ?, ?)"
    bad = [
        (outcome, (sid, "meh")),  # not an outcome
        (outcome, (999, "done")),  # no such session
        (session, ("b", "crashed")),  # not an end reason
        (session, ("b", None)),  # ended without a reason
        (session, (None, "completed")),  # a reason but not ended
        ("INSERT INTO pain_events (session_id, rep, at) VALUES (?, 'three', 'n')", (sid,)),
    ]
    for sql, args in bad:
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute(sql, args)


def test_schema_step_one_is_the_one_that_shipped() -> None:
    # Its CHECK lists are built from the Outcome and EndReason enums. Existing databases were
    # made by this exact text: a new enum value needs a new step, not a different step 1.
    digest = hashlib.sha256(MIGRATIONS[0].encode()).hexdigest()
    assert digest == "b6e7eb78f38f8aae588b414e57a261d8a604f2ba6152e05a24a8337d708c24a2"
    assert OUTCOMES == ("done", "skipped", "dropped_pain", "stopped", "avoided")
    assert END_REASONS == ("completed", "stopped", "finished_early", "interrupted")


def test_the_store_can_be_used_from_another_thread(store: Store) -> None:
    results: list[int] = []
    worker = threading.Thread(target=lambda: results.append(store.start_session("gentle")))
    worker.start()
    worker.join()
    assert [s["id"] for s in store.history()] == results
