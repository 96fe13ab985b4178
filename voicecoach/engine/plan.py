"""Compile a routine into a flat plan: cues to speak, timed holds, rests, and exercise markers.

The session engine walks the plan with a cursor. Keeping the plan flat and immutable makes every
command a cursor move ("next" jumps to the next ``Begin``) plus, at most, a spliced-in cue.
"""

from __future__ import annotations

from dataclasses import dataclass

from voicecoach.engine import prompts
from voicecoach.engine.effects import Topic
from voicecoach.routines.model import BREATH_S, CountStyle, Exercise, Hold, Routine, Sides
from voicecoach.vocabulary import Answer, Choice, Number


@dataclass(frozen=True)
class Cue:
    """Speak ``text`` and wait until it has been played."""

    text: str
    kind: str = "cue"
    quotes_commands: bool = False


@dataclass(frozen=True)
class Mark:
    """A word spoken ``offset`` seconds into a hold (a count, a breath, a reminder)."""

    offset: float
    n: int
    text: str


@dataclass(frozen=True)
class HoldStep:
    """A timed hold; its marks are scheduled at hold start + offset, so no drift accumulates."""

    exercise: int
    side: str | None
    rep: int
    seconds: float
    marks: tuple[Mark, ...]


@dataclass(frozen=True)
class Rest:
    """Silence for ``seconds``."""

    seconds: float


@dataclass(frozen=True)
class Begin:
    """Exercise ``exercise`` (an index into the routine) starts here."""

    exercise: int


@dataclass(frozen=True)
class Done:
    """Exercise ``exercise`` was completed."""

    exercise: int


@dataclass(frozen=True)
class Summary:
    """Say what was done, skipped and dropped, then end the session."""


@dataclass(frozen=True)
class Ask:
    """Ask ``question`` and wait for an ``answer``; asked once more if none comes, then skipped.

    ``exercise`` (an index into the routine) is the exercise the question is about, if any.
    """

    topic: Topic
    question: str
    answer: Answer
    exercise: int | None = None
    quotes_commands: bool = False


@dataclass(frozen=True)
class Questions:
    """Which questions a session asks (the config's ``[session]`` section turns them off)."""

    checkin: bool = False  # pain 0 to 10 before and after the exercises
    effort: bool = False  # "easy, fine or hard?" after each exercise's last set


NO_QUESTIONS = Questions()
PAIN_SCORE = Number(0, 10)
#: "easy", "fine" or "hard", also said in a few words (a lone "easy" is easy to mishear).
EFFORTS = Choice(
    tuple(
        (f"{lead}{word}", effort)
        for effort, words in (
            ("easy", ("easy", "quite easy", "very easy", "too easy")),
            ("fine", ("fine", "okay", "just right")),
            ("hard", ("hard", "quite hard", "very hard", "too hard", "difficult")),
        )
        for word in words
        for lead in ("", "it was ", "that was ")
    )
)


#: The CORE Back Tool's groups, by how an answer may name them (``PainPattern`` values).
TRIAGE_ANSWERS = Choice(
    (
        ("sitting", "eased-by-sitting"),
        ("sitting down", "eased-by-sitting"),
        ("by sitting", "eased-by-sitting"),
        ("standing", "eased-by-standing-or-lying"),
        ("lying", "eased-by-standing-or-lying"),
        ("lying down", "eased-by-standing-or-lying"),
        ("standing or lying", "eased-by-standing-or-lying"),
        ("standing or lying down", "eased-by-standing-or-lying"),
        ("by standing or lying down", "eased-by-standing-or-lying"),
        ("neither", "not-eased-by-position"),
        ("by neither", "not-eased-by-position"),
        ("none", "not-eased-by-position"),
        ("nothing", "not-eased-by-position"),
        ("no position", "not-eased-by-position"),
    ),
    cutoff=0.8,
)


def checkin(topic: Topic) -> Ask:
    """The pain check-in at the start or the end."""
    question = prompts.checkin_start() if topic is Topic.PAIN_START else prompts.checkin_end()
    return Ask(topic, question, PAIN_SCORE, quotes_commands=True)


Item = Cue | HoldStep | Rest | Begin | Done | Summary | Ask


def hold_marks(hold: Hold, count: CountStyle, reminders: tuple[str, ...]) -> tuple[Mark, ...]:
    """The words of one hold, at their offsets from its start."""
    n = hold.duration_s
    if count is CountStyle.BREATHS:
        marks = []
        for b in range(hold.breaths or 1):
            marks.append(Mark(b * BREATH_S, b + 1, prompts.BREATHE_IN))
            marks.append(Mark(b * BREATH_S + BREATH_S / 2, b + 1, prompts.BREATHE_OUT))
        return tuple(marks)
    if count is CountStyle.SECONDS:
        return tuple(Mark(k, k, prompts.number(k)) for k in range(1, n + 1))
    if count is CountStyle.TENS:
        # Every number counts down, so eyes closed the user always hears the time left: "twenty
        # seconds to go", "ten seconds to go", then five, four, three, two, one. (Counting the
        # tens up and the last five down sounded like "ten ... five".)
        marks = [Mark(n - r, r, prompts.seconds_to_go(r)) for r in range(10 * (n // 10), 9, -10)]
        marks = [m for m in marks if m.offset >= 5]
        # A reminder at most every 30 s, between the tens.
        between = [m.offset + 5 for m in marks if m.offset + 5 < n - 6]
        marks += _reminders(between[::3], reminders)
        marks += [Mark(n - j, j, prompts.number(j)) for j in range(min(5, n - 1), 0, -1)]
        return tuple(sorted(marks, key=lambda m: m.offset))
    # MINUTES: elapsed minutes, a reminder every half minute between, a warning a minute out.
    marks = [Mark(m * 60, m, prompts.minutes_done(m)) for m in range(1, n // 60) if m * 60 < n - 60]
    if n > 60:
        marks.append(Mark(n - 60, n // 60, prompts.ONE_MINUTE_LEFT))
    marks += _reminders([t for t in range(30, n - 30, 60)], reminders)
    return tuple(sorted(marks, key=lambda m: m.offset))


def _reminders(offsets: list[float] | list[int], reminders: tuple[str, ...]) -> list[Mark]:
    if not reminders:
        return []
    return [Mark(t, 0, reminders[i % len(reminders)]) for i, t in enumerate(offsets)]


def _sides(ex: Exercise) -> list[tuple[str | None, int, list[Cue]]]:
    """(side, rep, announcements) for every hold set of the exercise, in guided order."""
    label = ex.side_label
    out: list[tuple[str | None, int, list[Cue]]] = []
    if ex.sides is Sides.NONE:
        for r in range(1, ex.reps + 1):
            out.append((None, r, [Cue(prompts.rep(r, ex.reps), "rep")] if ex.reps > 1 else []))
    elif ex.sides is Sides.LEFT_THEN_RIGHT:
        for side in ("right", "left"):
            for r in range(1, ex.reps + 1):
                cues = []
                if r == 1:
                    text = prompts.first_side if side == "right" else prompts.now_side
                    cues.append(Cue(text(side, label), "side"))
                if ex.reps > 1:
                    cues.append(Cue(prompts.rep(r, ex.reps), "rep"))
                out.append((side, r, cues))
    else:
        for r in range(1, ex.reps + 1):
            for side in ("right", "left"):
                cues = []
                if side == "right" and ex.reps > 1:
                    cues.append(Cue(prompts.rep(r, ex.reps), "rep"))
                cues.append(Cue(prompts.side_turn(side, label), "side"))
                out.append((side, r, cues))
    return out


def exercise_plan(
    index: int, total: int, ex: Exercise, after: Exercise | None, effort: bool = False
) -> list[Item]:
    """Introduction, setup, then every rep and side: action, counted hold, release, rest.

    With ``effort``, how it felt is asked after the last set (before the rest).
    """
    items: list[Item] = [
        Begin(index),
        Cue(prompts.intro(index, total, ex.name), "intro"),
        Cue(prompts.coming_up(after.name if after else None), "intro"),
        *(Cue(text, "caution") for text in ex.cautions),
        Cue(ex.position, "setup"),
        *(Cue(text, "setup") for text in ex.setup),
    ]
    hold_sets = _sides(ex)
    for i, (side, r, announcements) in enumerate(hold_sets):
        items += announcements
        for hold in ex.holds_per_rep:
            counted = ex.count in (CountStyle.SECONDS, CountStyle.TENS)
            action = f"{hold.action} {prompts.HOLD}" if counted else hold.action
            items.append(Cue(action, "action"))
            marks = hold_marks(hold, ex.count, ex.reminders)
            items.append(HoldStep(index, side, r, hold.duration_s, marks))
            items.append(Cue(hold.release, "release"))
        if i == len(hold_sets) - 1:
            items.append(Done(index))
            if effort:
                items.append(Ask(Topic.EFFORT, prompts.EFFORT, EFFORTS, index))
        if ex.rest_s:
            items.append(Rest(ex.rest_s))
    return items


def compile_plan(
    routine: Routine,
    avoided: tuple[Exercise, ...],
    seconds: float,
    questions: Questions = NO_QUESTIONS,
) -> tuple[Item, ...]:
    """The whole session, from the welcome to the summary.

    Welcome, pain check-in, the routine's cautions, avoid-list note, every exercise, check-in,
    summary (the check-ins and effort questions as ``questions`` says).

    ``routine`` has the avoided exercises already removed; ``seconds`` is its estimated length,
    said in the welcome.
    """
    exercises = routine.exercises
    items: list[Item] = [
        Cue(prompts.welcome(routine.title, len(exercises), seconds), "welcome"),
        Cue(prompts.how_to_talk(), "welcome", quotes_commands=True),
    ]
    if questions.checkin:
        items.append(checkin(Topic.PAIN_START))
    items += [Cue(text, "caution") for text in routine.cautions]
    if avoided:
        items.append(Cue(prompts.avoided([e.name for e in avoided]), "welcome"))
    if not exercises:
        items.append(Cue(prompts.nothing_left(), "welcome"))
    for i, ex in enumerate(exercises):
        after = exercises[i + 1] if i + 1 < len(exercises) else None
        items += exercise_plan(i, len(exercises), ex, after, questions.effort)
    if questions.checkin and exercises:
        items.append(checkin(Topic.PAIN_END))
    items.append(Summary())
    return tuple(items)
