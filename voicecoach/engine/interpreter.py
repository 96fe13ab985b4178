"""The one interpreter of effects, and the session loop around it.

Every session carries its effects out here: live, typed, rendered to a file, and simulated by
the harness (which is how the engine's tests and routine durations run). The ports are
injected: a ``Speaker``, a ``SessionStore``, a clock, a way to report events back and the
listener (told by ``Listen`` what to listen for). Each
effect type has its case below, ending in ``assert_never``, so an effect type added to the
``Effect`` union without a case here is a mypy error rather than an effect silently dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, assert_never

from voicecoach.engine.effects import (
    CancelHold,
    ChooseRoutine,
    Count,
    CutSpeech,
    Effect,
    EndReason,
    EndSession,
    Listen,
    RecordAnswer,
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
from voicecoach.engine.session import Mode, State, initial_effects, step
from voicecoach.vocabulary import Expectation

if TYPE_CHECKING:  # only a protocol: the engine does not load the store
    from voicecoach.store.protocol import SessionStore

log = logging.getLogger(__name__)


class Speaker(Protocol):
    """Where the coach's words go (a sound card, a WAV file, a terminal, a simulation)."""

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


class Interpreter:
    """Carries out one session's effects in order and feeds the engine what comes back.

    ``report`` takes events from other threads (a finished utterance). A pain record is
    acknowledged at once, inside the effect that wrote it, so the engine hears that it is
    durable before any event that queued meanwhile; ``acknowledge`` replaces that, for a
    simulation in which the write itself takes time.
    """

    def __init__(
        self,
        state: State,
        *,
        speaker: Speaker,
        store: SessionStore,
        session_id: int,
        now: Callable[[], float],
        report: Callable[[Event], None],
        acknowledge: Callable[[Event], None] | None = None,
        observe: Callable[[Effect], None] | None = None,
        journal: bool = True,
        listen: Callable[[Expectation], None] | None = None,
    ) -> None:
        self.state = state
        self.reason = EndReason.INTERRUPTED  # until the engine says otherwise
        self._speaker = speaker
        self._store = store
        self._session_id = session_id
        self._now = now
        self._report = report
        self._acknowledge = acknowledge or self.feed
        self._observe = observe
        self._journal = journal  # the journal shows what was said, and when (not in simulations)
        self._listen = listen  # the session's listener (none when nothing listens: a render)

    def run(self, wait: Callable[[float | None], Event | None]) -> EndReason:
        """Guide the session to its end; ``wait(deadline)`` gives the next event or None.

        ^C ends the session as ``interrupted``, with its records written.
        """
        try:
            self.carry_out(initial_effects(self.state))
            self.feed(SessionStarted())
            while self.state.mode is not Mode.ENDED:
                self.feed(wait(self.state.deadline) or TimeReached())
        except KeyboardInterrupt:
            log.info("interrupted")
            self.feed(Interrupted())
        return self.reason

    def feed(self, event: Event) -> None:
        """Step the engine with ``event`` now, and carry out what it asks."""
        self.state, effects = step(self.state, event, self._now())
        self.carry_out(effects)

    def carry_out(self, effects: list[Effect]) -> None:
        """Carry out ``effects`` in order."""
        for effect in effects:
            if self._observe is not None:
                self._observe(effect)
            self._one(effect)

    def _one(self, effect: Effect) -> None:
        match effect:
            case Say():
                if self._journal:
                    log.info("coach: %s", effect.text)
                self._speaker.say(effect.text, effect.utterance, self._finished)
            case Count():
                self._speaker.count(effect.text)
            case CutSpeech():
                self._speaker.cut()
            case StartHold() | CancelHold():
                log.debug("%s", effect)
            case RecordOutcome():
                self._store.record_outcome(
                    self._session_id, effect.exercise, effect.outcome, effect.reps, effect.hold_s
                )
            case RecordPain():
                self._acknowledge(self._record_pain(effect))
            case RecordAnswer():
                self._store.record_answer(
                    self._session_id, effect.topic, effect.exercise, effect.value
                )
            case ChooseRoutine():
                self._store.set_routine(self._session_id, effect.routine)
            case Listen():
                log.debug("listening for %s", effect.expectation)
                if self._listen is not None:
                    self._listen(effect.expectation)
            case EndSession():
                self.reason = effect.reason
                self._store.end_session(self._session_id, effect.reason)
            case _:
                assert_never(effect)

    def _record_pain(self, effect: RecordPain) -> Event:
        # Durable before acknowledged: the engine speaks only after this returns.
        try:
            self._store.record_pain(
                self._session_id, effect.exercise, effect.side, effect.rep, effect.second
            )
        except Exception as exc:  # any failure must still reach the engine
            log.exception("could not record pain for %s", effect.exercise)
            return PainRecordFailed(str(exc))
        return PainRecorded()

    def _finished(self, utterance: int) -> None:
        self._report(SpeechFinished(utterance))
