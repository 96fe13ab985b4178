"""One contract, two stores: the SQLite ``Store`` and its in-memory twin ``MemoryStore``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from voicecoach.engine.effects import EndReason, Outcome, Topic
from voicecoach.store import MemoryStore, SessionStore, Store

START = datetime(2025, 3, 1, 9, 0, 0, tzinfo=UTC)


class FakeClock:
    """Each reading is one minute after the last."""

    def __init__(self) -> None:
        self.current = START - timedelta(minutes=1)

    def __call__(self) -> datetime:
        self.current += timedelta(minutes=1)
        return self.current


def stamp(minutes: int) -> str:
    return (START + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(params=["sqlite", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "memory":
        yield MemoryStore(now=FakeClock())
        return
    with Store.open(tmp_path / "data", now=FakeClock()) as opened:
        yield opened


def test_both_are_session_stores(store: SessionStore) -> None:
    # mypy holds each to SessionStore where the package passes it as one (coach, harness).
    assert isinstance(store, Store | MemoryStore)
    s: SessionStore = store
    assert s.history() == [] and s.avoided() == []


def test_a_session_is_recorded_start_to_end(store: Any) -> None:
    sid = store.start_session("gentle")  # minute 0
    store.record_outcome(sid, "tilt", Outcome.DONE)  # 1
    store.record_outcome(sid, "bridge", Outcome.SKIPPED)  # 2
    store.end_session(sid, EndReason.FINISHED_EARLY)  # 3
    assert store.history() == [
        {
            "id": sid,
            "routine": "gentle",
            "started": stamp(0),
            "ended": stamp(3),
            "end_reason": "finished_early",
            "exercises": [
                {"exercise": "tilt", "outcome": "done", "reps": None, "hold_s": None},
                {"exercise": "bridge", "outcome": "skipped", "reps": None, "hold_s": None},
            ],
            "pain": [],
            "checkins": {"start": None, "end": None},
            "answers": [],
        }
    ]
    assert type(store.history()[0]["end_reason"]) is str


def test_recording_an_outcome_again_replaces_it_in_place(store: Any) -> None:
    sid = store.start_session("gentle")
    store.record_outcome(sid, "tilt", "done")
    store.record_outcome(sid, "bridge", "done")
    store.record_outcome(sid, "tilt", "stopped")
    assert store.history()[0]["exercises"] == [
        {"exercise": "tilt", "outcome": "stopped", "reps": None, "hold_s": None},
        {"exercise": "bridge", "outcome": "done", "reps": None, "hold_s": None},
    ]


def test_ending_a_session_twice_keeps_the_first_ending(store: Any) -> None:
    sid = store.start_session("gentle")
    store.end_session(sid, EndReason.STOPPED)
    store.end_session(sid, EndReason.COMPLETED)
    assert store.history()[0]["end_reason"] == "stopped"


def test_pain_drops_the_exercise_and_avoids_it_keeping_the_first_since(store: Any) -> None:
    first = store.start_session("gentle")  # minute 0
    store.record_outcome(first, "bridge", Outcome.DONE)  # 1
    store.record_pain(first, "bridge", "left", 2, 1.5)  # 2
    second = store.start_session("gentle")  # 3
    store.record_pain(second, "bridge", None, None, None)  # 4
    store.record_pain(second, None, None, None, None)  # 5: before any exercise
    [entry] = store.avoided()
    assert (entry.exercise, entry.since, entry.reason) == ("bridge", stamp(2), "pain")
    one, two = store.history()
    assert one["exercises"] == [
        {"exercise": "bridge", "outcome": "dropped_pain", "reps": None, "hold_s": None}
    ]
    assert one["pain"] == [
        {"exercise": "bridge", "side": "left", "rep": 2, "second": 1.5, "at": stamp(2)}
    ]
    assert [p["exercise"] for p in two["pain"]] == ["bridge", None]


def test_the_avoid_list_is_ordered_by_since_then_name(store: Any) -> None:
    assert store.avoid_add("tilt") is True  # minute 0
    assert store.avoid_add("tilt") is False
    sid = store.start_session("gentle")
    store.record_pain(sid, "bridge", None, None, None)
    assert store.avoid_add("arch") is True
    assert [e.exercise for e in store.avoided()] == ["tilt", "bridge", "arch"]
    assert store.avoid_remove("bridge") is True and store.avoid_remove("bridge") is False
    assert [e.exercise for e in store.avoided()] == ["tilt", "arch"]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s, sid: s.record_outcome(sid, "x", "meh"), "unknown outcome 'meh'"),
        (lambda s, sid: s.end_session(sid, "crashed"), "unknown end reason 'crashed'"),
        (lambda s, sid: s.record_outcome(sid + 1, "x", "done"), "no session"),
        (lambda s, sid: s.record_pain(sid + 1, "x", None, None, None), "no session"),
        (lambda s, sid: s.end_session(sid + 1, "completed"), "no session"),
        (lambda s, sid: s.record_pain(sid, "x", None, "3", None), "rep"),
        (lambda s, sid: s.record_pain(sid, "x", None, True, None), "rep"),
        (lambda s, sid: s.record_pain(sid, "x", None, 3, "1.5"), "second"),
    ],
)
def test_bad_values_are_refused_and_nothing_is_kept(store: Any, call: Any, message: str) -> None:
    sid = store.start_session("gentle")
    with pytest.raises(ValueError, match=message):
        call(store, sid)
    [session] = store.history()
    assert session["exercises"] == [] and session["pain"] == [] and session["ended"] is None
    assert store.avoided() == []


def test_every_enum_value_is_accepted(store: Any) -> None:
    sid = store.start_session("gentle")
    for i, outcome in enumerate(Outcome):
        store.record_outcome(sid, f"ex{i}", outcome)
    for reason in EndReason:
        store.end_session(store.start_session("r"), reason)
    history = store.history()
    assert [e["outcome"] for e in history[0]["exercises"]] == [o.value for o in Outcome]
    assert [s["end_reason"] for s in history[1:]] == [r.value for r in EndReason]


def test_a_clock_without_a_timezone_is_refused(tmp_path: Path) -> None:
    naive = datetime(2025, 3, 1, 9, 0, 0)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="timezone-aware"):
        MemoryStore(now=lambda: naive).start_session("gentle")
    with Store.open(tmp_path, now=lambda: naive) as store, pytest.raises(ValueError, match="aware"):
        store.start_session("gentle")


def test_answers_check_ins_efforts_and_doses(store: Any) -> None:
    first = store.start_session("core-question")
    store.set_routine(first, "gentle")
    store.record_answer(first, Topic.PAIN_START, None, 4)
    store.record_outcome(first, "bridge", Outcome.DONE, 5, 10)
    store.record_answer(first, Topic.EFFORT, "bridge", "easy")
    store.record_answer(first, Topic.PAIN_END, None, 3)
    second = store.start_session("gentle")
    store.record_answer(second, Topic.EFFORT, "bridge", "hard")
    store.record_pain(second, "bridge", None, None, None)
    one, two = store.history()
    assert one["routine"] == "gentle"
    assert one["checkins"] == {"start": 4, "end": 3}
    assert two["checkins"] == {"start": None, "end": None}
    assert one["exercises"] == [{"exercise": "bridge", "outcome": "done", "reps": 5, "hold_s": 10}]
    assert one["answers"][1] == {"topic": "effort", "exercise": "bridge", "value": "easy"}
    assert store.efforts() == {"bridge": ["easy", "hard"]}


@pytest.mark.parametrize(
    ("topic", "value"),
    [("pain_start", 11), ("pain_end", "4"), ("pain_end", True), ("effort", "so-so"), ("mood", 1)],
)
def test_an_answer_that_does_not_fit_its_question_is_refused(store: Any, topic, value) -> None:
    sid = store.start_session("gentle")
    with pytest.raises(ValueError):
        store.record_answer(sid, topic, None, value)
    assert store.history()[0]["answers"] == []
