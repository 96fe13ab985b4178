"""The one interpreter of effects: the real session loop in-process, and its closed union."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from voicecoach.engine.effects import EndReason, Outcome, RecordOutcome
from voicecoach.engine.events import CommandHeard, Event
from voicecoach.routines.loader import load_builtin
from voicecoach.routines.model import Routine
from voicecoach.session.harness import run_script, speech_s
from voicecoach.session.inbox import Inbox
from voicecoach.session.runner import run_session
from voicecoach.store import MemoryStore
from voicecoach.vocabulary import Expectation, Intent

ROOT = Path(__file__).resolve().parents[1]
EFFECTS = ROOT / "voicecoach" / "engine" / "effects.py"
INTERPRETER = ROOT / "voicecoach" / "engine" / "interpreter.py"


def routine() -> Routine:
    return load_builtin().routines["back-stretches"]


# -- the real loop, with fakes for its ports -----------------------------------------------
@dataclass
class Journal:
    """What happened, in order, across the speaker and the store."""

    entries: list[str] = field(default_factory=list)


class FakeSpeaker:
    """Utterances last ``speech_s(text)`` on the fake timeline; a cut drops them."""

    def __init__(self, journal: Journal, timeline: FakeTimeline) -> None:
        self.journal = journal
        self.timeline = timeline
        self.closed = False

    def say(self, text: str, utterance: int, done: Callable[[int], None]) -> None:
        self.journal.entries.append(f"say {text}")
        self.timeline.speaking(utterance, speech_s(text), done)

    def count(self, text: str) -> None:
        self.journal.entries.append(f"count {text}")

    def cut(self) -> None:
        self.timeline.cut()

    def close(self) -> None:
        self.closed = True


class FakeTimeline:
    """Session time that jumps to the next thing due: a scripted command or an utterance end."""

    def __init__(self, inbox: Inbox, script: list[tuple[float, Event]]) -> None:
        self.inbox = inbox
        self.t = 0.0
        self.free_at = 0.0
        self.script = sorted(script, key=lambda item: item[0])
        self.playing: list[tuple[float, int, Callable[[int], None]]] = []

    def speaking(self, utterance: int, seconds: float, done: Callable[[int], None]) -> None:
        self.free_at = max(self.t, self.free_at) + seconds
        self.playing.append((self.free_at, utterance, done))

    def cut(self) -> None:
        self.playing.clear()
        self.free_at = self.t

    def now(self) -> float:
        return self.t

    def wait(self, deadline: float | None) -> Event | None:
        while True:
            event = self.inbox.get(0)
            if event is not None:
                return event
            due = [self.playing[0][0]] if self.playing else []
            due += [self.script[0][0]] if self.script else []
            soonest = min(due, default=None)
            if soonest is None or (deadline is not None and deadline < soonest):
                if deadline is None:
                    raise AssertionError("the session waits for something that never comes")
                self.t = max(self.t, deadline)
                return None
            self.t = max(self.t, soonest)
            if self.script and self.script[0][0] == soonest:
                return self.script.pop(0)[1]
            _, utterance, done = self.playing.pop(0)
            done(utterance)  # the speaker's callback: it reports through the inbox


class JournalledStore(MemoryStore):
    """The in-memory store, noting each write in the journal; pain writes may fail."""

    def __init__(self, journal: Journal, fail_pain: bool = False) -> None:
        super().__init__()
        self.journal = journal
        self.fail_pain = fail_pain

    def record_pain(
        self,
        session_id: int,
        exercise: str | None,
        side: str | None,
        rep: int | None,
        second: float | None,
    ) -> None:
        if self.fail_pain:
            self.journal.entries.append("pain write failed")
            raise OSError("disk full")
        super().record_pain(session_id, exercise, side, rep, second)
        self.journal.entries.append(f"pain recorded {exercise}")


def run(
    script: list[tuple[float, Event]], fail_pain: bool = False
) -> tuple[str, JournalledStore, Journal, FakeSpeaker]:
    journal = Journal()
    inbox = Inbox()
    timeline = FakeTimeline(inbox, script)
    speaker = FakeSpeaker(journal, timeline)
    store = JournalledStore(journal, fail_pain)
    reason = run_session(routine(), store=store, speaker=speaker, timeline=timeline, inbox=inbox)
    return reason, store, journal, speaker


def test_the_real_loop_guides_a_session_to_its_end_and_records_it() -> None:
    reason, store, journal, speaker = run([])
    assert reason == EndReason.COMPLETED and speaker.closed
    [session] = store.history()
    assert session["end_reason"] == "completed"
    assert [e["outcome"] for e in session["exercises"]] == ["done"] * len(routine().exercises)
    assert any(entry.startswith("count ") for entry in journal.entries)
    assert journal.entries[-1].startswith("say That is the end of")


def test_the_real_loop_speaks_of_pain_only_after_the_record_returns() -> None:
    reason, store, journal, _ = run([(80.0, CommandHeard(Intent.PAIN))])
    recorded = next(i for i, e in enumerate(journal.entries) if e.startswith("pain recorded"))
    ack = next(i for i, e in enumerate(journal.entries) if "out of your routine" in e)
    assert recorded < ack
    dropped = journal.entries[recorded].removeprefix("pain recorded ")
    assert [a.exercise for a in store.avoided()] == [dropped]
    assert reason == "completed"


def test_a_failed_pain_record_still_reaches_the_engine_and_is_said() -> None:
    reason, store, journal, _ = run([(80.0, CommandHeard(Intent.PAIN))], fail_pain=True)
    failed = journal.entries.index("pain write failed")
    said = [e for e in journal.entries[failed:] if e.startswith("say ")]
    assert any("could not save" in e for e in said)
    assert store.avoided() == [] and reason == "completed"


def test_interrupting_the_real_loop_records_the_session_as_interrupted() -> None:
    class Interrupting(FakeTimeline):
        def wait(self, deadline: float | None) -> Event | None:
            if self.t > 80.0:  # during the first exercise
                raise KeyboardInterrupt
            return super().wait(deadline)

    journal, inbox = Journal(), Inbox()
    timeline = Interrupting(inbox, [])
    speaker = FakeSpeaker(journal, timeline)
    store = JournalledStore(journal)
    reason = run_session(routine(), store=store, speaker=speaker, timeline=timeline, inbox=inbox)
    assert reason == EndReason.INTERRUPTED and speaker.closed
    [session] = store.history()
    assert session["end_reason"] == "interrupted"
    assert Outcome.STOPPED in [e["outcome"] for e in session["exercises"]]


def test_the_harness_records_through_the_same_interpreter() -> None:
    tr = run_script(routine(), [(80.0, Intent.PAIN)])
    assert tr.store is not None
    [session] = tr.store.history()
    from_effects = {e.effect.exercise: e.effect.outcome for e in tr.of(RecordOutcome)}
    stored = {e["exercise"]: e["outcome"] for e in session["exercises"]}
    assert Outcome.DROPPED_PAIN in stored.values()
    assert stored == {**from_effects, **{k: v for k, v in stored.items() if v == "dropped_pain"}}
    assert session["end_reason"] == tr.end_reason() == "completed"
    assert [a.exercise for a in tr.store.avoided()] == [
        k for k, v in stored.items() if v == "dropped_pain"
    ]
    assert len(session["pain"]) == 1


# -- the union is closed -------------------------------------------------------------------
NEW_EFFECT = '''

@dataclass(frozen=True)
class Beep:
    """An effect added to the union."""

'''


def mypy_with(tmp_path: Path, handled: bool) -> subprocess.CompletedProcess[str]:
    """mypy on the interpreter, with ``Beep`` added to ``Effect`` (and handled or not)."""
    effects = EFFECTS.read_text()
    union = re.compile(r"(\nEffect: TypeAlias = \(.*?)(\n\))", re.DOTALL)
    assert len(union.findall(effects)) == 1 and effects.count("\nEffect: TypeAlias") == 1
    effects = union.sub(lambda m: m.group(1) + " | Beep" + m.group(2), effects)
    effects = effects.replace("\nEffect: TypeAlias", NEW_EFFECT + "\nEffect: TypeAlias")
    (tmp_path / "effects.py").write_text(effects)
    interpreter = INTERPRETER.read_text()
    if handled:
        default = "            case _:\n                assert_never(effect)"
        assert interpreter.count(default) == 1
        interpreter = interpreter.replace("    Say,\n", "    Beep,\n    Say,\n", 1).replace(
            default, "            case Beep():\n                pass\n" + default
        )
    (tmp_path / "interpreter.py").write_text(interpreter)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--no-incremental",
            "--cache-dir",
            str(tmp_path / "cache"),
            "--shadow-file",
            str(EFFECTS),
            str(tmp_path / "effects.py"),
            "--shadow-file",
            str(INTERPRETER),
            str(tmp_path / "interpreter.py"),
            str(INTERPRETER),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_an_effect_the_interpreter_does_not_handle_fails_mypy(tmp_path: Path) -> None:
    pytest.importorskip("mypy")
    unhandled = mypy_with(tmp_path, handled=False)
    assert unhandled.returncode == 1, unhandled.stdout + unhandled.stderr
    assert 'Argument 1 to "assert_never" has incompatible type "Beep"' in unhandled.stdout
    # The control: the same new effect, handled, type-checks.
    handled = mypy_with(tmp_path, handled=True)
    assert handled.returncode == 0, handled.stdout + handled.stderr


def test_the_real_loop_tells_the_listener_what_to_listen_for() -> None:
    inbox = Inbox()
    timeline = FakeTimeline(inbox, [])
    speaker = FakeSpeaker(Journal(), timeline)
    told: list[Expectation] = []
    run_session(
        routine(),
        store=MemoryStore(),
        speaker=speaker,
        timeline=timeline,
        inbox=inbox,
        listen=told.append,
    )
    # Told once, before the welcome: every command (no question is asked in a session yet).
    assert told == [Expectation()]
    assert told[0].intents == frozenset(Intent) and told[0].answer is None
