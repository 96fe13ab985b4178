"""Spoken enrollment run by the service, between sessions, in its main loop.

The service owns the microphone, so ``voicecoach enroll`` asks it over the control socket. The
idle listener is closed first (enrollment records the microphone itself); every step feeds the
watchdog and honours ``voicecoach stop``, and the adaptation runs in a thread so the loop keeps
beating. Afterwards the session recognizers are built again, with the new personal voice.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Protocol, TypeVar

import numpy as np

from voicecoach.audio.output import AudioDeviceError
from voicecoach.enrollment.adaptation import adapt_and_keep
from voicecoach.enrollment.folder import Enrollment, VoiceFolder
from voicecoach.enrollment.spoken import Devices, enroll_spoken
from voicecoach.enrollment.summary import voice_state
from voicecoach.service.control import Reply, error_reply
from voicecoach.service.recognizers import SessionRecognizers
from voicecoach.service.requests import Requests, answer
from voicecoach.service.state import ServiceState
from voicecoach.speech.recognizer import RecognizerUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")

STOPPED = "Enrollment stopped. Nothing has changed."
BEAT_S = 1.0  # how often a long step (the adaptation) feeds the watchdog


class Room(Devices, Protocol):
    """The devices enrollment records with, released when it ends."""

    def close(self) -> None:
        """Release the microphone."""
        ...


class Stopped(Exception):
    """``voicecoach stop`` (or SIGTERM) asked enrollment to end."""


class _Steady:
    """Devices that beat the watchdog around every step and stop when asked."""

    def __init__(self, devices: Devices, beat: Callable[[], object], stop: threading.Event) -> None:
        self.devices = devices
        self.beat = beat
        self.stop = stop

    def _step(self) -> None:
        self.beat()
        if self.stop.is_set():
            raise Stopped

    def say(self, text: str) -> None:
        self._step()
        log.info("coach: %s", text)
        self.devices.say(text)

    def tone(self) -> None:
        self._step()
        self.devices.tone()

    def record(self, seconds: float) -> np.ndarray:
        self._step()
        pcm = self.devices.record(seconds)
        self._step()
        return pcm


def beating(work: Callable[[], T], beat: Callable[[], object], every: float = BEAT_S) -> T:
    """``work()`` in a thread while this one beats; its result, or what it raised."""
    done: Future[T] = Future()

    def run() -> None:
        try:
            done.set_result(work())
        except BaseException as exc:
            done.set_exception(exc)

    threading.Thread(target=run, name="adapting", daemon=True).start()
    while True:
        beat()
        try:
            return done.result(timeout=every)
        except TimeoutError:
            continue


class EnrollmentRunner:
    """Runs spoken enrollment when asked; says whether it began, and rebuilds the recognizers.

    ``open_room()`` gives the devices (``enrollment.live.LiveDevices`` on the service's playout
    and microphone), closed afterwards.
    """

    def __init__(
        self,
        folder: VoiceFolder,
        open_room: Callable[[], Room],
        recognizers: SessionRecognizers,
        requests: Requests,
        status: ServiceState,
        beat: Callable[[], object],
        adapt_again: str,
    ) -> None:
        self.folder = folder
        self.open_room = open_room
        self.recognizers = recognizers
        self.requests = requests
        self.status = status
        self.beat = beat
        self.adapt_again = adapt_again

    def note_voice(self) -> None:
        """Show in ``status`` whether a personal voice is active (and why not)."""
        self.status.personal_voice = voice_state(self.folder, self.adapt_again).line

    def run(self, reply: Future[Reply] | None) -> None:
        """Enroll by voice to the end; ``reply`` is told at once whether it began."""
        if reply is not None and not reply.set_running_or_notify_cancel():
            self.requests.ended_enrolling()
            return
        stop = self.requests.began_enrolling()
        try:
            room = self.open_room()
        except AudioDeviceError as exc:
            self.requests.ended_enrolling()
            problem = f"cannot enroll: {exc}"
            self.status.error(problem)
            answer(reply, error_reply(problem))
            return
        answer(reply, {"enrolling": True})
        try:
            enrollment = self._enroll(_Steady(room, self.beat, stop))
        finally:
            room.close()
            self.requests.ended_enrolling()
        if enrollment is not None:
            self._rebuild()
        self.note_voice()

    def _enroll(self, devices: _Steady) -> Enrollment | None:
        def adapt(folder: VoiceFolder, takes: dict[str, list[np.ndarray]]) -> Enrollment:
            return beating(lambda: adapt_and_keep(folder, takes), self.beat)

        try:
            return enroll_spoken(devices, self.folder, adapt=adapt)
        except Stopped:
            log.info("enrollment stopped when asked")
            if not self.requests.stopping.is_set():  # the user asked: say that it ended
                with contextlib.suppress(AudioDeviceError):
                    devices.devices.say(STOPPED)
        except (AudioDeviceError, RecognizerUnavailable, OSError, ValueError) as exc:
            self.status.error(f"enrollment failed: {exc}")
        return None

    def _rebuild(self) -> None:
        try:  # now, not at the next session's start: that would keep the user waiting
            self.status.recognizers = [r.name for r in beating(self.recognizers.get, self.beat)]
        except Exception as exc:  # the next session tries again, and says why it cannot
            self.status.error(f"the recognizers cannot be loaded: {exc}")
