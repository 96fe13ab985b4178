"""The session engine, through the harness: guidance, counts, and every command in every state."""

from __future__ import annotations

import ast
import random
from pathlib import Path

import pytest

from voicecoach.engine import plan, prompts
from voicecoach.engine.effects import (
    CancelHold,
    Count,
    CutSpeech,
    Listen,
    RecordOutcome,
    RecordPain,
    Say,
    StartHold,
)
from voicecoach.engine.events import (
    AnswerHeard,
    CommandHeard,
    MicBack,
    MicLost,
    NotUnderstood,
    SessionStarted,
    TimeReached,
)
from voicecoach.engine.session import STOP_TIMEOUT_S, Mode, new_session, step
from voicecoach.routines.loader import load_builtin
from voicecoach.routines.model import CountStyle, Exercise, Hold, PainPattern, Routine, Sides
from voicecoach.session.harness import Transcript, run_script, speech_s
from voicecoach.vocabulary import Expectation, Intent, find_command_phrase

LIB = load_builtin()


def exercise(ex_id: str, seconds: int = 5, reps: int = 2, **kw) -> Exercise:
    fields = dict(
        id=ex_id,
        name=ex_id.replace("_", " ").title(),
        position="Lie on your back.",
        setup=("Bend your knees.", "Rest your arms."),
        hold=Hold("Press your back down.", "Relax.", seconds=seconds),
        count=CountStyle.SECONDS,
        reps=reps,
        sides=Sides.NONE,
        side_label="side",
        rest_s=5,
        suits=(PainPattern.GENERAL,),
        source="test",
    )
    fields.update(kw)
    return Exercise(**fields)  # type: ignore[arg-type]


ROUTINE = Routine(
    "two", "Two exercises", "s", "test", (exercise("tilt"), exercise("lift", seconds=3, reps=1))
)


def outcomes(tr: Transcript) -> dict[str, str]:
    result = {}
    for e in tr.of(RecordOutcome):
        result[e.effect.exercise] = e.effect.outcome
    for e in tr.of(RecordPain):
        if e.effect.exercise:
            result[e.effect.exercise] = "dropped_pain"
    return result


def after(tr: Transcript, t: float) -> list:
    return [e for e in tr.effects if e.t >= t]


# -- guidance ------------------------------------------------------------------------------
def test_undisturbed_session_guides_everything_in_order():
    tr = run_script(ROUTINE)
    assert tr.end_reason() == "completed"
    assert outcomes(tr) == {"tilt": "done", "lift": "done"}
    texts = [text for _, text in tr.spoken()]
    assert texts[0].startswith("Welcome. This is Two exercises")
    assert texts.index("Exercise one of two: Tilt.") < texts.index("After this one: Lift.")
    assert "First of two." in texts and "Second of two." in texts
    assert texts[-1].startswith("That is the end of Two exercises. Today you did two exercises")
    i = texts.index(f"Press your back down. {prompts.HOLD}")
    assert texts[i + 1 : i + 7] == ["one", "two", "three", "four", "five", "Relax."]


def test_counts_fall_on_absolute_seconds_from_hold_start():
    tr = run_script(ROUTINE)
    starts = [e.t for e in tr.of(StartHold)]
    counts = tr.of(Count)
    assert len(starts) == 3 and len(counts) == 5 + 5 + 3
    k = 0
    for start, n in zip(starts, (5, 5, 3), strict=True):
        for second in range(1, n + 1):
            assert counts[k].effect.n == second
            assert counts[k].t == pytest.approx(start + second, abs=1e-9)
            k += 1


def test_late_wakeups_never_accumulate_drift_over_two_minutes():
    """A shell that wakes up late (a busy Pi) must not push later counts back."""
    long_hold = exercise("plank", seconds=60, reps=1, count=CountStyle.SECONDS)
    routine = Routine("r", "Long", "s", "t", (long_hold, exercise("b", seconds=60, reps=1)))
    rng = random.Random(7)
    state = new_session(routine)
    state, fx = step(state, SessionStarted(), 0.0)
    now, start, emitted = 0.0, None, []
    from voicecoach.engine.events import SpeechFinished

    while state.mode is not Mode.ENDED and now < 400:
        says = [f for f in fx if isinstance(f, Say)]
        for f in fx:
            if isinstance(f, StartHold):
                start = now
            if isinstance(f, Count):
                emitted.append((now, start, f.n))
        if says and state.awaiting is not None:
            now += 0.5
            state, fx = step(state, SpeechFinished(state.awaiting), now)
            continue
        deadline = state.deadline
        if deadline is None:
            break
        now = deadline + rng.uniform(0, 0.25)  # always late, by up to 250 ms
        state, fx = step(state, TimeReached(), now)
    assert len(emitted) == 120
    for t, hold_start, n in emitted:
        assert 0 <= t - (hold_start + n) <= 0.25  # each count late only by its own wake-up


@pytest.mark.parametrize(
    ("ex_id", "expected"),
    [
        (
            "childs_pose",
            ["twenty seconds to go.", "ten seconds to go.", "five", "four", "three", "two", "one"],
        ),
        ("knee_to_chest_stretch", ["ten seconds to go.", "five", "four", "three", "two", "one"]),
        ("bottom_to_heel", [prompts.BREATHE_IN, prompts.BREATHE_OUT]),
    ],
)
def test_count_styles(ex_id: str, expected: list[str]):
    ex = LIB.exercises[ex_id]
    marks = plan.hold_marks(ex.hold, ex.count, ())
    assert [m.text for m in marks] == expected
    if ex.count is CountStyle.TENS:
        n = ex.hold.duration_s
        assert [m.offset for m in marks][-5:] == [n - 5, n - 4, n - 3, n - 2, n - 1]


def test_minutes_style_for_the_walk():
    walk = LIB.exercises["walking"]
    marks = plan.hold_marks(walk.hold, walk.count, walk.reminders)
    texts = [m.text for m in marks]
    assert texts[0] == walk.reminders[0]  # at 30 s
    assert "one minute." in texts and prompts.ONE_MINUTE_LEFT in texts
    assert all(m.offset < walk.hold.duration_s for m in marks)
    assert [m.offset for m in marks] == sorted(m.offset for m in marks)


def test_sides_are_announced():
    knee = LIB.exercises["single_knee_to_chest"]
    routine = Routine("k", "Knees", "s", "t", (knee,))
    texts = [t for _, t in run_script(routine).spoken()]
    assert texts.count("We start with the right leg.") == 1
    assert texts.count("Now the left leg.") == 1
    assert texts.index("We start with the right leg.") < texts.index("Now the left leg.")
    assert texts.count("Second of five.") == 2
    holds = [e.effect for e in run_script(routine).of(StartHold)]
    assert [(h.side, h.rep) for h in holds][:6] == [("right", r) for r in range(1, 6)] + [
        ("left", 1)
    ]


def test_alternating_sides():
    rolls = LIB.exercises["knee_rolls"]
    holds = [e.effect for e in run_script(Routine("k", "K", "s", "t", (rolls,))).of(StartHold)]
    assert [h.side for h in holds] == ["right", "left"] * rolls.reps


def test_avoided_exercises_are_announced_and_recorded():
    tr = run_script(
        Routine("two", "T", "s", "t", (ROUTINE.exercises[1],)), avoided=(ROUTINE.exercises[0],)
    )
    assert any("Tilt is left out of this session" in t for _, t in tr.spoken())
    assert outcomes(tr) == {"tilt": "avoided", "lift": "done"}


def test_nothing_left_when_everything_is_avoided():
    empty = Routine("two", "T", "s", "t", ())
    tr = run_script(empty, avoided=ROUTINE.exercises)
    assert any(prompts.nothing_left() == t for _, t in tr.spoken())
    assert tr.end_reason() == "completed"


def test_no_prompt_speaks_a_command_unless_marked():
    """Every library routine, with every command thrown at it, never says a command itself."""
    for routine in LIB.routines.values():
        runs = [run_script(routine)]
        first_count = runs[0].of(Count)[0].t
        for intent in Intent:
            runs.append(
                run_script(routine, [(first_count + 0.1, intent), (first_count + 2, Intent.RESUME)])
            )
        runs.append(
            run_script(routine, [(3.0, NotUnderstood("hello")), (4.0, MicLost()), (5.0, MicBack())])
        )
        for tr in runs:
            for e in tr.effects:
                if isinstance(e.effect, Count) or (
                    isinstance(e.effect, Say) and not e.effect.quotes_commands
                ):
                    assert find_command_phrase(e.effect.text) is None, e.effect.text


def test_only_the_listed_prompts_quote_commands():
    quoting = {f() for f in prompts.QUOTES_COMMANDS}
    assert all(find_command_phrase(text) for text in quoting)
    for routine in LIB.routines.values():
        for e in run_script(routine, [(30.0, Intent.HELP)]).of(Say):
            if e.effect.quotes_commands:
                assert e.effect.text in quoting


def test_engine_is_pure():
    """No I/O, no clocks, no sleeping anywhere in the engine package."""
    banned_modules = {
        "sounddevice",
        "vosk",
        "pocketsphinx",
        "sqlite3",
        "subprocess",
        "time",
        "os",
        "socket",
        "threading",
    }
    engine_dir = Path(plan.__file__).parent
    for source in engine_dir.glob("*.py"):
        tree = ast.parse(source.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [(node.module or "").split(".")[0]]
            else:
                continue
            assert not set(names) & banned_modules, (source.name, names)
        text = source.read_text()
        for call in ("time.sleep", "time.time", "datetime.now", "open("):
            assert call not in text, (source.name, call)


def test_step_does_not_mutate_its_input():
    state = new_session(ROUTINE)
    before = repr(state)
    step(state, SessionStarted(), 0.0)
    assert repr(state) == before


# -- commands in every state ---------------------------------------------------------------
BASE = run_script(ROUTINE)


def _time_of(text: str, nth: int = 0) -> float:
    return [t for t, s in BASE.spoken() if s == text][nth]


STATES = {
    "welcome": 1.0,
    "setup": _time_of("Bend your knees.") + 0.2,
    "holding": _time_of("one") + 0.1,
    "resting": _time_of("Relax.") + speech_s("Relax.") + 1.0,
    "between": next(e.t for e in BASE.of(RecordOutcome) if e.effect.exercise == "tilt") + 1.0,
    "summary": next(e for e in BASE.of(Say) if e.effect.kind == "summary").t + 0.5,
}


def scenario(state: str, intent: Intent | None, **kw) -> tuple[Transcript, float]:
    """Drive the session into ``state``, then say ``intent`` one second later (or at once)."""
    hold_t = STATES["holding"]
    if state in STATES:
        t = STATES[state]
        script = [(t, intent)] if intent else []
    else:  # paused / stopped / recording: reached from a hold
        first = {"paused": Intent.PAUSE, "stopped": Intent.STOP, "recording": Intent.PAIN}[state]
        t = hold_t + 1.0
        script = [(hold_t, first)] + ([(t, intent)] if intent else [])
        if state == "recording":
            kw.setdefault("record_delay", 5.0)
    return run_script(ROUTINE, script, **kw), t


ALL_STATES = [
    "welcome",
    "setup",
    "holding",
    "resting",
    "between",
    "paused",
    "stopped",
    "recording",
    "summary",
]

# (state, intent) -> (how the session ends, the outcome of "tilt", of "lift")
EXPECTED = {
    Intent.PAIN: {
        "welcome": ("stopped", None, None),
        "setup": ("completed", "dropped_pain", "done"),
        "holding": ("completed", "dropped_pain", "done"),
        "resting": ("completed", "dropped_pain", "done"),
        "between": ("completed", "dropped_pain", "done"),
        "paused": ("completed", "dropped_pain", "done"),
        "stopped": ("completed", "dropped_pain", "done"),
        "recording": ("completed", "dropped_pain", "done"),
        "summary": ("completed", "done", "dropped_pain"),
    },
    Intent.STOP: {
        "welcome": ("stopped", None, None),
        "setup": ("stopped", "stopped", None),
        "holding": ("stopped", "stopped", None),
        "resting": ("stopped", "stopped", None),
        "between": ("stopped", "done", None),
        "paused": ("stopped", "stopped", None),
        "stopped": ("stopped", "stopped", None),
        "recording": ("completed", "dropped_pain", "done"),
        "summary": ("completed", "done", "done"),
    },
    Intent.NEXT: {
        "welcome": ("completed", "done", "done"),
        "setup": ("completed", "skipped", "done"),
        "holding": ("completed", "skipped", "done"),
        "resting": ("completed", "skipped", "done"),
        "between": ("completed", "done", "done"),
        "paused": ("completed", "skipped", "done"),
        "stopped": ("completed", "skipped", "done"),
        "recording": ("completed", "dropped_pain", "done"),
        "summary": ("completed", "done", "done"),
    },
    Intent.PAUSE: {
        "welcome": (Mode.PAUSED, None, None),
        "setup": (Mode.PAUSED, None, None),
        "holding": (Mode.PAUSED, None, None),
        "resting": (Mode.PAUSED, None, None),
        "between": (Mode.PAUSED, "done", None),
        "paused": (Mode.PAUSED, None, None),
        "stopped": (Mode.PAUSED, None, None),
        "recording": ("completed", "dropped_pain", "done"),
        "summary": ("completed", "done", "done"),
    },
    Intent.RESUME: {
        **{
            s: ("completed", "done", "done")
            for s in [
                "welcome",
                "setup",
                "holding",
                "resting",
                "between",
                "paused",
                "stopped",
                "summary",
            ]
        },
        "recording": ("completed", "dropped_pain", "done"),
    },
    Intent.REPEAT: {
        **{
            s: ("completed", "done", "done")
            for s in ["welcome", "setup", "holding", "resting", "between", "summary"]
        },
        "paused": (Mode.PAUSED, None, None),
        "stopped": ("stopped", "stopped", None),
        "recording": ("completed", "dropped_pain", "done"),
    },
    Intent.HELP: {
        **{
            s: ("completed", "done", "done")
            for s in ["welcome", "setup", "holding", "resting", "between", "summary"]
        },
        "paused": (Mode.PAUSED, None, None),
        "stopped": ("stopped", "stopped", None),
        "recording": ("completed", "dropped_pain", "done"),
    },
    # Finished half-way (a hold begun): partly done, kept as "stopped"; before any hold: left out.
    Intent.FINISH: {
        "welcome": ("finished_early", None, None),
        "setup": ("finished_early", "skipped", None),
        "holding": ("finished_early", "stopped", None),
        "resting": ("finished_early", "stopped", None),
        "between": ("finished_early", "done", None),
        "paused": ("finished_early", "stopped", None),
        "stopped": ("finished_early", "stopped", None),
        "recording": ("completed", "dropped_pain", "done"),
        "summary": ("completed", "done", "done"),
    },
}


@pytest.mark.parametrize("state", ALL_STATES)
@pytest.mark.parametrize("intent", list(Intent), ids=lambda i: i.value)
def test_every_command_in_every_state(state: str, intent: Intent):
    tr, t = scenario(state, intent)
    ending, tilt, lift = EXPECTED[intent][state]
    if isinstance(ending, Mode):
        assert tr.state.mode is ending and tr.end_reason() is None
    else:
        assert tr.end_reason() == ending
    got = outcomes(tr)
    assert got.get("tilt") == tilt and got.get("lift") == lift, got
    if intent.is_safety and state not in ("recording", "summary"):
        # The priority lane: silence is the very first thing done.
        first = after(tr, t)[0].effect
        assert isinstance(first, CutSpeech), first
        # ... and no count of the interrupted hold follows.
        assert not [e for e in after(tr, t) if isinstance(e.effect, Count) and e.t < t + 1.5]


@pytest.mark.parametrize("state", ALL_STATES)
def test_not_understood_in_every_state(state: str):
    tr, t = scenario(state, None)
    tr2 = run_script(
        ROUTINE,
        [*_script_of(state), (t, NotUnderstood("banana"))],
        record_delay=5.0 if state == "recording" else 0.05,
    )
    said = [e.effect.text for e in after(tr2, t) if isinstance(e.effect, Say)]
    if state == "recording":
        assert prompts.not_understood() not in said[:1]
    else:
        assert said[0] == prompts.not_understood()
    assert tr2.end_reason() == tr.end_reason() and outcomes(tr2) == outcomes(tr)


def _script_of(state: str) -> list:
    hold_t = STATES["holding"]
    return {
        "paused": [(hold_t, Intent.PAUSE)],
        "stopped": [(hold_t, Intent.STOP)],
        "recording": [(hold_t, Intent.PAIN)],
    }.get(state, [])


# -- pain, stop and pause in detail --------------------------------------------------------
def test_pain_during_a_hold_records_where_it_happened_and_speaks_only_after_the_record():
    t = STATES["holding"]  # 0.1 s after "one"
    tr = run_script(ROUTINE, [(t, Intent.PAIN)], record_delay=2.0)
    effects = after(tr, t)
    assert isinstance(effects[0].effect, CutSpeech) and isinstance(effects[1].effect, CancelHold)
    pain = effects[2].effect
    assert pain == RecordPain("tilt", None, 1, pytest.approx(1.1))
    ack = next(e for e in effects if isinstance(e.effect, Say))
    assert ack.t == pytest.approx(t + 2.0)  # not a moment before the record is durable
    assert (
        "Tilt out of your routine" in ack.effect.text and "professional advice" in ack.effect.text
    )
    # The exercise is never resumed: nothing of it is said again.
    later = [e.effect.text for e in effects if isinstance(e.effect, Say | Count)]
    assert f"Press your back down. {prompts.HOLD}" not in later[1:3]
    assert next(e for e in effects if isinstance(e.effect, Say) and "Lift" in e.effect.text)
    assert tr.end_reason() == "completed"


def test_pain_record_failure_still_drops_and_says_so():
    tr = run_script(ROUTINE, [(STATES["holding"], Intent.PAIN)], record_fails=True)
    said = [t for _, t in tr.spoken()]
    assert any("could not save" in s for s in said)
    assert outcomes(tr)["tilt"] == "dropped_pain"


def test_stop_times_out_after_sixty_seconds():
    t = STATES["holding"]
    tr = run_script(ROUTINE, [(t, Intent.STOP)])
    notice = tr.first(lambda e: isinstance(e, Say) and e.text == prompts.NO_ANSWER)
    assert notice.t == pytest.approx(t + STOP_TIMEOUT_S)
    assert tr.end_reason() == "stopped"
    assert [e.effect.text for e in after(tr, t) if isinstance(e.effect, Say)][
        0
    ] == prompts.stopped()


def test_resume_after_pause_continues_the_count_where_it_was():
    t = STATES["holding"]  # 1.1 s into the hold, "one" said
    tr = run_script(ROUTINE, [(t, Intent.PAUSE), (t + 30, Intent.RESUME)])
    counts = [e for e in after(tr, t) if isinstance(e.effect, Count)]
    assert counts[0].effect.text == "two"
    assert counts[0].t == pytest.approx(t + 30 + 0.9)  # 2.0 s into the hold, pause not counted
    assert not [e for e in tr.effects if t < e.t < t + 30 and isinstance(e.effect, Count)]


def test_next_during_hold_skips_and_moves_on():
    t = STATES["holding"]
    tr = run_script(ROUTINE, [(t, Intent.NEXT)])
    said = [e.effect.text for e in after(tr, t) if isinstance(e.effect, Say)]
    assert said[:2] == [prompts.left_out("Tilt"), "Exercise two of two: Lift."]


def test_repeat_says_the_current_instruction_again():
    t = STATES["setup"]
    tr = run_script(ROUTINE, [(t, Intent.REPEAT)])
    said = [e.effect.text for e in after(tr, t) if isinstance(e.effect, Say)]
    assert said[0] == "Bend your knees."


def test_mic_loss_pauses_and_waits_for_resume():
    t = STATES["holding"]
    tr = run_script(
        ROUTINE,
        [(t, MicLost()), (t + 5, Intent.RESUME), (t + 10, MicBack()), (t + 12, Intent.RESUME)],
    )
    said = [e.effect.text for e in after(tr, t) if isinstance(e.effect, Say)]
    assert said[:4] == [
        prompts.MIC_LOST,
        prompts.MIC_STILL_LOST,
        prompts.mic_back(),
        prompts.CARRYING_ON,
    ]
    assert not [e for e in tr.effects if t < e.t < t + 12 and isinstance(e.effect, Count)]
    assert tr.end_reason() == "completed"


def test_interrupted_ends_recorded_as_interrupted():
    from voicecoach.engine.events import Interrupted

    tr = run_script(ROUTINE, [(STATES["holding"], Interrupted())])
    assert tr.end_reason() == "interrupted"
    assert outcomes(tr) == {"tilt": "stopped"}


def test_commands_after_the_end_do_nothing():
    state = new_session(ROUTINE)
    tr = run_script(ROUTINE)
    final = tr.state
    for intent in Intent:
        _, fx = step(final, CommandHeard(intent), tr.end_t + 1)
        assert fx == []
    assert state.mode is Mode.READY


# -- what the coach listens for ------------------------------------------------------------
def test_the_engine_says_what_it_listens_for_before_it_speaks():
    tr = run_script(ROUTINE, [(20.0, Intent.PAUSE), (30.0, Intent.RESUME), (60.0, Intent.STOP)])
    listens = tr.of(Listen)
    # Once, at the start, before the welcome: every command, no answer (no question is asked).
    assert [(e.t, e.effect.expectation) for e in listens] == [(0.0, Expectation())]
    assert tr.effects.index(listens[0]) < tr.effects.index(tr.of(Say)[0])


def test_stop_and_pain_can_never_be_switched_off():
    nothing = Expectation(intents=frozenset())
    assert nothing.allows(Intent.STOP) and nothing.allows(Intent.PAIN)
    assert not nothing.allows(Intent.NEXT)
    assert set(nothing.commands().values()) == {Intent.STOP, Intent.PAIN}


def test_an_answer_nobody_asked_for_changes_nothing():
    plain = run_script(ROUTINE)
    answered = run_script(ROUTINE, [(12.0, AnswerHeard(7, "seven"))])
    assert answered.effects == plain.effects
