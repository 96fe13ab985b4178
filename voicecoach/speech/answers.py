"""Hearing an answer: what the user says while a question is open, transcribed and matched.

The command model and the keyword spotter hear only commands; a pain score or "lying down" is
free speech. So while the coach's expectation holds an answer (and only then: the coach's own
counts are never listened to as numbers), speech is cut into utterances (``utterances.py``),
each is transcribed (``transcribe.py``; not primed with the expected answers, so it writes
what it heard rather than what was hoped for) and the whole of it must match the expectation.
The listener's gate then decides whether it was the user's voice.

Transcribing takes a moment (Whisper tiny.en: well under a second for a short answer here,
longer on a Pi), so live it runs on a worker thread and the answer is reported by a later
``accept``; a replay waits for it (``wait=True``), so a rendered session is the same each time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from voicecoach.audio import SAMPLE_RATE
from voicecoach.speech.recognizer import Answer, Detection
from voicecoach.speech.transcribe import Transcriber
from voicecoach.speech.utterances import FRAME, Utterances
from voicecoach.vocabulary import Expectation, Value, answer_words

log = logging.getLogger(__name__)


class AnswerRecognizer:
    """Reports an expected answer heard in the stream; nothing while no answer is expected.

    ``make`` builds the transcriber when it is first needed (a session that asks nothing never
    loads it).
    """

    name = "answers"

    def __init__(self, make: Callable[[], Transcriber], wait: bool = False) -> None:
        self._make = make
        self._transcriber: Transcriber | None = None
        self.wait = wait
        self.heard: list[str] = []  # transcriptions, for logs and tests
        self._expectation = Expectation()
        self._fresh = False  # a new expectation: the listener thread drops what it had begun
        self._utterances = Utterances()
        self._pending = np.zeros(0, np.int16)
        self._t = 0.0
        self._start: float | None = None
        self._worker: ThreadPoolExecutor | None = None
        self._jobs: list[Future[Answer | None]] = []

    def expect(self, expectation: Expectation) -> None:
        """Listen for ``expectation``'s answer from now on (none: stop transcribing).

        Called from the session's loop: the model is loaded as the question is asked, on the
        worker (the loop goes on speaking), or here when a replay waits for everything.
        """
        self._expectation = expectation
        self._fresh = True
        if expectation.answer is not None and self._transcriber is None:
            if self.wait:
                self._transcriber_ready()
            else:
                self._pool().submit(self._transcriber_ready)

    def reset(self) -> None:
        """Forget everything heard, and expect no answer."""
        self.expect(Expectation())
        self._pending = np.zeros(0, np.int16)
        self._jobs = []

    def accept(self, pcm: np.ndarray, t: float) -> list[Detection | Answer]:
        """Feed a block; answers whose transcription has finished."""
        if not self._pending.size:
            self._t = t
        self._pending = np.concatenate([self._pending, pcm])
        while len(self._pending) >= FRAME:
            frame, self._pending = self._pending[:FRAME], self._pending[FRAME:]
            self._frame(frame, self._t)
            self._t += FRAME / SAMPLE_RATE
        return self._finished()

    def _frame(self, frame: np.ndarray, t: float) -> None:
        if self._fresh:
            self._fresh = False
            self._utterances.clear()
            self._start = None
        if self._expectation.answer is None:
            return
        if not self._utterances.active:
            self._start = t
        utterance = self._utterances.push(frame)
        if utterance is None or self._start is None:
            return
        start = self._start  # the first loud frame; the end is the last (the gate judges these)
        spoken = len(utterance) - self._utterances.lead - self._utterances.tail
        end = start + spoken / SAMPLE_RATE
        expectation = self._expectation
        if self.wait:
            done: Future[Answer | None] = Future()
            done.set_result(self._hear(utterance, start, end, expectation))
            self._jobs.append(done)
        else:
            self._jobs.append(self._pool().submit(self._hear, utterance, start, end, expectation))

    def _hear(
        self, pcm: np.ndarray, start: float, end: float, expectation: Expectation
    ) -> Answer | None:
        text = self._transcriber_ready().transcribe(pcm)
        self.heard.append(text)
        phrase = _said_once(text)
        value: Value | None = expectation.parse(phrase)
        log.info("answer: heard %r -> %r", text, value)
        if value is None:
            return None
        return Answer(value, phrase, 1.0, start, end, self.name)

    def _finished(self) -> list[Detection | Answer]:
        out: list[Detection | Answer] = []
        while self._jobs and self._jobs[0].done():
            answer = self._jobs.pop(0).result()
            if answer is not None:
                out.append(answer)
        return out

    def _pool(self) -> ThreadPoolExecutor:
        """One worker: it loads the model and transcribes, one thing at a time, in order."""
        if self._worker is None:
            self._worker = ThreadPoolExecutor(1, thread_name_prefix="answers")
        return self._worker

    def _transcriber_ready(self) -> Transcriber:
        if self._transcriber is None:
            self._transcriber = self._make()
        return self._transcriber


def _said_once(text: str) -> str:
    """Words said again and again are said once.

    Greedy decoding can loop on a short answer ("3 3 3 3 3", "Lying down. Lying down. Lyi");
    a person repeating an answer means it once too. Anything else is left whole.
    """
    words = answer_words(text).split()
    for size in (1, 2, 3):
        unit = words[:size]
        if len(words) < 2 * size:
            break
        *whole, last = words
        if all(w == unit[i % size] for i, w in enumerate(whole)) and unit[
            len(whole) % size
        ].startswith(last):
            return " ".join(unit)
    return text
