from voicecoach.routines.locate import Pos, locate

DOC = '''# comment
title = "A" # trailing
tags = ["x",
  "y"]
"quoted key" = 1
a.b.c = 2
inline = { low = 1, high = [2, 3] }

[[steps]]
exercise = "p"

[[steps]]
exercise = "q"
reps = 3

[exercises.bridge]
name = """multi
line"""
setup = [
  "one",
  'two',
]
'''


def test_keys_and_values_are_located():
    locs = locate(DOC)
    assert locs.of_key(("title",)) == Pos(2, 1)
    assert locs.of_value(("title",)) == Pos(2, 9)
    assert locs.of_value(("tags", 1)) == Pos(4, 3)
    assert locs.of_key(("quoted key",)) == Pos(5, 1)
    assert locs.of_key(("a", "b", "c")) == Pos(6, 1)
    assert locs.of_value(("inline", "high", 1)) == Pos(7, 32)
    assert locs.of_key(("steps", 0)) == Pos(9, 1)
    assert locs.of_value(("steps", 1, "reps")) == Pos(14, 8)
    assert locs.of_key(("exercises", "bridge")) == Pos(16, 1)
    assert locs.of_value(("exercises", "bridge", "setup", 1)) == Pos(21, 3)


def test_unknown_path_falls_back_to_nearest_parent():
    locs = locate(DOC)
    assert locs.of_key(("steps", 1, "missing")) == Pos(12, 1)
    assert locs.of_key(("nowhere",)) == Pos(1, 1)
