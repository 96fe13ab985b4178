"""Where each key and value of a TOML document sits (line and column), for error messages.

``tomllib`` parses but keeps no positions, and the position-keeping TOML parsers are either
style-preserving editors without line numbers or native grammar packages. A routine file is only
located after ``tomllib`` has accepted it, so this scanner can trust the syntax and only needs
TOML's lexical structure: headers, keys, strings, arrays and inline tables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

Path = tuple[str | int, ...]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Pos:
    """1-based line and column."""

    line: int
    col: int


@dataclass
class Locations:
    """Positions of keys (``key``) and of values (``value``) by path, and of table headers."""

    key: dict[Path, Pos] = field(default_factory=dict)
    value: dict[Path, Pos] = field(default_factory=dict)

    def of_key(self, path: Path) -> Pos:
        """Where the key of ``path`` is written; falls back to the nearest located parent."""
        return self._find(path, self.key, self.value)

    def of_value(self, path: Path) -> Pos:
        """Where the value of ``path`` starts; falls back to its key, then to a parent."""
        return self._find(path, self.value, self.key)

    @staticmethod
    def _find(path: Path, first: dict[Path, Pos], second: dict[Path, Pos]) -> Pos:
        while path:
            if path in first:
                return first[path]
            if path in second:
                return second[path]
            path = path[:-1]
        return Pos(1, 1)


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        self.locs = Locations()
        self.array_counts: dict[Path, int] = {}

    # -- low level -------------------------------------------------------------------------
    def pos(self, index: int | None = None) -> Pos:
        index = self.i if index is None else index
        line = self.text.count("\n", 0, index) + 1
        col = index - (self.text.rfind("\n", 0, index) + 1) + 1
        return Pos(line, col)

    def peek(self, n: int = 1) -> str:
        return self.text[self.i : self.i + n]

    def skip_blank(self, newlines: bool) -> None:
        while self.i < len(self.text):
            c = self.text[self.i]
            if c in " \t\r" or (newlines and c == "\n"):
                self.i += 1
            elif c == "#":
                end = self.text.find("\n", self.i)
                self.i = len(self.text) if end < 0 else end
            else:
                return

    def read_string(self) -> str:
        """Read a string token at the cursor and return its (roughly unescaped) content."""
        for quote in ('"""', "'''"):
            if self.peek(3) == quote:
                end = self.text.find(quote, self.i + 3)
                while self.text.startswith(quote[0], end + 3):  # up to two extra quotes close it
                    end += 1
                content = self.text[self.i + 3 : end]
                self.i = end + 3
                return content
        quote = self.text[self.i]
        j = self.i + 1
        while self.text[j] != quote:
            j += 2 if (quote == '"' and self.text[j] == "\\") else 1
        content = self.text[self.i + 1 : j]
        self.i = j + 1
        return content

    def read_key(self) -> list[str]:
        """Read a possibly dotted key: ``a."b c".d``."""
        parts = []
        while True:
            self.skip_blank(newlines=False)
            if self.peek() in ('"', "'"):
                parts.append(self.read_string())
            else:
                m = _BARE_KEY.match(self.text, self.i)
                if not m:
                    break
                parts.append(m.group(0))
                self.i = m.end()
            self.skip_blank(newlines=False)
            if self.peek() != ".":
                break
            self.i += 1
        return parts

    # -- structure -------------------------------------------------------------------------
    def document(self) -> Locations:
        table: Path = ()
        while True:
            self.skip_blank(newlines=True)
            if self.i >= len(self.text):
                return self.locs
            start = self.i
            if self.peek(2) == "[[":
                self.i += 2
                name = tuple(self.read_key())
                self.i = self.text.index("]]", self.i) + 2
                index = self.array_counts.get(name, 0)
                self.array_counts[name] = index + 1
                table = (*self._resolve(name), index)
                self.locs.key.setdefault(table, self.pos(start))
                self.locs.key.setdefault(table[:-1], self.pos(start))
            elif self.peek() == "[":
                self.i += 1
                table = self._resolve(tuple(self.read_key()))
                self.i = self.text.index("]", self.i) + 1
                self.locs.key.setdefault(table, self.pos(start))
            else:
                self.key_value(table)

    def _resolve(self, name: tuple[str, ...]) -> Path:
        """Insert array-of-table indices: inside ``[[steps]]`` #2, ``[steps.x]`` is steps[1].x."""
        path: Path = ()
        for part in name:
            path = (*path, part)
            if path in self.array_counts and path != name:
                path = (*path, self.array_counts[path] - 1)
        return path

    def key_value(self, table: Path) -> None:
        key_pos = self.pos()
        parts = self.read_key()
        if not parts:  # not a key (cannot happen in valid TOML): move on to the next line
            end = self.text.find("\n", self.i)
            self.i = len(self.text) if end < 0 else end
            return
        path = (*table, *parts)
        for n in range(len(table) + 1, len(path) + 1):
            self.locs.key.setdefault(path[:n], key_pos)
        self.skip_blank(newlines=False)
        self.i += 1  # "="
        self.value(path)

    def value(self, path: Path) -> None:
        self.skip_blank(newlines=False)
        self.locs.value[path] = self.pos()
        c = self.peek()
        if c == "[":
            self.i += 1
            index = 0
            while True:
                self.skip_blank(newlines=True)
                if self.peek() == "]":
                    self.i += 1
                    return
                if self.peek() == ",":
                    self.i += 1
                    continue
                self.locs.key.setdefault((*path, index), self.pos())
                self.value((*path, index))
                index += 1
        elif c == "{":
            self.i += 1
            while True:
                self.skip_blank(newlines=True)
                if self.peek() == "}":
                    self.i += 1
                    return
                if self.peek() == ",":
                    self.i += 1
                    continue
                self.key_value(path)
        elif c in ('"', "'"):
            self.read_string()
        else:  # number, boolean, date: runs to a delimiter
            m = re.compile(r"[^,\]}\n#]*").match(self.text, self.i)
            assert m is not None
            self.i = m.end()


def locate(text: str) -> Locations:
    """Positions of every key and value in ``text``, which must be valid TOML."""
    return _Scanner(text).document()
