"""Spoken enrollment through the service: between sessions only, stoppable, then rebuilt."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from pathlib import Path

import numpy as np
import pytest

from tests.enrollment_fakes import (
    FakeAdapt,
    FakeRoom,
    install_fake_adapt,
    needs_shared,
    stop_takes,
)
from voicecoach.enrollment import spoken
from voicecoach.enrollment.folder import VoiceFolder
from voicecoach.service.control import RequestError
from voicecoach.service.enrolling import STOPPED, EnrollmentRunner, beating
from voicecoach.service.recognizers import SessionRecognizers
from voicecoach.service.requests import Requests
from voicecoach.service.state import ServiceState
from voicecoach.session.inbox import Inbox


@pytest.fixture
def fake_adapt(monkeypatch: pytest.MonkeyPatch) -> FakeAdapt:
    return install_fake_adapt(monkeypatch)


def requests() -> Requests:
    return Requests({}, ServiceState(), threading.Event())


def test_enrollment_is_refused_during_a_session_saying_which():
    asked = requests()
    asked.began("desk-break", Inbox())
    with pytest.raises(RequestError, match="a session is running: desk-break"):
        asked.enroll_request({})
    assert asked.queue.empty()


def test_no_session_starts_while_a_voice_is_enrolled_and_stop_ends_enrollment():
    asked = requests()
    asked.routines = {"desk-break": object()}  # type: ignore[dict-item]
    reply = asked.enroll_request({})
    assert asked.queue.get_nowait().kind == "enroll" and not reply.done()
    with pytest.raises(RequestError, match="your voice is being enrolled"):
        asked.run_request({"routine": "desk-break"})
    with pytest.raises(RequestError, match="your voice is being enrolled"):
        asked.enroll_request({})
    stop = asked.began_enrolling()
    assert asked.status.state == "enrolling"
    assert asked.stop_request({}) == {"stopped": "enrollment"} and stop.is_set()
    asked.ended_enrolling()
    assert asked.status.state == "idle"
    assert asked.stop_request({}) == {"stopped": None}


class Built:
    """Counts the builds of the session recognizers."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> list:
        self.count += 1
        return []


def test_recognizers_are_built_again_only_when_the_personal_voice_changes(tmp_path: Path):
    folder = VoiceFolder(tmp_path)
    build = Built()
    recognizers = SessionRecognizers(build, build(), folder.model_stamp)
    recognizers.get()
    recognizers.get()
    assert build.count == 1
    folder.create()
    folder.model.write_bytes(b"a personal model")
    recognizers.get()
    recognizers.get()
    assert build.count == 2
    folder.remove()
    recognizers.get()
    assert build.count == 3


def runner(tmp_path: Path, room: FakeRoom, asked: Requests, build: Built, beats: list[int]):
    folder = VoiceFolder(tmp_path)
    return EnrollmentRunner(
        folder,
        lambda: room,
        SessionRecognizers(build, build(), folder.model_stamp),
        asked,
        asked.status,
        lambda: beats.append(1),
        "voicecoach enroll --from-dir CLIPS",
    )


@needs_shared
def test_the_service_enrolls_then_listens_with_the_new_voice(
    tmp_path: Path, fake_adapt, monkeypatch
):
    # One real take stands for every phrase: the general model's opinion of it is not tested here.
    monkeypatch.setattr("voicecoach.enrollment.takes.TakeChecker.heard_instead", lambda *a: None)
    good = stop_takes(1)[0]
    takes = len(spoken.ENROLL_PHRASES) * spoken.TAKES + len(spoken.ORDINARY_SENTENCES)
    room = FakeRoom([good] * takes)
    asked, build, beats = requests(), Built(), []
    enrolling = runner(tmp_path, room, asked, build, beats)
    enrolling.note_voice()
    assert asked.status.personal_voice == "No personal voice: the general model is used."
    reply: Future = Future()
    asked.enroll_request({})
    enrolling.run(reply)
    assert reply.result(timeout=0) == {"enrolling": True}
    assert fake_adapt.calls == [{p: spoken.TAKES for p in spoken.ENROLL_PHRASES}]
    assert fake_adapt.other == len(spoken.ORDINARY_SENTENCES)
    assert build.count == 2  # rebuilt at once, with the personal voice
    assert asked.status.state == "idle"
    assert asked.status.personal_voice.startswith("Personal voice active")
    assert room.events[-1] == "close"
    assert len(beats) >= len(room.events)  # every step fed the watchdog


def test_a_stop_ends_enrollment_at_its_next_step_changing_nothing(tmp_path: Path, fake_adapt):
    asked, build, beats = requests(), Built(), []

    class Stopping(FakeRoom):
        def record(self, seconds: float) -> np.ndarray:
            asked.stop_request({})  # "voicecoach stop" while the user speaks
            return super().record(seconds)

    room = Stopping([np.zeros(16000, np.int16)] * 3)
    asked.enroll_request({})
    runner(tmp_path, room, asked, build, beats).run(None)
    assert room.events[-2:] == [f"say: {STOPPED}", "close"]
    assert room.events.count("tone") == 1
    assert fake_adapt.calls == [] and not (tmp_path / "voice").exists()
    assert build.count == 1 and asked.status.state == "idle"


def test_enrollment_that_cannot_open_the_microphone_says_so(tmp_path: Path):
    from voicecoach.audio.output import AudioDeviceError

    asked = requests()

    def no_microphone() -> FakeRoom:
        raise AudioDeviceError("cannot open the microphone: no such device")

    enrolling = EnrollmentRunner(
        VoiceFolder(tmp_path),
        no_microphone,
        SessionRecognizers(Built()),
        asked,
        asked.status,
        lambda: None,
        "",
    )
    reply: Future = Future()
    asked.enroll_request({})
    enrolling.run(reply)
    assert reply.result(timeout=0) == {
        "ok": False,
        "error": "cannot enroll: cannot open the microphone: no such device",
    }
    assert asked.status.state == "idle"
    assert asked.stop_request({}) == {"stopped": None}  # nothing is left enrolling


def test_a_long_step_keeps_the_watchdog_fed():
    beats: list[int] = []
    event = threading.Event()
    threading.Timer(0.35, event.set).start()
    assert beating(lambda: event.wait(5), lambda: beats.append(1), every=0.05) is True
    assert len(beats) >= 5
    with pytest.raises(ValueError, match="no takes"):
        beating(lambda: (_ for _ in ()).throw(ValueError("no takes")), lambda: None)


@pytest.fixture
def idle_service(tmp_path: Path):
    """A real service with a voice folder, whose main loop the test drives."""
    from voicecoach.config import VoiceSettings
    from voicecoach.routines.loader import load_library
    from voicecoach.service.daemon import Service
    from voicecoach.speech.tts import EspeakSynth
    from voicecoach.store import Store

    store = Store.open(tmp_path / "data")
    service = Service(
        load_library(None),
        store,
        EspeakSynth(VoiceSettings()),
        SessionRecognizers(Built()),
        tmp_path / "run" / "control.sock",
        voice=VoiceFolder(tmp_path / "data"),
    )
    yield service
    store.close()


def test_the_main_loop_refuses_enrollment_without_audio_and_runs_it_with(
    idle_service, fake_adapt, monkeypatch
):
    from voicecoach.service.requests import QueuedRequest

    reply: Future = Future()
    idle_service.requests.enroll_request({})
    idle_service.handle(QueuedRequest("enroll", reply=reply), audio_ok=False)
    assert reply.result(timeout=0)["error"].startswith("cannot enroll: no audio device")
    assert idle_service.status.state != "enrolling"

    room = FakeRoom([np.zeros(16000, np.int16)] * 200)
    monkeypatch.setattr(idle_service, "_open_room", lambda: room)
    idle_service.enrollment.open_room = idle_service._open_room
    reply = Future()
    idle_service.requests.enroll_request({})
    idle_service.handle(QueuedRequest("enroll", reply=reply), audio_ok=True)
    assert reply.result(timeout=0) == {"enrolling": True}
    assert room.events[-2:] == [f"say: {spoken.NOTHING_KEPT}", "close"]
    assert idle_service.status.as_dict()["personal_voice"] == (
        "No personal voice: the general model is used."
    )
