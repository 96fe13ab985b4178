"""Echo cancellation: the coach's own voice subtracted from the microphone, with libspeexdsp.

The coach knows the exact samples it plays (the reference), so speexdsp's adaptive filter can
learn the path from the speaker to the microphone and remove most of the echo. What is left
then holds the user's voice far above the coach's: a "that hurts" said as loud as the coach is
heard. The canceller does not stop self-triggering on its own (recognizers ignore level and
still hear the residue); the reference gate behind it does that.

A thin ctypes binding of the distribution's ``libspeexdsp`` (Debian/Raspberry Pi OS package
``libspeexdsp1``): no Python binding of it has wheels for the Pi.
"""

from __future__ import annotations

import ctypes
import ctypes.util

import numpy as np

from voicecoach.audio import SAMPLE_RATE

FRAME = SAMPLE_RATE // 50  # 20 ms, the listener's frame
TAIL_S = 0.256  # echo path the filter can learn: device latency plus the room's decay

_ECHO_SET_SAMPLING_RATE = 24  # from speex_echo.h


class EchoUnavailable(RuntimeError):
    """libspeexdsp is not installed."""


def _load() -> ctypes.CDLL:
    name = ctypes.util.find_library("speexdsp") or "libspeexdsp.so.1"
    try:
        lib = ctypes.CDLL(name)
    except OSError as exc:
        raise EchoUnavailable(
            f"libspeexdsp is not installed ({exc}); install it with: sudo apt install libspeexdsp1"
        ) from exc
    vp, i16p, cint = ctypes.c_void_p, ctypes.POINTER(ctypes.c_int16), ctypes.c_int
    lib.speex_echo_state_init.restype = vp
    lib.speex_echo_state_init.argtypes = [cint, cint]
    lib.speex_echo_state_destroy.argtypes = [vp]
    lib.speex_echo_ctl.argtypes = [vp, cint, vp]
    lib.speex_echo_cancellation.argtypes = [vp, i16p, i16p, i16p]
    return lib


class EchoCanceller:
    """speexdsp's multidelay echo canceller, 20 ms a call.

    Its residual echo suppressor (speex_preprocess) is left out on purpose: measured, it turned
    loud background noise during the coach's speech into something a recognizer heard as pain.
    """

    def __init__(self, tail_s: float = TAIL_S) -> None:
        self._lib = _load()
        self._echo = self._lib.speex_echo_state_init(FRAME, int(tail_s * SAMPLE_RATE))
        rate = ctypes.c_int(SAMPLE_RATE)
        self._lib.speex_echo_ctl(self._echo, _ECHO_SET_SAMPLING_RATE, ctypes.byref(rate))

    def process(self, mic: np.ndarray, ref: np.ndarray) -> np.ndarray:
        """The microphone frame with the echo of the reference frame (played then) removed."""
        if len(mic) != FRAME or len(ref) != FRAME:
            raise ValueError(f"the echo canceller takes frames of {FRAME} samples")
        mic = np.ascontiguousarray(mic, np.int16)
        ref = np.ascontiguousarray(ref, np.int16)
        out = np.empty(FRAME, np.int16)
        ptr = ctypes.POINTER(ctypes.c_int16)
        self._lib.speex_echo_cancellation(
            self._echo, mic.ctypes.data_as(ptr), ref.ctypes.data_as(ptr), out.ctypes.data_as(ptr)
        )
        return out

    def close(self) -> None:
        """Free the speexdsp state (also done when garbage collected)."""
        if self._echo:
            self._lib.speex_echo_state_destroy(self._echo)
            self._echo = None

    def __del__(self) -> None:
        self.close()
