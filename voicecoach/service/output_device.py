"""The service's speaker: kept open, or tried again with back-off while it is missing.

A missing sound card is a state to wait in, never a crash; when it appears after a wait, the
coach says so (whoever was waiting for it hears that the coach is there).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol

from voicecoach.audio.output import AudioDeviceError, LiveOutput
from voicecoach.audio.playout import Playout
from voicecoach.backoff import Backoff
from voicecoach.service.state import ServiceState

log = logging.getLogger(__name__)

BACKOFF_S = (1, 2, 4, 8, 15, 30)
APPEARED = "Hello, I can speak again. Say: what can I do, to hear the routines."


class Output(Protocol):
    """An open sound card playing the playout (``LiveOutput``)."""

    @property
    def healthy(self) -> bool:
        """Whether it still plays (its stream has not failed)."""
        ...

    def counters(self) -> dict[str, int]:
        """Its diagnostics (flagged blocks)."""
        ...

    def close(self) -> None:
        """Release the device."""
        ...


Opener = Callable[[Playout, int | str | None], Output]


class OutputDevice:
    """Opens the speaker on demand (``ensure``), with back-off between failed attempts."""

    def __init__(
        self,
        playout: Playout,
        device: int | str | None,
        status: ServiceState,
        say: Callable[[str], None],
        opener: Opener = LiveOutput,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.playout = playout
        self.device = device
        self.status = status
        self.say = say
        self.opener = opener
        self.clock = clock
        self.output: Output | None = None
        self.reopening = Backoff(BACKOFF_S)

    @property
    def waiting(self) -> bool:
        """Whether it is missing and another attempt is scheduled (a healthy state to be in)."""
        return self.reopening.failures > 0

    def ensure(self) -> bool:
        """Keep the speaker open, retrying with back-off; True when it is usable."""
        if self.output is not None and self.output.healthy:
            return True
        if self.output is not None:
            self.status.error("the audio output failed; reopening it")
            self.output.close()
            self.output = None
        if not self.reopening.due(self.clock()):
            return False
        try:
            self.output = self.opener(self.playout, self.device)
        except AudioDeviceError as exc:
            delay = self.reopening.failed(self.clock())
            self.status.audio = f"waiting for an audio device (next try in {delay:g} s)"
            if self.reopening.failures == 1:
                self.status.error(str(exc))
            return False
        waited = self.reopening.failures > 0
        self.reopening.reset()
        self.status.audio = "open"
        log.info("audio output open")
        if waited:  # someone may be waiting for it too: say that the coach is there
            self.say(APPEARED)
        return True

    def counters(self) -> dict[str, int]:
        """The open sound card's diagnostics; empty while none is open."""
        return self.output.counters() if self.output is not None else {}

    def close(self) -> None:
        """Release the sound card."""
        if self.output is not None:
            self.output.close()
            self.output = None
