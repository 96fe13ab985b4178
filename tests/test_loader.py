"""Loading the built-in library and user folders; what is rejected and what survives."""

from __future__ import annotations

from pathlib import Path

from voicecoach.routines.loader import (
    BUILTIN_DIR,
    load_builtin,
    load_files,
    load_library,
    validate_paths,
)
from voicecoach.routines.model import CountStyle, Sides
from voicecoach.vocabulary import find_command_phrase

GOOD = """title = "Gentle start"
summary = "Two easy exercises."
source = "Exercise for Back Pain Relief"

[[steps]]
exercise = "pelvic_tilt"
reps = 3

[[steps]]
exercise = "my_slide"

[exercises.my_slide]
name = "Heel slide"
position = "Lie on your back with both knees bent."
setup = ["Rest your arms by your sides."]
action = "Slowly slide one heel away along the mat."
release = "Slide it back."
hold_s = 3
suits = ["general"]
source = "My physiotherapist"
"""


def test_builtin_library_is_sound_and_large_enough():
    lib = load_builtin()
    assert lib.errors == []
    assert len(lib.routines) >= 8
    used = {e.id for r in lib.routines.values() for e in r.exercises}
    assert len(used) >= 15
    for routine in lib.routines.values():
        assert routine.source.strip()
        assert routine.exercises


def test_builtin_library_never_speaks_a_command():
    for routine in load_builtin().routines.values():
        assert find_command_phrase(routine.title) is None
        for ex in routine.exercises:
            for where, text in ex.spoken_texts():
                assert find_command_phrase(text) is None, (ex.id, where, text)


def test_seed_doses_are_kept():
    ex = load_builtin().exercises
    assert (ex["pelvic_tilt"].hold.seconds, ex["pelvic_tilt"].reps) == (5, 5)
    knee = ex["single_knee_to_chest"]
    assert (knee.hold.seconds, knee.reps, knee.sides) == (5, 5, Sides.LEFT_THEN_RIGHT)
    assert (ex["bridge"].hold.seconds, ex["bridge"].reps) == (5, 5)
    stretch = ex["knee_to_chest_stretch"]
    assert (stretch.hold.seconds, stretch.reps, stretch.sides) == (20, 3, Sides.LEFT_THEN_RIGHT)
    child = ex["childs_pose"]
    assert child.hold.seconds == 30 and child.hold_bounds and child.hold_bounds.high == 120
    assert ex["bottom_to_heel"].hold.breaths == 1
    assert ex["knee_rolls"].hold.breaths == 1 and ex["knee_rolls"].sides is Sides.ALTERNATING
    assert ex["cat_cow"].alternate is not None and 5 <= ex["cat_cow"].hold.seconds <= 10
    squeeze = ex["shoulder_squeeze"]
    assert squeeze.hold.seconds == 10 and squeeze.alternate and squeeze.alternate.seconds == 10
    assert squeeze.reps_bounds and (squeeze.reps_bounds.low, squeeze.reps_bounds.high) == (2, 4)
    walk = ex["walking"]
    assert walk.hold.seconds == 1200 and walk.hold_bounds and walk.hold_bounds.high == 1800
    assert walk.count is CountStyle.MINUTES and walk.reminders


def test_user_routine_uses_builtin_and_own_exercises(tmp_path: Path):
    (tmp_path / "gentle-start.toml").write_text(GOOD)
    lib = load_library(tmp_path)
    routine = lib.routines["gentle-start"]
    assert [e.id for e in routine.exercises] == ["pelvic_tilt", "my_slide"]
    assert routine.exercises[0].reps == 3  # override
    assert routine.exercises[0].hold.seconds == 5  # default kept
    assert routine.path == tmp_path / "gentle-start.toml"
    assert "pelvic-tilt" not in lib.routines and len(lib.routines) > 1  # built-ins still there


def test_broken_file_is_skipped_whole_and_others_load(tmp_path: Path):
    (tmp_path / "good.toml").write_text(GOOD)
    broken = GOOD.replace("hold_s = 3", "hold_s = -3").replace("Heel slide", "Heel glide")
    (tmp_path / "broken.toml").write_text(broken.replace("my_slide", "my_glide"))
    lib = load_library(tmp_path)
    assert "good" in lib.routines and "broken" not in lib.routines
    assert "my_glide" not in lib.exercises  # the broken file's exercises are dropped too
    assert lib.skipped == [tmp_path / "broken.toml"]
    assert [(e.line, e.where) for e in lib.errors] == [(18, "exercises.my_glide.hold_s")]


def test_routine_may_use_exercises_from_a_sibling_file(tmp_path: Path):
    exercises = GOOD[GOOD.index("[exercises.my_slide]") :]
    (tmp_path / "my-exercises.toml").write_text(exercises)
    (tmp_path / "uses-sibling.toml").write_text(
        'title = "T"\nsummary = "S"\nsource = "x"\n[[steps]]\nexercise = "my_slide"\n'
    )
    lib = load_files([tmp_path / "my-exercises.toml", tmp_path / "uses-sibling.toml"])
    assert lib.errors == [] and "uses-sibling" in lib.routines


def test_user_routine_cannot_shadow_a_builtin_routine(tmp_path: Path):
    name = next(iter(load_builtin().routines))
    (tmp_path / f"{name}.toml").write_text(GOOD)
    errors = validate_paths([tmp_path])
    assert len(errors) == 1 and "already used" in errors[0].message


def test_validating_the_builtin_folder_itself_is_clean():
    assert validate_paths([BUILTIN_DIR]) == []
