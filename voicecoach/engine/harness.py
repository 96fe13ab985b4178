"""Run a routine against a script of timed events on a fake clock; get the ordered effects.

This is how the engine is tested (a 20-minute routine runs in milliseconds) and how routine
durations are estimated. Speech takes time here too: each utterance lasts ``speech_s(text)``,
utterances play one after another, and ``CutSpeech`` drops what is playing or queued, exactly
the contract a real speaker keeps.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from voicecoach.engine.effects import (
    Count,
    CutSpeech,
    Effect,
    EndSession,
    RecordPain,
    Say,
)
from voicecoach.engine.events import (
    CommandHeard,
    Event,
    PainRecorded,
    PainRecordFailed,
    SessionStarted,
    SpeechFinished,
    TimeReached,
)
from voicecoach.engine.session import Mode, State, initial_effects, new_session, step
from voicecoach.routines.model import Exercise, Routine
from voicecoach.vocabulary import Intent

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

    def end_reason(self) -> str | None:
        """How the session ended, if it did."""
        ends = self.of(EndSession)
        return ends[-1].effect.reason if ends else None  # type: ignore[attr-defined]


ScriptItem = tuple[float, Event | Intent]


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
) -> Transcript:
    """Run a session on a fake clock.

    ``script`` holds (session time, event or intent) pairs; an intent stands for
    ``CommandHeard(intent)``. Pain records become durable ``record_delay`` seconds after
    ``RecordPain`` (or fail, with ``record_fails``).
    """
    state = new_session(routine, avoided, estimated_s)
    out = Transcript()
    queue: list[tuple[float, int, int, Event]] = []  # (time, priority, sequence, event)
    sequence = 0

    def push(t: float, priority: int, event: Event) -> None:
        nonlocal sequence
        heapq.heappush(queue, (t, priority, sequence, event))
        sequence += 1

    for t, item in script:
        push(t, 0, CommandHeard(item) if isinstance(item, Intent) else item)

    speaker_free = 0.0
    playing: set[int] = set()

    def carry_out(t: float, effects: list[Effect]) -> None:
        nonlocal speaker_free
        for effect in effects:
            out.effects.append(Timed(round(t, 6), effect))
            if isinstance(effect, Say):
                start = max(t, speaker_free)
                speaker_free = start + speech(effect.text)
                playing.add(effect.utterance)
                push(speaker_free, 1, SpeechFinished(effect.utterance))
            elif isinstance(effect, CutSpeech):
                playing.clear()
                speaker_free = t
            elif isinstance(effect, RecordPain):
                push(t + record_delay, 2, PainRecordFailed() if record_fails else PainRecorded())
            elif isinstance(effect, EndSession):
                out.end_t = t

    carry_out(0.0, initial_effects(state))
    state, effects = step(state, SessionStarted(), 0.0)
    carry_out(0.0, effects)
    while state.mode is not Mode.ENDED:
        deadline = state.deadline
        if queue and (deadline is None or queue[0][0] <= deadline):
            t, _, _, event = heapq.heappop(queue)
            if isinstance(event, SpeechFinished) and event.utterance not in playing:
                continue  # it was cut
        elif deadline is not None:
            t, event = deadline, TimeReached()
        else:
            break  # nothing will ever happen again
        if t > limit_s:
            break
        state, effects = step(state, event, t)
        carry_out(t, effects)
    out.state = state
    return out


def estimate_duration(routine: Routine, avoided: tuple[Exercise, ...] = ()) -> float:
    """Seconds an undisturbed session takes, with estimated speech durations."""
    end = run_script(routine, avoided=avoided).end_t
    assert end is not None
    return end
