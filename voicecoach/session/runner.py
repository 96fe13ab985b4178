"""The imperative shell around the engine: a session on real ports, start to end.

One loop, one thread (``engine/interpreter.py``): wait for the next event or the engine's
deadline, call ``step``, carry out the effects in order. Pain records are written synchronously
and acknowledged to the engine only after the store returns, so the coach never says "taken
out" before it is on disk.
"""

from __future__ import annotations

from collections.abc import Callable

from voicecoach.engine.effects import EndReason
from voicecoach.engine.interpreter import Interpreter, Speaker
from voicecoach.engine.session import new_session
from voicecoach.routines.model import Routine
from voicecoach.session.harness import estimate_duration
from voicecoach.session.inbox import Inbox
from voicecoach.session.timeline import Timeline
from voicecoach.store.protocol import SessionStore
from voicecoach.vocabulary import Expectation

__all__ = ["Speaker", "run_session"]


def run_session(
    routine: Routine,
    *,
    store: SessionStore,
    speaker: Speaker,
    timeline: Timeline,
    inbox: Inbox,
    listen: Callable[[Expectation], None] | None = None,
) -> EndReason:
    """Guide ``routine`` to its end; return how it ended (the history's end_reason).

    ``listen`` is told what to listen for whenever that changes (the session's listener).
    """
    avoided_ids = {a.exercise for a in store.avoided()}
    avoided = tuple(e for e in routine.exercises if e.id in avoided_ids)
    guided = routine.without(avoided_ids)
    state = new_session(guided, avoided, estimate_duration(guided))
    session_id = store.start_session(routine.id)
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
