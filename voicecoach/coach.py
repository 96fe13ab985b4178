"""The imperative shell around the engine: carries out effects, feeds events, keeps time.

One loop, one thread: wait for the next event or the engine's deadline, call ``step``, carry out
the effects in order. Pain records are written synchronously and acknowledged to the engine
only after the store returns, so the coach never says "taken out" before it is on disk.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from voicecoach.engine.effects import (
    CancelHold,
    Count,
    CutSpeech,
    Effect,
    EndSession,
    RecordOutcome,
    RecordPain,
    Say,
    StartHold,
)
from voicecoach.engine.events import (
    Event,
    Interrupted,
    PainRecorded,
    PainRecordFailed,
    SessionStarted,
    SpeechFinished,
    TimeReached,
)
from voicecoach.engine.harness import estimate_duration
from voicecoach.engine.session import Mode, initial_effects, new_session, step
from voicecoach.inbox import Inbox
from voicecoach.routines.model import Routine
from voicecoach.store import Store
from voicecoach.timeline import Timeline

log = logging.getLogger(__name__)


class Speaker(Protocol):
    """Where the coach's words go (a sound card, a WAV file, a terminal)."""

    def say(self, text: str, utterance: int, done: Callable[[int], None]) -> None:
        """Queue ``text``; call ``done(utterance)`` once it has been played in full."""
        ...

    def count(self, text: str) -> None:
        """Speak a count word now, on its beat."""
        ...

    def cut(self) -> None:
        """Silence at once and drop everything queued."""
        ...

    def close(self) -> None:
        """Release the device."""
        ...


def run_session(
    routine: Routine,
    *,
    store: Store,
    speaker: Speaker,
    timeline: Timeline,
    inbox: Inbox,
) -> str:
    """Guide ``routine`` to its end; return how it ended (the history's end_reason)."""
    avoided_ids = {a.exercise for a in store.avoided()}
    avoided = tuple(e for e in routine.exercises if e.id in avoided_ids)
    guided = routine.without(avoided_ids)
    state = new_session(guided, avoided, estimate_duration(guided))
    session_id = store.start_session(routine.id)
    reason = "interrupted"

    def carry_out(effects: list[Effect]) -> None:
        nonlocal state, reason
        for effect in effects:
            if isinstance(effect, Say):
                log.info("coach: %s", effect.text)  # the journal shows what was said, and when
                speaker.say(effect.text, effect.utterance, lambda u: inbox.put(SpeechFinished(u)))
            elif isinstance(effect, Count):
                speaker.count(effect.text)
            elif isinstance(effect, CutSpeech):
                speaker.cut()
            elif isinstance(effect, RecordOutcome):
                store.record_outcome(session_id, effect.exercise, effect.outcome)
            elif isinstance(effect, RecordPain):
                # Durable before acknowledged: the engine speaks only after this returns.
                try:
                    store.record_pain(
                        session_id, effect.exercise, effect.side, effect.rep, effect.second
                    )
                    ack: Event = PainRecorded()
                except Exception as exc:  # any failure must still reach the engine
                    log.exception("could not record pain for %s", effect.exercise)
                    ack = PainRecordFailed(str(exc))
                state, more = step(state, ack, timeline.now())
                carry_out(more)
            elif isinstance(effect, EndSession):
                reason = effect.reason
                store.end_session(session_id, effect.reason)
            elif isinstance(effect, StartHold | CancelHold):
                log.debug("%s", effect)

    try:
        carry_out(initial_effects(state))
        state, effects = step(state, SessionStarted(), timeline.now())
        carry_out(effects)
        while state.mode is not Mode.ENDED:
            event = timeline.wait(state.deadline)
            state, effects = step(state, event or TimeReached(), timeline.now())
            carry_out(effects)
    except KeyboardInterrupt:
        log.info("interrupted")
        state, effects = step(state, Interrupted(), timeline.now())
        carry_out(effects)
    finally:
        speaker.close()
    return reason
