"""Run a routine against a script of timed events on a fake clock; get the ordered effects.

This is how the engine is tested (a 20-minute routine runs in milliseconds) and how routine
durations are estimated. The session runs through the coach's own interpreter, with fakes for
its ports: simulated time, an in-memory store, and a speaker on which each utterance lasts
``speech_s(text)``, utterances play one after another, and ``CutSpeech`` drops what is playing
or queued, exactly the contract a real speaker keeps.
"""

from __future__ import annotations

import contextlib
import functools
import heapq
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from voicecoach.engine.effects import Count, Effect, EndReason, EndSession, Say
from voicecoach.engine.events import AnswerHeard, CommandHeard, Event
from voicecoach.engine.interpreter import Interpreter
from voicecoach.engine.plan import NO_QUESTIONS, Ask, Questions
from voicecoach.engine.session import State, new_session
from voicecoach.routines.model import Exercise, Routine
from voicecoach.store.memory import MemoryStore
from voicecoach.vocabulary import Intent, Value

#: After a question has been said, a simulated user answers this many seconds later.
ANSWER_AFTER_S = 1.0

#: Fitted on every utterance of the library rendered by espeak-ng at the default voice and
#: rate (164 texts, mean error 0.43 s): seconds per word, and per utterance.
S_PER_WORD = 0.313
S_PER_UTTERANCE = 0.176


def speech_s(text: str) -> float:
    """Estimated time to speak ``text``."""
    return round(len(text.split()) * S_PER_WORD + S_PER_UTTERANCE, 3)


@dataclass(frozen=True)
class Timed:
    """An effect and the session time it was emitted at."""

    t: float
    effect: Effect


@dataclass
class Transcript:
    """What happened in a harness run."""

    effects: list[Timed] = field(default_factory=list)
    state: State | None = None
    end_t: float | None = None
    store: MemoryStore | None = None  # what the session recorded

    def of(self, kind: type[Effect]) -> list[Timed]:
        """The effects of one type, with their times."""
        return [e for e in self.effects if isinstance(e.effect, kind)]

    def spoken(self) -> list[tuple[float, str]]:
        """Every Say and Count, in order, as (time, text)."""
        out = []
        for e in self.effects:
            if isinstance(e.effect, Say | Count):
                out.append((e.t, e.effect.text))
        return out

    def first(self, predicate: Callable[[Effect], bool]) -> Timed:
        """The first effect matching ``predicate``."""
        return next(e for e in self.effects if predicate(e.effect))

    def end_reason(self) -> EndReason | None:
        """How the session ended, if it did."""
        ends = [e.effect for e in self.effects if isinstance(e.effect, EndSession)]
        return ends[-1].reason if ends else None


ScriptItem = tuple[float, Event | Intent]


class _Quiet(Exception):
    """Nothing will ever happen again, or the time limit has come: the simulation stops."""


class _Simulation:
    """Simulated session time: what is due, on a heap, delivered in order without waiting.

    It plays the timeline's part for the interpreter: ``wait(deadline)`` runs what is due no
    later than ``deadline`` (ties: scripted events, then utterance ends, then pain
    acknowledgements, then the order they were scheduled in) until one of them delivers an
    event, and returns it; or returns None at the deadline.
    """

    def __init__(self, limit_s: float) -> None:
        self._limit_s = limit_s
        self._now = 0.0
        self._due: list[tuple[float, int, int, Callable[[], None]]] = []
        self._sequence = 0
        self._delivered: Event | None = None

    def now(self) -> float:
        return self._now

    def at(self, t: float, priority: int, happen: Callable[[], None]) -> None:
        heapq.heappush(self._due, (t, priority, self._sequence, happen))
        self._sequence += 1

    def deliver(self, event: Event) -> None:
        self._delivered = event

    def wait(self, deadline: float | None) -> Event | None:
        while self._due and (deadline is None or self._due[0][0] <= deadline):
            t, _, _, happen = heapq.heappop(self._due)
            happen()
            event, self._delivered = self._delivered, None
            if event is None:
                continue  # an utterance that was cut
            self._advance(t)
            return event
        if deadline is None:
            raise _Quiet
        self._advance(deadline)
        return None

    def _advance(self, t: float) -> None:
        if t > self._limit_s:
            raise _Quiet
        self._now = t


class _SimulatedSpeaker:
    """Each utterance takes ``speech(text)`` seconds, one after another; a cut drops them all."""

    def __init__(self, sim: _Simulation, speech: Callable[[str], float]) -> None:
        self._sim = sim
        self._speech = speech
        self._free_at = 0.0
        self._playing: set[int] = set()

    def say(self, text: str, utterance: int, done: Callable[[int], None]) -> None:
        self._free_at = max(self._sim.now(), self._free_at) + self._speech(text)
        self._playing.add(utterance)
        self._sim.at(self._free_at, 1, lambda: self._finish(utterance, done))

    def _finish(self, utterance: int, done: Callable[[int], None]) -> None:
        if utterance in self._playing:
            done(utterance)

    def count(self, text: str) -> None:
        pass  # a count is instantaneous on the session clock

    def cut(self) -> None:
        self._playing.clear()
        self._free_at = self._sim.now()

    def close(self) -> None:
        pass


class _SimulatedStore(MemoryStore):
    """An in-memory store whose pain records can be made to fail."""

    def __init__(self, record_fails: bool) -> None:
        super().__init__()
        self._record_fails = record_fails

    def record_pain(
        self,
        session_id: int,
        exercise: str | None,
        side: str | None,
        rep: int | None,
        second: float | None,
    ) -> None:
        if self._record_fails:
            raise OSError("simulated write failure")
        super().record_pain(session_id, exercise, side, rep, second)


def run_script(
    routine: Routine,
    script: Iterable[ScriptItem] = (),
    *,
    avoided: tuple[Exercise, ...] = (),
    speech: Callable[[str], float] = speech_s,
    record_delay: float = 0.05,
    record_fails: bool = False,
    estimated_s: float = 0.0,
    limit_s: float = 6 * 3600,
    questions: Questions = NO_QUESTIONS,
    reply: Callable[[Ask], Value | None] | None = None,
    state: State | None = None,
) -> Transcript:
    """Run a session on a fake clock, through the coach's own interpreter.

    ``script`` holds (session time, event or intent) pairs; an intent stands for
    ``CommandHeard(intent)``. Pain records become durable ``record_delay`` seconds after
    ``RecordPain`` (or fail, with ``record_fails``); the engine hears of it then. ``reply``
    answers each question the coach asks (None: silence), ``ANSWER_AFTER_S`` after it was said.
    ``state`` replaces the session built from the other arguments (a CORE triage session).
    """
    sim = _Simulation(limit_s)
    speaker = _SimulatedSpeaker(sim, speech)
    for t, item in script:
        event = CommandHeard(item) if isinstance(item, Intent) else item
        sim.at(t, 0, functools.partial(sim.deliver, event))
    store = _SimulatedStore(record_fails)
    out = Transcript(store=store)

    def observe(effect: Effect) -> None:
        out.effects.append(Timed(round(sim.now(), 6), effect))
        if isinstance(effect, EndSession):
            out.end_t = sim.now()
        if reply is not None and isinstance(effect, Say) and effect.kind == "question":
            ask = interpreter.state.plan[interpreter.state.cursor]
            assert isinstance(ask, Ask)
            value = reply(ask)
            if value is not None:
                t = sim.now() + speech(effect.text) + ANSWER_AFTER_S
                sim.at(t, 0, functools.partial(sim.deliver, AnswerHeard(value)))

    def acknowledge(ack: Event) -> None:
        sim.at(sim.now() + record_delay, 2, functools.partial(sim.deliver, ack))

    interpreter = Interpreter(
        state or new_session(routine, avoided, estimated_s, questions),
        speaker=speaker,
        store=store,
        session_id=store.start_session(routine.id),
        now=sim.now,
        report=sim.deliver,
        acknowledge=acknowledge,
        observe=observe,
        journal=False,
    )
    with contextlib.suppress(_Quiet):
        interpreter.run(sim.wait)
    out.state = interpreter.state
    return out


def estimate_duration(routine: Routine, avoided: tuple[Exercise, ...] = ()) -> float:
    """Seconds an undisturbed session takes, with estimated speech durations."""
    end = run_script(routine, avoided=avoided).end_t
    assert end is not None
    return end
