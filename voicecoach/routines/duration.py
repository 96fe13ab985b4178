"""Estimated length of a routine, for listings and planning."""

from __future__ import annotations

from voicecoach.routines.model import Exercise, Routine

#: espeak-ng's default rate is 175 words per minute; cues also carry pauses between sentences.
WORDS_PER_S = 2.5


def speech_s(text: str) -> float:
    """Rough spoken length of ``text``."""
    return len(text.split()) / WORDS_PER_S + 0.3


def exercise_s(ex: Exercise) -> float:
    """Introduction, setup, every hold with its cues, and the rests."""
    intro = sum(speech_s(t) for t in (ex.name, ex.position, *ex.cautions, *ex.setup))
    holds = ex.reps * ex.side_count
    per_hold = sum(
        h.duration_s + speech_s(h.action) + speech_s(h.release) for h in ex.holds_per_rep
    )
    return intro + holds * (per_hold + ex.rest_s)


def routine_s(routine: Routine) -> int:
    """Whole seconds for the routine as guided, welcome and summary included."""
    return round(10 + sum(exercise_s(e) for e in routine.exercises) + 5)
