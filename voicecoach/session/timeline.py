"""Session time and waiting, for the shell loop: live (a real clock) or rendered (audio samples).

``wait(deadline)`` returns the next event, or None once the session time reaches ``deadline``.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Protocol

import numpy as np

from voicecoach.audio import SAMPLE_RATE
from voicecoach.audio.output import FileOutput
from voicecoach.audio.replay import RecordedMicrophone, RoomEcho, mix
from voicecoach.engine.events import Event, Interrupted
from voicecoach.session.clock import Clock
from voicecoach.session.inbox import Inbox
from voicecoach.session.listener import Listener
from voicecoach.speech.voice import VoiceSpeaker


class Timeline(Protocol):
    """The session's notion of now, and how to wait for the next thing to happen."""

    def now(self) -> float:
        """Session seconds."""
        ...

    def wait(self, deadline: float | None) -> Event | None:
        """The next event, or None when ``deadline`` (session seconds) has come."""
        ...


class LiveTimeline:
    """Real time: a monotonic clock, events from listener threads."""

    def __init__(self, clock: Clock, inbox: Inbox) -> None:
        self.clock = clock
        self.inbox = inbox

    def now(self) -> float:
        """Session seconds from the clock."""
        return self.clock.now()

    def wait(self, deadline: float | None) -> Event | None:
        """Block until an event arrives or the deadline passes."""
        if deadline is None:
            return self.inbox.get(None)
        return self.inbox.get(max(0.0, self.clock.to_real(deadline - self.clock.now())))


#: The longest a heartbeat timeline waits without beating (real seconds at scale 1).
BEAT_S = 1.0


class HeartbeatTimeline:
    """A timeline that calls ``beat`` from the session loop's own waits (the service's watchdog).

    Every wait is cut into slices of at most ``BEAT_S`` and each slice beats, so the watchdog
    hears from the engine's own loop: a hung engine stops the beats.
    """

    def __init__(self, inner: Timeline, beat: Callable[[], None]) -> None:
        self.inner = inner
        self.beat = beat

    def now(self) -> float:
        """Session seconds."""
        return self.inner.now()

    def wait(self, deadline: float | None) -> Event | None:
        """The next event, or None at ``deadline``, beating at least every ``BEAT_S``."""
        while True:
            self.beat()
            slice_end = self.inner.now() + BEAT_S
            until = slice_end if deadline is None else min(deadline, slice_end)
            event = self.inner.wait(until)
            if event is not None or until == deadline:
                return event


class Reporter:
    """Live mode: forwards finished utterances from the audio side every 10 ms.

    The audio callback must not block, so it only appends to a deque; this thread turns those
    entries into ``SpeechFinished`` events.
    """

    def __init__(self, speaker: VoiceSpeaker) -> None:
        self._speaker = speaker
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="speech-finished", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self._speaker.report_finished()

    def close(self) -> None:
        """Stop forwarding."""
        self._stop.set()
        self._thread.join()


class RenderTimeline:
    """Offline: session time is the number of samples rendered to the file.

    A session runs as fast as the machine allows, and sample n of the output is exactly session
    time n / 16000.
    """

    def __init__(
        self,
        output: FileOutput,
        speaker: VoiceSpeaker,
        inbox: Inbox,
        listener: Listener | None = None,
        microphone: RecordedMicrophone | None = None,
        room: RoomEcho | None = None,
    ) -> None:
        self.output = output
        self.speaker = speaker
        self.inbox = inbox
        self.listener = listener
        self.microphone = microphone
        self.room = room
        self._reached: float | None = None  # the deadline most recently rendered up to
        # After the recording ends, keep listening this long for the session to move on.
        self._input_end = (len(microphone.pcm) / SAMPLE_RATE + 5.0) if microphone else 0.0

    def _hear(self, played: np.ndarray, start: int) -> None:
        """The microphone's samples for the block just played (with the room's echo of it)."""
        if self.listener is None:
            return
        assert self.microphone is not None
        mic = self.microphone.read(start, len(played))
        if self.room is not None:
            mic = mix(mic, self.room.apply(played))
        self.listener.feed(mic, played, start / SAMPLE_RATE)

    def now(self) -> float:
        """Session seconds rendered so far (a reached deadline exactly, not a rounding below)."""
        t = self.output.playout.frames / SAMPLE_RATE
        if self._reached is not None and abs(t - self._reached) < 1e-6:
            return self._reached
        return t

    def wait(self, deadline: float | None) -> Event | None:
        """Render until an utterance ends (its event) or the deadline's sample is reached."""
        playout = self.output.playout
        while True:
            self.speaker.report_finished()
            event = self.inbox.get(0)
            if event is not None:
                return event
            if deadline is not None:
                target = math.ceil(deadline * SAMPLE_RATE - 1e-6)
                if playout.frames >= target:
                    self._reached = deadline
                    return None
            elif not playout.busy and self.now() >= self._input_end:
                return Interrupted()  # nothing can ever happen again: no input, nothing playing
            else:
                target = playout.frames + SAMPLE_RATE
            self.output.advance_to(
                target,
                on_boundary=lambda: bool(playout.finished) or self.inbox.pending(),
                on_block=self._hear,
            )
