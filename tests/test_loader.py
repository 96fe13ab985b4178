"""Loading the built-in library and user folders; what is rejected and what survives."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from voicecoach.cli import cli
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


def test_broken_file_does_not_knock_out_a_good_one_with_the_same_exercise(tmp_path: Path):
    # a.toml's exercise is sound but its routine is not, so the whole file is out, and b.toml's
    # definition of the same id is then the only one.
    broken = GOOD.replace("my_slide", "my_ex").replace("reps = 3", 'reps = "three"')
    (tmp_path / "a.toml").write_text(broken)
    (tmp_path / "b.toml").write_text(GOOD.replace("my_slide", "my_ex"))
    lib = load_library(tmp_path)
    assert "b" in lib.routines and "a" not in lib.routines
    assert lib.exercises["my_ex"].name == "Heel slide"
    assert [(e.path.name, e.where) for e in lib.errors] == [("a.toml", "steps[0].reps")]


def test_two_sound_files_defining_one_exercise_are_both_refused(tmp_path: Path):
    (tmp_path / "a.toml").write_text(GOOD)
    (tmp_path / "b.toml").write_text(GOOD.replace("Heel slide", "Heel glide"))
    lib = load_library(tmp_path)
    assert "my_slide" not in lib.exercises and not {"a", "b"} & set(lib.routines)
    messages = {(e.path.name, e.line, e.message) for e in lib.errors}
    assert messages == {
        ("a.toml", 12, f"exercise id 'my_slide' is also defined in {tmp_path / 'b.toml'}"),
        ("b.toml", 12, f"exercise id 'my_slide' is also defined in {tmp_path / 'a.toml'}"),
    }


def test_user_routine_overrides_the_builtin_of_the_same_id(tmp_path: Path):
    name = "desk-break"
    builtin = load_builtin().routines[name]
    (tmp_path / f"{name}.toml").write_text(GOOD)
    lib = load_library(tmp_path)
    assert lib.errors == []
    assert lib.routines[name].title == "Gentle start" != builtin.title
    assert lib.routines[name].path == tmp_path / f"{name}.toml"
    assert lib.overrides == {name}
    assert validate_paths([tmp_path]) == []


def test_broken_override_keeps_the_builtin(tmp_path: Path):
    (tmp_path / "desk-break.toml").write_text(GOOD.replace("reps = 3", "reps = 0"))
    lib = load_library(tmp_path)
    assert lib.routines["desk-break"] == load_builtin().routines["desk-break"]
    assert lib.overrides == set() and lib.skipped == [tmp_path / "desk-break.toml"]


def test_two_user_files_with_one_routine_id_are_both_refused(tmp_path: Path):
    for folder in ("one", "two"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "gentle.toml").write_text(GOOD.replace("my_slide", f"slide_{folder}"))
    errors = validate_paths([tmp_path / "one", tmp_path / "two"])
    assert [(e.path, e.line, e.col, e.message) for e in errors] == [
        (
            tmp_path / "one/gentle.toml",
            1,
            1,
            f"routine id 'gentle' is also used by {tmp_path}/two/gentle.toml",
        ),
        (
            tmp_path / "two/gentle.toml",
            1,
            1,
            f"routine id 'gentle' is also used by {tmp_path}/one/gentle.toml",
        ),
    ]


def test_list_marks_a_routine_that_overrides_a_builtin(tmp_path: Path):
    (tmp_path / "desk-break.toml").write_text(GOOD)
    args = ["--routines-dir", str(tmp_path), "list"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.stdout.splitlines()}
    assert lines["desk-break"].endswith(
        f"Gentle start  (yours, replaces the built-in: {tmp_path / 'desk-break.toml'})"
    )
    assert "yours" not in lines["back-stretches"]
    rows = {r["id"]: r for r in json.loads(CliRunner().invoke(cli, [*args, "--json"]).stdout)}
    assert rows["desk-break"]["overrides_builtin"] is True
    assert rows["desk-break"]["path"] == str(tmp_path / "desk-break.toml")
    assert rows["back-stretches"]["overrides_builtin"] is False


def test_exercises_must_be_tables(tmp_path: Path):
    (tmp_path / "five.toml").write_text("# my exercises\nexercises = 5\n")
    routine = (
        'exercises = 5\ntitle = "T"\nsummary = "S"\nsource = "x"\n[[steps]]\nexercise = "bridge"\n'
    )
    (tmp_path / "routine.toml").write_text(routine)
    expected = "exercises: expected [exercises.<id>] tables, got a number (5)"
    assert [str(e) for e in validate_paths([tmp_path])] == [
        f"{tmp_path / 'five.toml'}:2:13: {expected}",
        f"{tmp_path / 'routine.toml'}:1:13: {expected}",
    ]


def test_a_folder_named_like_a_routine_file_is_reported(tmp_path: Path):
    (tmp_path / "x.toml").mkdir()
    (tmp_path / "x.toml" / "inside.toml").write_text(GOOD)
    (tmp_path / "good.toml").write_text(GOOD)
    lib = load_library(tmp_path)
    assert "good" in lib.routines and "inside" not in lib.routines
    assert [(e.path, e.message) for e in lib.errors] == [
        (tmp_path / "x.toml", "not a routine file: it is a folder")
    ]
    assert [e.message for e in validate_paths([tmp_path / "x.toml"])] == [
        "not a routine file: it is a folder"
    ]


def test_a_byte_order_mark_is_accepted(tmp_path: Path):
    (tmp_path / "bom.toml").write_bytes(
        b"\xef\xbb\xbf" + GOOD.replace("reps = 3", "reps = 0").encode()
    )
    errors = validate_paths([tmp_path])
    assert [(e.line, e.col, e.where) for e in errors] == [(7, 8, "steps[0].reps")]
    (tmp_path / "bom.toml").write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    assert validate_paths([tmp_path]) == []


def test_validating_the_builtin_folder_itself_is_clean():
    assert validate_paths([BUILTIN_DIR]) == []
