"""Hearing answers: only while a question is open, only the user's voice, the real transcriber."""

from __future__ import annotations

import time

import numpy as np
import pytest

from training.voices import Voice, render
from voicecoach.audio import SAMPLE_RATE
from voicecoach.engine.events import AnswerHeard
from voicecoach.engine.plan import EFFORTS, PAIN_SCORE, TRIAGE_ANSWERS
from voicecoach.session.listener import Listener
from voicecoach.speech.answers import AnswerRecognizer, _said_once
from voicecoach.speech.recognizer import Answer
from voicecoach.speech.transcribe import best
from voicecoach.speech.tts import EspeakSynth
from voicecoach.speech.utterances import Utterances
from voicecoach.vocabulary import Expectation

USER = Voice("flite", "slt", rate=150)
SCORE = Expectation(answer=PAIN_SCORE)


def said(text: str) -> np.ndarray:
    """The user's words with a second of quiet before and after, as a microphone hears them."""
    quiet = np.zeros(SAMPLE_RATE, np.int16)
    return np.concatenate([quiet, render(USER, text), quiet])


class Counting:
    """A transcriber that says what it was given: how many utterances, and always "four"."""

    def __init__(self) -> None:
        self.calls = 0

    def transcribe(self, pcm: np.ndarray) -> str:
        self.calls += 1
        return "four"


def feed(recognizer: AnswerRecognizer, pcm: np.ndarray) -> list:
    out = []
    for i in range(0, len(pcm), 320):
        out += recognizer.accept(pcm[i : i + 320], i / SAMPLE_RATE)
    return out


def test_nothing_is_transcribed_while_no_answer_is_expected():
    fake = Counting()
    recognizer = AnswerRecognizer(lambda: fake, wait=True)
    assert feed(recognizer, said("four")) == [] and fake.calls == 0
    recognizer.expect(SCORE)
    [answer] = feed(recognizer, said("four"))
    assert answer.value == 4 and fake.calls == 1
    recognizer.expect(Expectation())  # the question is answered: deaf again
    assert feed(recognizer, said("four")) == [] and fake.calls == 1


@pytest.fixture(scope="module")
def whisper():
    return best()


@pytest.mark.parametrize(
    ("text", "expectation", "value"),
    [
        ("seven", SCORE, 7),
        ("four", SCORE, 4),
        ("it was easy", Expectation(answer=EFFORTS), "easy"),
        ("too hard", Expectation(answer=EFFORTS), "hard"),
        ("neither", Expectation(answer=TRIAGE_ANSWERS), "not-eased-by-position"),
    ],
)
def test_a_spoken_answer_is_heard_by_the_real_transcriber(whisper, text, expectation, value):
    recognizer = AnswerRecognizer(lambda: whisper, wait=True)
    recognizer.expect(expectation)
    answers = feed(recognizer, said(text))
    assert [a.value for a in answers] == [value], recognizer.heard
    [answer] = answers
    assert isinstance(answer, Answer)
    # Its span is the words' (for the gate), not the quiet around them.
    words = len(render(USER, text)) / SAMPLE_RATE
    assert answer.start == pytest.approx(1.0, abs=0.05)
    assert answer.end == pytest.approx(1.0 + words, abs=0.05)


def test_a_transcription_that_is_no_answer_is_dropped(whisper):
    recognizer = AnswerRecognizer(lambda: whisper, wait=True)
    recognizer.expect(SCORE)
    assert feed(recognizer, said("I am not sure")) == []
    assert recognizer.heard  # it was transcribed, and judged no number


def test_the_coachs_own_number_over_the_speaker_is_not_an_answer(whisper):
    """The coach says "Four. Thank you." as a score is heard: its echo is never taken as one."""
    coach = EspeakSynth().render("four")
    quiet = np.zeros(SAMPLE_RATE, np.int16)
    ref = np.concatenate([quiet, coach, quiet])
    mic = (ref * 0.5).astype(np.int16)  # the room: the coach's voice at half its level
    posted: list = []
    listener = Listener.for_coach([AnswerRecognizer(lambda: whisper, wait=True)], posted.append)
    listener.expect(SCORE)
    for i in range(0, len(mic), 320):
        listener.feed(mic[i : i + 320], ref[i : i + 320], i / SAMPLE_RATE)
    assert [e for e in posted if isinstance(e, AnswerHeard)] == []
    # The same word from the user, with the coach quiet, is heard.
    listener.feed(said("four"), None, len(mic) / SAMPLE_RATE)
    assert [e.value for e in posted if isinstance(e, AnswerHeard)] == [4]


def test_an_answer_said_again_and_again_is_one_answer():
    assert _said_once("Lying down. Lying down. Lying down. Lyi") == "lying down"
    assert _said_once("3 3 3 3 3 3 3 3") == "3"
    assert _said_once("two two two two two two tw") == "two"
    assert _said_once("Sitting. No, lying down.") == "Sitting. No, lying down."
    assert _said_once("not easy not easy") == "not easy"  # then no answer: not "easy"
    assert _said_once("4.") == "4."


def test_an_utterance_keeps_the_quiet_just_before_its_first_loud_frame():
    """Cut at the onset, "four" was heard as "far"."""
    cutter = Utterances()
    pcm = said("four")
    pushed = [cutter.push(pcm[i : i + 320]) for i in range(0, len(pcm) - 319, 320)]
    found = [u for u in pushed if u is not None]
    [utterance] = found
    assert cutter.lead == int(0.2 * SAMPLE_RATE)
    assert np.abs(utterance[: cutter.lead // 2]).max() < 300  # it starts in the quiet


def test_live_the_answer_comes_from_the_worker_without_holding_up_the_stream(whisper):
    recognizer = AnswerRecognizer(lambda: whisper)  # live: transcribed on its own thread
    recognizer.expect(SCORE)
    answers = feed(recognizer, said("seven"))
    quiet = np.zeros(320, np.int16)
    deadline = time.monotonic() + 30
    while not answers and time.monotonic() < deadline:
        time.sleep(0.02)  # the stream goes on: 20 ms of quiet at a time
        answers += recognizer.accept(quiet, 0.0)
    assert [a.value for a in answers] == [7]
