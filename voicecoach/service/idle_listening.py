"""Between sessions, a microphone kept open for "start <routine>" and "what can I do".

The transcriber is loaded once, before READY; the microphone is opened while the service is
idle and closed for each session (which opens its own). Without PortAudio or a transcriber the
service goes on serving the control socket, without listening.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from voicecoach.audio.playout import Playout
from voicecoach.engine.events import Event, MicLost
from voicecoach.routines.model import Routine
from voicecoach.service.idle import IdleListener, IdleRequest
from voicecoach.service.state import ServiceState
from voicecoach.session.listener import MicrophoneEvents

if TYPE_CHECKING:
    from voicecoach.audio.microphone import LiveMicrophone

Transcribe = Callable[[Any], str]


class IdleListening:
    """Owns the idle microphone and the transcriber that listens through it."""

    def __init__(
        self,
        make_transcriber: Callable[[], Transcribe] | None,
        routines: Mapping[str, Routine],
        heard: Callable[[IdleRequest], None],
        playout: Playout,
        device: int | str | None,
        status: ServiceState,
        suggested: Callable[[], str | None] = lambda: None,
    ) -> None:
        self.make_transcriber = make_transcriber
        self.routines = routines
        self.heard = heard
        self.playout = playout
        self.device = device
        self.status = status
        self.suggested = suggested
        self.transcribe: Transcribe | None = None
        self.microphone: LiveMicrophone | None = None

    def load(self) -> None:
        """Load the transcriber now (before READY, like the recognizers)."""
        if self.make_transcriber is None:
            return
        try:
            self.transcribe = self.make_transcriber()
        except Exception as exc:
            self.status.error(f"no listening between sessions: {exc}")
            self.make_transcriber = None

    def open(self) -> None:
        """Open the microphone, if it is not open and there is something to listen with."""
        if self.microphone is not None or self.make_transcriber is None:
            return
        try:
            from voicecoach.audio.microphone import LiveMicrophone  # noqa: PLC0415

            if self.transcribe is None:
                self.transcribe = self.make_transcriber()
            listener = IdleListener(
                self.transcribe,
                self.routines,
                self.heard,
                coach_speaking=lambda: self.playout.busy,
                suggested=self.suggested,
            )
            events = MicrophoneEvents(self._microphone_event)
            self.microphone = LiveMicrophone(
                listener,
                self.playout,
                on_lost=events.lost,
                on_back=events.back,
                device=self.device,
                wait_for_device=True,
            )
            self.status.microphone = "listening for start"
        except Exception as exc:  # no PortAudio, no recognizer: keep serving the socket
            self.status.error(f"cannot listen while idle: {exc}")
            self.make_transcriber = None

    def close(self) -> None:
        """Close the microphone (a session is about to open its own, or the service stops)."""
        if self.microphone is not None:
            self.microphone.close()
            self.microphone = None

    @property
    def progressing(self) -> bool:
        """Whether the microphone, if open, is delivering audio or waiting for its device."""
        return self.microphone is None or self.microphone.progressing

    def counters(self) -> dict[str, int]:
        """The open microphone's diagnostics; empty while none is open."""
        return self.microphone.counters() if self.microphone is not None else {}

    def _microphone_event(self, event: Event) -> None:
        lost = isinstance(event, MicLost)
        self.status.microphone = "lost; reopening" if lost else "listening for start"
