"""The listener: microphone frames in, command events out, through recognizers and the gate.

Several recognizers run side by side (the command model, and vosk when installed) and hear each
frame with the coach's echo cancelled (what was played is known exactly); a detection becomes a
``CommandHeard`` only if the reference gate, judging the raw microphone, believes it came from
the user, and one intent is reported once per refractory period whichever recognizer heard it.
What the session expects (``expect``, from the engine's ``Listen``) is passed to every
recognizer, and a command or answer that is not expected is dropped here too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np

from voicecoach.audio import SAMPLE_RATE
from voicecoach.audio.echo import EchoCanceller, EchoUnavailable
from voicecoach.audio.gate import FRAME, ReferenceGate
from voicecoach.engine.events import AnswerHeard, CommandHeard, Event, MicBack, MicLost
from voicecoach.speech.recognizer import Answer, Detection, Recognizer
from voicecoach.vocabulary import Expectation

log = logging.getLogger(__name__)

REFRACTORY_S = 1.5


class Listener:
    """Feeds 20 ms frames of microphone (and the matching reference) to every recognizer."""

    def __init__(
        self,
        recognizers: Sequence[Recognizer],
        post: Callable[[Event], None],
        gate: ReferenceGate | None = None,
        echo: EchoCanceller | None = None,
    ) -> None:
        self.recognizers = list(recognizers)
        self.post = post
        self.gate = gate
        self.echo = echo
        self.heard: list[Detection] = []  # everything accepted, for logs and tests
        self.rejected: list[Detection | Answer] = []  # judged to be the coach's own voice
        self.answers: list[Answer] = []  # expected answers accepted
        self.expectation = Expectation()
        self._mic = np.zeros(0, np.int16)
        self._ref = np.zeros(0, np.int16)
        self._t = 0.0  # audio time of the first buffered sample
        self._last: dict[object, float] = {}

    def feed(self, mic: np.ndarray, ref: np.ndarray | None, t: float) -> None:
        """Take microphone samples starting at audio time ``t`` (and what was played then)."""
        if not self._mic.size:
            self._t = t
        self._mic = np.concatenate([self._mic, mic])
        ref = np.zeros(len(mic), np.int16) if ref is None else ref
        self._ref = np.concatenate([self._ref, ref])
        while len(self._mic) >= FRAME:
            frame, self._mic = self._mic[:FRAME], self._mic[FRAME:]
            ref_frame, self._ref = self._ref[:FRAME], self._ref[FRAME:]
            self._frame(frame, ref_frame, self._t)
            self._t += FRAME / 16000

    def expect(self, expectation: Expectation) -> None:
        """Listen for ``expectation`` from now on, and tell every recognizer."""
        log.info("listening for %s", expectation)
        self.expectation = expectation
        for recognizer in self.recognizers:
            recognizer.expect(expectation)

    @classmethod
    def for_coach(
        cls, recognizers: Sequence[Recognizer], post: Callable[[Event], None]
    ) -> Listener:
        """A listener for a live or replayed session: echo canceller (if installed) and gate."""
        try:
            echo: EchoCanceller | None = EchoCanceller()
        except EchoUnavailable as exc:
            log.warning("no echo cancellation, barge-in will be heard less well: %s", exc)
            echo = None
        return cls(recognizers, post, ReferenceGate(), echo)

    def _frame(self, mic: np.ndarray, ref: np.ndarray, t: float) -> None:
        # The gate judges the raw microphone: the echo there is a steady linear image of the
        # reference and so predictable; after the canceller it is a residue that jumps while
        # the filter adapts. The recognizers hear the cleaned signal.
        if self.gate is not None:
            self.gate.update(mic, ref, t)
        if self.echo is not None:
            mic = self.echo.process(mic, ref)
        for recognizer in self.recognizers:
            for d in recognizer.accept(mic, t):
                if not self._from_user(d):
                    continue
                if isinstance(d, Answer):
                    self._answer(d)
                else:
                    self._consider(d)

    def _from_user(self, d: Detection | Answer) -> bool:
        if self.gate is not None and not self.gate.allows(d.start, d.end):
            log.info("ignored %r (%s): the coach's own voice", d.phrase, d.backend)
            self.rejected.append(d)
            return False
        return True

    def _answer(self, a: Answer) -> None:
        if self.expectation.parse(a.phrase) != a.value:  # asked before the expectation changed
            return
        self.answers.append(a)
        log.info("heard %r -> answer %r (%s, %.2f)", a.phrase, a.value, a.backend, a.confidence)
        self.post(AnswerHeard(a.value, a.phrase))

    def _consider(self, d: Detection) -> None:
        if not self.expectation.allows(d.intent):  # a recognizer that cannot narrow its search
            log.debug("not listening for %r now", d.phrase)
            return
        if d.end - self._last.get(d.intent, -1e9) < REFRACTORY_S:
            return
        self._last[d.intent] = d.end
        self.heard.append(d)
        log.info(
            "heard %r -> %s (%s, %.2f) at %.2f s",
            d.phrase,
            d.intent.value,
            d.backend,
            d.confidence,
            d.end,
        )
        self.post(CommandHeard(d.intent, d.phrase))


LEAD_IN_S = 2.0  # a session has been listening for a while before anyone speaks
TAIL_S = 1.0  # and goes on listening after the last word


class MicrophoneEvents:
    """The microphone's loss and return as the coach's events (the microphone knows no engine).

    Pass ``on_lost=events.lost, on_back=events.back`` to ``LiveMicrophone``.
    """

    def __init__(self, post: Callable[[Event], None]) -> None:
        self.post = post

    def lost(self) -> None:
        """Blocks stopped arriving: the coach pauses and says so."""
        self.post(MicLost())

    def back(self) -> None:
        """Blocks flow again."""
        self.post(MicBack())


def hear(recognizers: Sequence[Recognizer], pcm: np.ndarray) -> list[Detection]:
    """What a session would hear in a recording made while the coach was silent.

    The same path as a session (echo canceller, gate, refractory), with silence before the
    recording (a recognizer that looks at the last second or more needs it filled, as it is in a
    session) and after it. Times are the recording's own (the lead-in is before zero).
    """
    listener = Listener.for_coach(recognizers, lambda _event: None)
    lead = int(LEAD_IN_S * SAMPLE_RATE)
    audio = np.concatenate(
        [
            np.zeros(lead, np.int16),
            pcm.astype(np.int16),
            np.zeros(int(TAIL_S * SAMPLE_RATE), np.int16),
        ]
    )
    for i in range(0, len(audio), FRAME):
        listener.feed(audio[i : i + FRAME], None, (i - lead) / SAMPLE_RATE)
    return listener.heard
