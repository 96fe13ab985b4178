"""The imperative shell around the engine: a session on real ports, start to end.

One loop, one thread (``engine/interpreter.py``): wait for the next event or the engine's
deadline, call ``step``, carry out the effects in order. Pain records are written synchronously
and acknowledged to the engine only after the store returns, so the coach never says "taken
out" before it is on disk. Before the loop, the store's history is read once and handed to the
pure engine: the avoid list, and the answers that dose each exercise.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from voicecoach.engine.effects import EndReason
from voicecoach.engine.interpreter import Interpreter, Speaker
from voicecoach.engine.plan import NO_QUESTIONS, Questions
from voicecoach.engine.progression import dosed
from voicecoach.engine.session import Candidate, State, new_session, new_triage
from voicecoach.routines.model import PainPattern, Routine
from voicecoach.session.harness import estimate_duration
from voicecoach.session.inbox import Inbox
from voicecoach.session.timeline import Timeline
from voicecoach.store.protocol import SessionStore
from voicecoach.vocabulary import Expectation

__all__ = ["Speaker", "Triage", "run_session"]


@dataclass(frozen=True)
class Triage:
    """No routine named: the CORE question chooses among ``routines`` (by their ``suits``).

    Of several routines for one group, the last is offered (a library lists the user's own
    routines after the built-in ones).
    """

    routines: Sequence[Routine]


def run_session(
    routine: Routine | Triage,
    *,
    store: SessionStore,
    speaker: Speaker,
    timeline: Timeline,
    inbox: Inbox,
    listen: Callable[[Expectation], None] | None = None,
    questions: Questions = NO_QUESTIONS,
    bad_day: bool = False,
) -> EndReason:
    """Guide ``routine`` (or ask the CORE question first) to its end; return how it ended.

    ``listen`` is told what to listen for whenever that changes (the session's listener);
    ``questions`` says which questions are asked; on a ``bad_day`` every dose is the gentlest
    and "easy, fine or hard?" is not asked.
    """
    if bad_day:  # how the gentlest dose felt says nothing about the earned one
        questions = dataclasses.replace(questions, effort=False)
    state = _first_state(routine, store, questions, bad_day)
    session_id = store.start_session(state.routine.id)
    interpreter = Interpreter(
        state,
        speaker=speaker,
        store=store,
        session_id=session_id,
        now=timeline.now,
        report=inbox.put,
        listen=listen,
    )
    try:
        return interpreter.run(timeline.wait)
    finally:
        speaker.close()


def _first_state(
    routine: Routine | Triage, store: SessionStore, questions: Questions, bad_day: bool
) -> State:
    avoided_ids = {a.exercise for a in store.avoided()}
    efforts = store.efforts()

    def ready(r: Routine) -> Candidate:
        avoided = tuple(e for e in r.exercises if e.id in avoided_ids)
        guided = dosed(r.without(avoided_ids), efforts, bad_day)
        return Candidate(guided, avoided, estimate_duration(guided))

    if isinstance(routine, Triage):
        # The last routine of each group: the user's own, when there is one (they follow the
        # built-in ones in the library).
        groups = {
            r.suits.value: r for r in routine.routines if r.suits not in (None, PainPattern.GENERAL)
        }
        return new_triage({k: ready(r) for k, r in groups.items()}, questions)
    chosen = ready(routine)
    return new_session(chosen.routine, chosen.avoided, chosen.estimated_s, questions)
