"""Progression: each exercise's dose from the user's "easy / fine / hard" answers, purely.

An exercise's dose moves on a ladder of steps inside its ``progression`` bounds (the routine
file's, checked by the validator): one rep per step first, then the hold (``HOLD_STEP_S``
seconds, or one breath). Three "easy" answers in a row raise it one step; two "hard" in a row
lower it one step; "fine" keeps it and breaks both runs. It never leaves the bounds, and an
exercise without bounds keeps the routine's dose. The history is passed in (oldest answer
first): nothing here reads a store or a clock.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from voicecoach.routines.model import Exercise, Hold, Routine

EASY_RUN = 3  # "easy" this many times in a row: one step up
HARD_RUN = 2  # "hard" this many times in a row: one step down
HOLD_STEP_S = 5  # one step of a hold counted in seconds


class Effort(enum.StrEnum):
    """How an exercise felt; the values are what the user says and what the store keeps."""

    EASY = "easy"
    FINE = "fine"
    HARD = "hard"


@dataclass(frozen=True)
class Ladder:
    """The steps an exercise's dose may take, relative to the routine's dose (step 0)."""

    exercise: Exercise
    down: int  # steps available below the routine's dose
    up: int  # and above it

    @classmethod
    def of(cls, ex: Exercise) -> Ladder:
        """The ladder of ``ex`` from its bounds (none: a single step)."""
        reps_down = reps_up = hold_down = hold_up = 0
        if ex.reps_bounds is not None:
            reps_down, reps_up = ex.reps - ex.reps_bounds.low, ex.reps_bounds.high - ex.reps
        if ex.hold_bounds is not None:
            amount, step = _hold_amount(ex.hold)
            hold_down = -(-(amount - ex.hold_bounds.low) // step)
            hold_up = -(-(ex.hold_bounds.high - amount) // step)
        return cls(ex, max(0, reps_down) + max(0, hold_down), max(0, reps_up) + max(0, hold_up))

    def clamp(self, step: int) -> int:
        """``step`` kept on the ladder."""
        return max(-self.down, min(self.up, step))

    def dose(self, step: int) -> Exercise:
        """The exercise at ``step``: reps move first, then the hold; never past a bound."""
        ex, step = self.exercise, self.clamp(step)
        reps_room = 0
        if ex.reps_bounds is not None:
            reps_room = (
                (ex.reps_bounds.high - ex.reps) if step > 0 else (ex.reps - ex.reps_bounds.low)
            )
        reps_move = min(abs(step), max(0, reps_room))
        hold_move = abs(step) - reps_move
        sign = 1 if step > 0 else -1
        reps = ex.reps + sign * reps_move
        holds = [_moved(h, sign * hold_move, ex) for h in ex.holds_per_rep]
        alternate = holds[1] if len(holds) > 1 else None
        return dataclasses.replace(ex, reps=reps, hold=holds[0], alternate=alternate)


def _hold_amount(hold: Hold) -> tuple[int, int]:
    """(amount, step) of a hold: breaths by one, seconds by ``HOLD_STEP_S``."""
    if hold.breaths is not None:
        return hold.breaths, 1
    assert hold.seconds is not None
    return hold.seconds, HOLD_STEP_S


def _moved(hold: Hold, steps: int, ex: Exercise) -> Hold:
    if steps == 0 or ex.hold_bounds is None:
        return hold
    amount, size = _hold_amount(hold)
    moved = max(ex.hold_bounds.low, min(ex.hold_bounds.high, amount + steps * size))
    if hold.breaths is not None:
        return dataclasses.replace(hold, breaths=moved)
    return dataclasses.replace(hold, seconds=moved)


def step_after(ladder: Ladder, efforts: Sequence[Effort | str]) -> int:
    """The ladder step after the answers ``efforts`` (oldest first), from step 0."""
    step = easy = hard = 0
    for answer in efforts:
        effort = Effort(answer)
        easy = easy + 1 if effort is Effort.EASY else 0
        hard = hard + 1 if effort is Effort.HARD else 0
        if easy == EASY_RUN:
            step, easy = ladder.clamp(step + 1), 0
        elif hard == HARD_RUN:
            step, hard = ladder.clamp(step - 1), 0
    return step


def dosed(
    routine: Routine, efforts: Mapping[str, Sequence[Effort | str]], bad_day: bool = False
) -> Routine:
    """``routine`` with each exercise at the dose its answers earned (its id -> answers).

    On a bad day every exercise is at the gentlest dose its bounds allow, and the answers are
    kept for the next ordinary day.
    """
    exercises = []
    for ex in routine.exercises:
        ladder = Ladder.of(ex)
        step = -ladder.down if bad_day else step_after(ladder, efforts.get(ex.id, ()))
        exercises.append(ladder.dose(step))
    return dataclasses.replace(routine, exercises=tuple(exercises))
