"""The coach's voice: the ``Speaker`` the session shell talks to, over synthesis and playout."""

from __future__ import annotations

import threading
from collections.abc import Callable

from voicecoach.audio.playout import Playout
from voicecoach.speech.tts import EspeakSynth


class VoiceSpeaker:
    """Synthesizes each utterance and queues it; reports each one when its last sample played."""

    def __init__(self, synth: EspeakSynth, playout: Playout) -> None:
        self.synth = synth
        self.playout = playout
        self._done: dict[int, Callable[[int], None]] = {}
        self._lock = threading.Lock()

    def say(self, text: str, utterance: int, done: Callable[[int], None]) -> None:
        """Queue ``text``; ``done(utterance)`` is called once it has been played in full."""
        with self._lock:
            self._done[utterance] = done
        self.playout.play(self.synth.render(text), utterance)

    def count(self, text: str) -> None:
        """Speak a count word now (dropped if the speaker is busy until it is stale)."""
        self.playout.play(self.synth.render(text), at_frame=self.playout.frames)

    def cut(self) -> None:
        """Silence within one block; nothing cut is ever reported as finished."""
        self.playout.cut()
        with self._lock:
            self._done.clear()

    def report_finished(self) -> int:
        """Call the ``done`` of every utterance that has finished playing; how many there were."""
        reported = 0
        while self.playout.finished:
            utterance, _frame = self.playout.finished.popleft()
            with self._lock:
                done = self._done.pop(utterance, None)
            if done is not None:
                done(utterance)
                reported += 1
        return reported

    def close(self) -> None:
        """Nothing of its own to release (the output owns the device)."""
