"""The live microphone: a sounddevice input stream feeding the listener from its own thread.

The PortAudio callback only copies the block into a bounded queue (dropping, and counting, the
oldest when the listener falls behind); a thread takes blocks, finds what the speaker played at
the same instant (the reference), and runs the listener. When blocks stop arriving the coach is
told (``MicLost``), so guidance pauses instead of carrying on blind; when they return, ``MicBack``.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from voicecoach.audio import SAMPLE_RATE
from voicecoach.audio.output import AudioDeviceError
from voicecoach.audio.playout import BLOCK, Playout
from voicecoach.engine.events import Event, MicBack, MicLost
from voicecoach.listen import Listener

log = logging.getLogger(__name__)

#: No microphone block for this long means the microphone is gone.
SILENT_FOR_S = 1.0


class LiveMicrophone:
    """Runs the listener on the microphone until closed."""

    def __init__(
        self,
        listener: Listener,
        playout: Playout | None,
        post: Callable[[Event], None],
        device: int | str | None = None,
    ) -> None:
        import sounddevice as sd  # noqa: PLC0415

        self.listener = listener
        self.playout = playout
        self.post = post
        self.overflows = 0  # blocks dropped because the listener fell behind
        self.status_flags = 0
        self.blocks = 0
        self._queue: queue.Queue[tuple[np.ndarray, float]] = queue.Queue(maxsize=50)
        self._stop = threading.Event()
        try:
            self._stream = sd.InputStream(
                samplerate=SAMPLE_RATE,
                channels=1,
                dtype="int16",
                blocksize=BLOCK,
                device=device,
                callback=self._callback,
            )
            self._stream.start()
        except Exception as exc:  # PortAudioError, ValueError
            raise AudioDeviceError(f"cannot open the microphone: {exc}") from exc
        self._thread = threading.Thread(target=self._run, name="listener", daemon=True)
        self._thread.start()

    def _callback(self, indata: Any, _frames: int, time_info: Any, status: Any) -> None:
        if status:
            self.status_flags += 1
        block = (indata[:, 0].copy(), float(time_info.inputBufferAdcTime))
        try:
            self._queue.put_nowait(block)
        except queue.Full:
            self.overflows += 1

    def _reference(self, n: int, adc_time: float) -> np.ndarray | None:
        """What the speaker was playing when this block was captured."""
        if self.playout is None or self.playout.timing is None:
            return None
        frame, dac_time = self.playout.timing
        start = frame + round((adc_time - dac_time) * SAMPLE_RATE)
        return self.playout.played(start, n)

    def _run(self) -> None:
        lost = False
        t = 0.0
        while not self._stop.is_set():
            try:
                pcm, adc_time = self._queue.get(timeout=SILENT_FOR_S)
            except queue.Empty:
                if not lost and not self._stop.is_set():
                    log.warning("no microphone input for %.1f s", SILENT_FOR_S)
                    lost = True
                    self.post(MicLost())
                continue
            if lost:
                lost = False
                self.post(MicBack())
            self.blocks += 1
            self.listener.feed(pcm, self._reference(len(pcm), adc_time), t)
            t += len(pcm) / SAMPLE_RATE

    def close(self) -> None:
        """Stop listening and close the stream.

        A stalled input (an unplugged device, a source with no data) can block PortAudio's
        close, so it happens in the background: ending a session must never hang on it.
        """
        self._stop.set()
        self._thread.join(2)

        def shut() -> None:
            self._stream.abort()
            self._stream.close()

        closer = threading.Thread(target=shut, name="close-microphone", daemon=True)
        closer.start()
        closer.join(2)
        if closer.is_alive():
            log.warning("the microphone did not close within 2 s; leaving it")
