"""Where voicecoach keeps and finds things: every path rule, in one place.

The user's places follow the XDG base directories, with voicecoach's own overrides
(``$VOICECOACH_DATA_DIR``, ``$VOICECOACH_RUNTIME_DIR``). What ships with voicecoach (the
built-in routines) sits at the top of a source checkout, and inside the
package in a wheel. Only the environment, the home directory and the package's own location
are read here; the CLI turns them into ``Settings`` once and passes those down.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP = "voicecoach"

#: The ``voicecoach`` package folder.
PACKAGE = Path(__file__).resolve().parent


def _absolute(value: str) -> Path | None:
    # The XDG spec says relative paths are invalid and must be ignored; so are ours.
    return Path(value) if value and os.path.isabs(value) else None


def _xdg(var: str, default: str) -> Path:
    return _absolute(os.environ.get(var, "")) or Path.home() / default


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


def runtime_dir() -> Path:
    """Where the service's control socket lives.

    ``$VOICECOACH_RUNTIME_DIR``, else ``$RUNTIME_DIRECTORY`` (set by systemd's RuntimeDirectory=,
    colon-separated when several: the first), else ``$XDG_RUNTIME_DIR/voicecoach``, else
    ``/run/voicecoach`` (where the system unit's RuntimeDirectory= puts it); relative values
    are ignored.
    """
    for var in ("VOICECOACH_RUNTIME_DIR", "RUNTIME_DIRECTORY"):
        first = _absolute(os.environ.get(var, "").split(":")[0])
        if first is not None:
            return first
    xdg = _absolute(os.environ.get("XDG_RUNTIME_DIR", ""))
    return (xdg or Path("/run")) / APP


def source_checkout(package: Path = PACKAGE) -> Path | None:
    """The top of the source checkout voicecoach runs from; None when it is installed."""
    top = package.parent
    return top if (top / "pyproject.toml").is_file() else None


def _shipped(package: Path, inside: str, top_level: str) -> Path:
    # A wheel carries the folder inside the package (pyproject.toml's force-include); a
    # source checkout has it at the top level, where people edit it.
    packaged = package / inside
    return packaged if packaged.is_dir() else package.parent / top_level


def builtin_routines_dir(package: Path = PACKAGE) -> Path:
    """The built-in routine library: ``voicecoach/library`` in a wheel, ``routines/`` in source."""
    return _shipped(package, "library", "routines")


def models_dir(package: Path = PACKAGE) -> Path:
    """Where downloaded vosk models go (and are looked for first, after the explicit places).

    ``models/`` in a source checkout; installed, ``share/voicecoach/models`` under the Python
    environment's prefix (shared by every user of that environment, and never a folder in
    site-packages, where it would read as a package).
    """
    top = source_checkout(package)
    return top / "models" if top is not None else Path(sys.prefix) / "share" / APP / "models"
