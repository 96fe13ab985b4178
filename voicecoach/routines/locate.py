"""Where each key and value of a TOML document sits (line and column), for error messages.

``tomllib`` parses but keeps no positions, and the position-keeping TOML parsers are either
style-preserving editors without line numbers or native grammar packages. So this scanner reads
only TOML's lexical structure (headers, keys, strings, arrays and inline tables) and trusts
``tomllib`` for everything else.

It runs on any text, valid TOML or not, before ``tomllib`` does: every step consumes input or
gives up, it never recurses, and it does a bounded amount of work per character, so a hostile
file costs time in proportion to its size. It also enforces ``MAX_DEPTH`` (``tomllib`` recurses
once per nested array and takes time quadratic in the parts of a dotted key), stopping at the
first place that nests deeper.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

Path = tuple[str | int, ...]

#: The deepest path a document may have, counting table names, dotted key parts and the levels
#: of arrays and inline tables (``exercises.bridge.progression.reps[1]`` is 5 deep).
MAX_DEPTH = 16

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_BLANK = re.compile(r"[ \t\r]*")
_BLANK_LINES = re.compile(r"(?:[ \t\r\n]+|#[^\n]*)*")
_BLANK_LINE = re.compile(r"(?:[ \t\r]+|#[^\n]*)*")
_SCALAR = re.compile(r"[^,\]}\n#]*")  # a number, boolean or date runs to a delimiter
_BASIC = re.compile(r'"(?:[^"\\\n]+|\\.)*"?')
_LITERAL = re.compile(r"'[^'\n]*'?")
# Multi-line strings: escapes (basic only), and one or two quotes that do not close the string.
_ML_BASIC_BODY = re.compile(r'(?:[^"\\]+|\\.|"{1,2}(?!"))*', re.DOTALL)
_ML_LITERAL_BODY = re.compile(r"(?:[^']+|'{1,2}(?!'))*")
_QUOTES = {'"': re.compile(r'"*'), "'": re.compile(r"'*")}


@dataclass(frozen=True)
class Pos:
    """1-based line and column."""

    line: int
    col: int


@dataclass
class Locations:
    """Where keys and values start, as offsets into the text, turned into ``Pos`` on demand.

    Table keys are in ``key`` and ``value``; array elements (key and value at once) in
    ``items``, one list of offsets per array, so a long array costs one integer per element.
    ``too_deep`` is where the document first nests deeper than ``MAX_DEPTH``.
    """

    line_starts: list[int] = field(default_factory=lambda: [0])
    key: dict[Path, int] = field(default_factory=dict)
    value: dict[Path, int] = field(default_factory=dict)
    items: dict[Path, list[int]] = field(default_factory=dict)
    too_deep: Pos | None = None

    def of_key(self, path: Path) -> Pos:
        """Where the key of ``path`` is written; falls back to the nearest located parent."""
        return self._find(path, self.key, self.value)

    def of_value(self, path: Path) -> Pos:
        """Where the value of ``path`` starts; falls back to its key, then to a parent."""
        return self._find(path, self.value, self.key)

    def pos(self, offset: int) -> Pos:
        """The line and column of an offset into the text."""
        line = bisect.bisect_right(self.line_starts, offset)
        return Pos(line, offset - self.line_starts[line - 1] + 1)

    def _find(self, path: Path, first: dict[Path, int], second: dict[Path, int]) -> Pos:
        while path:
            for table in (first, second):
                if path in table:
                    return self.pos(table[path])
            index, parent = path[-1], path[:-1]
            if isinstance(index, int) and 0 <= index < len(self.items.get(parent, ())):
                return self.pos(self.items[parent][index])
            path = parent
        return Pos(1, 1)


class _TooDeep(Exception):
    def __init__(self, offset: int) -> None:
        self.offset = offset


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.locs = Locations(line_starts=starts)
        self.array_counts: dict[Path, int] = {}

    # -- low level -------------------------------------------------------------------------
    def peek(self, n: int = 1) -> str:
        return self.text[self.i : self.i + n]

    def skip(self, pattern: re.Pattern[str]) -> None:
        m = pattern.match(self.text, self.i)
        assert m is not None  # every blank pattern may match nothing
        self.i = m.end()

    def skip_line(self) -> None:
        end = self.text.find("\n", self.i)
        self.i = len(self.text) if end < 0 else end

    def read_string(self) -> str:
        """Read the string token at the cursor; return its raw content (escapes left as they are).

        An unterminated string runs to the end of its line (or of the text, if multi-line).
        """
        quote = self.text[self.i]
        if self.peek(3) == quote * 3:
            body = _ML_BASIC_BODY if quote == '"' else _ML_LITERAL_BODY
            m = body.match(self.text, self.i + 3)
            assert m is not None
            run = _QUOTES[quote].match(self.text, m.end())
            assert run is not None
            closing = min(len(run.group(0)), 5)  # up to two quotes before the closing three
            self.i = run.end() if closing < 3 else m.end() + closing
            return self.text[m.start() : self.i - min(closing, 3)]
        m = (_BASIC if quote == '"' else _LITERAL).match(self.text, self.i)
        assert m is not None
        self.i = m.end()
        return m.group(0)[1:].removesuffix(quote)

    def read_key(self) -> list[str]:
        """Read a possibly dotted key: ``a."b c".d``; empty when there is no key at the cursor."""
        parts = []
        while True:
            self.skip(_BLANK)
            if self.peek() in ('"', "'"):
                parts.append(self.read_string())
            else:
                m = _BARE_KEY.match(self.text, self.i)
                if not m:
                    break
                parts.append(m.group(0))
                self.i = m.end()
            self.skip(_BLANK)
            if self.peek() != ".":
                break
            self.i += 1
        return parts

    @staticmethod
    def check_depth(depth: int, offset: int) -> None:
        if depth > MAX_DEPTH:
            raise _TooDeep(offset)

    # -- structure -------------------------------------------------------------------------
    def document(self) -> Locations:
        table: Path = ()
        try:
            while True:
                self.skip(_BLANK_LINES)
                start = self.i
                if start >= len(self.text):
                    break
                if self.peek(2) == "[[":
                    table = self.header(start, 2)
                elif self.peek() == "[":
                    table = self.header(start, 1)
                else:
                    self.key_value(table)
                if self.i == start:  # not TOML: move on rather than stall
                    self.skip_line()
        except _TooDeep as exc:
            self.locs.too_deep = self.locs.pos(exc.offset)
        return self.locs

    def header(self, start: int, brackets: int) -> Path:
        self.i += brackets
        name = tuple(self.read_key())
        self.check_depth(len(name), start)
        self.skip(_BLANK)
        if self.peek(brackets) == "]" * brackets:
            self.i += brackets
        else:
            self.skip_line()
        table = self._resolve(name)
        if brackets == 2:  # [[name]]: one more element of the array of tables
            index = self.array_counts.get(table, 0)
            self.array_counts[table] = index + 1
            self.locs.key.setdefault(table, start)
            table = (*table, index)
        self.check_depth(len(table), start)
        self.locs.key.setdefault(table, start)
        return table

    def _resolve(self, name: tuple[str, ...]) -> Path:
        """Insert array-of-table indices: inside ``[[steps]]`` #2, ``[steps.x]`` is steps[1].x."""
        path: list[str | int] = []
        for n, part in enumerate(name, 1):
            path.append(part)
            count = self.array_counts.get(tuple(path))
            if count is not None and n < len(name):
                path.append(count - 1)
        return tuple(path)

    def key_value(self, table: Path) -> None:
        path = self.read_pair_key(table)
        if path is not None:
            self.value(path)

    def read_pair_key(self, table: Path) -> Path | None:
        """Read ``key =`` and record where the key is; None (skipping the line) when it is not."""
        start = self.i
        parts = self.read_key()
        self.check_depth(len(table) + len(parts), start)
        self.skip(_BLANK)
        if not parts or self.peek() != "=":
            self.skip_line()
            return None
        self.i += 1
        path = (*table, *parts)
        for n in range(len(table) + 1, len(path) + 1):
            self.locs.key.setdefault(path[:n], start)
        return path

    def value(self, path: Path) -> None:
        """Read the value at the cursor, with everything nested in it, without recursing."""
        # Open arrays and inline tables, innermost last: the path of each, and for an array the
        # offsets of its elements so far.
        open_: list[tuple[Path, list[int] | None]] = []
        while True:
            self.skip(_BLANK_LINES if open_ else _BLANK)
            self.check_depth(len(path), self.i)
            if not open_ or open_[-1][1] is None:  # an array's elements are in its items
                self.locs.value[path] = self.i
            c = self.peek()
            if c == "[":
                self.i += 1
                open_.append((path, self.locs.items.setdefault(path, [])))
            elif c == "{":
                self.i += 1
                open_.append((path, None))
            elif c in ('"', "'"):
                self.read_string()
            else:
                m = _SCALAR.match(self.text, self.i)
                assert m is not None
                if m.end() == self.i:
                    return  # no value here (not TOML): give up on this one
                self.i = m.end()
            next_path = self.next_in_container(open_)
            if next_path is None:
                return
            path = next_path

    def next_in_container(self, open_: list[tuple[Path, list[int] | None]]) -> Path | None:
        """Close what ends at the cursor; the path of the next value, or None when all closed."""
        while open_:
            container, items = open_[-1]
            self.skip(_BLANK_LINES)
            c = self.peek()
            if c == ",":
                self.i += 1
            elif c == ("]" if items is not None else "}"):
                self.i += 1
                open_.pop()
            elif items is not None:
                if c == "":
                    return None
                items.append(self.i)
                return (*container, len(items) - 1)
            else:
                return self.read_pair_key(container)
        return None


def locate(text: str) -> Locations:
    """Positions of every key and value in ``text``, and where it first nests too deeply."""
    return _Scanner(text).document()
