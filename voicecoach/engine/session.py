"""The session state machine: ``step(state, event, now) -> (state, effects)``.

``now`` is session time in seconds from a clock the shell owns (never the wall clock). The state
says when it next needs waking (``State.deadline``); the shell sends ``TimeReached`` then.

Safety has a priority lane: on pain or stop the first effects are ``CutSpeech`` and
``CancelHold``, so nothing queued before them can still be heard, and the pain
acknowledgement is only spoken after the shell reports the record durable (``PainRecorded``).
"""

from __future__ import annotations

import copy
import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from voicecoach.engine import prompts
from voicecoach.engine.effects import (
    CancelHold,
    ChooseRoutine,
    Count,
    CutSpeech,
    Effect,
    EndReason,
    EndSession,
    Listen,
    Outcome,
    RecordAnswer,
    RecordOutcome,
    RecordPain,
    Say,
    StartHold,
    Topic,
)
from voicecoach.engine.events import (
    AnswerHeard,
    CommandHeard,
    Event,
    Interrupted,
    MicBack,
    MicLost,
    NotUnderstood,
    PainRecorded,
    PainRecordFailed,
    SessionStarted,
    SpeechFinished,
    TimeReached,
)
from voicecoach.engine.plan import (
    NO_QUESTIONS,
    TRIAGE_ANSWERS,
    Ask,
    Begin,
    Cue,
    Done,
    HoldStep,
    Item,
    Questions,
    Rest,
    Summary,
    compile_plan,
)
from voicecoach.routines.model import Exercise, Routine
from voicecoach.vocabulary import Choice, Expectation, Intent, Number, Value

#: How long "stop" waits for an answer before ending the session (session seconds).
STOP_TIMEOUT_S = 60.0
#: Rest after a pain acknowledgement, before the next exercise.
PAIN_REST_S = 10.0
#: How long a question waits for its answer once it has been asked (session seconds).
ANSWER_WAIT_S = 8.0
#: A pain check-in this many points above the first one is said back, with the advice.
PAIN_RISE = 2


class Mode(enum.Enum):
    """Where the session is."""

    READY = "ready"  # created, waiting for SessionStarted
    RUNNING = "running"  # walking the plan
    PAUSED = "paused"  # "pause" or a lost microphone: the session clock is held
    STOPPED = "stopped"  # "stop": silent, held, asking what to do; ends after STOP_TIMEOUT_S
    RECORDING = "recording"  # pain reported: silent until the record is durable
    ENDED = "ended"


@dataclass(frozen=True)
class Candidate:
    """A routine the CORE question may choose, ready to guide (``new_session``'s arguments)."""

    routine: Routine
    avoided: tuple[Exercise, ...] = ()
    estimated_s: float = 0.0


@dataclass
class State:
    """Everything the engine knows. Field values are immutable; ``step`` never mutates its input."""

    routine: Routine
    plan: tuple[Item, ...]
    cursor: int = 0
    mode: Mode = Mode.READY
    awaiting: int | None = None  # the utterance whose end moves the cursor on
    next_utterance: int = 1
    hold_start: float | None = None  # start of the running hold (shifted by pauses)
    hold_next: int = 0  # index of the next mark of the running hold
    rest_until: float | None = None
    paused_at: float | None = None
    stop_deadline: float | None = None
    mic_ok: bool = True
    current: int | None = None  # exercise between its Begin and Done
    last_exercise: int | None = None  # most recent exercise begun
    last_hold: tuple[str | None, int] | None = None  # (side, rep) of the latest hold begun
    holds_begun: int = 0  # holds of the current exercise begun so far
    last_instruction: str | None = None  # for "repeat"
    outcomes: tuple[tuple[str, Outcome], ...] = ()
    pending_pain: int | None = None  # exercise whose pain record is being written
    end_reason: EndReason = EndReason.COMPLETED
    listening: Expectation | None = None  # what the shell was last told to listen for
    questions: Questions = NO_QUESTIONS
    ask_deadline: float | None = None  # the question at the cursor waits for an answer until then
    ask_tries: int = 0  # times the question at the cursor went unanswered
    answers: tuple[tuple[Topic, Value], ...] = ()
    candidates: tuple[tuple[str, Candidate], ...] = ()  # the CORE question's answer -> routine

    @property
    def deadline(self) -> float | None:
        """When the engine next needs a ``TimeReached`` (None: only events move it on)."""
        if self.mode is Mode.STOPPED:
            return self.stop_deadline
        if self.mode is not Mode.RUNNING or self.awaiting is not None:
            return None
        item = self.plan[self.cursor] if self.cursor < len(self.plan) else None
        if isinstance(item, HoldStep) and self.hold_start is not None:
            if self.hold_next < len(item.marks):
                return self.hold_start + item.marks[self.hold_next].offset
            return self.hold_start + item.seconds
        if isinstance(item, Rest) and self.rest_until is not None:
            return self.rest_until
        if isinstance(item, Ask):
            return self.ask_deadline
        return None

    @property
    def holding(self) -> bool:
        """A hold is running (or held by a pause)."""
        return self.hold_start is not None

    def exercise(self, index: int) -> Exercise:
        """The exercise at ``index`` of the routine."""
        return self.routine.exercises[index]


def new_session(
    routine: Routine,
    avoided: tuple[Exercise, ...] = (),
    estimated_s: float = 0.0,
    questions: Questions = NO_QUESTIONS,
) -> State:
    """A session of ``routine`` with the ``avoided`` exercises already left out of it."""
    outcomes = tuple((e.id, Outcome.AVOIDED) for e in avoided)
    plan = compile_plan(routine, avoided, estimated_s, questions)
    return State(routine, plan, outcomes=outcomes, questions=questions)


#: The session's routine until the CORE question has chosen one.
UNCHOSEN = Routine("core-question", "the CORE question", "", "", ())


def new_triage(candidates: Mapping[str, Candidate], questions: Questions = NO_QUESTIONS) -> State:
    """A session that first asks what eases the pain, then guides the matching candidate.

    ``candidates`` maps a ``PainPattern`` value to its routine; only those are offered. With
    no answer (asked twice), nothing is guessed: the session ends.
    """
    offered = tuple((n, v) for n, v in TRIAGE_ANSWERS.names if v in candidates)
    ask = Ask(Topic.ROUTINE, prompts.TRIAGE, Choice(offered, TRIAGE_ANSWERS.cutoff))
    plan: tuple[Item, ...] = (ask, Cue(prompts.NO_CHOICE, "reply"), Summary())
    return State(
        UNCHOSEN,
        plan,
        questions=questions,
        end_reason=EndReason.FINISHED_EARLY,
        candidates=tuple(candidates.items()),
    )


def initial_effects(state: State) -> list[Effect]:
    """Outcomes known before the session starts (avoided exercises)."""
    return [RecordOutcome(ex, outcome) for ex, outcome in state.outcomes]


def step(state: State, event: Event, now: float) -> tuple[State, list[Effect]]:
    """React to ``event`` at session time ``now``."""
    s = copy.copy(state)
    fx: list[Effect] = []
    handler = _HANDLERS.get(type(event))
    if handler is not None and s.mode is not Mode.ENDED:
        handler(s, event, now, fx)
    return s, fx


# -- event handlers ------------------------------------------------------------------------
def _on_started(s: State, _e: Event, now: float, fx: list[Effect]) -> None:
    if s.mode is Mode.READY:
        s.mode = Mode.RUNNING
        # Every command, all session long: no question is asked yet (stop and pain always).
        _listen(s, fx, Expectation())
        _advance(s, now, fx)


def _on_time(s: State, _e: Event, now: float, fx: list[Effect]) -> None:
    if s.mode is Mode.STOPPED and s.stop_deadline is not None and now >= s.stop_deadline:
        _finish(s, now, fx, EndReason.STOPPED, outcome=Outcome.STOPPED, notice=prompts.NO_ANSWER)
    elif s.mode is Mode.RUNNING:
        _advance(s, now, fx)


def _on_speech_finished(s: State, e: Event, now: float, fx: list[Effect]) -> None:
    assert isinstance(e, SpeechFinished)
    if s.mode is not Mode.RUNNING or e.utterance != s.awaiting:
        return
    s.awaiting = None
    item = s.plan[s.cursor]
    if isinstance(item, Summary):
        s.mode = Mode.ENDED
        fx.append(EndSession(s.end_reason))
        return
    if isinstance(item, Ask):  # asked: now the answer is waited for
        s.ask_deadline = now + ANSWER_WAIT_S
        return
    s.cursor += 1
    _advance(s, now, fx)


def _on_pain_recorded(s: State, e: Event, now: float, fx: list[Effect]) -> None:
    if s.mode is not Mode.RECORDING:
        return
    index, s.pending_pain = s.pending_pain, None
    s.mode = Mode.RUNNING
    if index is None:  # before any exercise: do not start one after a pain report
        s.end_reason = EndReason.STOPPED
        s.cursor = len(s.plan) - 1
        _splice(s, [Cue(prompts.PAIN_BEFORE_START, "pain")])
        _advance(s, now, fx)
        return
    name = s.exercise(index).name
    if isinstance(e, PainRecorded):
        text = prompts.pain_recorded(name)
    else:
        text = prompts.pain_not_recorded(name)
    at_summary = isinstance(s.plan[s.cursor], Summary)
    _splice(s, [Cue(text, "pain")] + ([] if at_summary else [Rest(PAIN_REST_S)]))
    _advance(s, now, fx)


def _on_mic_lost(s: State, _e: Event, now: float, fx: list[Effect]) -> None:
    s.mic_ok = False
    if s.mode is Mode.RUNNING:
        _hold_still(s, now, fx, Mode.PAUSED)
        _say(s, fx, prompts.MIC_LOST, "mic")


def _on_mic_back(s: State, _e: Event, now: float, fx: list[Effect]) -> None:
    was_lost, s.mic_ok = not s.mic_ok, True
    if was_lost and s.mode is Mode.PAUSED:
        _say(s, fx, prompts.mic_back(), "mic", quotes=True)


def _on_not_understood(s: State, _e: Event, now: float, fx: list[Effect]) -> None:
    if s.mode is Mode.RUNNING and _asking(s) is not None:
        fx.append(CutSpeech())
        _unanswered(s, now, fx)  # a typed line that is not an answer: asked once more
    elif s.mode is not Mode.RECORDING:
        _say(s, fx, prompts.not_understood(), "reply", quotes=True)


def _on_answer(s: State, e: Event, now: float, fx: list[Effect]) -> None:
    assert isinstance(e, AnswerHeard)
    ask = _asking(s) if s.mode is Mode.RUNNING else None
    if ask is None or not _valid(ask, e.value):
        return  # nothing is asked now (a late answer), or not this kind of answer
    fx.append(CutSpeech())  # an answer given before the question ended
    s.ask_deadline, s.ask_tries, s.awaiting = None, 0, None
    s.answers += ((ask.topic, e.value),)
    exercise = s.exercise(ask.exercise).id if ask.exercise is not None else None
    fx.append(RecordAnswer(ask.topic, e.value, exercise))
    s.cursor += 1
    if ask.topic is Topic.ROUTINE:
        _choose(s, str(e.value), fx)
    else:
        _splice(s, [Cue(_acknowledgement(s, ask.topic, e.value), "reply")])
    _advance(s, now, fx)


def _on_interrupted(s: State, _e: Event, now: float, fx: list[Effect]) -> None:
    fx.append(CutSpeech())
    if s.holding:
        fx.append(CancelHold())
    if s.current is not None and s.mode is not Mode.RECORDING:
        _outcome(s, fx, s.current, Outcome.STOPPED)
    s.mode = Mode.ENDED
    s.end_reason = EndReason.INTERRUPTED
    fx.append(EndSession(EndReason.INTERRUPTED))


def _on_command(s: State, e: Event, now: float, fx: list[Effect]) -> None:
    assert isinstance(e, CommandHeard)
    if s.mode in (Mode.READY, Mode.RECORDING):
        return  # not started yet / silent until the pain record is durable
    at_summary = s.mode is Mode.RUNNING and isinstance(s.plan[s.cursor], Summary)
    if at_summary and e.intent in (Intent.STOP, Intent.PAUSE, Intent.FINISH):
        # Everything is done already: silence is all that is asked for.
        fx.append(CutSpeech())
        s.mode = Mode.ENDED
        fx.append(EndSession(s.end_reason))
        return
    if s.mode is Mode.RUNNING and _asking(s) is not None and e.intent is Intent.NEXT:
        _leave_question(s, now, fx)  # "skip"
        return
    _COMMANDS[e.intent](s, now, fx)


# -- commands ------------------------------------------------------------------------------
def _pain(s: State, now: float, fx: list[Effect]) -> None:
    """Silence, drop the exercise for good, record it, and only then say so."""
    index = s.current if s.current is not None else s.last_exercise
    fx.append(CutSpeech())
    second = None
    side, rep = s.last_hold if s.last_hold and index == s.current else (None, None)
    if s.holding:
        fx.append(CancelHold())
        assert s.hold_start is not None
        held_at = s.paused_at if s.paused_at is not None else now
        second = round(held_at - s.hold_start, 3)
    _reset_timing(s)
    s.mode = Mode.RECORDING
    s.pending_pain = index
    if index is None:
        fx.append(RecordPain(None, None, None, None))
        return
    ex_id = s.exercise(index).id
    s.outcomes = tuple(o for o in s.outcomes if o[0] != ex_id) + ((ex_id, Outcome.DROPPED_PAIN),)
    s.current = None
    s.cursor = _next_begin(s)
    fx.append(RecordPain(ex_id, side, rep, second))


def _stop(s: State, now: float, fx: list[Effect]) -> None:
    if s.mode is Mode.STOPPED:
        fx.append(CutSpeech())  # "stop" again: silence, even of the question
        return
    _hold_still(s, now, fx, Mode.STOPPED)
    s.stop_deadline = now + STOP_TIMEOUT_S
    _say(s, fx, prompts.stopped(), "reply", quotes=True)


def _pause(s: State, now: float, fx: list[Effect]) -> None:
    if s.mode is Mode.RUNNING:
        _hold_still(s, now, fx, Mode.PAUSED)
    elif s.mode is Mode.STOPPED:
        s.mode, s.stop_deadline = Mode.PAUSED, None  # a pause has no time limit
    _say(s, fx, prompts.paused(), "reply", quotes=True)


def _resume(s: State, now: float, fx: list[Effect]) -> None:
    if s.mode is Mode.RUNNING:
        _say(s, fx, prompts.ALREADY_GOING, "reply")
        return
    if not s.mic_ok:
        _say(s, fx, prompts.MIC_STILL_LOST, "mic")
        return
    _carry_on(s, now, fx, announce=True)


def _next(s: State, now: float, fx: list[Effect]) -> None:
    if isinstance(s.plan[s.cursor], Summary):
        _say(s, fx, prompts.LAST_EXERCISE, "reply")
        return
    fx.append(CutSpeech())
    if s.holding:
        fx.append(CancelHold())
    _reset_timing(s)
    s.mode = Mode.RUNNING
    s.cursor = _next_begin(s)
    if s.current is not None:
        name = s.exercise(s.current).name
        _outcome(s, fx, s.current, Outcome.SKIPPED)
        s.current = None
        _splice(s, [Cue(prompts.left_out(name), "reply")])
    _advance(s, now, fx)


def _repeat(s: State, now: float, fx: list[Effect]) -> None:
    if s.mode is Mode.STOPPED:
        _say(s, fx, prompts.stopped(), "reply", quotes=True)
    elif s.mode is Mode.PAUSED:
        _say(s, fx, prompts.paused(), "reply", quotes=True)
    elif s.awaiting is not None or _asking(s) is not None:
        fx.append(CutSpeech())
        s.ask_deadline = None
        _emit_cue(s, fx)  # say the current cue (or question) again from its start
    elif s.last_instruction:
        _say(s, fx, s.last_instruction, "repeat")


def _help(s: State, now: float, fx: list[Effect]) -> None:
    if s.mode is Mode.RUNNING and (s.awaiting is not None or _asking(s) is not None):
        fx.append(CutSpeech())
        s.ask_deadline = None  # a question is asked again after the help, and waited for anew
        _say(s, fx, prompts.help_text(), "reply", quotes=True)
        _emit_cue(s, fx)
    else:
        _say(s, fx, prompts.help_text(), "reply", quotes=True)


def _finish_early(s: State, now: float, fx: list[Effect]) -> None:
    # An exercise finished half-way was partly done ("stopped"); one not yet held, left out.
    # The closing check-in is asked only if the coach can hear the answer.
    outcome = Outcome.STOPPED if s.holds_begun else Outcome.SKIPPED
    _finish(s, now, fx, EndReason.FINISHED_EARLY, outcome=outcome, checkin=s.mic_ok)


_COMMANDS: dict[Intent, Callable[[State, float, list[Effect]], None]] = {
    Intent.PAIN: _pain,
    Intent.STOP: _stop,
    Intent.PAUSE: _pause,
    Intent.RESUME: _resume,
    Intent.NEXT: _next,
    Intent.REPEAT: _repeat,
    Intent.HELP: _help,
    Intent.FINISH: _finish_early,
}

_HANDLERS: dict[type[Event], Callable[[State, Event, float, list[Effect]], None]] = {
    SessionStarted: _on_started,
    TimeReached: _on_time,
    SpeechFinished: _on_speech_finished,
    CommandHeard: _on_command,
    NotUnderstood: _on_not_understood,
    AnswerHeard: _on_answer,
    PainRecorded: _on_pain_recorded,
    PainRecordFailed: _on_pain_recorded,
    MicLost: _on_mic_lost,
    MicBack: _on_mic_back,
    Interrupted: _on_interrupted,
}


# -- walking the plan ----------------------------------------------------------------------
def _advance(s: State, now: float, fx: list[Effect]) -> None:
    """Carry out plan items until one needs to wait (speech, a deadline) or the session ends."""
    while s.mode is Mode.RUNNING and s.awaiting is None:
        item = s.plan[s.cursor]
        # What is listened for follows the cursor: an answer only while a question is open.
        _listen(s, fx, Expectation(answer=item.answer) if isinstance(item, Ask) else Expectation())
        if isinstance(item, Ask):
            if s.ask_deadline is None:
                _emit_cue(s, fx)  # ask; its end starts the wait
                continue
            if now >= s.ask_deadline:
                _unanswered(s, now, fx)
            return
        elif isinstance(item, Begin):
            s.current = s.last_exercise = item.exercise
            s.holds_begun = 0
            s.cursor += 1
        elif isinstance(item, Done):
            _outcome(s, fx, item.exercise, Outcome.DONE)
            s.current = None
            s.cursor += 1
        elif isinstance(item, Cue):
            _emit_cue(s, fx)
        elif isinstance(item, HoldStep):
            if not _hold(s, item, now, fx):
                return
            s.cursor += 1
        elif isinstance(item, Rest):
            if s.rest_until is None:
                s.rest_until = now + item.seconds
            if now < s.rest_until:
                return
            s.rest_until = None
            s.cursor += 1
        else:  # Summary: the session ends when it has been said
            _emit_cue(s, fx)


def _hold(s: State, item: HoldStep, now: float, fx: list[Effect]) -> bool:
    """Start or continue a hold; True once it has run its full length."""
    if s.hold_start is None:
        s.hold_start, s.hold_next = now, 0
        s.last_hold = (item.side, item.rep)
        s.holds_begun += 1
        fx.append(StartHold(s.exercise(item.exercise).id, item.side, item.rep, item.seconds))
    # Marks are due at absolute instants (start + offset): a late wake-up never shifts later ones.
    while s.hold_next < len(item.marks) and now >= s.hold_start + item.marks[s.hold_next].offset:
        mark = item.marks[s.hold_next]
        fx.append(Count(mark.n, mark.text))
        s.hold_next += 1
    if s.hold_next < len(item.marks) or now < s.hold_start + item.seconds:
        return False
    s.hold_start = None
    return True


def _emit_cue(s: State, fx: list[Effect]) -> None:
    """Say the cue (or summary) at the cursor; its end moves the plan on."""
    item = s.plan[s.cursor]
    if isinstance(item, Ask):
        question = prompts.ask_again(item.question) if s.ask_tries else item.question
        s.awaiting = _say(s, fx, question, "question", quotes=item.quotes_commands)
        return
    if isinstance(item, Summary):
        counts = {o: sum(1 for _, x in s.outcomes if x == o) for o in Outcome}
        text = prompts.summary(
            s.routine.title,
            counts[Outcome.DONE],
            counts[Outcome.SKIPPED],
            counts[Outcome.DROPPED_PAIN],
            s.end_reason,
        )
        s.awaiting = _say(s, fx, text, "summary")
        return
    assert isinstance(item, Cue)
    s.awaiting = _say(s, fx, item.text, item.kind, quotes=item.quotes_commands)
    if item.kind in ("setup", "action", "release", "caution", "intro", "welcome"):
        s.last_instruction = item.text


def _finish(
    s: State,
    now: float,
    fx: list[Effect],
    reason: EndReason,
    outcome: Outcome,
    notice: str | None = None,
    checkin: bool = False,
) -> None:
    """End early: silence, record the exercise under way, then the summary.

    With ``checkin``, the closing pain check-in is asked first (if it is still ahead).
    """
    fx.append(CutSpeech())
    if s.holding:
        fx.append(CancelHold())
    if s.current is not None:
        _outcome(s, fx, s.current, outcome)
        s.current = None
    _reset_timing(s)
    s.end_reason = reason
    s.mode = Mode.RUNNING
    s.cursor = _closing(s) if checkin else len(s.plan) - 1
    if notice:
        _splice(s, [Cue(notice, "reply")])
    _advance(s, now, fx)


# -- helpers -------------------------------------------------------------------------------
def _say(s: State, fx: list[Effect], text: str, kind: str, quotes: bool = False) -> int:
    utterance = s.next_utterance
    s.next_utterance += 1
    fx.append(Say(text, utterance, kind, quotes))
    return utterance


def _listen(s: State, fx: list[Effect], expectation: Expectation) -> None:
    """Tell the shell what to listen for, when that changes."""
    if expectation != s.listening:
        s.listening = expectation
        fx.append(Listen(expectation))


def _outcome(s: State, fx: list[Effect], index: int, outcome: Outcome) -> None:
    ex = s.exercise(index)
    s.outcomes = tuple(o for o in s.outcomes if o[0] != ex.id) + ((ex.id, outcome),)
    fx.append(RecordOutcome(ex.id, outcome, ex.reps, ex.hold.duration_s))


def _hold_still(s: State, now: float, fx: list[Effect], mode: Mode) -> None:
    """Silence and hold the session clock (pause, stop, lost microphone)."""
    fx.append(CutSpeech())
    if s.mode is Mode.RUNNING:
        s.paused_at = now
    s.mode = mode


def _carry_on(s: State, now: float, fx: list[Effect], announce: bool) -> None:
    """Leave a pause: shift the held timers by the pause, and say the cut cue again."""
    if s.paused_at is not None:
        held = now - s.paused_at
        if s.hold_start is not None:
            s.hold_start += held
        if s.rest_until is not None:
            s.rest_until += held
        if s.ask_deadline is not None:
            s.ask_deadline += held
    s.paused_at = s.stop_deadline = None
    s.mode = Mode.RUNNING
    if announce:
        _say(s, fx, prompts.CARRYING_ON, "reply")
    if s.awaiting is not None:
        _emit_cue(s, fx)  # it was cut by the pause
    else:
        _advance(s, now, fx)


def _reset_timing(s: State) -> None:
    s.hold_start = s.rest_until = s.paused_at = s.stop_deadline = s.ask_deadline = None
    s.awaiting = None
    s.ask_tries = 0


# -- questions -----------------------------------------------------------------------------
def _asking(s: State) -> Ask | None:
    """The question at the cursor, if one is being asked or waits for its answer."""
    item = s.plan[s.cursor] if s.cursor < len(s.plan) else None
    return item if isinstance(item, Ask) else None


def _valid(ask: Ask, value: Value) -> bool:
    if isinstance(ask.answer, Number):
        return isinstance(value, int) and ask.answer.low <= value <= ask.answer.high
    return value in ask.answer.phrases().values()


def _unanswered(s: State, now: float, fx: list[Effect]) -> None:
    """No answer (or none understood): ask once more, then leave the question, never guess."""
    s.ask_deadline, s.awaiting = None, None
    if s.ask_tries == 0:
        s.ask_tries = 1
        _emit_cue(s, fx)
    else:
        _leave_question(s, now, fx)


def _leave_question(s: State, now: float, fx: list[Effect]) -> None:
    """Go on without an answer: said so, except for the CORE question (its own notice follows)."""
    ask = _asking(s)
    fx.append(CutSpeech())
    _reset_timing(s)
    s.cursor += 1
    if ask is not None and ask.topic is not Topic.ROUTINE:
        _splice(s, [Cue(prompts.QUESTION_LEFT, "reply")])
    _advance(s, now, fx)


def _acknowledgement(s: State, topic: Topic, value: Value) -> str:
    if topic is Topic.EFFORT:
        return prompts.EFFORT_HEARD
    assert isinstance(value, int)
    text = prompts.score_heard(value)
    start = next((v for t, v in s.answers if t is Topic.PAIN_START), None)
    if topic is Topic.PAIN_END and isinstance(start, int) and value - start >= PAIN_RISE:
        text += " " + prompts.pain_rose(start, value)
    return text


def _choose(s: State, pattern: str, fx: list[Effect]) -> None:
    """Guide the routine the CORE answer points to: its plan replaces what follows."""
    chosen = dict(s.candidates)[pattern]
    s.routine = chosen.routine
    s.end_reason = EndReason.COMPLETED
    fx.append(ChooseRoutine(chosen.routine.id))
    s.outcomes = tuple((e.id, Outcome.AVOIDED) for e in chosen.avoided)
    fx.extend(initial_effects(s))
    plan = compile_plan(chosen.routine, chosen.avoided, chosen.estimated_s, s.questions)
    s.plan = s.plan[: s.cursor] + (Cue(prompts.WHY[pattern], "reply"), *plan)


def _closing(s: State) -> int:
    """Where an early finish goes: the closing pain check-in (if still ahead), or the summary."""
    for i in range(s.cursor + 1, len(s.plan)):
        item = s.plan[i]
        if isinstance(item, Ask) and item.topic is Topic.PAIN_END:
            return i
    return len(s.plan) - 1


def _next_begin(s: State) -> int:
    """Cursor of the next exercise's start, or of the closing check-in, or of the summary.

    Leaving the last exercise (by "next", or because it hurt) still asks how the back is.
    """
    for i in range(s.cursor + 1, len(s.plan)):
        item = s.plan[i]
        if isinstance(item, Begin | Summary) or (
            isinstance(item, Ask) and item.topic is Topic.PAIN_END
        ):
            return i
    return len(s.plan) - 1


def _splice(s: State, items: Sequence[Item]) -> None:
    """Insert items at the cursor (a reply that belongs to the plan, like a pain notice)."""
    s.plan = s.plan[: s.cursor] + tuple(items) + s.plan[s.cursor :]
