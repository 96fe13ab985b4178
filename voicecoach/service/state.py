"""What ``voicecoach status`` reports: written by the service's main loop, read by the socket."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from voicecoach.audio import counters as audio_counters

log = logging.getLogger(__name__)


@dataclass
class ServiceState:
    """The service's state in words, its last errors and its audio devices' counters."""

    state: str = "starting"
    session: str | None = None
    audio: str = "not open"
    microphone: str = "closed"
    recognizers: list[str] = field(default_factory=list)
    personal_voice: str = "not checked yet"  # whether the recognizers hear a personal voice
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
            "personal_voice": self.personal_voice,
            "last_errors": self.errors[-5:],
            "audio_counters": self.counters,
            "uptime_s": round(time.monotonic() - self.started),
        }

    def error(self, text: str) -> None:
        """Remember an error for ``status``."""
        log.warning("%s", text)
        self.errors = [*self.errors[-9:], text]

    def count(self, microphone: Mapping[str, int], output: Mapping[str, int]) -> None:
        """Show the open devices' diagnostics (dropped and flagged blocks)."""
        self.counters = audio_counters.combined(microphone, output)
