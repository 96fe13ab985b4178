"""Check one parsed routine file against the format in docs/routine-format.md.

Checks produce ``Problem``s that name a path inside the document (``("steps", 2, "reps")``) and
whether the key or the value is at fault; ``loader`` turns them into ``file:line:col`` messages.
Every problem is collected, never only the first, so one run shows everything to fix.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from voicecoach.routines.locate import Path
from voicecoach.routines.model import (
    Bounds,
    CountStyle,
    Exercise,
    Hold,
    PainPattern,
    Routine,
    Sides,
)
from voicecoach.routines.spoken import spoken_problem

ID_RE = re.compile(r"^[a-z][a-z0-9_-]*$")

MAX_HOLD_S = 1800  # 30 minutes: the longest dose in the guidance is a 20-30 minute walk
MAX_BREATHS = 10
MAX_REPS = 50
MAX_REST_S = 600
MAX_SECONDS_COUNTED = 60  # counting every second past a minute is not a count anyone follows
#: Problems collected per file: enough to fix, and a hostile file costs no more than this.
MAX_PROBLEMS = 50


@dataclass(frozen=True)
class Problem:
    """Something wrong at ``path``; ``at_key`` when the key itself (not its value) is at fault."""

    path: Path
    message: str
    at_key: bool = False


def dotted(path: Path) -> str:
    """``("steps", 2, "reps")`` -> ``steps[2].reps``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "(file)"


# -- field specifications ------------------------------------------------------------------
@dataclass(frozen=True)
class Spec:
    """What one key accepts."""

    kind: str  # "text", "spoken", "int", "choice", "texts", "spoken-texts", "table", "choices"
    required: bool = False
    low: int = 0
    high: int = 0
    choices: tuple[str, ...] = ()


def _values(enum_type: type[Any]) -> tuple[str, ...]:
    return tuple(member.value for member in enum_type)


HOLD_SPEC: dict[str, Spec] = {
    "action": Spec("spoken", required=True),
    "release": Spec("spoken", required=True),
    "hold_s": Spec("int", low=1, high=MAX_HOLD_S),
    "breaths": Spec("int", low=1, high=MAX_BREATHS),
}

EXERCISE_SPEC: dict[str, Spec] = {
    "name": Spec("spoken", required=True),
    "position": Spec("spoken", required=True),
    "setup": Spec("spoken-texts", required=True),
    **HOLD_SPEC,
    "count": Spec("choice", choices=_values(CountStyle)),
    "reps": Spec("int", low=1, high=MAX_REPS),
    "sides": Spec("choice", choices=_values(Sides)),
    "side_label": Spec("spoken"),
    "rest_s": Spec("int", low=0, high=MAX_REST_S),
    "alternate": Spec("table"),
    "reminders": Spec("spoken-texts"),
    "cautions": Spec("spoken-texts"),
    "suits": Spec("choices", required=True, choices=_values(PainPattern)),
    "progression": Spec("table"),
    "source": Spec("text", required=True),
}

ROUTINE_SPEC: dict[str, Spec] = {
    "title": Spec("spoken", required=True),
    "summary": Spec("text", required=True),
    "cautions": Spec("spoken-texts"),
    "tags": Spec("texts"),
    "suits": Spec("choice", choices=_values(PainPattern)),
    "source": Spec("text", required=True),
    "steps": Spec("steps", required=True),
    "exercises": Spec("exercises"),
}

STEP_SPEC: dict[str, Spec] = {
    "exercise": Spec("text", required=True),
    "reps": EXERCISE_SPEC["reps"],
    "hold_s": HOLD_SPEC["hold_s"],
    "breaths": HOLD_SPEC["breaths"],
    "rest_s": EXERCISE_SPEC["rest_s"],
}

# One session's bounds: generous for any real routine, and they keep planning and speaking one
# (counts in words, the duration shown by `list`) within what the engine handles.
MAX_STEPS = 100
MAX_HOLDS = 1000
MAX_HELD_S = 3 * 3600

PROGRESSION_KEYS = ("reps", "hold_s", "breaths")
ROUTINE_KEYS = frozenset(ROUTINE_SPEC) - {"exercises"}


def _type_name(value: object) -> str:
    names = {bool: "a boolean", int: "a number", float: "a decimal number", str: "text"}
    names.update({list: "a list", dict: "a table"})
    name = names.get(type(value), type(value).__name__)
    shown = repr(value)
    return f"{name} ({shown})" if len(shown) <= 20 and not isinstance(value, dict) else name


class Checker:
    """Collects problems while checking tables against specs, up to ``MAX_PROBLEMS``."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    @property
    def full(self) -> bool:
        """True once ``MAX_PROBLEMS`` are collected: loops over a document's items stop."""
        return len(self.problems) >= MAX_PROBLEMS

    def add(self, path: Path, message: str, at_key: bool = False) -> None:
        """Record a problem."""
        self.problems.append(Problem(path, message, at_key))

    def table(self, data: Mapping[str, Any], specs: Mapping[str, Spec], path: Path) -> bool:
        """Check keys and simple values of a table; True when nothing was wrong."""
        before = len(self.problems)
        for key, value in data.items():
            if self.full:
                break
            spec = specs.get(key)
            if spec is None:
                close = difflib.get_close_matches(key, list(specs), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                self.add((*path, key), f"unknown key '{key}'{hint}", at_key=True)
            else:
                self.value(value, spec, (*path, key))
        for key, spec in specs.items():
            if spec.required and key not in data:
                self.add(path, f"missing required key '{key}'", at_key=True)
        return len(self.problems) == before

    def value(self, value: Any, spec: Spec, path: Path) -> None:
        """Check one value against its spec (tables are checked by their owners)."""
        kind = spec.kind
        if kind in ("text", "spoken", "choice"):
            if not isinstance(value, str):
                self.add(path, f"expected text, got {_type_name(value)}")
            elif kind == "choice" and value not in spec.choices:
                self.add(path, f"'{value}' is not one of: {', '.join(spec.choices)}")
            elif not value.strip():
                self.add(path, "empty text")
            elif kind == "spoken":
                self.spoken(value, path)
        elif kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                self.add(path, f"expected a whole number, got {_type_name(value)}")
            elif not spec.low <= value <= spec.high:
                self.add(path, f"{value} is out of range ({spec.low} to {spec.high})")
        elif kind in ("texts", "spoken-texts", "choices"):
            if not isinstance(value, list):
                self.add(path, f"expected a list of text, got {_type_name(value)}")
            elif not value and spec.required:
                self.add(path, "must not be empty")
            else:
                item = Spec({"spoken-texts": "spoken", "choices": "choice"}.get(kind, "text"))
                item = Spec(item.kind, choices=spec.choices)
                for i, element in enumerate(value):
                    if self.full:
                        break
                    self.value(element, item, (*path, i))
        elif kind == "table" and not isinstance(value, dict):  # "exercises": check_exercises
            self.add(path, f"expected a table, got {_type_name(value)}")
        elif kind == "steps" and not (
            isinstance(value, list) and value and all(isinstance(v, dict) for v in value)
        ):
            self.add(path, "expected one or more [[steps]] tables")

    def spoken(self, text: str, path: Path) -> None:
        """Spoken text must never say or sound like a command: the coach would trigger itself."""
        problem = spoken_problem(text)
        if problem:
            self.add(path, problem)


# -- exercises -----------------------------------------------------------------------------
def _hold(c: Checker, data: Mapping[str, Any], path: Path) -> Hold | None:
    seconds, breaths = data.get("hold_s"), data.get("breaths")
    if seconds is None and breaths is None:
        c.add(path, "missing required key 'hold_s' (or 'breaths' for a breath-paced hold)", True)
        return None
    if seconds is not None and breaths is not None:
        c.add((*path, "breaths"), "give either hold_s or breaths, not both", at_key=True)
        return None
    if not (isinstance(data.get("action"), str) and isinstance(data.get("release"), str)):
        return None
    return Hold(data["action"], data["release"], seconds, breaths)


def _bounds(c: Checker, data: Any, key: str, path: Path) -> Bounds | None:
    value = data.get(key) if isinstance(data, dict) else None
    if value is None:
        return None
    spec = STEP_SPEC[key]
    ok = isinstance(value, list) and len(value) == 2
    ok = ok and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    if not ok:
        c.add((*path, key), "expected [lowest, highest], two whole numbers")
        return None
    low, high = value
    if not (spec.low <= low <= high <= spec.high):
        c.add((*path, key), f"expected {spec.low} <= lowest <= highest <= {spec.high}")
        return None
    return Bounds(low, high)


def check_exercise(c: Checker, ex_id: str, data: Any, path: Path) -> Exercise | None:
    """Check one ``[exercises.<id>]`` table; return the exercise when it is sound."""
    if not ID_RE.match(ex_id):
        c.add(path, f"'{ex_id}' is not a valid id (lowercase letters, digits, - and _)", True)
    if not isinstance(data, dict):
        c.add(path, f"expected a table, got {_type_name(data)}")
        return None
    sound = c.table(data, EXERCISE_SPEC, path)
    hold = _hold(c, data, path)
    alternate = None
    if isinstance(data.get("alternate"), dict):
        alt_path = (*path, "alternate")
        sound = c.table(data["alternate"], HOLD_SPEC, alt_path) and sound
        alternate = _hold(c, data["alternate"], alt_path)
        if hold and alternate and (hold.breaths is None) != (alternate.breaths is None):
            c.add(alt_path, "the alternate hold must use the same unit (hold_s or breaths)")
    count = data.get("count")
    if hold and isinstance(count, str):
        if (count == "breaths") != (hold.breaths is not None):
            c.add((*path, "count"), "count 'breaths' goes with breaths, and only with breaths")
        elif count == "seconds" and (hold.seconds or 0) > MAX_SECONDS_COUNTED:
            c.add(
                (*path, "count"),
                f"counting every second is for holds up to "
                f"{MAX_SECONDS_COUNTED} s; use 'tens' or 'minutes'",
            )

    progression = data.get("progression")
    reps_bounds = hold_bounds = None
    if isinstance(progression, dict):
        prog_path = (*path, "progression")
        for key in progression:
            if key not in PROGRESSION_KEYS:
                c.add((*prog_path, key), f"unknown key '{key}' (reps, hold_s or breaths)", True)
        reps_bounds = _bounds(c, progression, "reps", prog_path)
        unit = "breaths" if hold and hold.breaths is not None else "hold_s"
        other = "hold_s" if unit == "breaths" else "breaths"
        if other in progression:
            c.add((*prog_path, other), f"this exercise's hold is in {unit}", at_key=True)
        hold_bounds = _bounds(c, progression, unit, prog_path)
    if not (sound and hold) or c.problems:
        return None
    exercise = Exercise(
        id=ex_id,
        name=data["name"],
        position=data["position"],
        setup=tuple(data["setup"]),
        hold=hold,
        count=CountStyle(count) if count else _default_count(hold),
        reps=data.get("reps", 1),
        sides=Sides(data.get("sides", "none")),
        side_label=data.get("side_label", "side"),
        rest_s=data.get("rest_s", 5),
        suits=tuple(PainPattern(s) for s in data["suits"]),
        source=data["source"],
        alternate=alternate,
        reminders=tuple(data.get("reminders", ())),
        cautions=tuple(data.get("cautions", ())),
        reps_bounds=reps_bounds,
        hold_bounds=hold_bounds,
    )
    _check_dose(c, exercise, path, path)
    return None if c.problems else exercise


def _default_count(hold: Hold) -> CountStyle:
    if hold.breaths is not None:
        return CountStyle.BREATHS
    seconds = hold.seconds or 0
    if seconds <= 15:
        return CountStyle.SECONDS
    return CountStyle.TENS if seconds <= 300 else CountStyle.MINUTES


def _check_dose(c: Checker, ex: Exercise, path: Path, where: Path) -> None:
    """The dose must lie within the progression bounds."""
    if ex.reps_bounds and ex.reps not in ex.reps_bounds:
        b = ex.reps_bounds
        c.add(
            (*where, "reps"),
            f"reps {ex.reps} is outside the progression bounds {b.low}-{b.high} of '{ex.id}'",
        )
    if ex.hold_bounds:
        b = ex.hold_bounds
        unit = "breaths" if ex.hold.breaths is not None else "hold_s"
        for hold in ex.holds_per_rep:
            amount = hold.breaths if hold.breaths is not None else hold.seconds
            if amount not in b:
                c.add(
                    (*where, unit),
                    f"{unit} {amount} is outside the progression bounds "
                    f"{b.low}-{b.high} of '{ex.id}'",
                )
                break


def check_exercises(c: Checker, data: Mapping[str, Any]) -> dict[str, Exercise]:
    """Check the ``[exercises.*]`` tables of a document."""
    table = data.get("exercises")
    if not isinstance(table, dict):
        if "exercises" in data:
            c.add(("exercises",), f"expected [exercises.<id>] tables, got {_type_name(table)}")
        return {}
    found = {}
    for ex_id, ex_data in table.items():
        if c.full:
            break
        local = Checker()
        exercise = check_exercise(local, ex_id, ex_data, ("exercises", ex_id))
        c.problems += local.problems
        if exercise:
            found[ex_id] = exercise
    return found


# -- routines ------------------------------------------------------------------------------
def is_routine(data: Mapping[str, Any]) -> bool:
    """A document with any routine key is a routine; one with only exercises is a library."""
    return bool(ROUTINE_KEYS & set(data)) or "exercises" not in data


def check_routine(
    c: Checker,
    routine_id: str,
    data: Mapping[str, Any],
    known: Mapping[str, Exercise],
    pending: Collection[str] = (),
) -> Routine | None:
    """Check the routine keys of a document against the exercises ``known`` to it.

    Steps naming an exercise the document itself defines, but wrongly, are left alone: that
    exercise's own errors are already reported. So are steps naming a ``pending`` exercise, one
    whose definition is still in question; such a routine is not returned.
    """
    if not data:
        c.add((), "empty file: a routine needs title, summary, source and [[steps]]")
        return None
    if not ID_RE.match(routine_id):
        c.add(
            (),
            f"file name '{routine_id}' is not a valid routine id "
            "(lowercase letters, digits, - and _, starting with a letter)",
        )
    sound = c.table(data, ROUTINE_SPEC, ())
    steps = data.get("steps")
    exercises: list[Exercise] = []
    seen: dict[str, int] = {}
    defined = data.get("exercises")
    defined = {*(defined if isinstance(defined, dict) else {}), *pending}
    if isinstance(steps, list):
        for i, step in enumerate(steps):
            if c.full:
                break
            if not isinstance(step, dict):
                continue
            exercise = _check_step(c, step, ("steps", i), known, seen, i, defined)
            if exercise:
                exercises.append(exercise)
    if not sound or c.problems or len(exercises) < len(data["steps"]):
        return None
    if not _fits_a_session(c, exercises):
        return None
    return Routine(
        id=routine_id,
        title=data["title"],
        summary=data["summary"],
        source=data["source"],
        exercises=tuple(exercises),
        tags=tuple(data.get("tags", ())),
        suits=PainPattern(data["suits"]) if "suits" in data else None,
        cautions=tuple(data.get("cautions", ())),
    )


def _fits_a_session(c: Checker, exercises: Sequence[Exercise]) -> bool:
    """A routine is one session: bounded in steps, holds and time, so it can be planned."""
    if len(exercises) > MAX_STEPS:
        c.add(("steps",), f"{len(exercises)} steps; a routine has at most {MAX_STEPS}")
        return False
    sets = [ex.reps * ex.side_count for ex in exercises]
    holds = sum(n * len(ex.holds_per_rep) for n, ex in zip(sets, exercises, strict=True))
    if holds > MAX_HOLDS:
        c.add(("steps",), f"{holds} holds in all; a routine has at most {MAX_HOLDS}")
        return False
    seconds = sum(
        n * (sum(h.duration_s for h in ex.holds_per_rep) + ex.rest_s)
        for n, ex in zip(sets, exercises, strict=True)
    )
    if seconds > MAX_HELD_S:
        c.add(
            ("steps",),
            f"holds and rests add up to {seconds / 3600:.1f} hours; a routine lasts at most "
            f"{MAX_HELD_S // 3600} hours",
        )
        return False
    return True


def _check_step(
    c: Checker,
    step: Mapping[str, Any],
    path: Path,
    known: Mapping[str, Exercise],
    seen: dict[str, int],
    index: int,
    defined: Collection[str],
) -> Exercise | None:
    if not c.table(step, STEP_SPEC, path):
        return None
    ex_id = step["exercise"]
    base = known.get(ex_id)
    if base is None and ex_id in defined:
        return None
    if base is None:
        close = difflib.get_close_matches(ex_id, list(known), n=3)
        hint = f"; did you mean {', '.join(repr(x) for x in close)}?" if close else ""
        c.add((*path, "exercise"), f"unknown exercise '{ex_id}'{hint}")
        return None
    if ex_id in seen:
        c.add((*path, "exercise"), f"exercise '{ex_id}' is already used in steps[{seen[ex_id]}]")
        return None
    seen[ex_id] = index
    by_breath = base.hold.breaths is not None
    wrong = "hold_s" if by_breath else "breaths"
    if wrong in step:
        right = "breaths" if by_breath else "hold_s"
        c.add((*path, wrong), f"'{ex_id}' is held by {right}; override {right} instead", True)
        return None
    exercise = _override(base, step)
    _check_dose(c, exercise, path, path)
    return exercise


def _override(base: Exercise, step: Mapping[str, Any]) -> Exercise:
    def scaled(hold: Hold | None) -> Hold | None:
        if hold is None:
            return None
        return dataclasses.replace(
            hold,
            seconds=step.get("hold_s", hold.seconds) if hold.seconds is not None else None,
            breaths=step.get("breaths", hold.breaths) if hold.breaths is not None else None,
        )

    hold = scaled(base.hold)
    assert hold is not None
    return dataclasses.replace(
        base,
        reps=step.get("reps", base.reps),
        rest_s=step.get("rest_s", base.rest_s),
        hold=hold,
        alternate=scaled(base.alternate),
    )
