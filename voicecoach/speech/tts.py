"""Text to PCM with espeak-ng, in-process and synchronous.

Measured here (docs/audio.md): libespeak-ng in synchronous mode through ctypes renders a
sentence in about 4 ms, against 14-21 ms for a ``espeak-ng --stdout`` process per utterance and
far more for pyttsx3's own playback, whose ``stop()`` could not interrupt an utterance. So we
render PCM ourselves and play it ourselves: silence is then one call away. The ctypes binding
is pyttsx3's own (``pyttsx3.drivers._espeak``); pyttsx3's engine is not started, because it would
initialise espeak-ng a second time in playback mode.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
import soxr

from voicecoach.audio import SAMPLE_RATE
from voicecoach.config import VoiceSettings

log = logging.getLogger(__name__)

#: Leading samples below this (of int16 full scale) are cut so a count lands on its beat.
SILENCE_LEVEL = 200


DEFAULT_VOICE = VoiceSettings()


class SynthesisError(RuntimeError):
    """espeak-ng is missing or refused a setting."""


def _espeak() -> Any:
    try:
        from pyttsx3.drivers import _espeak  # noqa: PLC0415 - loads libespeak-ng
    except Exception as exc:  # pyttsx3 raises a bare Exception when the library is missing
        raise SynthesisError(f"espeak-ng is not available: {exc}") from exc
    return _espeak


def trim_leading_silence(pcm: np.ndarray, level: int = SILENCE_LEVEL) -> np.ndarray:
    """Drop the quiet start of an utterance."""
    loud = np.flatnonzero(np.abs(pcm.astype(np.int32)) > level)
    return pcm[loud[0] :] if loud.size else pcm[:0]


_init_lock = threading.Lock()
_espeak_lock = threading.Lock()  # espeak-ng is process-wide state: one caller at a time
_RENDERED: dict[tuple[VoiceSettings, str], np.ndarray] = {}
_active: VoiceSettings | None = None
_native_rate: int | None = None


def _initialised() -> tuple[Any, int]:
    """The espeak-ng library, initialised once per process in synchronous mode."""
    global _native_rate
    lib = _espeak()
    with _init_lock:
        if _native_rate is None:
            rate = lib.Initialize(lib.AUDIO_OUTPUT_SYNCHRONOUS, 200, None, 0)
            if rate <= 0:
                raise SynthesisError("espeak-ng failed to initialise")
            _native_rate = int(rate)
    return lib, _native_rate


@contextlib.contextmanager
def borrowed_espeak() -> Iterator[Any]:
    """The initialised espeak-ng library, for uses other than rendering (phonemes).

    The borrower may select another voice, so the next rendering selects its own again.
    """
    global _active
    lib, _ = _initialised()
    with _espeak_lock:
        try:
            yield lib
        finally:
            _active = None


class EspeakSynth:
    """Renders text to 16 kHz mono int16 PCM, cached per text (counts and fixed phrases repeat).

    espeak-ng is process-wide state, so use one synthesizer per process.
    """

    def __init__(self, settings: VoiceSettings = DEFAULT_VOICE) -> None:
        self.settings = settings
        self._lib, self.native_rate = _initialised()
        self._lock = _espeak_lock
        self._chunks: list[np.ndarray] = []
        self._lib.SetSynthCallback(self._collect)
        self._apply(settings)

    def render(self, text: str) -> np.ndarray:
        """PCM of ``text``, rendered once per process and voice, then reused.

        espeak-ng's output for a text shifts slightly with what it rendered before, so reusing
        the first rendering is also what makes a replayed session repeat sample for sample.
        """
        key = (self.settings, text)
        pcm = _RENDERED.get(key)
        if pcm is None:
            pcm = _RENDERED[key] = self._render(text)
        return pcm

    def _apply(self, s: VoiceSettings) -> None:
        # espeak_SetVoiceByName reports success for unknown names, so check against the list.
        known = {n.lower() for voice in list_voices() for n in voice}
        if s.voice.lower() not in known or self._lib.SetVoiceByName(s.voice.encode()) != 0:
            raise SynthesisError(f"no espeak-ng voice called '{s.voice}' (see: voicecoach voices)")
        self._lib.SetParameter(self._lib.RATE, s.rate, 0)
        self._lib.SetParameter(self._lib.VOLUME, s.volume, 0)
        global _active
        _active = s

    def _collect(self, wav: Any, samples: int, _events: Any) -> int:
        if wav and samples > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(samples,)).copy())
        return 0

    def _render(self, text: str) -> np.ndarray:
        global _active
        with self._lock:
            if _active != self.settings:  # espeak-ng is global: another voice may be set
                self._apply(self.settings)
                self._lib.SetSynthCallback(self._collect)
            self._chunks = []
            data = text.encode("utf-8")
            status = self._lib.Synth(data, flags=self._lib.CHARS_UTF8)
            if status != self._lib.EE_OK:
                raise SynthesisError(f"espeak-ng could not speak {text!r} (status {status})")
            native = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        pcm = soxr.resample(native, self.native_rate, SAMPLE_RATE) if native.size else native
        pcm = trim_leading_silence(np.asarray(pcm, dtype=np.int16))
        pcm.setflags(write=False)  # cached and shared: nobody may change it
        return pcm


def list_voices() -> list[tuple[str, str, str]]:
    """(name, language, file) of every installed espeak-ng voice; any of them selects it."""
    lib, _ = _initialised()
    voices = []
    for v in lib.ListVoices():
        language = v.languages[1:].decode(errors="replace") if v.languages else ""
        file = v.identifier.decode(errors="replace").rsplit("/", 1)[-1] if v.identifier else ""
        voices.append((v.name.decode(errors="replace"), language, file))
    return voices
