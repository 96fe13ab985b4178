"""Idle listening in the service: "start <routine>" and "what can I do", between sessions.

A false "start" would begin a session nobody asked for, so precision comes first. Speech is cut
into utterances by energy; each is transcribed freely, by Whisper tiny.en primed with the
routine titles (``whisper.py``), or by pocketsphinx's full English language model where Whisper
is not installed (measured: Whisper heard about twice as many words, neither made a false
request on everyday speech; docs/benchmarks.md); the text must then ask to start and name a
routine by its title or its name ("start core stability"): the routine is what is listened for
(``expectation``, a choice among the routines, as a session listens for an answer). While the
coach itself speaks, nothing is heard (its own words, "say start to begin", must not start
anything), and a short tail after it too.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from voicecoach.audio import SAMPLE_RATE
from voicecoach.routines.model import Routine
from voicecoach.speech.utterances import FRAME, Utterances
from voicecoach.vocabulary import Choice, Expectation

log = logging.getLogger(__name__)

TAIL_S = 0.5  # deaf for this long after the coach stops speaking
MATCH = 0.75  # how close the spoken name must be to a routine's (difflib ratio)
LIST_PHRASES = ("what can i do", "what can i say", "what routines", "list routines")


def announce(routine: Routine) -> str:
    """A reminder, spoken."""
    return f"It is time for your {routine.title} routine. Say start when you are ready."


def choices(routines: Mapping[str, Routine]) -> str:
    """The answer to "what can I do"."""
    titles = [r.title for r in routines.values()]
    listed = ", ".join(titles[:-1]) + f", or {titles[-1]}" if len(titles) > 1 else titles[0]
    return f"Say start, and the name of a routine: {listed}."


@dataclass(frozen=True)
class IdleRequest:
    """What the user asked for while no session ran."""

    kind: str  # "start" | "list"
    routine: str | None = None


def _names(routines: Mapping[str, Routine]) -> dict[str, str]:
    """Spoken name -> routine id: each title and each id read as words."""
    names = {}
    for routine in routines.values():
        names[_words(routine.title)] = routine.id
        names[_words(routine.id.replace("-", " "))] = routine.id
    return names


def expectation(routines: Mapping[str, Routine]) -> Expectation:
    """What is listened for between sessions: a routine, by a name said nearly right."""
    return Expectation(frozenset(), Choice(tuple(_names(routines).items()), cutoff=MATCH))


def _words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))


def parse(text: str, routines: Mapping[str, Routine], suggested: str | None) -> IdleRequest | None:
    """The request in a transcription, or None. A bare "start" takes the ``suggested`` routine."""
    said = _words(text)
    if any(p in said for p in LIST_PHRASES):
        return IdleRequest("list")
    match = re.search(r"\b(?:start|star|begin)\b(.*)", said)  # "star": a common mishearing
    if match is None:
        return None
    rest = match.group(1).strip()
    rest = re.sub(r"^(?:the|my)\s+", "", rest)
    rest = re.sub(r"\s*(?:routine|please|now)$", "", rest).strip()
    if not rest:
        return IdleRequest("start", suggested) if suggested else None
    routine = expectation(routines).parse(rest)
    return IdleRequest("start", str(routine)) if routine is not None else None


def best_transcriber(routines: Mapping[str, Routine]) -> Callable[[np.ndarray], str]:
    """Whisper primed with the routine titles, or pocketsphinx where Whisper is missing."""
    from voicecoach.speech.transcribe import best  # noqa: PLC0415
    from voicecoach.speech.whisper import title_context  # noqa: PLC0415

    return best(title_context(routines)).transcribe


class IdleListener:
    """Takes microphone frames (as a ``Listener`` does) and reports idle requests."""

    def __init__(
        self,
        transcribe: Callable[[np.ndarray], str],
        routines: Mapping[str, Routine],
        post: Callable[[IdleRequest], None],
        coach_speaking: Callable[[], bool] = lambda: False,
        suggested: Callable[[], str | None] = lambda: None,
    ) -> None:
        self.transcribe = transcribe
        self.routines = routines
        self.post = post
        self.coach_speaking = coach_speaking
        self.suggested = suggested
        self.heard: list[str] = []  # transcriptions, for logs and tests
        self._utterances = Utterances()
        self._deaf_until = 0.0
        self._pending = np.zeros(0, np.int16)
        self._t = 0.0

    def feed(self, mic: np.ndarray, _ref: np.ndarray | None, t: float) -> None:
        """Take microphone samples starting at audio time ``t``."""
        if not self._pending.size:
            self._t = t
        self._pending = np.concatenate([self._pending, mic])
        while len(self._pending) >= FRAME:
            frame, self._pending = self._pending[:FRAME], self._pending[FRAME:]
            self._frame(frame, self._t)
            self._t += FRAME / SAMPLE_RATE

    def _frame(self, frame: np.ndarray, t: float) -> None:
        if self.coach_speaking():
            self._deaf_until = t + TAIL_S
            self._utterances.clear()
            return
        if t < self._deaf_until:
            return
        utterance = self._utterances.push(frame)
        if utterance is not None:
            self._utterance(utterance)

    def _utterance(self, pcm: np.ndarray) -> None:
        text = self.transcribe(pcm)
        self.heard.append(text)
        request = parse(text, self.routines, self.suggested())
        log.info("idle: heard %r -> %s", text, request)
        if request is not None:
            self.post(request)
