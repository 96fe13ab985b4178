"""The live microphone: a sounddevice input stream feeding the listener from its own thread.

The PortAudio callback only copies the block into a bounded queue (dropping, and counting, the
oldest when the listener falls behind: the newest audio is where a "stop" is); a thread takes
blocks, finds what the speaker played at the same instant (the reference), and runs the
listener. When blocks stop arriving the owner is told (``on_lost``; the coach then pauses instead
of carrying on blind). The same thread then closes the dead stream and opens a new one with
growing back-off (an unplugged USB microphone comes back as a new device); when blocks flow
again, ``on_back``. No crash, no restart loop. This module knows nothing of the engine: the
caller turns the two notifications into whatever its listeners need.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from voicecoach.audio import SAMPLE_RATE
from voicecoach.audio.output import AudioDeviceError
from voicecoach.audio.playout import BLOCK, Playout
from voicecoach.backoff import Backoff

log = logging.getLogger(__name__)

#: No microphone block for this long means the microphone is gone.
SILENT_FOR_S = 1.0
#: Waits between attempts to reopen a lost microphone (the last one repeats).
REOPEN_BACKOFF_S = (0.5, 1.0, 2.0, 4.0, 8.0)
#: Blocks held for a listener that falls behind (50 x 20 ms: one second); older ones are dropped.
QUEUE_BLOCKS = 50


class FrameSink(Protocol):
    """What takes the microphone's blocks: the session's listener, or the idle one."""

    def feed(self, mic: np.ndarray, ref: np.ndarray | None, t: float) -> None:
        """Samples starting at audio time ``t``, and what the speaker played then."""
        ...


class LiveMicrophone:
    """Runs the listener on the microphone until closed, reopening it when it is lost.

    ``on_lost`` and ``on_back`` are called from the listener thread when blocks stop arriving
    and when they flow again. ``wait_for_device``: a microphone that cannot be opened now is a
    state to wait in (``on_lost`` is called at once and the thread keeps trying), not an error.
    """

    def __init__(
        self,
        listener: FrameSink,
        playout: Playout | None,
        *,
        on_lost: Callable[[], None],
        on_back: Callable[[], None],
        device: int | str | None = None,
        wait_for_device: bool = False,
    ) -> None:
        self.listener = listener
        self.playout = playout
        self.on_lost = on_lost
        self.on_back = on_back
        self.device = device
        self.overflows = 0  # blocks dropped because the listener fell behind
        self.status_flags = 0  # blocks the device flagged (input overflow and the like)
        self.blocks = 0
        self.reopened = 0  # times a lost microphone was opened again
        self.lost = False
        self.reopening = Backoff(REOPEN_BACKOFF_S)  # when to try the lost microphone again
        self._generation = 0  # blocks from a stream already given up are dropped
        self._queue: queue.Queue[tuple[int, np.ndarray, float]] = queue.Queue(maxsize=QUEUE_BLOCKS)
        self._stop = threading.Event()
        self._stream: Any = None
        try:
            self._open()
        except AudioDeviceError:
            if not wait_for_device:
                raise
            log.warning("no microphone yet; waiting for one")
            self._mark_lost()
        self._thread = threading.Thread(target=self._run, name="listener", daemon=True)
        self._thread.start()

    # -- the stream ----------------------------------------------------------------------
    def _open(self) -> None:
        import sounddevice as sd  # noqa: PLC0415

        self._generation += 1
        generation = self._generation

        def callback(indata: Any, _frames: int, time_info: Any, status: Any) -> None:
            if status:
                self.status_flags += 1
            block = (generation, indata[:, 0].copy(), float(time_info.inputBufferAdcTime))
            try:
                self._queue.put_nowait(block)
            except queue.Full:
                # Drop the oldest, keep the newest. This callback is the only producer, so once
                # one block is taken (here or by the listener) there is room.
                self.overflows += 1
                with contextlib.suppress(queue.Empty):
                    self._queue.get_nowait()
                self._queue.put_nowait(block)

        try:
            stream = sd.InputStream(
                samplerate=SAMPLE_RATE,
                channels=1,
                dtype="int16",
                blocksize=BLOCK,
                device=self.device,
                callback=callback,
            )
            stream.start()
        except Exception as exc:  # PortAudioError, ValueError
            raise AudioDeviceError(f"cannot open the microphone: {exc}") from exc
        self._stream = stream

    def _close_stream(self) -> None:
        """Close the current stream in the background: a dead device can block PortAudio."""
        stream, self._stream = self._stream, None
        if stream is None:
            return

        def shut() -> None:
            try:
                stream.abort()
                stream.close()
            except Exception as exc:  # a vanished device may refuse even this
                log.info("closing the old microphone stream: %s", exc)

        closer = threading.Thread(target=shut, name="close-microphone", daemon=True)
        closer.start()
        closer.join(2)
        if closer.is_alive():
            log.warning("the microphone did not close within 2 s; leaving it")

    def _mark_lost(self) -> None:
        self.lost = True
        self.reopening.reset(next_try=time.monotonic())
        self.on_lost()

    def _try_reopen(self) -> None:
        self._close_stream()
        try:
            self._open()
            self.reopened += 1
            log.info("microphone reopened; waiting for sound from it")
            # It counts as back only when blocks arrive; until then keep the back-off going.
        except AudioDeviceError as exc:
            log.info("%s", exc)
        # A reopened stream still gets the full wait for its first block.
        self.reopening.failed(time.monotonic(), at_least=SILENT_FOR_S)

    def counters(self) -> dict[str, int]:
        """Diagnostics for ``status`` and the session log: blocks heard, dropped, flagged."""
        return {
            "mic_blocks": self.blocks,
            "mic_dropped": self.overflows,
            "mic_flagged": self.status_flags,
            "mic_reopened": self.reopened,
        }

    @property
    def progressing(self) -> bool:
        """For the watchdog: blocks flow, or the wait for the device is on schedule."""
        return not self.lost or time.monotonic() < self.reopening.next_try + 2 * SILENT_FOR_S

    # -- the listener thread -------------------------------------------------------------
    def _reference(self, n: int, adc_time: float) -> np.ndarray | None:
        """What the speaker was playing when this block was captured."""
        if self.playout is None or self.playout.timing is None:
            return None
        frame, dac_time = self.playout.timing
        start = frame + round((adc_time - dac_time) * SAMPLE_RATE)
        return self.playout.played(start, n)

    def _run(self) -> None:
        t = 0.0
        while not self._stop.is_set():
            timeout = SILENT_FOR_S
            if self.lost:
                timeout = min(SILENT_FOR_S, max(0.0, self.reopening.next_try - time.monotonic()))
            try:
                generation, pcm, adc_time = self._queue.get(timeout=timeout)
            except queue.Empty:
                if self._stop.is_set():
                    break
                if not self.lost:
                    log.warning("no microphone input for %.1f s", SILENT_FOR_S)
                    self._mark_lost()
                if self.reopening.due(time.monotonic()):
                    self._try_reopen()
                continue
            if generation != self._generation:
                continue  # a late block from a stream already given up
            if self.lost:
                self.lost = False
                log.info("microphone back")
                self.on_back()
            self.blocks += 1
            self.listener.feed(pcm, self._reference(len(pcm), adc_time), t)
            t += len(pcm) / SAMPLE_RATE

    def close(self) -> None:
        """Stop listening and close the stream (never hangs on a dead device)."""
        self._stop.set()
        self._thread.join(2)
        self._close_stream()
