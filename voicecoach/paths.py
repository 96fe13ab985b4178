"""Where voicecoach keeps things: XDG base directories, with overrides.

Only the environment and the home directory are read here; the CLI turns them into ``Settings``
once and passes those down.
"""

from __future__ import annotations

import os
from pathlib import Path

APP = "voicecoach"


def _xdg(var: str, default: str) -> Path:
    value = os.environ.get(var, "")
    # The XDG spec says relative paths are invalid and must be ignored.
    return Path(value) if value and os.path.isabs(value) else Path.home() / default


def config_dir() -> Path:
    """``$XDG_CONFIG_HOME/voicecoach`` (``~/.config/voicecoach``)."""
    return _xdg("XDG_CONFIG_HOME", ".config") / APP


def user_routines_dir() -> Path:
    """Where the user's own routine files live."""
    return config_dir() / "routines"


def data_dir() -> Path:
    """``$VOICECOACH_DATA_DIR``, else ``$XDG_DATA_HOME/voicecoach`` (``~/.local/share/...``)."""
    override = os.environ.get("VOICECOACH_DATA_DIR")
    return Path(override) if override else _xdg("XDG_DATA_HOME", ".local/share") / APP
