"""The service between sessions: voice requests ("start ...", "what can I do") and reminders."""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.scenes import SHARED_MISSING, speech_sentences
from tests.virtual_audio import PLUGGABLE, PluggableMicrophone, available, virtual_audio
from training.voices import Voice, render
from voicecoach.config import ConfigError, Reminder, load
from voicecoach.routines.loader import load_builtin
from voicecoach.service.idle import (
    MATCH,
    IdleListener,
    IdleRequest,
    best_transcriber,
    expectation,
    parse,
)
from voicecoach.speech.transcribe import FullTranscriber
from voicecoach.speech.whisper import WhisperTranscriber, title_context
from voicecoach.vocabulary import Choice

ROUTINES = load_builtin().routines
SILENCE = np.zeros(16000, np.int16)
USER = Voice("flite", "slt", rate=150)


def test_parse_finds_a_routine_by_title_or_name_and_nothing_else():
    assert parse("start core stability", ROUTINES, None) == IdleRequest("start", "core-stability")
    assert parse("please start the desk break", ROUTINES, None) == IdleRequest(
        "start", "desk-break"
    )
    assert parse("star car stability", ROUTINES, None) == IdleRequest("start", "core-stability")
    assert parse("what can i do", ROUTINES, None) == IdleRequest("list")
    assert parse("start", ROUTINES, "desk-break") == IdleRequest("start", "desk-break")
    assert parse("start", ROUTINES, None) is None  # nothing suggested: start what?
    assert parse("start the washing machine", ROUTINES, None) is None
    assert parse("the core of the matter", ROUTINES, None) is None


def test_the_idle_request_is_a_choice_among_the_routines():
    expected = expectation(ROUTINES)
    assert isinstance(expected.answer, Choice) and expected.answer.cutoff == MATCH
    # Every routine can be chosen by its title and by its name, and only the routines.
    assert set(expected.answer_phrases().values()) == set(ROUTINES)
    for routine in ROUTINES.values():
        assert expected.parse(routine.title) == routine.id
        assert expected.parse(routine.id.replace("-", " ")) == routine.id
    assert expected.parse("car stability") == "core-stability"  # said nearly right
    assert expected.parse("washing machine") is None


# The service's choice (Whisper) and its fallback (pocketsphinx): both are real recognizers.
TRANSCRIBERS = {
    "whisper": lambda: WhisperTranscriber(context=title_context(ROUTINES)).transcribe,
    "pocketsphinx": lambda: FullTranscriber().transcribe,
}


@pytest.fixture(params=list(TRANSCRIBERS), scope="module")
def transcribe(request):
    return TRANSCRIBERS[request.param]()


def _listener(transcribe, posted: list, speaking: list[bool] | None = None) -> IdleListener:
    flag = speaking if speaking is not None else [False]
    return IdleListener(transcribe, ROUTINES, posted.append, coach_speaking=lambda: flag[0])


def test_the_service_listens_with_whisper_between_sessions():
    transcribe = best_transcriber(ROUTINES)
    assert isinstance(transcribe.__self__, WhisperTranscriber)
    speech = np.concatenate([SILENCE, render(USER, "start the desk break"), SILENCE])
    assert parse(transcribe(speech), ROUTINES, None) == IdleRequest("start", "desk-break")


def test_idle_listener_hears_a_spoken_request(transcribe):
    posted: list[IdleRequest] = []
    listener = _listener(transcribe, posted)
    for text in ("start core stability", "what can I do"):
        listener.feed(np.concatenate([SILENCE, render(USER, text), SILENCE]), None, 0.0)
    assert posted == [IdleRequest("start", "core-stability"), IdleRequest("list")]


def test_idle_listener_is_deaf_while_the_coach_speaks(transcribe):
    posted: list[IdleRequest] = []
    speaking = [True]  # "say start when you are ready" is the coach's, not the user's
    listener = _listener(transcribe, posted, speaking)
    listener.feed(np.concatenate([SILENCE, render(USER, "start core stability"), SILENCE]), None, 0)
    assert posted == [] and listener.heard == []


@pytest.mark.skipif(SHARED_MISSING is not None, reason=str(SHARED_MISSING))
def test_other_people_talking_start_nothing(transcribe):
    posted: list[IdleRequest] = []
    listener = _listener(transcribe, posted)
    listener.feed(speech_sentences(without_commands=False), None, 0.0)
    assert len(listener.heard) > 20  # it did transcribe them
    assert posted == []


def test_reminders_are_read_from_the_config_with_clear_errors(tmp_path: Path):
    path = tmp_path / "config.toml"
    path.write_text('[[reminders]]\nat = "08:30"\nroutine = "desk-break"\n')
    assert load(path).reminders == (Reminder(8, 30, "desk-break"),)
    path.write_text('[[reminders]]\nat = "25:00"\nroutine = "desk-break"\n')
    with pytest.raises(ConfigError, match=r"reminders\[0\]\.at: expected a time"):
        load(path)
    path.write_text('[[reminders]]\nat = "08:30"\n')
    with pytest.raises(ConfigError, match="exactly the keys at and routine"):
        load(path)


def test_a_reminder_is_announced_once_a_day_and_suggests_its_routine():
    from voicecoach.service.reminders import SUGGESTION_S, Reminders
    from voicecoach.service.state import ServiceState

    said: list[str] = []
    status = ServiceState()
    now = [100.0]
    reminders = Reminders(
        ROUTINES,
        [Reminder(8, 30, "desk-break"), Reminder(9, 0, "juggling")],
        said.append,
        status,
        clock=lambda: now[0],
    )
    assert status.errors == ["reminder at 09:00: no routine called 'juggling'; it is ignored"]
    day = datetime.datetime(2026, 11, 21, 8, 30, 5)
    reminders.announce_due(day)
    reminders.announce_due(day + datetime.timedelta(seconds=20))  # same minute: not again
    reminders.announce_due(datetime.datetime(2026, 11, 21, 9, 0))
    assert said == ["It is time for your Desk break routine. Say start when you are ready."]
    assert reminders.suggestion() == "desk-break"
    now[0] += SUGGESTION_S + 1
    assert reminders.suggestion() is None  # suggested for a while, not for ever
    reminders.announce_due(day + datetime.timedelta(days=1))  # the next day: again
    assert len(said) == 2 and reminders.suggestion() == "desk-break"
    reminders.forget_suggestion()  # a session started
    assert reminders.suggestion() is None


@pytest.mark.skipif(available() is not None, reason=str(available()))
def test_serve_starts_a_routine_when_asked_by_voice(tmp_path: Path):
    with virtual_audio(tmp_path) as audio:
        mic = PluggableMicrophone(tmp_path, Path(audio.env["HOME"]))
        env = dict(
            audio.env,
            VOICECOACH_RUNTIME_DIR=str(tmp_path / "run"),
            VOICECOACH_DATA_DIR=str(tmp_path / "data"),
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "voicecoach", "-v", "serve", "--input-device", PLUGGABLE]
            + ["--asr", "pocketsphinx"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )

        def status() -> dict:
            out = subprocess.run(
                [sys.executable, "-m", "voicecoach", "status", "--json"],
                env=env,
                capture_output=True,
                text=True,
                timeout=30,
            )
            return json.loads(out.stdout) if out.returncode == 0 else {}

        try:
            deadline = time.monotonic() + 60
            while status().get("microphone") != "listening for start":
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.5)
            mic.say(np.concatenate([render(USER, "start desk break"), SILENCE]))
            deadline = time.monotonic() + 30
            while status().get("session") != "desk-break":
                assert time.monotonic() < deadline, "the spoken request was not taken"
                time.sleep(0.5)
            stopped = subprocess.run(
                [sys.executable, "-m", "voicecoach", "stop"], env=env, timeout=30
            )
            assert stopped.returncode == 0
            proc.terminate()
            _, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
            mic.close()
    assert proc.returncode == 0, err[-3000:]
    assert "-> IdleRequest(kind='start', routine='desk-break')" in err  # by voice, not otherwise
