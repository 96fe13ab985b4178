"""The scanner that finds where keys and values sit, on valid and hostile text."""

from __future__ import annotations

import signal
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager

from voicecoach.routines.locate import MAX_DEPTH, Pos, locate

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


@contextmanager
def within(seconds: int) -> Iterator[None]:
    """Fail (rather than hang) when the block runs longer than a generous bound."""

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# The case: the string ends at the last `"""`; `\"` and the two quotes after it are text.
ESCAPED = 'name = "x"\naction = """Say \\"""k = [ oops"""\nafter = 1\n'


def test_escaped_triple_quote_ends_where_toml_says():
    assert tomllib.loads(ESCAPED)["action"] == 'Say """k = [ oops'
    with within(20):
        locs = locate(ESCAPED)
    assert locs.of_key(("after",)) == Pos(3, 1)
    assert ("k",) not in locs.key
    with within(20):  # as the last key of a file, as in the issue
        assert locate(ESCAPED[: ESCAPED.index("after")]).of_value(("action",)) == Pos(2, 10)


def test_strings_toml_closes_in_surprising_places():
    doc = (
        'a = """two quotes then the end"""""\n'
        "b = '''literal'' '''\n"
        'c = "a backslash at the end \\\\"\n'
        "d = 'C:\\\\path\\'\n"
        'e = """line one \\\n   continued"""\n'
        "f = 1979-05-27 07:32:00Z # a date with a space\n"
        'g = "# not a comment"\n'
        'h = ["]", \'[\', """}"""] # brackets inside strings\n'
        "i = 1\n"
    )
    tomllib.loads(doc)  # the document is valid TOML
    with within(20):
        locs = locate(doc)
    assert [locs.of_key((k,)).line for k in "abcdefghi"] == [1, 2, 3, 4, 5, 7, 8, 9, 10]
    assert locs.of_value(("h", 2)) == Pos(9, 16)
    assert locs.too_deep is None


def test_scanner_ends_on_every_prefix_of_a_document():
    # It runs before tomllib, on any text: a truncated file must not stall it.
    text = DOC + ESCAPED
    with within(20):
        for end in range(len(text) + 1):
            locate(text[:end])
            locate(text[end:])


def test_nesting_deeper_than_the_limit_is_found_where_it_starts():
    ok = "x = " + "[" * MAX_DEPTH + "]" * MAX_DEPTH  # x and 15 arrays within it: 16 deep
    assert locate(ok).too_deep is None
    deep = "x = " + "[" * 3000 + "]" * 3000
    with within(20):
        assert locate(deep).too_deep == Pos(1, 5 + MAX_DEPTH)
    dotted = "\n[a]\n" + ".".join(["b"] * MAX_DEPTH) + " = 1\n"
    assert locate(dotted).too_deep == Pos(3, 1)
    header = "[" + ".".join(["a"] * 100_000) + "]\n"
    with within(20):
        assert locate(header).too_deep == Pos(1, 1)


def test_a_megabyte_array_is_located_in_time_linear_in_its_size():
    text = "x = [" + ", ".join(["1"] * 300_000) + "]\ny = 2\n"
    with within(20):  # this took minutes when every position counted the lines before it
        locs = locate(text)
    assert locs.of_value(("x", 299_999)) == Pos(1, 6 + 3 * 299_999)
    assert locs.of_key(("y",)) == Pos(2, 1)
