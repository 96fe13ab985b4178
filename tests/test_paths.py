"""Every path rule (paths.py): XDG places with their overrides, and what ships with voicecoach."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from voicecoach import paths
from voicecoach.routines.loader import BUILTIN_DIR
from voicecoach.service.control import default_socket_path
from voicecoach.speech.models import MODELS_DIR, search_path

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def bare_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for var in (
        "XDG_CONFIG_HOME",
        "XDG_DATA_HOME",
        "XDG_RUNTIME_DIR",
        "VOICECOACH_DATA_DIR",
        "VOICECOACH_RUNTIME_DIR",
        "RUNTIME_DIRECTORY",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


def test_config_and_data_follow_xdg_and_ignore_relative_values(bare_env, monkeypatch):
    home = bare_env
    assert paths.config_dir() == home / ".config" / "voicecoach"
    assert paths.user_routines_dir() == home / ".config" / "voicecoach" / "routines"
    assert paths.data_dir() == home / ".local" / "share" / "voicecoach"
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/config")
    monkeypatch.setenv("XDG_DATA_HOME", "relative/data")
    assert paths.config_dir() == home / ".config" / "voicecoach"
    assert paths.data_dir() == home / ".local" / "share" / "voicecoach"
    monkeypatch.setenv("XDG_CONFIG_HOME", "/etc/xdg-config")
    monkeypatch.setenv("XDG_DATA_HOME", "/srv/xdg-data")
    assert paths.config_dir() == Path("/etc/xdg-config/voicecoach")
    assert paths.data_dir() == Path("/srv/xdg-data/voicecoach")
    monkeypatch.setenv("VOICECOACH_DATA_DIR", "/var/lib/voicecoach")
    assert paths.data_dir() == Path("/var/lib/voicecoach")


def test_runtime_dir_order_of_overrides(bare_env, monkeypatch):
    assert paths.runtime_dir() == Path("/run/voicecoach")
    monkeypatch.setenv("XDG_RUNTIME_DIR", "run/user/1000")  # relative: ignored
    assert paths.runtime_dir() == Path("/run/voicecoach")
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/1000")
    assert paths.runtime_dir() == Path("/run/user/1000/voicecoach")
    monkeypatch.setenv("RUNTIME_DIRECTORY", "/run/coach:/run/other")  # systemd's: the first
    assert paths.runtime_dir() == Path("/run/coach")
    monkeypatch.setenv("VOICECOACH_RUNTIME_DIR", "/srv/vc")
    assert paths.runtime_dir() == Path("/srv/vc")
    assert default_socket_path() == Path("/srv/vc/control.sock")  # the control socket uses it


def _layout(root: Path, *, checkout: bool, packaged: bool) -> Path:
    package = root / "voicecoach"
    package.mkdir(parents=True)
    (root / "routines").mkdir()
    if checkout:
        (root / "pyproject.toml").write_text("[project]\n")
    if packaged:
        (package / "library").mkdir()
    return package


def test_shipped_folders_in_a_source_checkout_and_in_a_wheel(tmp_path: Path):
    source = _layout(tmp_path / "src", checkout=True, packaged=False)
    assert paths.source_checkout(source) == tmp_path / "src"
    assert paths.builtin_routines_dir(source) == tmp_path / "src" / "routines"
    assert paths.models_dir(source) == tmp_path / "src" / "models"

    wheel = _layout(tmp_path / "site-packages", checkout=False, packaged=True)
    assert paths.source_checkout(wheel) is None
    assert paths.builtin_routines_dir(wheel) == wheel / "library"
    # Never a folder beside the package in site-packages, where it would read as a package.
    assert paths.models_dir(wheel) == Path(sys.prefix) / "share" / "voicecoach" / "models"


def test_the_modules_use_the_rules_for_this_checkout():
    assert paths.source_checkout() == REPO
    assert BUILTIN_DIR == REPO / "routines"
    assert MODELS_DIR == REPO / "models" == paths.models_dir()
    assert REPO / "models" in search_path()
