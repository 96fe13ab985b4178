"""`voicecoach serve` as systemd runs it: sd_notify on a real socket, control socket, SIGTERM."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest


def _messages(sock: socket.socket, until: str, timeout: float) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            seen.append(sock.recv(4096).decode())
        except TimeoutError:
            break
        if any(until in m for m in seen):
            break
    return seen


@pytest.fixture
def service(tmp_path: Path):
    notify = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(notify))
    # Routine files that once hung or crashed the service before it was ready.
    routines = tmp_path / "config" / "voicecoach" / "routines"
    routines.mkdir(parents=True)
    os.mkfifo(routines / "pipe.toml")
    (routines / "deep.toml").write_text("tags = " + "[" * 3000 + "]" * 3000 + "\n")
    (routines / "quotes.toml").write_text('title = "T"\naction = """Say \\"""k = [ oops"""\n')
    env = dict(
        os.environ,
        NOTIFY_SOCKET=str(notify),
        VOICECOACH_RUNTIME_DIR=str(tmp_path / "run"),
        VOICECOACH_DATA_DIR=str(tmp_path / "data"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        HOME=str(tmp_path),
    )
    cmd = [
        sys.executable,
        "-m",
        "voicecoach",
        "serve",
        "--output-device",
        "no-such-device",
        "--asr",
        "pocketsphinx",
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    yield proc, sock, env, tmp_path / "run" / "control.sock"
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    sock.close()


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "voicecoach", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_serve_without_audio_is_ready_answers_survives_garbage_and_stops(service):
    proc, notify, env, control = service
    ready = _messages(notify, "READY=1", timeout=60)
    assert any("READY=1" in m for m in ready), (ready, proc.stderr)
    assert any("waiting for an audio device" in m for m in ready)

    # Owner-only socket, and the CLI goes through it.
    assert stat.S_IMODE(control.stat().st_mode) == 0o600
    reply = json.loads(_cli(env, "status", "--json").stdout)
    assert reply["state"] == "idle" and "waiting for an audio device" in reply["audio"]
    # The audio counters are always there (zero while no device is open), and said in words.
    assert reply["audio_counters"] == {
        "mic_blocks": 0,
        "mic_dropped": 0,
        "mic_flagged": 0,
        "mic_reopened": 0,
        "output_flagged": 0,
    }
    assert "audio_counters: microphone: 0 blocks heard, 0 dropped" in _cli(env, "status").stdout

    # Garbage never crashes or stalls it.
    rng = random.Random(5)
    for i in range(300):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(str(control))
        junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 6000)))
        if i % 3 == 0:
            junk = junk.replace(b"\n", b"") + b"\n"
        with contextlib.suppress(OSError):  # it may hang up on an oversized request: its right
            s.sendall(junk)
        s.close()
    started = time.monotonic()
    assert json.loads(_cli(env, "status", "--json").stdout)["state"] == "idle"
    assert time.monotonic() - started < 10 and proc.poll() is None

    # A second service is refused in one line; the first one goes on answering.
    second = _cli(env, "serve", "--output-device", "no-such-device", "--asr", "pocketsphinx")
    assert second.returncode == 1 and "Traceback" not in second.stderr
    assert f"Error: another voicecoach service is already listening on {control}" in second.stderr
    assert json.loads(_cli(env, "status", "--json").stdout)["state"] == "idle"

    # A routine cannot start without a speaker: `run` says so and fails; status says so too.
    ran = _cli(env, "run", "desk-break")
    assert ran.returncode == 1, ran
    assert "cannot start desk-break: no audio device" in ran.stderr
    assert "is guiding" not in ran.stderr and "Traceback" not in ran.stderr
    assert any(
        "no audio device" in e
        for e in json.loads(_cli(env, "status", "--json").stdout)["last_errors"]
    )
    # Nothing was running, so nothing was stopped; the service is still there.
    stopped = _cli(env, "stop")
    assert stopped.returncode == 0 and "No session was running." in stopped.stdout
    assert json.loads(_cli(env, "status", "--json").stdout)["state"] == "idle"

    # SIGTERM: STOPPING=1, then a clean exit within a few seconds; the socket is gone.
    proc.send_signal(signal.SIGTERM)
    stopping = _messages(notify, "STOPPING=1", timeout=10)
    assert any("STOPPING=1" in m for m in stopping)
    assert proc.wait(timeout=10) == 0
    assert not control.exists()


def test_serve_refuses_a_regular_file_at_the_socket_path(tmp_path: Path):
    env = dict(
        os.environ,
        VOICECOACH_RUNTIME_DIR=str(tmp_path / "run"),
        VOICECOACH_DATA_DIR=str(tmp_path / "data"),
    )
    (tmp_path / "run").mkdir(mode=0o700)
    squatter = tmp_path / "run" / "control.sock"
    squatter.write_text("keep me\n")
    result = _cli(env, "serve", "--output-device", "no-such-device", "--asr", "pocketsphinx")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"Error: {squatter} exists and is not a socket" in result.stderr
    assert squatter.read_text() == "keep me\n"


def test_status_without_a_service_exits_3(tmp_path: Path):
    env = dict(os.environ, VOICECOACH_RUNTIME_DIR=str(tmp_path / "run"))
    result = _cli(env, "status")
    assert result.returncode == 3 and "No voicecoach service is running" in result.stderr


def test_a_session_feeds_the_watchdog_from_its_own_waits():
    from voicecoach.engine.events import Interrupted
    from voicecoach.session.clock import MonotonicClock
    from voicecoach.session.inbox import Inbox
    from voicecoach.session.timeline import BEAT_S, HeartbeatTimeline, LiveTimeline

    beats: list[float] = []
    inbox = Inbox()
    clock = MonotonicClock(scale=0.05)  # 20 session seconds pass in each real second
    timeline = HeartbeatTimeline(LiveTimeline(clock, inbox), lambda: beats.append(1))
    start = timeline.now()
    assert timeline.wait(start + 5 * BEAT_S) is None  # a long wait reaches its deadline
    assert len(beats) >= 5  # ... beating once per slice of it, not once in all
    inbox.put(Interrupted())
    assert timeline.wait(None) == Interrupted()  # an event still ends a wait at once
    # A session whose loop stops waiting stops beating: nothing beats on its own.
    count = len(beats)
    time.sleep(0.2)
    assert len(beats) == count


class FakeClock:
    """Monotonic seconds that pass only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_coach_says_so_when_a_missing_speaker_appears():
    from voicecoach.audio.output import AudioDeviceError
    from voicecoach.audio.playout import Playout
    from voicecoach.service.output_device import APPEARED, OutputDevice
    from voicecoach.service.state import ServiceState

    attempts = []

    class Appearing:  # fails twice, then opens (LiveOutput itself is tested on a virtual card)
        healthy = True

        def __init__(self, _playout, _device):
            attempts.append(1)
            if len(attempts) < 3:
                raise AudioDeviceError("no such device")

    said: list[str] = []
    clock = FakeClock()
    speaker = OutputDevice(Playout(), None, ServiceState(), said.append, Appearing, clock)
    assert not speaker.ensure() and speaker.waiting
    assert not speaker.ensure() and len(attempts) == 1  # too soon: no second attempt yet
    for _ in range(2):
        clock.now += 60  # the back-off wait is over
        ok = speaker.ensure()
    assert ok and len(attempts) == 3 and not speaker.waiting
    assert said == [APPEARED]
    assert speaker.ensure() and said == [APPEARED]  # only when it appears


@pytest.fixture
def idle_service(tmp_path: Path):
    """A real service (library, store, voice, control socket) whose main loop the test drives."""
    from voicecoach.config import VoiceSettings
    from voicecoach.routines.loader import load_library
    from voicecoach.service.daemon import Service
    from voicecoach.service.recognizers import SessionRecognizers
    from voicecoach.speech.tts import EspeakSynth
    from voicecoach.store import Store

    def broken_recognizers() -> list:
        raise RuntimeError("the command model file is unreadable")

    store = Store.open(tmp_path / "data")
    service = Service(
        load_library(None),
        store,
        EspeakSynth(VoiceSettings()),
        SessionRecognizers(broken_recognizers),
        tmp_path / "run" / "control.sock",
    )
    service.control.start()
    yield service
    service.control.close()
    store.close()


def _ask(path: Path, payload: dict) -> tuple[threading.Thread, list[dict]]:
    from voicecoach.service.control import request

    replies: list[dict] = []
    asker = threading.Thread(target=lambda: replies.append(request(path, payload, timeout=30)))
    asker.start()
    return asker, replies


def test_run_is_answered_with_whether_the_session_started(idle_service):
    from voicecoach.service.control import request

    path = idle_service.control.path
    asker, replies = _ask(path, {"cmd": "run", "routine": "desk-break"})
    asked = idle_service.requests.next(timeout=10)  # what the main loop takes next
    # A second start while the first is not yet answered is refused, not queued for later.
    second = request(path, {"cmd": "run", "routine": "desk-break"})
    assert second == {"ok": False, "error": "a session is starting: desk-break"}
    assert not replies  # no answer before the loop knows
    idle_service.handle(asked, audio_ok=False)
    asker.join(timeout=30)
    assert replies[0]["ok"] is False
    assert replies[0]["error"].startswith("cannot start desk-break: no audio device")

    # Audio is fine but the recognizers fail now: an error reply, and the service goes on.
    asker, replies = _ask(path, {"cmd": "run", "routine": "desk-break"})
    asked = idle_service.requests.next(timeout=10)
    idle_service.handle(asked, audio_ok=True)
    asker.join(timeout=30)
    assert replies == [
        {"ok": False, "error": "cannot start desk-break: the command model file is unreadable"}
    ]
    assert request(path, {"cmd": "stop"}) == {"ok": True, "stopped": None}
    assert request(path, {"cmd": "status"})["state"] == "starting"


def test_status_shows_what_the_audio_callbacks_counted(tmp_path: Path):
    from voicecoach.audio.playout import Playout
    from voicecoach.service.control import ControlServer, dispatch, request
    from voicecoach.service.output_device import OutputDevice
    from voicecoach.service.requests import Requests
    from voicecoach.service.state import ServiceState

    class CountingMicrophone:  # the counters a microphone that fell behind has kept
        def counters(self) -> dict[str, int]:
            return {"mic_blocks": 900, "mic_dropped": 12, "mic_flagged": 3, "mic_reopened": 1}

    class CountingOutput:
        healthy = True

        def __init__(self, _playout, _device):
            pass

        def counters(self) -> dict[str, int]:
            return {"output_flagged": 4}

    status = ServiceState()
    speaker = OutputDevice(Playout(), None, status, print, CountingOutput)
    assert speaker.ensure()
    status.count(CountingMicrophone().counters(), speaker.counters())
    requests = Requests({}, status, threading.Event())
    control = ControlServer(tmp_path / "control.sock", dispatch(requests.handlers()))
    control.start()
    try:
        reply = request(control.path, {"cmd": "status"})
    finally:
        control.close()
    assert reply["audio_counters"] == {
        "mic_blocks": 900,
        "mic_dropped": 12,
        "mic_flagged": 3,
        "mic_reopened": 1,
        "output_flagged": 4,
    }


def test_the_session_log_ends_with_the_audio_counters_loud_when_audio_was_lost(caplog):
    from voicecoach.audio import counters

    caplog.set_level("INFO")
    counters.log_session_end({"mic_blocks": 500})
    counters.log_session_end({"mic_blocks": 500, "mic_dropped": 2})
    levels = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert levels[0][0] == "INFO" and "500 blocks heard, 0 dropped" in levels[0][1]
    assert levels[1][0] == "WARNING" and "2 dropped" in levels[1][1]


def test_the_service_waits_longer_each_time_the_speaker_is_missing():
    from voicecoach.audio.output import AudioDeviceError
    from voicecoach.audio.playout import Playout
    from voicecoach.service.output_device import OutputDevice
    from voicecoach.service.state import ServiceState

    def missing(_playout, _device):
        raise AudioDeviceError("no such device")

    status = ServiceState()
    clock = FakeClock()
    speaker = OutputDevice(Playout(), None, status, print, missing, clock)
    assert not speaker.ensure()
    clock.now += 0.5
    assert not speaker.ensure()  # too soon: no second attempt yet
    waits = [status.audio]
    for _ in range(7):
        clock.now = speaker.reopening.next_try  # the wait is just over
        assert not speaker.ensure()
        waits.append(status.audio)
    assert [w.removeprefix("waiting for an audio device (next try in ") for w in waits] == [
        f"{s} s)" for s in (1, 2, 4, 8, 15, 30, 30, 30)
    ]
    assert status.errors == ["no such device"]  # said once, not at every try


def test_a_stopping_service_refuses_starts_it_has_not_begun(idle_service):
    path = idle_service.control.path
    asker, replies = _ask(path, {"cmd": "run", "routine": "desk-break"})
    deadline = time.monotonic() + 10
    while idle_service.requests.queue.empty() and time.monotonic() < deadline:
        time.sleep(0.01)
    idle_service.requests.refuse_waiting("the service is stopping")
    asker.join(timeout=30)
    assert replies == [{"ok": False, "error": "the service is stopping"}]


def test_stop_is_answered_once_the_session_has_ended(idle_service):
    from voicecoach.engine.events import Interrupted
    from voicecoach.service.control import request
    from voicecoach.session.inbox import Inbox

    path = idle_service.control.path
    inbox = Inbox()
    idle_service.requests.began("desk-break", inbox)
    refused = request(path, {"cmd": "run", "routine": "desk-break"})
    assert refused == {"ok": False, "error": "a session is running: desk-break"}
    asker, replies = _ask(path, {"cmd": "stop"})
    assert inbox.get(timeout=10) == Interrupted()  # the session is told ...
    time.sleep(0.2)
    assert not replies  # ... but "stopped" is not claimed until it has ended
    idle_service.requests.ended("desk-break", "interrupted")
    asker.join(timeout=30)
    assert replies == [{"ok": True, "stopped": "desk-break", "end": "interrupted"}]


class CountingRecognizer:
    """Hears nothing; counts the sessions it started (its real twins: test_recognizers.py)."""

    name = "counting"

    def __init__(self) -> None:
        self.resets = 0

    def accept(self, _pcm, _t: float) -> list:
        return []

    def reset(self) -> None:
        self.resets += 1

    def expect(self, _expectation) -> None:
        pass


def _stop_when_running(path: Path) -> threading.Thread:
    """Ask for a stop over the socket as soon as a session runs."""
    from voicecoach.service.control import request

    def stop() -> None:
        deadline = time.monotonic() + 30
        while request(path, {"cmd": "status"})["state"] != "session":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        request(path, {"cmd": "stop"}, timeout=30)

    stopper = threading.Thread(target=stop)
    stopper.start()
    return stopper


def test_sessions_reuse_the_recognizers_built_once_and_reset_them(tmp_path: Path):
    from voicecoach.config import VoiceSettings
    from voicecoach.routines.loader import load_library
    from voicecoach.service.daemon import Service
    from voicecoach.service.recognizers import SessionRecognizers
    from voicecoach.service.requests import QueuedRequest
    from voicecoach.speech.tts import EspeakSynth
    from voicecoach.store import Store

    built: list[list[CountingRecognizer]] = []

    def build() -> list[CountingRecognizer]:
        built.append([CountingRecognizer(), CountingRecognizer()])
        return built[-1]

    store = Store.open(tmp_path / "data")
    service = Service(
        load_library(None),
        store,
        EspeakSynth(VoiceSettings()),
        SessionRecognizers(build),
        tmp_path / "run" / "control.sock",
        input_device="no-such-microphone",  # paused for want of it, until stopped
    )
    service.control.start()
    try:
        for _ in range(2):
            stopper = _stop_when_running(service.control.path)
            # Asked by voice (no reply): the call returns once the session has ended.
            service.handle(QueuedRequest("start", "desk-break"), audio_ok=True)
            stopper.join(timeout=30)
    finally:
        service.control.close()
    assert len(built) == 1  # built once ...
    assert [r.resets for r in built[0]] == [2, 2]  # ... and reset for each session
    ends = [s["end_reason"] for s in store.history()]
    store.close()
    assert ends == ["interrupted", "interrupted"]


def test_run_with_no_routine_asks_the_core_question(idle_service):
    """``voicecoach run`` with no routine: the service's session begins with the CORE question."""
    from voicecoach.engine.session import UNCHOSEN
    from voicecoach.service.control import request

    path = idle_service.control.path
    asker, replies = _ask(path, {"cmd": "run", "routine": None})
    asked = idle_service.requests.next(timeout=10)
    assert (asked.kind, asked.routine) == ("start", UNCHOSEN.id)
    idle_service.handle(asked, audio_ok=False)
    asker.join(timeout=30)
    assert replies[0]["error"].startswith(f"cannot start {UNCHOSEN.id}: no audio device")
    assert request(path, {"cmd": "run", "routine": "no-such"}) == {
        "ok": False,
        "error": "no routine called 'no-such'",
    }
