"""The validated, immutable shape of exercises and routines, as the engine consumes them."""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from pathlib import Path

#: One paced breath: in for half, out for half.
BREATH_S = 6


class Sides(enum.Enum):
    """How an exercise uses the two sides of the body. The right side always comes first."""

    NONE = "none"
    LEFT_THEN_RIGHT = "left-then-right"
    ALTERNATING = "alternating"


class CountStyle(enum.Enum):
    """How a hold is counted aloud."""

    SECONDS = "seconds"  # one, two, three ...
    TENS = "tens"  # every 10 s, then a countdown of the last five
    BREATHS = "breaths"  # breathe in ... and out
    MINUTES = "minutes"  # minutes elapsed, with reminders between


class PainPattern(enum.Enum):
    """The CORE Back Tool's grouping by which position eases the pain, plus general."""

    EASED_BY_STANDING_OR_LYING = "eased-by-standing-or-lying"
    EASED_BY_SITTING = "eased-by-sitting"
    NOT_EASED_BY_POSITION = "not-eased-by-position"
    GENERAL = "general"


@dataclass(frozen=True)
class Hold:
    """One held position: the cue to get there, how long, the cue to let go."""

    action: str
    release: str
    seconds: int | None = None
    breaths: int | None = None

    @property
    def duration_s(self) -> int:
        """Length of the hold in seconds (breath holds at ``BREATH_S`` per breath)."""
        if self.breaths is not None:
            return self.breaths * BREATH_S
        assert self.seconds is not None
        return self.seconds


@dataclass(frozen=True)
class Bounds:
    """Inclusive range a dose may be progressed within."""

    low: int
    high: int

    def __contains__(self, value: object) -> bool:
        return isinstance(value, int) and self.low <= value <= self.high


@dataclass(frozen=True)
class Exercise:
    """An exercise with the dose it is guided at (defaults, or a routine's overrides)."""

    id: str
    name: str
    position: str
    setup: tuple[str, ...]
    hold: Hold
    count: CountStyle
    reps: int
    sides: Sides
    side_label: str
    rest_s: int
    suits: tuple[PainPattern, ...]
    source: str
    alternate: Hold | None = None
    reminders: tuple[str, ...] = ()
    cautions: tuple[str, ...] = ()
    reps_bounds: Bounds | None = None
    hold_bounds: Bounds | None = None

    @property
    def holds_per_rep(self) -> tuple[Hold, ...]:
        """The positions held in one rep, in order."""
        return (self.hold,) if self.alternate is None else (self.hold, self.alternate)

    @property
    def side_count(self) -> int:
        """1 without sides, 2 with."""
        return 1 if self.sides is Sides.NONE else 2

    def spoken_texts(self) -> list[tuple[str, str]]:
        """(field, text) for everything the coach may say for this exercise."""
        texts = [("name", self.name), ("position", self.position)]
        texts += [(f"setup[{i}]", t) for i, t in enumerate(self.setup)]
        texts += [("action", self.hold.action), ("release", self.hold.release)]
        if self.alternate:
            texts += [("alternate.action", self.alternate.action)]
            texts += [("alternate.release", self.alternate.release)]
        texts += [(f"reminders[{i}]", t) for i, t in enumerate(self.reminders)]
        texts += [(f"cautions[{i}]", t) for i, t in enumerate(self.cautions)]
        return texts


@dataclass(frozen=True)
class Routine:
    """A titled sequence of exercises, each at its dose for this routine."""

    id: str
    title: str
    summary: str
    source: str
    exercises: tuple[Exercise, ...]
    tags: tuple[str, ...] = ()
    suits: PainPattern | None = None
    path: Path | None = None
    #: Spoken once in the welcome: what the guidance says about the whole routine.
    cautions: tuple[str, ...] = ()

    def without(self, exercise_ids: set[str]) -> Routine:
        """The same routine with some exercises left out (the avoid list)."""
        kept = tuple(e for e in self.exercises if e.id not in exercise_ids)
        return dataclasses.replace(self, exercises=kept)
