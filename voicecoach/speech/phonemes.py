"""What espeak-ng would say for a text, as phonemes rather than sound.

Two texts with the same phonemes are spoken the same: "weight" and "wait" are both ``w'eIt``
and render to the same samples. The validator uses this to keep command phrases out of what the
coach says; the command model's training uses it to keep such words out of its negatives.

The phonemes come from the library the coach already speaks with (``espeak_TextToPhonemes``
through ctypes, on pyttsx3's binding), so no ``espeak-ng`` program needs to be installed.
"""

from __future__ import annotations

import ctypes
import functools
from typing import Any

from voicecoach.speech.tts import SynthesisError, borrowed_espeak

_CHARS_UTF8 = 1  # espeakCHARS_UTF8
_IPA = 0x02  # espeakPHONEMES_IPA: UTF-8 IPA instead of espeak-ng's ASCII phoneme names
_SEPARATOR_SHIFT = 8  # bits 8-23 of the phoneme mode: a character put between phonemes
#: A NUL would end the C string early, leaving the rest unheard; no control character is spoken.
_CONTROLS = dict.fromkeys(range(32), " ")


class PhonemesUnavailable(SynthesisError):
    """espeak-ng cannot be loaded, or has no such voice."""


@functools.cache
def _text_to_phonemes(lib: Any) -> Any:
    function = lib.dll.espeak_TextToPhonemes
    function.restype = ctypes.c_char_p
    function.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int, ctypes.c_int]
    return function


#: The voice file each voice name selected, to skip selecting it again (a switch costs more
#: than transcribing a line).
_selected: dict[str, bytes] = {}


def _current(lib: Any) -> bytes | None:
    voice = lib.GetCurrentVoice()
    return bytes(voice.contents.identifier or b"") if voice else None


def _select(lib: Any, voice: str) -> None:
    if voice in _selected and _current(lib) == _selected[voice]:
        return
    # As the espeak-ng program does: a voice name ("en", "en-us"), else a language ("en-gb").
    if lib.SetVoiceByName(voice.encode()) != lib.EE_OK:
        spec = lib.VOICE()
        spec.languages = voice.encode()
        if lib.SetVoiceByProperties(spec) != lib.EE_OK:
            raise PhonemesUnavailable(f"espeak-ng has no voice or language '{voice}'")
    current = _current(lib)
    if current:
        _selected[voice] = current


@functools.lru_cache(maxsize=8192)
def transcribe(text: str, voice: str = "en", *, ipa: bool = False, separator: str = "") -> str:
    """espeak-ng's phonemes for ``text``: words apart by spaces, clauses joined by one space.

    ASCII phoneme names (as ``espeak-ng -x`` prints them) unless ``ipa``; ``separator`` goes
    between the phonemes of a word. Cached: validating a library asks for the same texts often.
    """
    data = text.translate(_CONTROLS).encode("utf-8")
    mode = (_IPA if ipa else 0) | (ord(separator) << _SEPARATOR_SHIFT if separator else 0)
    try:
        with borrowed_espeak() as lib:
            _select(lib, voice)
            clauses = _clauses(_text_to_phonemes(lib), data, mode)
    except PhonemesUnavailable:
        raise
    except SynthesisError as exc:  # the library itself is missing
        raise PhonemesUnavailable(str(exc)) from exc
    return " ".join(" ".join(clauses).split())


def _clauses(convert: Any, data: bytes, mode: int) -> list[str]:
    buffer = ctypes.create_string_buffer(data)
    cursor = ctypes.c_void_p(ctypes.addressof(buffer))
    clauses = []
    # espeak-ng returns one clause per call and moves the cursor on, to NULL at the end; the
    # bound guarantees an end even if a library version failed to move it.
    for _ in range(len(data) + 1):
        if not cursor.value:
            break
        clauses.append((convert(ctypes.byref(cursor), _CHARS_UTF8, mode) or b"").decode())
    return clauses
