"""The built-in library against the guidance articles: cautions spoken, doses kept, own words."""

from __future__ import annotations

import re

import pytest

from voicecoach.engine import plan, prompts
from voicecoach.routines.loader import load_builtin
from voicecoach.routines.model import CountStyle, Hold, PainPattern, Routine

from .conftest import SHARED

LIB = load_builtin()
SEEDS = SHARED / "seeds"
CORE = [r for r in LIB.routines.values() if r.suits not in (None, PainPattern.GENERAL)]


def spoken(routine: Routine) -> list[str]:
    """Every cue of a whole session of ``routine`` (no exercise avoided)."""
    items = plan.compile_plan(routine, (), 600.0)
    return [item.text for item in items if isinstance(item, plan.Cue)]


def welcome(routine: Routine) -> str:
    """What is said before the first exercise starts."""
    items = plan.compile_plan(routine, (), 600.0)
    first = next(i for i, item in enumerate(items) if isinstance(item, plan.Begin))
    return " ".join(item.text for item in items[:first] if isinstance(item, plan.Cue))


def test_the_three_core_back_tool_groups_have_a_routine():
    assert {r.suits for r in CORE} == {
        PainPattern.EASED_BY_SITTING,
        PainPattern.EASED_BY_STANDING_OR_LYING,
        PainPattern.NOT_EASED_BY_POSITION,
    }


@pytest.mark.parametrize("routine", CORE, ids=lambda r: r.id)
def test_core_routines_speak_the_guidance_cautions_before_the_first_exercise(routine: Routine):
    said = welcome(routine).lower()
    for words in (
        "flare-up",  # Back Exercises
        "heavy lifting",  # What exercises can I do for back pain?
        "bending down a lot",
        "running, jumping and rowing",
        "disc prolapse",
        "when the pain is intense, lift no heavy loads",
        "physiotherapist",  # Back Exercise for Pain Relief; Exercise for Back Pain Relief
        "build up gradually",
        "more than a few weeks",  # Back Exercise for Pain Relief
        "see a doctor",
    ):
        assert words in said, f"{routine.id} never says {words!r}"


@pytest.mark.parametrize("routine", CORE, ids=lambda r: r.id)
def test_core_routines_include_a_walk(routine: Routine):
    walk = next(ex for ex in routine.exercises if ex.id == "walk_around")
    assert any("painful or does not feel right" in c for c in walk.cautions)


def test_the_aerobic_dose_of_the_guidance_is_spoken():
    said = " ".join(spoken(LIB.routines["aerobic-walk"]))
    assert "at least twenty minutes, three to four times a week" in said


@pytest.mark.parametrize("ex_id", ["cat_cow", "prone_on_elbows", "press_up"])
def test_back_extension_exercises_carry_the_stenosis_caution(ex_id: str):
    ex = LIB.exercises[ex_id]
    assert any("stenosis" in c for c in ex.cautions)
    routines = [r for r in LIB.routines.values() if ex_id in {e.id for e in r.exercises}]
    assert routines
    for routine in routines:
        assert any("stenosis" in text for text in spoken(routine))


@pytest.mark.parametrize("routine", list(LIB.routines.values()), ids=lambda r: r.id)
def test_routines_guide_every_exercise_at_its_library_dose(routine: Routine):
    """docs/sources.md gives each exercise's dose and its source; routines do not cut it."""
    for ex in routine.exercises:
        base = LIB.exercises[ex.id]
        assert (ex.reps, ex.hold, ex.alternate) == (base.reps, base.hold, base.alternate), ex.id


def test_holds_counted_in_tens_count_down_only():
    """Eyes closed, "ten ... five, four" sounded like counting up, then down."""
    for seconds in range(12, 301):
        hold = Hold("a", "r", seconds=seconds)
        numbers = [m.n for m in plan.hold_marks(hold, CountStyle.TENS, ("x",)) if m.n]
        assert numbers == sorted(numbers, reverse=True), seconds
        assert len(set(numbers)) == len(numbers)


def test_a_breath_cue_is_never_followed_by_a_bare_hold():
    """After "breathe in", "And hold." sounds like holding the breath."""
    for routine in LIB.routines.values():
        for text in spoken(routine):
            if "breathe in" in text.lower():
                assert not re.search(r"\band hold\b", text, re.IGNORECASE), text


def test_the_closing_summary_is_one_plain_sentence_per_outcome():
    assert prompts.summary("Core stability", 3, 1, 1, "completed") == (
        "That is the end of Core stability. Today you did three exercises. "
        "One was left out, and one was taken out because of pain. Well done."
    )
    assert prompts.summary("X", 1, 0, 2, "stopped") == (
        "We will end here. Today you did one exercise. Two were taken out because of pain. "
        "Well done."
    )


def test_the_lying_back_extension_is_not_called_a_press_up():
    ex = LIB.exercises["press_up"]
    assert not re.search(r"press.?up|push", ex.name, re.IGNORECASE)
    assert "hips resting on the mat" in ex.hold.action


@pytest.mark.parametrize("ex_id", ["walk_around", "walking"])
def test_walks_stay_where_the_coach_can_be_heard(ex_id: str):
    ex = LIB.exercises[ex_id]
    assert "where you can hear me" in ex.hold.action
    text = " ".join(t for _, t in ex.spoken_texts()).lower()
    for away in ("water cooler", "route", "outside", "stairs"):
        assert away not in text


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower().replace("’", "'").replace("'", ""))


@pytest.mark.skipif(not SEEDS.is_dir(), reason=f"the guidance articles are not at {SEEDS}")
def test_spoken_text_is_written_in_our_own_words():
    """No run of eight words is taken from a guidance article."""
    run = 8
    seeds: set[tuple[str, ...]] = set()
    for path in SEEDS.glob("*.txt"):
        words = _words(path.read_text(encoding="utf-8"))
        seeds |= {tuple(words[i : i + run]) for i in range(len(words) - run + 1)}
    texts = [t for ex in LIB.exercises.values() for _, t in ex.spoken_texts()]
    texts += [t for r in LIB.routines.values() for t in (r.title, *r.cautions)]
    for text in texts:
        words = _words(text)
        for i in range(len(words) - run + 1):
            assert tuple(words[i : i + run]) not in seeds, text
