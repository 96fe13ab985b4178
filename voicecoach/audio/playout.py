"""PCM playout: a queue of utterances rendered block by block, with a cut that takes one block.

``render`` runs in the audio callback (PortAudio's thread) or in the offline renderer. Following
python-sounddevice's rules it takes no locks and does nothing that can block: producers hand
commands over through a deque (append and popleft are atomic in CPython), and a cut is a
generation counter, so everything queued before it is dropped at the next block.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass

import numpy as np

from voicecoach.audio import SAMPLE_RATE

#: 20 ms: a cut is heard within one block (the issue allows 30 ms).
BLOCK = SAMPLE_RATE // 50
#: Frames of played audio kept for the listener's reference (4 s covers any device latency).
HISTORY = 4 * SAMPLE_RATE
#: A count more than this late (the speaker was busy) is dropped rather than spoken off-beat.
STALE_COUNT_S = 0.5


@dataclass
class _Item:
    pcm: np.ndarray
    utterance: int | None
    at_frame: int | None  # play no earlier than this frame (counts on their beat)
    generation: int
    pos: int = 0


class Playout:
    """What the speaker plays, and the frame clock of everything rendered so far."""

    def __init__(self) -> None:
        self._inbox: collections.deque[_Item | int] = collections.deque()
        self._generation = 0  # bumped by cut(); the render side drops older items
        self._seen_generation = 0
        self._queue: collections.deque[_Item] = collections.deque()
        #: Frames rendered so far: the output clock.
        self.frames = 0
        #: (utterance, frame it ended at), for whoever reports SpeechFinished.
        self.finished: collections.deque[tuple[int, int]] = collections.deque()
        #: Frame at which each cut took effect (for tests and the benchmark).
        self.cuts: collections.deque[int] = collections.deque()
        #: Counts dropped because the speaker was still busy on their beat.
        self.dropped_counts = 0
        #: The last HISTORY frames played, for the listener's reference (a ring, by frame).
        self._history = np.zeros(HISTORY, np.int16)
        #: (frame, device time it reaches the speaker), set by a live output's callback.
        self.timing: tuple[int, float] | None = None

    # -- producer side (main thread) -------------------------------------------------------
    def play(
        self, pcm: np.ndarray, utterance: int | None = None, at_frame: int | None = None
    ) -> None:
        """Queue ``pcm``; with ``at_frame``, not before that frame (silence fills the gap)."""
        self._inbox.append(_Item(pcm, utterance, at_frame, self._generation))

    def cut(self) -> None:
        """Silence from the next block on, and drop everything queued so far."""
        self._generation += 1
        self._inbox.append(self._generation)

    # -- render side (audio thread) --------------------------------------------------------
    def _take_commands(self) -> None:
        while self._inbox:
            command = self._inbox.popleft()
            if isinstance(command, int):
                if command > self._seen_generation:
                    self._seen_generation = command
                    if self._queue:
                        self.cuts.append(self.frames)
                    self._queue.clear()
            elif command.generation == self._generation:
                self._queue.append(command)

    @property
    def busy(self) -> bool:
        """Something is playing or waiting to play (render side view)."""
        return bool(self._queue or self._inbox)

    def frames_to_boundary(self, limit: int) -> int:
        """Frames until the current item ends or a scheduled item starts (at most ``limit``)."""
        self._take_commands()
        if not self._queue:
            return limit
        head = self._queue[0]
        if head.at_frame is not None and head.pos == 0 and head.at_frame > self.frames:
            return max(1, min(limit, head.at_frame - self.frames))
        return max(1, min(limit, len(head.pcm) - head.pos))

    def render(self, n: int) -> np.ndarray:
        """The next ``n`` frames (int16), silence where nothing plays."""
        self._take_commands()
        out = np.zeros(n, dtype=np.int16)
        filled = 0
        while filled < n and self._queue:
            item = self._queue[0]
            now = self.frames + filled
            if item.pos == 0 and item.at_frame is not None:
                if item.at_frame > now:  # not yet: silence until its beat
                    filled = min(n, item.at_frame - self.frames)
                    continue
                if now - item.at_frame > STALE_COUNT_S * SAMPLE_RATE:
                    self._queue.popleft()
                    self.dropped_counts += 1
                    continue
            take = min(n - filled, len(item.pcm) - item.pos)
            out[filled : filled + take] = item.pcm[item.pos : item.pos + take]
            item.pos += take
            filled += take
            if item.pos >= len(item.pcm):
                self._queue.popleft()
                if item.utterance is not None:
                    self.finished.append((item.utterance, self.frames + filled))
        at = self.frames % HISTORY
        first = min(n, HISTORY - at)
        self._history[at : at + first] = out[:first]
        self._history[: n - first] = out[first:]
        self.frames += n
        return out

    def played(self, start: int, n: int) -> np.ndarray:
        """The samples rendered at frames start..start+n (zeros outside the kept history)."""
        frames = np.arange(start, start + n)
        kept = (frames >= max(0, self.frames - HISTORY)) & (frames < self.frames)
        out = np.zeros(n, np.int16)
        out[kept] = self._history[frames[kept] % HISTORY]
        return out
