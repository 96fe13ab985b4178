"""Keep command phrases out of what the coach says, as a listener would hear it.

The coach must never say a command: its own voice reaches the microphone. Comparing letters is
not enough. "ne\u00adxt" (with a soft hyphen) renders to the very samples of "next", and a
zero-width space hides a command from the eye as well; "weight" is spoken exactly like "wait";
"Continuous walk" starts with the sound of "continue". So a spoken line is checked three ways:

1. its text, for a command phrase or an inflection of one (``vocabulary.find_command_phrase``);
2. the same after NFKC normalisation and with format characters (Unicode category Cf: soft
   hyphens, zero-width spaces and joiners) removed: they are invisible, and a speech engine
   may drop them;
3. espeak-ng's phonemes of the line against those of every command phrase: a command is heard
   when its phonemes start at the start of a word and either end with a word or run on into a
   vowel or a lone s, z, t or d sound. That is a command followed by a weak ending
   ("continu-ous", "wait-er", "weigh-ts"), which leaves the command's own sounds whole, as the
   inflections of step 1 do. A consonant cluster after it ("again-st") or a new consonant-led
   part ("help-ful", "on-to") is left alone: those are other words to a listener, and the text
   check already treats them so.

When espeak-ng cannot be loaded, steps 1 and 2 still run and ``sound_check_unavailable`` says
why the third did not.
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
from collections.abc import Sequence

from voicecoach.speech.phonemes import PhonemesUnavailable, transcribe
from voicecoach.vocabulary import PHRASES, RESERVED_WORDS, find_command_phrase

log = logging.getLogger(__name__)

#: The voice whose phonemes are compared: British English, the coach's default. Not being
#: rhotic, it merges more words with a command ("pours" is "pause") than American English does,
#: which flaps and keeps its r; over the 3,300 words of the project's texts and sources, the
#: American voice found nothing more.
VOICE = "en"

_REWORD = "the coach must never say a command; reword it"
_STRESS = str.maketrans("", "", "ˈˌ")
_VOWELS = frozenset("aeiouyæɐɑɒɔəɘɚɛɜɝɞɤɨɪɯɵɶʉʊʌʏøœᵻ")
_INFLECTIONS = frozenset({("s",), ("z",), ("t",), ("d",)})
_WORD = re.compile(r"\S+")
_PUNCTUATION = "\"'“”‘’.,;:!?()[]-–—…"

Word = tuple[str, ...]  # the phonemes of one spoken word


def visible(text: str) -> str:
    """``text`` as it is spoken: NFKC-normalised, without format characters (category Cf)."""
    if text.isascii():  # nothing to normalise or remove, and by far the usual case
        return text
    return "".join(ch for ch in unicodedata.normalize("NFKC", text) if not _is_format(ch))


def _is_format(ch: str) -> bool:
    return unicodedata.category(ch) == "Cf"


def spoken_problem(text: str) -> str | None:
    """Why ``text`` must not be spoken (it says or sounds like a command), or None if it may."""
    phrase = find_command_phrase(text)
    if phrase:
        return f"spoken text contains the command phrase '{phrase}' ({_REWORD})"
    plain = visible(text)
    phrase = find_command_phrase(plain) if plain != text else None
    if phrase:
        return f"spoken text contains the command phrase '{phrase}' {_hidden_by(text)} ({_REWORD})"
    return None if sound_check_unavailable() else _sounds_like(plain)


def _hidden_by(text: str) -> str:
    hidden = sorted({ch for ch in text if _is_format(ch)})
    if not hidden:
        return "once written in plain letters (Unicode NFKC)"
    names = ", ".join(
        f"U+{ord(ch):04X} {unicodedata.name(ch, 'FORMAT CHARACTER')}" for ch in hidden
    )
    return f"behind {names}, which cannot be seen"


@functools.cache
def sound_check_unavailable() -> str | None:
    """Why spoken text cannot be compared by sound here (espeak-ng is missing), or None."""
    try:
        transcribe("ready", VOICE)
    except PhonemesUnavailable as exc:
        log.info("spoken text is compared as text only: %s", exc)
        return str(exc)
    return None


def phoneme_words(text: str, voice: str) -> tuple[Word, ...]:
    """espeak-ng's phonemes for ``text``, per word, without stress marks."""
    spoken = transcribe(text, voice, ipa=True, separator="_").translate(_STRESS)
    words = (tuple(p for p in w.split("_") if p) for w in spoken.split())
    return tuple(w for w in words if w)


@functools.cache
def _commands(voice: str) -> dict[Word, list[tuple[str, tuple[Word, ...]]]]:
    """Command phrases and their phonemes, by their first two phonemes (as a line's words are)."""
    by_start: dict[Word, list[tuple[str, tuple[Word, ...]]]] = {}
    # Longest first, so "that hurts stop" is named rather than the "stop" inside it.
    for phrase in sorted(set(PHRASES) | RESERVED_WORDS, key=len, reverse=True):
        command = phoneme_words(phrase, voice)
        if command:
            by_start.setdefault(command[0][:2], []).append((phrase, command))
    return by_start


def _heard_at(line: Sequence[Word], i: int, command: Sequence[Word]) -> bool:
    """Whether ``command`` is heard starting at word ``i`` of ``line`` (see the module notes)."""
    *whole, last = command
    if i + len(command) > len(line) or any(line[i + j] != w for j, w in enumerate(whole)):
        return False
    word = line[i + len(whole)]
    rest = word[len(last) :]
    if word[: len(last)] != last:
        return False
    return not rest or rest in _INFLECTIONS or any(ch in _VOWELS for ch in rest[0])


def _sounds_like(plain: str) -> str | None:
    line = phoneme_words(plain, VOICE)
    commands = _commands(VOICE)
    for i, word in enumerate(line):
        for start in (word[:2], word[:1]) if len(word) > 1 else (word,):
            for phrase, command in commands.get(start, ()):
                if _heard_at(line, i, command):
                    return _explain(plain, VOICE, phrase, command, i)
    return None


def _explain(plain: str, voice: str, phrase: str, command: tuple[Word, ...], near: int) -> str:
    sound = " ".join("".join(word) for word in command)
    said = _said(plain, voice, command, near)
    if said is None:
        return f'spoken text sounds like "{phrase}" (/{sound}/ to espeak-ng; {_REWORD})'
    if phoneme_words(said, voice) == command:
        return f"'{said}' sounds like \"{phrase}\" (both /{sound}/ to espeak-ng; {_REWORD})"
    return f"'{said}' starts with the sound of \"{phrase}\" (/{sound}/ to espeak-ng; {_REWORD})"


def _said(plain: str, voice: str, command: tuple[Word, ...], near: int) -> str | None:
    """The fewest words of ``plain`` that sound like ``command`` on their own.

    Searched outwards from the ``near``-th word, where the command was heard: spoken words and
    written ones mostly pair up ("20" is one word, "twenty"), and a long line is not read whole.
    """
    words = [w.strip(_PUNCTUATION) for w in _WORD.findall(plain)]
    starts = sorted(range(len(words)), key=lambda start: abs(start - near))
    for size in range(1, len(command) + 2):
        for start in (start for start in starts if start + size <= len(words)):
            said = " ".join(words[start : start + size]).strip()
            if said and _heard_at(phoneme_words(said, voice), 0, command):
                return said
    return None
