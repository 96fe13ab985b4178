"""The one place a session is wired: inbox, speaker, reporter, listener, microphone, timeline.

``voicecoach run`` and ``voicecoach serve`` both start their sessions here, so a session
behaves the same whichever started it. The mode says where the coach's words go and where the
user's commands come from:

- ``Live``: spoken through a playout that an open sound card plays, heard from the microphone
  (and, for ``run``, typed on stdin beside the voice);
- ``Text``: printed with ``[mm:ss]`` stamps, typed on stdin;
- ``Render``: spoken into a WAV file as fast as the machine allows, heard from nothing;
- ``Replay``: the same, with a recording as the microphone (and a simulated room's echo).

The microphone-loss policy lives here too, once: a microphone that cannot be opened, or goes
away, pauses guidance and the coach says so; the session waits for it to come back (or for a
typed command). It never guides on without being able to hear "stop".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TextIO, assert_never

import numpy as np

from voicecoach.audio.microphone import LiveMicrophone
from voicecoach.audio.output import AudioDeviceError, FileOutput
from voicecoach.audio.playout import Playout
from voicecoach.audio.replay import RecordedMicrophone, RoomEcho
from voicecoach.engine.effects import EndReason
from voicecoach.engine.events import MicLost
from voicecoach.engine.plan import NO_QUESTIONS, Questions
from voicecoach.routines.model import Routine
from voicecoach.session.clock import MonotonicClock
from voicecoach.session.inbox import Inbox
from voicecoach.session.listener import Listener, MicrophoneEvents
from voicecoach.session.runner import Speaker, Triage, run_session
from voicecoach.session.textmode import TextSpeaker, Typed, read_commands
from voicecoach.session.timeline import (
    HeartbeatTimeline,
    LiveTimeline,
    RenderTimeline,
    Reporter,
    Timeline,
)
from voicecoach.speech.answers import AnswerRecognizer
from voicecoach.speech.recognizer import Recognizer
from voicecoach.speech.tts import EspeakSynth
from voicecoach.speech.voice import VoiceSpeaker
from voicecoach.store.protocol import SessionStore
from voicecoach.vocabulary import Expectation


@dataclass(frozen=True)
class Live:
    """Spoken through ``playout`` (played by a sound card the caller keeps open), heard live."""

    synth: EspeakSynth
    playout: Playout
    recognizers: Sequence[Recognizer]
    input_device: int | str | None = None
    typed: TextIO | None = None  # commands typed beside the voice (a terminal's stdin)


@dataclass(frozen=True)
class Text:
    """Printed to ``out``, commands typed on ``typed``; ``time_scale`` < 1 runs it faster."""

    out: TextIO
    typed: TextIO | None
    time_scale: float = 1.0


@dataclass(frozen=True)
class Render:
    """Spoken into the WAV file ``path``, sample-timed, without listening."""

    synth: EspeakSynth
    path: Path


@dataclass(frozen=True)
class Replay:
    """Rendered into ``path`` while ``recording`` plays the microphone's part."""

    synth: EspeakSynth
    path: Path
    recording: np.ndarray
    recognizers: Sequence[Recognizer]
    room_echo_db: float | None = None  # the coach's own output fed back at this level


Mode = Live | Text | Render | Replay

#: Told to whoever started a session whose microphone is missing from the start.
NO_MICROPHONE = "no microphone: the session is paused until one is found"


class Session:
    """One wired session: run it once, then close it (or use it as a context manager).

    ``inbox`` takes events from other threads (a stop over the control socket, SIGTERM);
    ``microphone`` is the live one, if any (for the watchdog); ``warning`` says what the user
    should know before guidance begins (no microphone: paused); ``listeners`` are told what the
    engine listens for (the microphone's listener, typed lines).
    """

    def __init__(
        self,
        inbox: Inbox,
        speaker: Speaker,
        timeline: Timeline,
        closers: Sequence[Callable[[], None]] = (),
        microphone: LiveMicrophone | None = None,
        warning: str | None = None,
        listeners: Sequence[Callable[[Expectation], None]] = (),
    ) -> None:
        self.inbox = inbox
        self.speaker = speaker
        self.timeline = timeline
        self.microphone = microphone
        self.warning = warning
        self.listeners = list(listeners)
        self._closers = list(closers)

    def run(
        self,
        routine: Routine | Triage,
        store: SessionStore,
        beat: Callable[[], None] | None = None,
        questions: Questions = NO_QUESTIONS,
        bad_day: bool = False,
    ) -> EndReason:
        """Guide ``routine`` to its end; ``beat`` is called from the loop's own waits.

        ``questions`` and ``bad_day`` as ``run_session`` takes them.
        """
        timeline = self.timeline if beat is None else HeartbeatTimeline(self.timeline, beat)
        return run_session(
            routine,
            store=store,
            speaker=self.speaker,
            timeline=timeline,
            inbox=self.inbox,
            listen=self._listen,
            questions=questions,
            bad_day=bad_day,
        )

    def _listen(self, expectation: Expectation) -> None:
        for listen in self.listeners:
            listen(expectation)

    def counters(self) -> dict[str, int]:
        """The live microphone's diagnostics (blocks heard, dropped, flagged); empty otherwise."""
        return self.microphone.counters() if self.microphone is not None else {}

    def close(self) -> None:
        """Stop listening and release what the session opened (never the caller's sound card)."""
        closers, self._closers = self._closers, []
        for close in closers:
            close()

    def __enter__(self) -> Session:
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self.close()


def build(mode: Mode) -> Session:
    """Wire a session for ``mode``; what it opens is closed by ``Session.close``."""
    inbox = Inbox()
    match mode:
        case Text():
            clock = MonotonicClock(mode.time_scale)
            typed = Typed()
            if mode.typed is not None:
                read_commands(mode.typed, inbox, typed)
            speaker = TextSpeaker(clock, mode.out)
            timeline = LiveTimeline(clock, inbox)
            return Session(inbox, speaker, timeline, listeners=[typed.expect])
        case Live():
            return _live(mode, inbox)
        case Render() | Replay():
            return _render(mode, inbox)
        case _:
            assert_never(mode)


def _live(mode: Live, inbox: Inbox) -> Session:
    for recognizer in mode.recognizers:  # nothing half-heard carries over from before
        recognizer.reset()
    speaker = VoiceSpeaker(mode.synth, mode.playout)
    reporter = Reporter(speaker)
    listener = Listener.for_coach(mode.recognizers, inbox.put)
    microphone: LiveMicrophone | None = None
    warning = None
    try:
        # A missing microphone is waited for: the session hears MicLost and pauses.
        events = MicrophoneEvents(inbox.put)
        microphone = LiveMicrophone(
            listener,
            mode.playout,
            on_lost=events.lost,
            on_back=events.back,
            device=mode.input_device,
            wait_for_device=True,
        )
        if microphone.lost:
            warning = NO_MICROPHONE
    except (AudioDeviceError, OSError, ImportError) as exc:  # no PortAudio: never guide blind
        warning = f"no microphone ({exc}): the session is paused"
        inbox.put(MicLost())
    typed = Typed()
    if mode.typed is not None:
        read_commands(mode.typed, inbox, typed)  # the keyboard works beside the voice
    closers = [reporter.close] if microphone is None else [microphone.close, reporter.close]
    timeline = LiveTimeline(MonotonicClock(), inbox)
    listeners = [listener.expect, typed.expect]
    return Session(inbox, speaker, timeline, closers, microphone, warning, listeners)


def _render(mode: Render | Replay, inbox: Inbox) -> Session:
    playout = Playout()
    speaker = VoiceSpeaker(mode.synth, playout)
    output = FileOutput(playout, mode.path)
    if isinstance(mode, Replay):
        for recognizer in mode.recognizers:
            recognizer.reset()
            if isinstance(recognizer, AnswerRecognizer):
                recognizer.wait = True  # answers at the same instant of every replay
        listener = Listener.for_coach(mode.recognizers, inbox.put)
        room = RoomEcho(mode.room_echo_db) if mode.room_echo_db is not None else None
        timeline = RenderTimeline(
            output, speaker, inbox, listener, RecordedMicrophone(mode.recording), room
        )
        return Session(inbox, speaker, timeline, [output.close], listeners=[listener.expect])
    timeline = RenderTimeline(output, speaker, inbox)
    return Session(inbox, speaker, timeline, [output.close])
