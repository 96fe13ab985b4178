"""``voicecoach serve``: the long-running coach that owns the audio devices.

One main loop: it waits for requests from the control socket (start a routine, stop) and, while
idle, from the user's voice ("start core stability", "what can I do"); it announces reminders
at their times; it keeps the audio devices open or keeps trying to open them with back-off (a
missing device is a state to wait in, never a crash), and tells systemd how it is (READY once
routines, store, recognizers and audio are ready or being waited for; WATCHDOG only from this
loop's own health; STATUS in words; STOPPING on SIGTERM). Sessions run in this loop exactly
as ``voicecoach run`` runs them; the control socket thread only reads state or posts events.

``Service`` only composes the parts, each with one job:

- ``requests.Requests``: the control socket's handlers and the queue this loop takes from;
- ``output_device.OutputDevice``: the speaker, reopened with back-off;
- ``idle_listening.IdleListening``: the microphone and transcriber between sessions;
- ``reminders.Reminders``: announcements at their times, and what they suggest;
- ``sessions.SessionRunner``: one session, with the recognizers built once;
- ``enrolling.EnrollmentRunner``: spoken enrollment between sessions, then the recognizers
  built again with the personal voice;
- ``state.ServiceState``: what ``status`` shows.
"""

from __future__ import annotations

import datetime
import faulthandler
import logging
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from voicecoach.audio.output import LATENCY_S
from voicecoach.audio.playout import Playout
from voicecoach.config import Reminder
from voicecoach.engine.plan import NO_QUESTIONS, Questions
from voicecoach.enrollment.folder import VoiceFolder
from voicecoach.enrollment.live import LiveDevices
from voicecoach.routines.loader import Library
from voicecoach.service.control import ControlServer, Reply, dispatch, error_reply
from voicecoach.service.enrolling import EnrollmentRunner, Room
from voicecoach.service.idle import choices
from voicecoach.service.idle_listening import IdleListening, Transcribe
from voicecoach.service.notify import HealthWatchdog, Notifier
from voicecoach.service.output_device import OutputDevice
from voicecoach.service.recognizers import SessionRecognizers
from voicecoach.service.reminders import Reminders
from voicecoach.service.requests import QueuedRequest, Requests, answer
from voicecoach.service.sessions import SessionRunner
from voicecoach.service.state import ServiceState
from voicecoach.speech.tts import EspeakSynth
from voicecoach.speech.voice import VoiceSpeaker
from voicecoach.store import Store

log = logging.getLogger(__name__)

TICK_S = 1.0


class Service:
    """The daemon: devices, sessions, the control socket and systemd's view of it all."""

    def __init__(
        self,
        library: Library,
        store: Store,
        synth: EspeakSynth,
        recognizers: SessionRecognizers,
        socket_path: Path,
        output_device: int | str | None = None,
        input_device: int | str | None = None,
        reminders: tuple[Reminder, ...] = (),
        transcriber: Callable[[], Transcribe] | None = None,
        voice: VoiceFolder | None = None,
        adapt_again: str = "voicecoach enroll",
        questions: Questions = NO_QUESTIONS,
    ) -> None:
        self.library = library
        self.synth = synth
        self.status = ServiceState()
        self.notifier = Notifier()
        self.watchdog = HealthWatchdog(self.notifier)
        self.stopping = threading.Event()
        self.playout = Playout()
        self.recognizers = recognizers
        self.requests = Requests(library.routines, self.status, self.stopping)
        self.output = OutputDevice(self.playout, output_device, self.status, self.say)
        self.reminders = Reminders(library.routines, reminders, self.say, self.status)
        self.idle = IdleListening(
            transcriber,
            library.routines,
            self.requests.heard,
            self.playout,
            input_device,
            self.status,
            suggested=self.reminders.suggestion,
        )
        self.sessions = SessionRunner(
            library,
            store,
            synth,
            self.playout,
            recognizers,
            input_device,
            self.requests,
            self.output,
            self.status,
            self.watchdog,
            self.notifier,
            questions,
        )
        self.input_device = input_device
        self.voice = voice
        self.enrollment = (
            None
            if voice is None
            else EnrollmentRunner(
                voice,
                self._open_room,
                recognizers,
                self.requests,
                self.status,
                lambda: self.watchdog.beat(mic_ok=True, engine_ticked=True),
                adapt_again,
            )
        )
        self._voice_stamp: object = None
        self.control = ControlServer(socket_path, dispatch(self.requests.handlers()))

    def _open_room(self) -> Room:
        return LiveDevices(self.synth, self.playout, LATENCY_S, self.input_device)

    def _note_voice(self) -> None:
        """Keep ``status`` saying whether a personal voice is active (checked when it changes)."""
        if self.voice is None or self.enrollment is None:
            return
        stamp = (self.voice.model_stamp(), self.voice.clips.exists())
        if stamp != self._voice_stamp:
            self._voice_stamp = stamp
            self.enrollment.note_voice()

    def say(self, text: str) -> None:
        """Speak ``text`` outside a session (a reminder, the routines, the speaker is back)."""
        log.info("coach: %s", text)
        VoiceSpeaker(self.synth, self.playout).say(text, 0, lambda _u: None)

    # -- main loop ------------------------------------------------------------------------
    def run(self) -> int:
        """Serve until SIGTERM; the exit status."""
        faulthandler.enable()  # a watchdog abort leaves every thread's stack in the journal
        signal.signal(signal.SIGTERM, self._on_sigterm)
        self.control.start()
        self.idle.load()
        try:  # loaded before READY too, so the first session starts at once
            self.status.recognizers = [r.name for r in self.recognizers.get()]
        except Exception as exc:  # tried again when a session is asked for
            self.status.error(f"the recognizers cannot be loaded: {exc}")
        self._note_voice()
        self.output.ensure()
        self.status.state = "idle"
        self.notifier.ready(f"idle; audio: {self.status.audio}")
        try:
            while not self.stopping.is_set():
                asked = self.requests.next(timeout=TICK_S)
                audio_ok = self.output.ensure()
                if audio_ok:
                    self.idle.open()
                    self.reminders.announce_due(datetime.datetime.now())
                self.status.count(self.idle.counters(), self.output.counters())
                self._note_voice()
                # Healthy: audio flows, or the wait for a device is progressing (bounded back-off).
                healthy = (audio_ok or self.output.waiting) and self.idle.progressing
                self.watchdog.beat(mic_ok=healthy, engine_ticked=True)
                self.notifier.status(f"{self.status.state}; audio: {self.status.audio}")
                if asked is not None:
                    self.handle(asked, audio_ok)
        finally:
            self.notifier.stopping()
            self.idle.close()
            self.requests.refuse_waiting("the service is stopping")
            self.control.close()
            self.output.close()
        return 0

    def handle(self, asked: QueuedRequest, audio_ok: bool) -> None:
        """Do what was asked: list the routines aloud, or run a session (until it ends)."""
        if asked.kind == "list" and audio_ok:
            self.say(choices(self.library.routines))
        elif asked.kind == "start" and asked.routine is not None:
            self._start(asked.routine, asked.reply, audio_ok, asked.bad_day)
        elif asked.kind == "enroll":
            self._enroll(asked.reply, audio_ok)

    def _enroll(self, reply: Future[Reply] | None, audio_ok: bool) -> None:
        problem = None
        if self.stopping.is_set():
            problem = "the service is stopping"
        elif self.enrollment is None:
            problem = "this service keeps no voice folder"
        elif not audio_ok:
            problem = f"cannot enroll: no audio device; {self.status.audio}"
        if problem is not None or self.enrollment is None:
            self.requests.ended_enrolling()
            self.status.error(str(problem))
            answer(reply, error_reply(str(problem)))
            return
        self.reminders.forget_suggestion()
        self.idle.close()  # enrollment records the microphone itself
        self.notifier.status("enrolling a voice")
        self.enrollment.run(reply)
        self._voice_stamp = None  # show what enrollment left
        self._note_voice()

    def _start(
        self, routine: str, reply: Future[Reply] | None, audio_ok: bool, bad_day: bool = False
    ) -> None:
        if reply is not None and not reply.set_running_or_notify_cancel():
            return  # the client gave up waiting: start nothing it cannot hear about
        if self.stopping.is_set():
            answer(reply, error_reply("the service is stopping"))
        elif not audio_ok:
            problem = f"cannot start {routine}: no audio device; {self.status.audio}"
            self.status.error(problem)
            answer(reply, error_reply(problem))
        else:
            self.reminders.forget_suggestion()
            self.idle.close()  # the session opens its own
            self.sessions.run(routine, reply, bad_day)

    def _on_sigterm(self, _signum: int, _frame: Any) -> None:
        log.info("SIGTERM: stopping")
        self.notifier.stopping()
        self.stopping.set()
        self.requests.interrupt()  # recorded as interrupted
