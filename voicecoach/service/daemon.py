"""``voicecoach serve``: the long-running coach that owns the audio devices.

One main loop: it waits for requests from the control socket (start a routine, stop) and, while
idle, from the user's voice ("start core stability", "what can I do"); it announces reminders
at their times; it keeps the audio devices open or keeps trying to open them with back-off (a
missing device is a state to wait in, never a crash), and tells systemd how it is (READY once
routines, store, recognizers and audio are ready or being waited for; WATCHDOG only from this
loop's own health; STATUS in words; STOPPING on SIGTERM). Sessions run in this loop exactly
as ``voicecoach run`` runs them; the control socket thread only reads state or posts events.
A "run" or "stop" over the socket is answered by this loop once it is done (a ``Future``), so
the CLI reports what happened: the session started, or why not; the session ended.
"""

from __future__ import annotations

import datetime
import faulthandler
import logging
import queue
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from voicecoach.audio import counters as audio_counters
from voicecoach.audio.output import AudioDeviceError, LiveOutput
from voicecoach.audio.playout import Playout
from voicecoach.backoff import Backoff
from voicecoach.config import Reminder
from voicecoach.engine.events import Event, Interrupted, MicLost
from voicecoach.routines.loader import Library
from voicecoach.service.control import ControlServer, Reply, RequestError, dispatch, error_reply
from voicecoach.service.idle import IdleListener, IdleRequest, announce, choices
from voicecoach.service.notify import HealthWatchdog, Notifier
from voicecoach.service.recognizers import SessionRecognizers
from voicecoach.session.build import Live, build
from voicecoach.session.inbox import Inbox
from voicecoach.session.listener import MicrophoneEvents
from voicecoach.speech.tts import EspeakSynth
from voicecoach.speech.voice import VoiceSpeaker
from voicecoach.store import Store

if TYPE_CHECKING:
    from voicecoach.audio.microphone import LiveMicrophone

log = logging.getLogger(__name__)

TICK_S = 1.0
BACKOFF_S = (1, 2, 4, 8, 15, 30)
APPEARED = "Hello, I can speak again. Say: what can I do, to hear the routines."
SUGGESTION_S = 600  # after a reminder, a bare "start" means its routine for this long


@dataclass(frozen=True)
class QueuedRequest:
    """What the main loop is asked to do, by voice or over the control socket."""

    kind: str  # "start" a routine, or "list" the routines aloud
    routine: str | None = None
    reply: Future[Reply] | None = None  # told whether it started (None: asked by voice)


def _answer(reply: Future[Reply] | None, answer: Reply) -> None:
    if reply is not None and not reply.done():
        reply.set_result(answer)


@dataclass
class ServiceState:
    """What ``voicecoach status`` reports; written by the main loop, read by the socket thread."""

    state: str = "starting"
    session: str | None = None
    audio: str = "not open"
    microphone: str = "closed"
    recognizers: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=audio_counters.combined)
    started: float = field(default_factory=time.monotonic)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "state": self.state,
            "session": self.session,
            "audio": self.audio,
            "microphone": self.microphone,
            "recognizers": self.recognizers,
            "last_errors": self.errors[-5:],
            "audio_counters": self.counters,
            "uptime_s": round(time.monotonic() - self.started),
        }

    def error(self, text: str) -> None:
        """Remember an error for ``status``."""
        log.warning("%s", text)
        self.errors = [*self.errors[-9:], text]


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
        transcriber: Callable[[], Callable[[Any], str]] | None = None,
    ) -> None:
        self.library = library
        self.store = store
        self.synth = synth
        self.recognizers = recognizers
        self.output_device = output_device
        self.input_device = input_device
        self.status = ServiceState()
        self.notifier = Notifier()
        self.watchdog = HealthWatchdog(self.notifier)
        self.requests: queue.Queue[QueuedRequest] = queue.Queue()
        self._lock = threading.Lock()  # the socket thread's view of the session, and waiters
        self._starting: str | None = None  # a start asked over the socket, not yet answered
        self._stopped: list[Future[Reply]] = []  # stop requests waiting for the session's end
        self.reminders = [r for r in reminders if self._known(r)]
        self._reminded: dict[Reminder, datetime.date] = {}
        self._suggested: tuple[str, float] | None = None
        self.make_transcriber = transcriber
        self._transcribe: Callable[[Any], str] | None = None
        self.idle_microphone: Any = None
        self.session_inbox: Inbox | None = None
        self.stopping = threading.Event()
        self.playout = Playout()
        self.output: LiveOutput | None = None
        self._reopening = Backoff(BACKOFF_S)  # when to try the missing speaker again
        self.control = ControlServer(
            socket_path, dispatch({"status": self._status, "run": self._run, "stop": self._stop})
        )

    # -- control socket handlers (socket thread: read state, post requests, never block) ----
    def _status(self, _request: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, **self.status.as_dict()}

    def _run(self, request: dict[str, Any]) -> Future[Reply]:
        """Answered by the main loop: {"started": id}, or an error saying why it did not start."""
        routine = request.get("routine")
        if not isinstance(routine, str) or routine not in self.library.routines:
            raise RequestError(f"no routine called {routine!r}")
        if self.stopping.is_set():
            raise RequestError("the service is stopping")
        with self._lock:
            if self.status.session is not None:
                raise RequestError(f"a session is running: {self.status.session}")
            if self._starting is not None:
                raise RequestError(f"a session is starting: {self._starting}")
            self._starting = routine
        reply: Future[Reply] = Future()
        reply.add_done_callback(lambda _f: self._started())
        self.requests.put(QueuedRequest("start", routine, reply))
        return reply

    def _started(self) -> None:
        with self._lock:
            self._starting = None

    def _stop(self, _request: dict[str, Any]) -> Reply | Future[Reply]:
        """Answered once the session has ended and been recorded, or at once if none runs."""
        with self._lock:
            inbox = self.session_inbox
            if inbox is None:
                return {"stopped": None}
            reply: Future[Reply] = Future()
            self._stopped.append(reply)
        inbox.put(Interrupted())
        return reply

    def _known(self, reminder: Reminder) -> bool:
        if reminder.routine in self.library.routines:
            return True
        self.status.error(
            f"reminder at {reminder.hour:02}:{reminder.minute:02}: no routine "
            f"called {reminder.routine!r}; it is ignored"
        )
        return False

    # -- idle: voice requests and reminders ------------------------------------------------
    def _say(self, text: str) -> None:
        log.info("coach: %s", text)
        VoiceSpeaker(self.synth, self.playout).say(text, 0, lambda _u: None)

    def _suggestion(self) -> str | None:
        if self._suggested is None or time.monotonic() > self._suggested[1]:
            return None
        return self._suggested[0]

    def _heard(self, request: IdleRequest) -> None:
        """From the idle microphone's thread: hand the request to the main loop."""
        self.requests.put(QueuedRequest(request.kind, request.routine))

    def _mic_event(self, event: Event) -> None:
        lost = isinstance(event, MicLost)
        self.status.microphone = "lost; reopening" if lost else "listening for start"

    def _listen_idle(self) -> None:
        """Keep a microphone open between sessions for "start ..." and "what can I do"."""
        if self.idle_microphone is not None or self.make_transcriber is None:
            return
        try:
            from voicecoach.audio.microphone import LiveMicrophone  # noqa: PLC0415

            if self._transcribe is None:
                self._transcribe = self.make_transcriber()
            listener = IdleListener(
                self._transcribe,
                self.library.routines,
                self._heard,
                coach_speaking=lambda: self.playout.busy,
                suggested=self._suggestion,
            )
            events = MicrophoneEvents(self._mic_event)
            self.idle_microphone = LiveMicrophone(
                listener,
                self.playout,
                on_lost=events.lost,
                on_back=events.back,
                device=self.input_device,
                wait_for_device=True,
            )
            self.status.microphone = "listening for start"
        except Exception as exc:  # no PortAudio, no recognizer: keep serving the socket
            self.status.error(f"cannot listen while idle: {exc}")
            self.make_transcriber = None

    def _stop_idle_listening(self) -> None:
        if self.idle_microphone is not None:
            self.idle_microphone.close()
            self.idle_microphone = None

    def _remind(self, now: datetime.datetime) -> None:
        for reminder in self.reminders:
            due = (now.hour, now.minute) == (reminder.hour, reminder.minute)
            if due and self._reminded.get(reminder) != now.date():
                self._reminded[reminder] = now.date()
                self._suggested = (reminder.routine, time.monotonic() + SUGGESTION_S)
                self._say(announce(self.library.routines[reminder.routine]))

    # -- audio ----------------------------------------------------------------------------
    def _ensure_output(self) -> bool:
        """Keep the speaker open, retrying with back-off; True when it is usable."""
        if self.output is not None and self.output.healthy:
            return True
        if self.output is not None:
            self.status.error("the audio output failed; reopening it")
            self.output.close()
            self.output = None
        if not self._reopening.due(time.monotonic()):
            return False
        try:
            self.output = LiveOutput(self.playout, self.output_device)
            waited = self._reopening.failures > 0
            self._reopening.reset()
            self.status.audio = "open"
            log.info("audio output open")
            if waited:  # someone may be waiting for it too: say that the coach is there
                self._say(APPEARED)
            return True
        except AudioDeviceError as exc:
            delay = self._reopening.failed(time.monotonic())
            self.status.audio = f"waiting for an audio device (next try in {delay:g} s)"
            if self._reopening.failures == 1:
                self.status.error(str(exc))
            return False

    # -- main loop ------------------------------------------------------------------------
    def run(self) -> int:
        """Serve until SIGTERM; the exit status."""
        faulthandler.enable()  # a watchdog abort leaves every thread's stack in the journal
        signal.signal(signal.SIGTERM, self._on_sigterm)
        self.control.start()
        if self.make_transcriber is not None:  # loaded before READY, like the recognizers
            try:
                self._transcribe = self.make_transcriber()
            except Exception as exc:
                self.status.error(f"no listening between sessions: {exc}")
                self.make_transcriber = None
        try:  # loaded before READY too, so the first session starts at once
            self.status.recognizers = [r.name for r in self.recognizers.get()]
        except Exception as exc:  # tried again when a session is asked for
            self.status.error(f"the recognizers cannot be loaded: {exc}")
        self._ensure_output()
        self.status.state = "idle"
        self.notifier.ready(f"idle; audio: {self.status.audio}")
        try:
            while not self.stopping.is_set():
                try:
                    asked: QueuedRequest | None = self.requests.get(timeout=TICK_S)
                except queue.Empty:
                    asked = None
                audio_ok = self._ensure_output()
                if audio_ok:
                    self._listen_idle()
                    self._remind(datetime.datetime.now())
                mic = self.idle_microphone
                self._count(mic)
                # Healthy: audio flows, or the wait for a device is progressing (bounded back-off).
                waiting = self._reopening.next_try > 0
                healthy = (audio_ok or waiting) and (mic is None or mic.progressing)
                self.watchdog.beat(mic_ok=healthy, engine_ticked=True)
                self.notifier.status(f"{self.status.state}; audio: {self.status.audio}")
                if asked is not None and asked.kind == "list" and audio_ok:
                    self._say(choices(self.library.routines))
                elif asked is not None and asked.kind == "start" and asked.routine is not None:
                    self._start(asked.routine, asked.reply, audio_ok)
        finally:
            self.notifier.stopping()
            self._stop_idle_listening()
            self._refuse_waiting("the service is stopping")
            self.control.close()
            if self.output is not None:
                self.output.close()
        return 0

    def _start(self, routine: str, reply: Future[Reply] | None, audio_ok: bool) -> None:
        if reply is not None and not reply.set_running_or_notify_cancel():
            return  # the client gave up waiting: start nothing it cannot hear about
        if self.stopping.is_set():
            _answer(reply, error_reply("the service is stopping"))
        elif not audio_ok:
            problem = f"cannot start {routine}: no audio device; {self.status.audio}"
            self.status.error(problem)
            _answer(reply, error_reply(problem))
        else:
            self._suggested = None
            self._stop_idle_listening()  # the session opens its own
            self._session(routine, reply)

    def _refuse_waiting(self, why: str) -> None:
        while True:
            try:
                asked = self.requests.get_nowait()
            except queue.Empty:
                return
            if asked.reply is not None and asked.reply.set_running_or_notify_cancel():
                _answer(asked.reply, error_reply(why))

    def _on_sigterm(self, _signum: int, _frame: Any) -> None:
        log.info("SIGTERM: stopping")
        self.notifier.stopping()
        self.stopping.set()
        if self.session_inbox is not None:
            self.session_inbox.put(Interrupted())  # recorded as interrupted

    def _session(self, routine_id: str, reply: Future[Reply] | None = None) -> None:
        routine = self.library.routines[routine_id]
        try:
            recognizers = self.recognizers.get()  # built once; the builder resets them
            self.status.recognizers = [r.name for r in recognizers]
        except Exception as exc:  # a recognizer that could not load: keep serving
            problem = f"cannot start {routine_id}: {exc}"
            self.status.error(problem)
            _answer(reply, error_reply(problem))
            return
        with build(Live(self.synth, self.playout, recognizers, self.input_device)) as session:
            started: Reply = {"started": routine_id}
            if session.warning is not None:
                self.status.error(session.warning)
                started["warning"] = session.warning
            self._began(routine_id, session.inbox)
            _answer(reply, started)
            reason = "failed"
            microphone = session.microphone

            def beat() -> None:
                self._count(microphone)
                mic_ok = microphone is not None and microphone.progressing
                if microphone is not None:
                    self.status.microphone = "lost; reopening" if microphone.lost else "listening"
                self.watchdog.beat(mic_ok=mic_ok, engine_ticked=True)

            try:
                reason = session.run(routine, self.store, beat)
                log.info("session of %s ended: %s", routine_id, reason)
            finally:
                self._count(microphone)
                audio_counters.log_session_end(self.status.counters)
                self._ended(routine_id, reason)
                self.status.microphone = "closed"

    def _count(self, microphone: LiveMicrophone | None) -> None:
        """Show the open devices' diagnostics (dropped and flagged blocks) in ``status``."""
        self.status.counters = audio_counters.combined(
            microphone.counters() if microphone is not None else {},
            self.output.counters() if self.output is not None else {},
        )

    def _began(self, routine_id: str, inbox: Inbox) -> None:
        with self._lock:
            self.session_inbox = inbox
            self.status.state, self.status.session = "session", routine_id
        self.notifier.status(f"guiding {routine_id}")

    def _ended(self, routine_id: str, reason: str) -> None:
        """The session is over and recorded: tell those who asked for its stop."""
        with self._lock:
            self.session_inbox = None
            self.status.state, self.status.session = "idle", None
            stopped, self._stopped = self._stopped, []
        for waiter in stopped:
            _answer(waiter, {"stopped": routine_id, "end": reason})
