"""Text mode: the coach prints what it would say, and reads commands typed on stdin."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TextIO

from voicecoach.engine.events import AnswerHeard, CommandHeard, Event, NotUnderstood
from voicecoach.session.clock import Clock
from voicecoach.session.harness import speech_s
from voicecoach.session.inbox import Inbox
from voicecoach.vocabulary import Expectation, match_intent, normalize

log = logging.getLogger(__name__)


def stamp(seconds: float) -> str:
    """``[mm:ss]`` of session time."""
    whole = int(seconds)
    return f"[{whole // 60:02d}:{whole % 60:02d}]"


class TextSpeaker:
    """Prints each utterance on its own line, prefixed with the session clock.

    An utterance "lasts" as long as it would take to say, so a text session keeps the pace
    (and the ``[mm:ss]`` stamps) of a spoken one.
    """

    def __init__(self, clock: Clock, out: TextIO, speech: Callable[[str], float] = speech_s):
        self._clock = clock
        self._out = out
        self._speech = speech
        self._free_at = 0.0
        self._timers: list[threading.Timer] = []
        self._lock = threading.Lock()

    def say(self, text: str, utterance: int, done: Callable[[int], None]) -> None:
        """Print now; report the utterance finished once its speaking time has passed."""
        self._print(text)
        with self._lock:
            now = self._clock.now()
            self._free_at = max(now, self._free_at) + self._speech(text)
            timer = threading.Timer(self._clock.to_real(self._free_at - now), done, (utterance,))
            timer.daemon = True
            self._timers = [t for t in self._timers if t.is_alive()] + [timer]
            timer.start()

    def count(self, text: str) -> None:
        """Print a count word."""
        self._print(text)

    def cut(self) -> None:
        """Drop what is still "playing": its end is never reported."""
        with self._lock:
            for timer in self._timers:
                timer.cancel()
            self._timers = []
            self._free_at = self._clock.now()

    def close(self) -> None:
        """Stop pending timers."""
        self.cut()

    def _print(self, text: str) -> None:
        self._out.write(f"{stamp(self._clock.now())} {text}\n")
        self._out.flush()


class Typed:
    """How a typed line is read: a command listened for, else the expected answer, else neither.

    ``expect`` is the session's ``Listen`` port, as it is a listener's.
    """

    def __init__(self) -> None:
        self.expectation = Expectation()

    def expect(self, expectation: Expectation) -> None:
        """Read lines for ``expectation`` from now on."""
        self.expectation = expectation

    def read(self, line: str) -> Event:
        """The event a typed line stands for."""
        expectation = self.expectation  # one expectation for the whole line
        match = match_intent(line)
        if match is not None and expectation.allows(match.intent):
            return CommandHeard(match.intent, match.phrase)
        value = expectation.parse(line)
        if value is not None:
            return AnswerHeard(value, line.strip())
        return NotUnderstood(line)


def read_commands(stream: TextIO, inbox: Inbox, typed: Typed | None = None) -> threading.Thread:
    """Read typed lines in the background, so a line typed during a count acts at once.

    End of input only means no more commands: the session carries on. ``typed`` says how lines
    are read (by default: every command, no answer).
    """
    reading = typed or Typed()

    def reader() -> None:
        for line in stream:
            if not normalize(line) and reading.expectation.parse(line) is None:
                continue
            event = reading.read(line)
            log.info("typed %r -> %s", line.strip(), event)
            inbox.put(event)

    thread = threading.Thread(target=reader, name="stdin-commands", daemon=True)
    thread.start()
    return thread
