"""The optional config file, ``~/.config/voicecoach/config.toml``.

```toml
[voice]
name = "en-gb"      # an espeak-ng voice (voicecoach voices)
rate = 160          # words per minute, 80-450
volume = 100        # 0-200

[audio]
output_device = "pulse"   # a name fragment or an index (voicecoach devices)
input_device = "pulse"

[session]
checkin = true      # ask for a pain score, 0 to 10, before and after the exercises
effort = true       # ask "easy, fine or hard?" after each exercise (it sets the next dose)

[[reminders]]             # voicecoach serve announces these, then waits for "start"
at = "08:30"              # local time, 24-hour
routine = "morning-mobility"
```
Command-line options override it.
"""

from __future__ import annotations

import datetime
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """The config file is unreadable or has a wrong value."""


@dataclass(frozen=True)
class VoiceSettings:
    """How the coach sounds (``speech.tts`` speaks with it; kept here, where no numpy loads)."""

    voice: str = "en"  # an espeak-ng voice name or language, see ``voicecoach voices``
    rate: int = 160  # words per minute (espeak-ng's default is 175; a little slower is calmer)
    volume: int = 100  # 0-200, espeak-ng's amplitude scale


@dataclass(frozen=True)
class AudioSettings:
    """Which devices to use (None: the system default)."""

    output_device: int | str | None = None
    input_device: int | str | None = None


@dataclass(frozen=True)
class SessionSettings:
    """Which questions the coach asks in a session (both on unless turned off)."""

    checkin: bool = True
    effort: bool = True


@dataclass(frozen=True)
class Reminder:
    """Announce ``routine`` every day at ``hour``:``minute`` (local time)."""

    hour: int
    minute: int
    routine: str


@dataclass(frozen=True)
class FileConfig:
    """What the config file says."""

    voice: VoiceSettings = field(default_factory=VoiceSettings)
    audio: AudioSettings = field(default_factory=AudioSettings)
    reminders: tuple[Reminder, ...] = ()
    session: SessionSettings = field(default_factory=SessionSettings)


_LIMITS = {"rate": (80, 450), "volume": (0, 200)}


def _device(value: Any, where: str) -> int | str:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ConfigError(f"{where}: expected a device name or index")
    return value


def load(path: Path) -> FileConfig:
    """Read ``path``; a missing file is the defaults."""
    if not path.exists():
        return FileConfig()
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}{_unquoted_time(text, str(exc))}") from exc
    unknown = set(data) - {"voice", "audio", "reminders", "session"}
    if unknown:
        raise ConfigError(f"{path}: unknown section(s): {', '.join(sorted(unknown))}")
    voice = VoiceSettings()
    for key, value in _table(data, "voice", "name", path).items():
        where = f"{path}: voice.{key}"
        if key == "name" and isinstance(value, str) and value:
            voice = replace(voice, voice=value)
        elif key in _LIMITS and isinstance(value, int) and not isinstance(value, bool):
            low, high = _LIMITS[key]
            if not low <= value <= high:
                raise ConfigError(f"{where}: {value} is out of range ({low} to {high})")
            voice = replace(voice, rate=value) if key == "rate" else replace(voice, volume=value)
        else:
            raise ConfigError(f"{where}: unknown key or wrong type")
    audio = AudioSettings()
    for key, value in _table(data, "audio", "output_device", path).items():
        if key not in ("output_device", "input_device"):
            raise ConfigError(f"{path}: audio.{key}: unknown key")
        audio = replace(audio, **{key: _device(value, f"{path}: audio.{key}")})
    session = SessionSettings()
    for key, value in _table(data, "session", "checkin", path).items():
        if key not in ("checkin", "effort") or not isinstance(value, bool):
            raise ConfigError(f"{path}: session.{key}: unknown key, or not true or false")
        session = replace(session, **{key: value})
    return FileConfig(voice, audio, _reminders(data.get("reminders", []), path), session)


def _unquoted_time(text: str, error: str) -> str:
    """A hint when the line in error holds a time without quotes (``at = 8:30``)."""
    where = re.search(r"at line (\d+)", error)
    lines = text.splitlines()
    if where is None or not 0 < int(where.group(1)) <= len(lines):
        return ""
    line = lines[int(where.group(1)) - 1]
    time = re.fullmatch(r"\s*(\w+)\s*=\s*(\d{1,2}:\d{2})\s*(#.*)?", line)
    if time is None:
        return ""
    return f'; put the time in quotes: {time.group(1)} = "{time.group(2).zfill(5)}"'


def _table(data: dict[str, Any], name: str, example: str, path: Path) -> dict[str, Any]:
    """The ``[name]`` section; a plain value there (``voice = "en-gb"``) is a clear error."""
    table = data.get(name, {})
    if not isinstance(table, dict):
        raise ConfigError(
            f"{path}: {name} = {_toml(table)}: {name} is a section; write [{name}] on a line "
            f"of its own and the settings under it, for example {example} = {_toml(table)}"
        )
    return table


def _toml(value: Any) -> str:
    """``value`` roughly as it was written in the file."""
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _reminders(entries: Any, path: Path) -> tuple[Reminder, ...]:
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: reminders: expected [[reminders]] tables")
    out = []
    for i, entry in enumerate(entries):
        where = f"{path}: reminders[{i}]"
        if not isinstance(entry, dict) or set(entry) != {"at", "routine"}:
            raise ConfigError(f"{where}: expected exactly the keys at and routine")
        at, routine = entry["at"], entry["routine"]
        if isinstance(at, datetime.time):  # at = 08:30 is a TOML time: the quotes are needed
            raise ConfigError(f'{where}.at: put the time in quotes: at = "{at:%H:%M}"')
        match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", at) if isinstance(at, str) else None
        if match is None:
            raise ConfigError(f'{where}.at: expected a time like "08:30", got {at!r}')
        if not isinstance(routine, str) or not routine:
            raise ConfigError(f"{where}.routine: expected a routine name")
        out.append(Reminder(int(match.group(1)), int(match.group(2)), routine))
    return tuple(out)
