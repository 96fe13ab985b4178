"""What the main loop is asked to do, by the control socket or by voice, and the answers.

The socket thread only reads state and posts requests here, never blocks: a "run" or "stop" is
answered by the main loop once it is done (a ``Future``), so the CLI reports what happened.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from voicecoach.engine.events import Interrupted
from voicecoach.engine.session import UNCHOSEN
from voicecoach.routines.model import Routine
from voicecoach.service.control import Handler, Reply, RequestError, error_reply
from voicecoach.service.idle import IdleRequest
from voicecoach.service.state import ServiceState
from voicecoach.session.inbox import Inbox


@dataclass(frozen=True)
class QueuedRequest:
    """What the main loop is asked to do, by voice or over the control socket."""

    kind: str  # "start" a routine, "list" the routines aloud, or "enroll" the user's voice
    routine: str | None = None
    reply: Future[Reply] | None = None  # told whether it started (None: asked by voice)
    bad_day: bool = False  # guide every exercise at its gentlest dose


def answer(reply: Future[Reply] | None, reply_with: Reply) -> None:
    """Tell whoever asked (if anyone did, and is still waiting)."""
    if reply is not None and not reply.done():
        reply.set_result(reply_with)


class Requests:
    """The main loop's queue, the control handlers that fill it, and the running session's inbox."""

    def __init__(
        self, routines: Mapping[str, Routine], status: ServiceState, stopping: threading.Event
    ) -> None:
        self.routines = routines
        self.status = status
        self.stopping = stopping
        self.queue: queue.Queue[QueuedRequest] = queue.Queue()
        self._lock = threading.Lock()  # the socket thread's view of the session, and waiters
        self._starting: str | None = None  # a start asked over the socket, not yet answered
        self._stopped: list[Future[Reply]] = []  # stop requests waiting for the session's end
        self._inbox: Inbox | None = None  # the running session's
        self._enrolling: threading.Event | None = None  # set: stop the running enrollment

    def handlers(self) -> dict[str, Handler]:
        """The control socket's commands."""
        return {
            "status": self.status_request,
            "run": self.run_request,
            "stop": self.stop_request,
            "enroll": self.enroll_request,
        }

    def next(self, timeout: float) -> QueuedRequest | None:
        """The next request, or None after ``timeout`` seconds without one."""
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None

    # -- socket thread: read state, post requests, never block -----------------------------
    def status_request(self, _request: dict[str, Any]) -> Reply:
        """``status``: the service's state."""
        return {"ok": True, **self.status.as_dict()}

    def run_request(self, request: dict[str, Any]) -> Future[Reply]:
        """Answered by the main loop: {"started": id}, or an error saying why it did not start."""
        routine = request.get("routine")
        if routine is None:  # no routine named: the CORE question chooses one
            routine = UNCHOSEN.id
        if not isinstance(routine, str) or (
            routine not in self.routines and routine != UNCHOSEN.id
        ):
            raise RequestError(f"no routine called {routine!r}")
        bad_day = request.get("bad_day", False)
        if not isinstance(bad_day, bool):
            raise RequestError("bad_day is true or false")
        if self.stopping.is_set():
            raise RequestError("the service is stopping")
        with self._lock:
            self._refuse_if_busy()
            self._starting = routine
        reply: Future[Reply] = Future()
        reply.add_done_callback(lambda _f: self._answered())
        self.queue.put(QueuedRequest("start", routine, reply, bad_day))
        return reply

    def enroll_request(self, _request: dict[str, Any]) -> Future[Reply]:
        """Answered by the main loop once spoken enrollment has begun (or why it cannot)."""
        if self.stopping.is_set():
            raise RequestError("the service is stopping")
        with self._lock:
            self._refuse_if_busy()
            self._enrolling = threading.Event()  # from now on, no session starts
        reply: Future[Reply] = Future()
        self.queue.put(QueuedRequest("enroll", reply=reply))
        return reply

    def _refuse_if_busy(self) -> None:
        """A session or an enrollment runs or is starting: say which (the lock is held)."""
        if self.status.session is not None:
            raise RequestError(f"a session is running: {self.status.session}")
        if self._enrolling is not None:
            raise RequestError("your voice is being enrolled; ask again once that has ended")
        if self._starting is not None:
            raise RequestError(f"a session is starting: {self._starting}")

    def _answered(self) -> None:
        with self._lock:
            self._starting = None

    def stop_request(self, _request: dict[str, Any]) -> Reply | Future[Reply]:
        """Answered once the session has ended and been recorded, or at once if none runs."""
        with self._lock:
            inbox = self._inbox
            if self._enrolling is not None:
                self._enrolling.set()  # it stops at its next step, changing nothing
                return {"stopped": "enrollment"}
            if inbox is None:
                return {"stopped": None}
            reply: Future[Reply] = Future()
            self._stopped.append(reply)
        inbox.put(Interrupted())
        return reply

    # -- the idle microphone's thread ------------------------------------------------------
    def heard(self, request: IdleRequest) -> None:
        """A request by voice: for the main loop."""
        self.queue.put(QueuedRequest(request.kind, request.routine))

    # -- main loop (and SIGTERM) -----------------------------------------------------------
    def began(self, routine_id: str, inbox: Inbox) -> None:
        """A session runs: a stop goes to its ``inbox``."""
        with self._lock:
            self._inbox = inbox
            self.status.state, self.status.session = "session", routine_id

    def ended(self, routine_id: str, reason: str) -> None:
        """The session is over and recorded: tell those who asked for its stop."""
        with self._lock:
            self._inbox = None
            self.status.state, self.status.session = "idle", None
            stopped, self._stopped = self._stopped, []
        for waiter in stopped:
            answer(waiter, {"stopped": routine_id, "end": reason})

    def began_enrolling(self) -> threading.Event:
        """Spoken enrollment runs: the event a stop sets."""
        with self._lock:
            if self._enrolling is None:  # asked by the main loop itself, not the socket
                self._enrolling = threading.Event()
            self.status.state = "enrolling"
            return self._enrolling

    def ended_enrolling(self) -> None:
        """Enrollment is over: idle again."""
        with self._lock:
            self._enrolling = None
            self.status.state = "idle"

    def interrupt(self) -> None:
        """End the running session or enrollment, if any (a session is recorded as interrupted).

        Called from a signal handler, in the main loop's thread: it takes no lock, which that
        thread may hold already.
        """
        inbox, enrolling = self._inbox, self._enrolling
        if inbox is not None:
            inbox.put(Interrupted())
        if enrolling is not None:
            enrolling.set()

    def refuse_waiting(self, why: str) -> None:
        """Answer every request not yet taken with an error saying ``why``."""
        while True:
            try:
                asked = self.queue.get_nowait()
            except queue.Empty:
                return
            if asked.reply is not None and asked.reply.set_running_or_notify_cancel():
                answer(asked.reply, error_reply(why))
