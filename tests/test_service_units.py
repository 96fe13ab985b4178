"""The unit files: they parse, systemd accepts them, the sandbox holds; the install plan."""

from __future__ import annotations

import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from voicecoach.service.install import (
    InstallError,
    RunCommand,
    Step,
    WriteFile,
    describe,
    exec_start,
    execute,
    plan_install,
    render_unit,
    unit_template,
)

REPO = Path(__file__).resolve().parent.parent
SYSTEM_UNIT = REPO / "systemd" / "voicecoach.service"
USER_UNIT = REPO / "systemd" / "voicecoach-user.service"
ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed")
MAX_EXPOSURE = 1.5


def parse_unit(text: str) -> dict[str, dict[str, list[str]]]:
    """Sections of key -> every value given (systemd allows a key more than once)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None and "=" in line, f"line {number}: {raw!r}"
        key, value = line.split("=", 1)
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def settings(path: Path) -> dict[str, dict[str, str]]:
    """The last value of each key, per section (what systemd uses for single-valued keys)."""
    return {
        name: {key: values[-1] for key, values in section.items()}
        for name, section in parse_unit(path.read_text()).items()
    }


def fake_program(tmp_path: Path) -> Path:
    """An existing executable in a folder whose name needs ExecStart= quoting and escaping."""
    folder = tmp_path / "my venv 100%" / "bin"
    folder.mkdir(parents=True)
    program = folder / "voicecoach"
    program.symlink_to(shutil.which("true") or "/bin/true")
    return program


def verify(unit_text: str, tmp_path: Path, *, user: bool) -> subprocess.CompletedProcess[str]:
    unit = tmp_path / "units" / "voicecoach.service"
    unit.parent.mkdir(exist_ok=True)
    unit.write_text(unit_text)
    runtime = tmp_path / "runtime"  # a user manager needs $XDG_RUNTIME_DIR, even to verify
    runtime.mkdir(mode=0o700, exist_ok=True)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_RUNTIME_DIR": str(runtime)}
    argv = [str(ANALYZE), *(["--user"] if user else []), "verify", str(unit)]
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)


def test_system_unit_settings() -> None:
    unit = settings(SYSTEM_UNIT)
    service = unit["Service"]
    expected = {
        "Type": "notify",
        "NotifyAccess": "main",
        "User": "voicecoach",
        "Group": "voicecoach",
        "SupplementaryGroups": "audio",
        "DynamicUser": "no",
        "StateDirectory": "voicecoach",
        "RuntimeDirectory": "voicecoach",
        "RuntimeDirectoryMode": "0750",
        "WatchdogSec": "30",
        "Restart": "on-failure",
        "TimeoutStopSec": "10",
        "KillSignal": "SIGTERM",
        "DevicePolicy": "closed",
        "DeviceAllow": "char-alsa rw",
        "PrivateNetwork": "yes",
        "RestrictAddressFamilies": "AF_UNIX",
        "IPAddressDeny": "any",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "CapabilityBoundingSet": "",
        "AmbientCapabilities": "",
        "ProtectProc": "invisible",
        "ProcSubset": "pid",
        "UMask": "0077",
        "RemoveIPC": "yes",
        "KeyringMode": "private",
    }
    assert {key: service.get(key) for key in expected} == expected
    assert service["ExecStart"] == "/opt/voicecoach/.venv/bin/voicecoach serve"
    environment = parse_unit(SYSTEM_UNIT.read_text())["Service"]["Environment"]
    assert "VOICECOACH_DATA_DIR=%S/voicecoach" in environment
    assert int(unit["Unit"]["StartLimitBurst"]) >= 1
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_user_unit_settings() -> None:
    unit = settings(USER_UNIT)
    assert unit["Service"]["Type"] == "notify"
    assert unit["Service"]["WatchdogSec"] == "30"
    assert unit["Service"]["RestrictAddressFamilies"] == "AF_UNIX"  # the sound server socket
    assert "User" not in unit["Service"]
    assert "ProtectHome" not in unit["Service"]  # would hide ~/.local/share/voicecoach
    assert set(unit["Unit"]["After"].split()) == {"pipewire-pulse.service", "pulseaudio.service"}
    assert unit["Install"]["WantedBy"] == "default.target"


@needs_analyze
@pytest.mark.parametrize("user", [False, True], ids=["system", "user"])
def test_systemd_analyze_verify(tmp_path: Path, user: bool) -> None:
    # ExecStart= must name an existing executable for verify to pass: render the unit the
    # way the installer does, for a real program in an awkwardly named folder.
    text = render_unit(unit_template(user), fake_program(tmp_path))
    done = verify(text, tmp_path, user=user)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr.strip() == ""


@needs_analyze
def test_verify_would_catch_a_broken_exec_start(tmp_path: Path) -> None:
    text = render_unit(unit_template(False), tmp_path / "missing" / "voicecoach")
    done = verify(text, tmp_path, user=False)
    assert done.returncode != 0
    assert "not executable" in done.stderr


@needs_analyze
def test_system_unit_exposure() -> None:
    argv = [str(ANALYZE), "security", "--offline=true", "--threshold=15", str(SYSTEM_UNIT)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", done.stdout)
    assert found, done.stdout
    assert float(found.group(1)) <= MAX_EXPOSURE, done.stdout


def test_packaged_templates_are_the_repository_units() -> None:
    assert unit_template(False) == SYSTEM_UNIT.read_text()
    assert unit_template(True) == USER_UNIT.read_text()


def test_exec_start_quoting() -> None:
    assert exec_start(Path("/opt/voicecoach/.venv/bin/voicecoach")) == (
        "/opt/voicecoach/.venv/bin/voicecoach serve"
    )
    assert exec_start(Path("/opt/vc/bin/python3")) == "/opt/vc/bin/python3 -m voicecoach serve"
    assert exec_start(Path("/opt/a b/$x%y/voicecoach")) == '"/opt/a b/$$x%%y/voicecoach" serve'


def test_render_keeps_everything_but_exec_start() -> None:
    template = unit_template(False)
    rendered = render_unit(template, Path("/srv/vc/bin/voicecoach"))
    assert "ExecStart=/srv/vc/bin/voicecoach serve" in rendered
    changed = [
        (a, b) for a, b in zip(template.splitlines(), rendered.splitlines(), strict=True) if a != b
    ]
    assert len(changed) == 1
    with pytest.raises(InstallError, match="exactly one ExecStart"):
        render_unit("[Service]\n", Path("/x"))


def test_system_dry_run_describes_every_step() -> None:
    program = Path("/opt/voicecoach/.venv/bin/voicecoach")
    steps = plan_install(False, program, user_exists=lambda _name: False)
    text = describe(steps)
    assert "/etc/systemd/system/voicecoach.service" in text
    assert "ExecStart=/opt/voicecoach/.venv/bin/voicecoach serve" in text
    assert "useradd --system --user-group --groups audio" in text
    assert "systemctl daemon-reload" in text
    assert "systemctl enable --now voicecoach.service" in text
    assert [type(step) for step in steps] == [RunCommand, WriteFile, RunCommand, RunCommand]
    unit = steps[1]
    assert isinstance(unit, WriteFile)
    assert "ExecStart=/opt/voicecoach/.venv/bin/voicecoach serve" in unit.content


def test_existing_user_or_group_is_reused() -> None:
    program = Path("/opt/voicecoach/.venv/bin/voicecoach")
    steps = plan_install(False, program, user_exists=lambda _name: True)
    assert "useradd" not in describe(steps)
    steps = plan_install(
        False, program, user_exists=lambda _name: False, group_exists=lambda _name: True
    )
    assert "useradd --system --gid voicecoach --groups audio" in describe(steps)


def test_user_dry_run(isolated_home: Path) -> None:
    program = isolated_home / ".local" / "bin" / "voicecoach"
    text = describe(plan_install(True, program))
    target = isolated_home / ".config" / "systemd" / "user" / "voicecoach.service"
    assert str(target) in text
    assert f"ExecStart={program} serve" in text
    assert "systemctl --user daemon-reload" in text
    assert "systemctl --user enable --now voicecoach.service" in text
    assert "useradd" not in text


def test_system_install_refuses_a_program_the_sandbox_cannot_see() -> None:
    with pytest.raises(InstallError, match="ProtectHome"):
        plan_install(False, Path("/home/pi/venv/bin/voicecoach"), user_exists=lambda _n: True)


def test_execute_writes_atomically_and_stops_at_a_failure(tmp_path: Path) -> None:
    target = tmp_path / "units" / "voicecoach.service"
    steps: list[Step] = [
        WriteFile(target, "[Unit]\n"),
        RunCommand(("false",), "fail on purpose"),
        WriteFile(tmp_path / "never", ""),
    ]
    with pytest.raises(InstallError, match="step 2 failed: false exited with status 1"):
        execute(steps)
    assert target.read_text() == "[Unit]\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert sorted(p.name for p in target.parent.iterdir()) == ["voicecoach.service"]
    assert not (tmp_path / "never").exists()
    with pytest.raises(InstallError, match="no-such-tool not found"):
        execute([RunCommand(("no-such-tool",), "missing")])
