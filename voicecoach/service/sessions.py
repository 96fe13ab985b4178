"""Runs the sessions the service is asked for, in its main loop, as ``voicecoach run`` does.

The session is wired by the one builder (``session/build.py``) with the service's playout and
the recognizers built once; while it runs, its own waits feed the watchdog and ``status``.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future

from voicecoach.audio import counters as audio_counters
from voicecoach.audio.playout import Playout
from voicecoach.engine.plan import NO_QUESTIONS, Questions
from voicecoach.engine.session import UNCHOSEN
from voicecoach.routines.loader import Library
from voicecoach.routines.model import Routine
from voicecoach.service.control import Reply, error_reply
from voicecoach.service.notify import HealthWatchdog, Notifier
from voicecoach.service.output_device import OutputDevice
from voicecoach.service.recognizers import SessionRecognizers
from voicecoach.service.requests import Requests, answer
from voicecoach.service.state import ServiceState
from voicecoach.session.build import Live, build
from voicecoach.session.runner import Triage
from voicecoach.speech.tts import EspeakSynth
from voicecoach.store.protocol import SessionStore

log = logging.getLogger(__name__)


class SessionRunner:
    """One session at a time, start to end; says whether it started and how it ended."""

    def __init__(
        self,
        library: Library,
        store: SessionStore,
        synth: EspeakSynth,
        playout: Playout,
        recognizers: SessionRecognizers,
        input_device: int | str | None,
        requests: Requests,
        output: OutputDevice,
        status: ServiceState,
        watchdog: HealthWatchdog,
        notifier: Notifier,
        questions: Questions = NO_QUESTIONS,
    ) -> None:
        self.library = library
        self.store = store
        self.synth = synth
        self.playout = playout
        self.recognizers = recognizers
        self.input_device = input_device
        self.requests = requests
        self.output = output
        self.status = status
        self.watchdog = watchdog
        self.notifier = notifier
        self.questions = questions

    def run(
        self, routine_id: str, reply: Future[Reply] | None = None, bad_day: bool = False
    ) -> None:
        """Guide ``routine_id`` to its end; ``reply`` is told at once whether it started.

        ``UNCHOSEN.id`` asks the CORE question first, among the library's routines; on a
        ``bad_day`` every exercise is at its gentlest dose.
        """
        routine: Routine | Triage
        if routine_id == UNCHOSEN.id:
            routine = Triage(tuple(self.library.routines.values()))
        else:
            routine = self.library.routines[routine_id]
        try:
            recognizers = self.recognizers.get()  # built once; the builder resets them
            self.status.recognizers = [r.name for r in recognizers]
        except Exception as exc:  # a recognizer that could not load: keep serving
            problem = f"cannot start {routine_id}: {exc}"
            self.status.error(problem)
            answer(reply, error_reply(problem))
            return
        with build(Live(self.synth, self.playout, recognizers, self.input_device)) as session:
            started: Reply = {"started": routine_id}
            if session.warning is not None:
                self.status.error(session.warning)
                started["warning"] = session.warning
            self.requests.began(routine_id, session.inbox)
            self.notifier.status(f"guiding {routine_id}")
            answer(reply, started)
            reason = "failed"

            def beat() -> None:
                self.status.count(session.counters(), self.output.counters())
                microphone = session.microphone
                if microphone is not None:
                    self.status.microphone = "lost; reopening" if microphone.lost else "listening"
                mic_ok = microphone is not None and microphone.progressing
                self.watchdog.beat(mic_ok=mic_ok, engine_ticked=True)

            try:
                reason = session.run(routine, self.store, beat, self.questions, bad_day)
                log.info("session of %s ended: %s", routine_id, reason)
            finally:
                self.status.count(session.counters(), self.output.counters())
                audio_counters.log_session_end(self.status.counters)
                self.requests.ended(routine_id, reason)
                self.status.microphone = "closed"
