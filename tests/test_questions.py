"""The coach's questions, in the engine alone: pain check-ins, "easy / fine / hard" and the
progression it drives, and the CORE question that chooses a routine."""

from __future__ import annotations

import pytest

from tests.test_engine import LIB, exercise
from voicecoach.engine import prompts
from voicecoach.engine.effects import (
    ChooseRoutine,
    Count,
    Listen,
    RecordAnswer,
    RecordOutcome,
    Say,
)
from voicecoach.engine.events import AnswerHeard, MicLost, NotUnderstood
from voicecoach.engine.plan import Ask, Questions
from voicecoach.engine.progression import HOLD_STEP_S, Ladder, dosed, step_after
from voicecoach.engine.session import ANSWER_WAIT_S, Candidate, new_triage
from voicecoach.routines.model import Bounds, Hold, PainPattern, Routine
from voicecoach.session.harness import Transcript, run_script, speech_s
from voicecoach.vocabulary import Intent, Value

BOTH = Questions(checkin=True, effort=True)
TILT = exercise("tilt", seconds=5, reps=3, reps_bounds=Bounds(2, 5))
ROUTINE = Routine("r", "Test", "s", "test", (TILT,))


def answering(**values: Value) -> object:
    return lambda ask: values.get(ask.topic.value)


def answers(tr: Transcript) -> list[tuple[str, Value, str | None]]:
    return [(e.effect.topic.value, e.effect.value, e.effect.exercise) for e in tr.of(RecordAnswer)]


def said(tr: Transcript) -> list[str]:
    return [e.effect.text for e in tr.of(Say)]


# -- pain check-in -------------------------------------------------------------------------
def test_both_check_ins_are_recorded_and_stored():
    tr = run_script(
        ROUTINE, questions=BOTH, reply=answering(pain_start=3, pain_end=2, effort="fine")
    )
    assert answers(tr) == [
        ("pain_start", 3, None),
        ("effort", "fine", "tilt"),
        ("pain_end", 2, None),
    ]
    assert tr.store.history()[-1]["checkins"] == {"start": 3, "end": 2}
    assert prompts.score_heard(3) in said(tr)
    assert tr.end_reason() == "completed"


def test_a_rise_of_two_points_is_said_back_with_the_advice():
    risen = run_script(ROUTINE, questions=BOTH, reply=answering(pain_start=3, pain_end=5))
    text = " ".join(said(risen))
    assert prompts.pain_rose(3, 5) in text and "seek professional advice" in text
    steady = run_script(ROUTINE, questions=BOTH, reply=answering(pain_start=3, pain_end=4))
    assert "went from" not in " ".join(said(steady))


def test_no_answer_is_asked_once_more_then_left_never_guessed():
    tr = run_script(ROUTINE, questions=Questions(checkin=True))
    questions = [e for e in tr.of(Say) if e.effect.kind == "question"]
    # Start: asked, asked again; end: the same.
    assert [q.effect.text.startswith("Sorry") for q in questions] == [False, True, False, True]
    assert said(tr).count(prompts.QUESTION_LEFT) == 2
    assert answers(tr) == []
    assert tr.store.history()[-1]["checkins"] == {"start": None, "end": None}
    # It waited for the answer after each asking, no longer.
    first, again = questions[0], questions[1]
    assert again.t == pytest.approx(first.t + speech_s(first.effect.text) + ANSWER_WAIT_S)


def test_skip_skips_the_question_and_keeps_the_exercise():
    def skip(ask: Ask) -> None:
        return None

    tr = run_script(ROUTINE, [(22.0, Intent.NEXT)], questions=Questions(checkin=True), reply=skip)
    first = [e for e in tr.of(Say) if e.t >= 22.0]
    assert first[0].t == 22.0 and first[0].effect.text == prompts.QUESTION_LEFT  # at once
    assert prompts.ask_again(prompts.checkin_start()) not in said(tr)  # not asked again
    assert [e.effect.outcome for e in tr.of(RecordOutcome)] == ["done"]


def test_a_typed_line_that_is_no_answer_asks_again():
    tr = run_script(ROUTINE, [(18.0, NotUnderstood("purple"))], questions=Questions(checkin=True))
    texts = said(tr)
    assert prompts.ask_again(prompts.checkin_start()) in texts
    assert prompts.not_understood() not in texts


def test_numbers_are_listened_for_only_while_a_question_is_open():
    """The coach's own counts can never be taken for a pain score: no number is expected then."""
    tr = run_script(ROUTINE, questions=BOTH, reply=answering(pain_start=4, pain_end=4))
    listening = [(e.t, e.effect.expectation.answer) for e in tr.of(Listen)]
    counts = [e.t for e in tr.of(Count)]
    assert counts
    for t in counts:
        current = [answer for when, answer in listening if when <= t][-1]
        assert current is None
    # A number said during the holds changes nothing.
    late = run_script(
        ROUTINE,
        [(c + 0.1, AnswerHeard(7)) for c in counts],
        questions=BOTH,
        reply=answering(pain_start=4, pain_end=4),
    )
    assert answers(late) == answers(tr) and said(late) == said(tr)


def test_finish_part_way_still_asks_the_closing_check_in():
    first_count = run_script(ROUTINE).of(Count)[0].t
    tr = run_script(
        ROUTINE,
        [(first_count + 20, Intent.FINISH)],
        questions=BOTH,
        reply=answering(pain_start=2, pain_end=2),
    )
    assert [a[0] for a in answers(tr)] == ["pain_start", "pain_end"]
    assert tr.end_reason() == "finished_early"


def test_check_ins_can_be_turned_off():
    tr = run_script(ROUTINE, reply=answering(pain_start=2, pain_end=2))
    assert not [e for e in tr.of(Say) if e.effect.kind == "question"]


# -- progression ---------------------------------------------------------------------------
def session_efforts(routine: Routine, effort: str, history: dict[str, list[str]]) -> Routine:
    """One session through the engine, at the dose the history earns; the history grows."""
    guided = dosed(routine, history)
    tr = run_script(guided, questions=Questions(effort=True), reply=answering(effort=effort))
    for name, value, ex in answers(tr):
        assert name == "effort" and ex is not None
        history.setdefault(ex, []).append(str(value))
    return guided


def reps_of(routine: Routine) -> int:
    return routine.exercises[0].reps


def test_easy_three_sessions_in_a_row_raises_the_dose_one_step_never_past_the_bound():
    history: dict[str, list[str]] = {}
    doses = [reps_of(session_efforts(ROUTINE, "easy", history)) for _ in range(9)]
    # 3 reps to start, bounds 2-5: one more rep after each run of three "easy".
    assert doses == [3, 3, 3, 4, 4, 4, 5, 5, 5]
    assert reps_of(dosed(ROUTINE, history)) == 5  # never past the bound
    # And the plan the engine guides has that many holds.
    tr = run_script(dosed(ROUTINE, history))
    assert len([e for e in tr.of(RecordOutcome)]) == 1
    assert tr.of(RecordOutcome)[0].effect.reps == 5


def test_hard_twice_brings_it_back_down_and_fine_breaks_a_run():
    history: dict[str, list[str]] = {"tilt": ["easy"] * 3}
    assert reps_of(dosed(ROUTINE, history)) == 4
    session_efforts(ROUTINE, "hard", history)
    assert reps_of(dosed(ROUTINE, history)) == 4  # once is not enough
    session_efforts(ROUTINE, "hard", history)
    assert reps_of(dosed(ROUTINE, history)) == 3
    history["tilt"] += ["easy", "easy", "fine", "easy"]
    assert reps_of(dosed(ROUTINE, history)) == 3
    for _ in range(4):
        session_efforts(ROUTINE, "hard", history)
    assert reps_of(dosed(ROUTINE, history)) == 2  # the lower bound holds too


def test_holds_follow_the_reps_within_their_own_bounds():
    ex = exercise(
        "stretch", seconds=20, reps=2, reps_bounds=Bounds(2, 3), hold_bounds=Bounds(20, 30)
    )
    ladder = Ladder.of(ex)
    assert (ladder.down, ladder.up) == (0, 3)
    doses = [(ladder.dose(s).reps, ladder.dose(s).hold.seconds) for s in range(5)]
    assert doses == [(2, 20), (3, 20), (3, 20 + HOLD_STEP_S), (3, 30), (3, 30)]
    breaths = exercise(
        "breathe", reps=1, hold=Hold("In.", "Out.", breaths=2), hold_bounds=Bounds(1, 4)
    )
    assert [Ladder.of(breaths).dose(s).hold.breaths for s in (-5, -1, 0, 1, 2, 9)] == [
        1,
        1,
        2,
        3,
        4,
        4,
    ]


def test_a_bad_day_guides_the_gentlest_dose_and_keeps_the_earned_one():
    history = {"tilt": ["easy"] * 6}
    assert reps_of(dosed(ROUTINE, history)) == 5
    assert reps_of(dosed(ROUTINE, history, bad_day=True)) == 2
    assert reps_of(dosed(ROUTINE, history)) == 5


def test_an_exercise_without_bounds_keeps_its_dose():
    plain = Routine("p", "P", "s", "t", (exercise("x", reps=3),))
    assert reps_of(dosed(plain, {"x": ["easy"] * 9})) == 3
    assert step_after(Ladder.of(plain.exercises[0]), ["easy"] * 9) == 0


# -- the CORE question ---------------------------------------------------------------------
def core_candidates() -> dict[str, Candidate]:
    return {
        p.value: Candidate(r)
        for r in LIB.routines.values()
        for p in PainPattern
        if r.suits is p and p is not PainPattern.GENERAL
    }


@pytest.mark.parametrize(
    ("said_", "routine"),
    [
        ("sitting", "pain-eased-by-sitting"),
        ("lying down", "pain-eased-by-standing-or-lying"),
        ("neither", "pain-not-eased-by-position"),
    ],
)
def test_the_core_answer_chooses_the_matching_routine_and_says_why(said_: str, routine: str):
    state = new_triage(core_candidates())
    ask = state.plan[0]
    assert isinstance(ask, Ask)
    value = ask.answer.match(said_)
    tr = run_script(state.routine, state=state, reply=lambda _ask: value)
    assert [e.effect.routine for e in tr.of(ChooseRoutine)] == [routine]
    texts = said(tr)
    assert texts[0] == prompts.TRIAGE
    assert texts[1] == prompts.WHY[str(value)]
    assert texts[2].startswith(f"Welcome. This is {LIB.routines[routine].title}")
    assert tr.of(Count)  # it guided the routine
    assert tr.store.history()[-1]["routine"] == routine
    assert tr.end_reason() == "completed"


def test_no_core_answer_guesses_nothing_and_ends():
    state = new_triage(core_candidates())
    tr = run_script(state.routine, state=state)
    texts = said(tr)
    assert texts[:2] == [prompts.TRIAGE, prompts.ask_again(prompts.TRIAGE)]
    assert prompts.NO_CHOICE in texts
    assert tr.of(ChooseRoutine) == [] and tr.of(Count) == []
    assert tr.end_reason() == "finished_early"
    assert tr.store.history()[-1]["routine"] == "core-question"


def test_help_while_a_question_waits_says_the_help_then_asks_again():
    tr = run_script(ROUTINE, [(17.0, Intent.HELP)], questions=Questions(checkin=True))
    texts = said(tr)
    i = texts.index(prompts.help_text())
    assert texts[i - 1] == prompts.checkin_start() and texts[i + 1] == prompts.checkin_start()


def effort_asked_at() -> float:
    tr = run_script(ROUTINE, questions=Questions(effort=True))
    return next(e.t for e in tr.of(Say) if e.effect.text == prompts.EFFORT)


@pytest.mark.parametrize("intent", list(Intent), ids=lambda i: i.value)
def test_every_command_while_a_question_is_open(intent: Intent):
    """The docs' row "a question open", cell by cell (the effort question after "tilt")."""
    t = effort_asked_at() + 4.0  # asked, and waiting for the answer
    tr = run_script(ROUTINE, [(t, intent)], questions=Questions(effort=True))
    texts = [e.effect.text for e in tr.of(Say) if e.t >= t]
    outcome = {e.effect.exercise: e.effect.outcome for e in tr.of(RecordOutcome)}
    expected = {
        Intent.PAIN: lambda: [a.exercise for a in tr.store.avoided()] == ["tilt"],
        Intent.STOP: lambda: texts[0] == prompts.stopped(),
        Intent.NEXT: lambda: texts[0] == prompts.QUESTION_LEFT and outcome == {"tilt": "done"},
        Intent.PAUSE: lambda: texts[0] == prompts.paused(),
        Intent.RESUME: lambda: texts[0] == prompts.ALREADY_GOING,
        Intent.REPEAT: lambda: texts[0] == prompts.EFFORT,
        Intent.HELP: lambda: texts[:2] == [prompts.help_text(), prompts.EFFORT],
        Intent.FINISH: lambda: tr.end_reason() == "finished_early" and outcome == {"tilt": "done"},
    }[intent]
    assert expected(), texts


def test_finish_with_the_microphone_lost_asks_nothing_more():
    first_count = run_script(ROUTINE).of(Count)[0].t
    script = [(first_count + 1, MicLost()), (first_count + 5, Intent.FINISH)]
    tr = run_script(ROUTINE, script, questions=BOTH, reply=answering(pain_start=2, pain_end=2))
    assert [a[0] for a in answers(tr)] == ["pain_start"]
    assert tr.end_reason() == "finished_early"


def test_the_config_file_turns_the_questions_off(tmp_path):
    from voicecoach.config import ConfigError, SessionSettings, load

    path = tmp_path / "config.toml"
    path.write_text("[session]\ncheckin = false\n")
    assert load(path).session == SessionSettings(checkin=False, effort=True)
    assert load(tmp_path / "none.toml").session == SessionSettings(checkin=True, effort=True)
    path.write_text('[session]\ncheckin = "no"\n')
    with pytest.raises(ConfigError, match="session.checkin"):
        load(path)


def test_a_text_session_with_the_check_in_turned_off_asks_nothing_of_it(tmp_path):
    import subprocess
    import sys

    config = tmp_path / "config.toml"
    config.write_text("[session]\ncheckin = false\neffort = false\n")
    args = ["--data-dir", str(tmp_path / "d"), "--config", str(config)]
    out = subprocess.run(
        [sys.executable, "-m", "voicecoach", *args, "run", "core-stability", "--text"]
        + ["--time-scale", "0.005"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert "That is the end of" in out
    assert "How is your back" not in out and prompts.EFFORT not in out


def test_leaving_the_last_exercise_still_asks_the_closing_check_in():
    first_count = run_script(ROUTINE).of(Count)[0].t
    for intent in (Intent.NEXT, Intent.PAIN):
        tr = run_script(
            ROUTINE,
            [(first_count + 1, intent)],
            questions=BOTH,
            reply=answering(pain_start=2, pain_end=5),
        )
        assert [a[0] for a in answers(tr)] == ["pain_start", "pain_end"], intent


def test_a_bad_day_does_not_ask_how_the_gentlest_dose_felt(tmp_path):
    import subprocess
    import sys

    config = tmp_path / "config.toml"
    config.write_text("[session]\ncheckin = false\neffort = true\n")
    args = ["--data-dir", str(tmp_path / "d"), "--config", str(config), "run", "core-stability"]
    runs = {}
    for extra in ([], ["--bad-day"]):
        runs[bool(extra)] = subprocess.run(
            [sys.executable, "-m", "voicecoach", *args, "--text", "--time-scale", "0.005", *extra],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
    assert prompts.EFFORT in runs[False] and prompts.EFFORT not in runs[True]
    assert "First of three." in runs[True]  # pelvic tilt and bridge at their lowest bound, 3
