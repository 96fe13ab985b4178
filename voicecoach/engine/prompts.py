"""Everything the coach says that does not come from a routine file.

Only the prompts built by functions marked ``QUOTES_COMMANDS`` may name command phrases (the user
has to learn them somewhere); a test checks every other prompt against the vocabulary.
"""

from __future__ import annotations

from collections.abc import Sequence

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_ORDINALS = [
    "zeroth",
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
    "eleventh",
    "twelfth",
    "thirteenth",
    "fourteenth",
    "fifteenth",
    "sixteenth",
    "seventeenth",
    "eighteenth",
    "nineteenth",
]
_TENS_ORDINALS = ["_", "_", "twentieth", "thirtieth", "fortieth", "fiftieth"]


def number(n: int) -> str:
    """0-999 in words: ``42 -> "forty two"``."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + (f" {_ONES[ones]}" if ones else "")
    hundreds, rest = divmod(n, 100)
    return f"{_ONES[hundreds]} hundred" + (f" and {number(rest)}" if rest else "")


def ordinal(n: int) -> str:
    """1-59 as an ordinal word: ``2 -> "second"``, ``21 -> "twenty first"``."""
    if n < 20:
        return _ORDINALS[n]
    tens, ones = divmod(n, 10)
    return _TENS_ORDINALS[tens] if not ones else f"{_TENS[tens]} {_ORDINALS[ones]}"


def join_names(names: Sequence[str]) -> str:
    """``["a", "b", "c"] -> "a, b and c"``."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _minutes(seconds: float) -> str:
    m = max(1, round(seconds / 60))
    return f"{number(m)} minute{'s' if m != 1 else ''}"


# -- guidance ------------------------------------------------------------------------------
def welcome(title: str, exercises: int, seconds: float) -> str:
    """Opening line: which routine, how long."""
    count = f"{number(exercises)} exercise{'s' if exercises != 1 else ''}"
    return f"Welcome. This is {title}: {count}, about {_minutes(seconds)}."


def how_to_talk() -> str:
    """QUOTES_COMMANDS: how to talk to the coach, said after the welcome."""
    return (
        "You can talk to me at any time. If something hurts, say: that hurts, and I will go "
        "quiet straight away. Say help to hear everything else you can say."
    )


def avoided(names: Sequence[str]) -> str:
    """Exercises left out because of pain in an earlier session."""
    verb = "is" if len(names) == 1 else "are"
    return (
        f"{join_names(names)} {verb} left out of this session, because of pain in an earlier "
        "session."
    )


def nothing_left() -> str:
    """Every exercise of the routine is on the avoid list."""
    return "Every exercise in this routine is on your avoid list, so there is nothing to guide."


def intro(index: int, total: int, name: str) -> str:
    """Which exercise this is."""
    if total == 1:
        return f"{name}."
    return f"Exercise {number(index + 1)} of {number(total)}: {name}."


def coming_up(name: str | None) -> str:
    """What follows the current exercise."""
    return f"After this one: {name}." if name else "This is the last exercise."


def first_side(side: str, label: str) -> str:
    """Start of a left-then-right exercise."""
    return f"We start with the {side} {label}."


def now_side(side: str, label: str) -> str:
    """Switching sides."""
    return f"Now the {side} {label}."


def side_turn(side: str, label: str) -> str:
    """One turn of an alternating exercise."""
    return f"{side.capitalize()} {label}."


def rep(n: int, total: int) -> str:
    """Which repetition this is: "Second of five."."""
    return f"{ordinal(n).capitalize()} of {number(total)}."


#: After the action of a counted hold. Not "And hold.": after "Breathe in, ..." that sounds like
#: holding the breath.
HOLD = "Hold there, and keep breathing."
BREATHE_IN = "Breathe in."
BREATHE_OUT = "And out."


def seconds_to_go(s: int) -> str:
    """Time left in a hold counted in tens."""
    return f"{number(s)} seconds to go."


def minutes_done(m: int) -> str:
    """Elapsed minutes in a long hold."""
    return f"{number(m)} minute{'s' if m != 1 else ''}."


ONE_MINUTE_LEFT = "One minute to go."


def summary(title: str, done: int, skipped: int, dropped: int, reason: str) -> str:
    """End of session: what was done, left out and dropped, one plain sentence each."""
    opening = f"That is the end of {title}." if reason == "completed" else "We will end here."
    if not (done or skipped or dropped):
        return opening
    text = f"{opening} Today you did {number(done)} exercise{'s' if done != 1 else ''}."
    others = []
    if skipped:
        others.append(f"{number(skipped)} {'was' if skipped == 1 else 'were'} left out")
    if dropped:
        others.append(
            f"{number(dropped)} {'was' if dropped == 1 else 'were'} taken out because of pain"
        )
    if others:
        text += " " + ", and ".join(others).capitalize() + "."
    return text + (" Well done." if done else "")


# -- reactions -----------------------------------------------------------------------------
def left_out(name: str) -> str:
    """After "next"."""
    return f"Leaving {name} out."


def pain_recorded(name: str) -> str:
    """After a pain report is safely stored."""
    return (
        f"I have taken {name} out of your routine, for today and for later sessions. "
        "If the pain persists, seek professional advice. Rest for a moment."
    )


def pain_not_recorded(name: str) -> str:
    """The pain report could not be stored: still drop the exercise now."""
    return (
        f"{name} is over for today, but I could not save that, so please take it out of your "
        "routine yourself. If the pain persists, seek professional advice."
    )


PAIN_BEFORE_START = "We will not carry on today. If the pain persists, seek professional advice."
NO_ANSWER = "I did not hear from you."


def paused() -> str:
    """QUOTES_COMMANDS: the session is paused."""
    return "Paused. Say resume when you are ready."


def stopped() -> str:
    """QUOTES_COMMANDS: after "stop": silence, then this question."""
    return (
        "I have stopped. If something hurts, say: that hurts. Say resume to carry on with this "
        "exercise, or next to leave it out."
    )


CARRYING_ON = "Carrying on."
ALREADY_GOING = "We are already under way."
LAST_EXERCISE = "There are no more exercises after this."


def help_text() -> str:
    """QUOTES_COMMANDS: every command."""
    return (
        "You can say: stop, or that hurts, at any time, and I will go quiet. "
        "Next, to leave an exercise out. Pause, and resume. Repeat, to hear an instruction "
        "again. Finish, to end the session."
    )


def not_understood() -> str:
    """QUOTES_COMMANDS: text that is not a command."""
    return "I didn't catch that; say help to hear what you can say."


MIC_LOST = "I can no longer hear you, so we are holding the session here."


def mic_back() -> str:
    """QUOTES_COMMANDS: listening works again; the session stays paused until asked."""
    return "I can hear you again. Say resume when you are ready."


MIC_STILL_LOST = "I still cannot hear you, so we are holding here."


# -- questions -----------------------------------------------------------------------------
def _checkin(when: str) -> str:
    return (
        f"How is your back {when}, from zero for no pain to ten for the worst? "
        "Say a number, or skip."
    )


def checkin_start() -> str:
    """QUOTES_COMMANDS: the pain check-in before the exercises."""
    return _checkin("right now")


def checkin_end() -> str:
    """QUOTES_COMMANDS: the pain check-in after the exercises."""
    return _checkin("now, after the exercises")


EFFORT = "Was that easy, fine or hard?"

#: The CORE Back Tool's question: which position eases the pain.
TRIAGE = (
    "Let us choose your exercises. Is your back pain eased by sitting, by standing or lying "
    "down, or by neither?"
)


def ask_again(question: str) -> str:
    """The question once more, after no answer (or one that was not understood)."""
    return f"Sorry, I did not catch that. {question}"


QUESTION_LEFT = "Let us leave that question."
NO_CHOICE = "No routine was chosen, so we will end here."


def score_heard(score: int) -> str:
    """A pain score, said back."""
    return f"{number(score).capitalize()}. Thank you."


EFFORT_HEARD = "Thank you, noted."


def pain_rose(start: int, end: int) -> str:
    """The pain check-in after the exercises is two or more points above the one before."""
    return (
        f"Your pain went from {number(start)} to {number(end)} during this session. If an "
        "exercise makes your pain worse, leave it out. If the pain persists, seek professional "
        "advice."
    )


#: Why the routine chosen by the CORE question suits, one sentence each (by ``PainPattern``).
WHY = {
    "eased-by-sitting": (
        "Because sitting eases your pain, we will do gentle stretches that bend the back forward."
    ),
    "eased-by-standing-or-lying": (
        "Because standing or lying down eases your pain, we will do gentle exercises that arch "
        "the back."
    ),
    "not-eased-by-position": (
        "Because no position eases your pain, we will do small, gentle movements."
    ),
}

#: The prompts allowed to name command phrases, for the test that checks all the others.
QUOTES_COMMANDS = (
    how_to_talk,
    paused,
    stopped,
    help_text,
    not_understood,
    mic_back,
    checkin_start,
    checkin_end,
)
