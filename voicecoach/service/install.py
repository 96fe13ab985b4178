"""What ``voicecoach service install [--user] [--dry-run]`` does, as a plan of plain steps.

Planning is separate from doing so that ``--dry-run`` prints exactly the steps that would run,
and tests can check them without root, systemd or a real system user.
"""

from __future__ import annotations

import grp
import logging
import os
import pwd
import re
import shlex
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from voicecoach import paths

log = logging.getLogger(__name__)

SERVICE_USER = "voicecoach"
AUDIO_GROUP = "audio"
UNIT_NAME = "voicecoach.service"
SYSTEM_UNIT_DIR = Path("/etc/systemd/system")
SERVICE_HOME = Path("/var/lib/voicecoach")  # the unit's StateDirectory=
# Where the unit files are: packaged beside this module when built into a wheel, else the
# repository's systemd/ folder (a source checkout or an editable install).
UNIT_SOURCES = (Path(__file__).parent / "units", Path(__file__).resolve().parents[2] / "systemd")
UNIT_TEMPLATES = {False: "voicecoach.service", True: "voicecoach-user.service"}
# The appliance unit cannot see these (ProtectHome=yes, PrivateTmp=yes).
HIDDEN_FROM_SYSTEM_UNIT = (Path("/home"), Path("/root"), Path("/run/user"), Path("/tmp"))


class InstallError(RuntimeError):
    """Installing cannot go ahead, or a step failed; the message says which and why."""


@dataclass(frozen=True)
class WriteFile:
    """Write a file atomically (temporary file, then rename) with the given mode."""

    path: Path
    content: str
    mode: int = 0o644
    note: str = ""  # the line worth showing in a dry run

    def describe(self) -> str:
        """One line for --dry-run."""
        note = f"\n       {self.note}" if self.note else ""
        return f"write {self.path} (mode {self.mode:04o}){note}"

    def run(self) -> None:
        """Write it; the old file, if any, is replaced only once the new one is complete."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(self.content)
            os.chmod(temp, self.mode)
            os.replace(temp, self.path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise


@dataclass(frozen=True)
class RunCommand:
    """Run a command; it must succeed."""

    argv: tuple[str, ...]
    why: str

    def describe(self) -> str:
        """One line for --dry-run."""
        return f"{self.why}: {shlex.join(self.argv)}"

    def run(self) -> None:
        """Run it, letting its output through; raises CalledProcessError on failure."""
        subprocess.run(self.argv, check=True, stdin=subprocess.DEVNULL)


Step = WriteFile | RunCommand


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _group_exists(name: str) -> bool:
    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True


def unit_template(user: bool) -> str:
    """The text of the system unit, or of the user unit when ``user``."""
    name = UNIT_TEMPLATES[user]
    for folder in UNIT_SOURCES:
        if (folder / name).is_file():
            return (folder / name).read_text(encoding="utf-8")
    looked = ", ".join(str(folder) for folder in UNIT_SOURCES)
    raise InstallError(f"unit file {name} not found (looked in {looked})")


def _exec_quote(arg: str) -> str:
    """Quote one ExecStart= word: systemd expands %specifiers and $VARIABLES, so escape them."""
    escaped = arg.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%").replace("$", "$$")
    return f'"{escaped}"' if escaped != arg or any(c.isspace() for c in arg) else arg


def exec_start(program: Path) -> str:
    """The ExecStart= value that runs ``voicecoach serve`` with the given program.

    ``program`` is the voicecoach script, or a Python interpreter (run as ``-m voicecoach``).
    The path is made absolute but symlinks are kept: a venv's ``python`` is a symlink, and
    resolving it would escape the venv.
    """
    program = Path(os.path.abspath(program))
    words = [str(program)]
    if program.name.startswith("python"):
        words += ["-m", "voicecoach"]
    return " ".join(_exec_quote(word) for word in [*words, "serve"])


def render_unit(template: str, program: Path) -> str:
    """The unit text with its single ExecStart= line rewritten to run ``program``."""
    pattern = re.compile(r"^ExecStart=.*$", re.MULTILINE)
    if len(pattern.findall(template)) != 1:
        raise InstallError("the unit template must have exactly one ExecStart= line")
    return pattern.sub(lambda _match: f"ExecStart={exec_start(program)}", template)


def user_unit_dir() -> Path:
    """``$XDG_CONFIG_HOME/systemd/user``: where a user's own units go."""
    return paths.config_dir().parent / "systemd" / "user"


def plan_install(
    user: bool,
    program: Path,
    *,
    unit_dir: Path | None = None,
    user_exists: Callable[[str], bool] = _user_exists,
    group_exists: Callable[[str], bool] = _group_exists,
) -> list[Step]:
    """The steps that install and start the service, in order.

    ``program`` is the voicecoach script (or the venv's Python) the unit will run. For the
    system unit a missing ``voicecoach`` user is created first (``useradd --system``, in group
    audio); for both, the unit is written, systemd reloads and the unit is enabled and started.
    """
    program = Path(os.path.abspath(program))
    if not user:
        for hidden in HIDDEN_FROM_SYSTEM_UNIT:
            if program.is_relative_to(hidden):
                raise InstallError(
                    f"{program} is under {hidden}, which the system service cannot see "
                    "(ProtectHome=, PrivateTmp=); install voicecoach system-wide first, e.g. "
                    "in /opt/voicecoach/.venv, or use --user"
                )
    target = (unit_dir or (user_unit_dir() if user else SYSTEM_UNIT_DIR)) / UNIT_NAME
    unit = render_unit(unit_template(user), program)
    steps: list[Step] = []
    if not user and not user_exists(SERVICE_USER):
        group = ["--gid", SERVICE_USER] if group_exists(SERVICE_USER) else ["--user-group"]
        useradd = (
            ["useradd", "--system", *group, "--groups", AUDIO_GROUP]
            + ["--home-dir", str(SERVICE_HOME), "--no-create-home"]
            + ["--shell", "/usr/sbin/nologin", SERVICE_USER]
        )
        steps.append(RunCommand(tuple(useradd), f"create system user {SERVICE_USER!r}"))
    steps.append(WriteFile(target, unit, note=f"ExecStart={exec_start(program)}"))
    systemctl = ("systemctl", "--user") if user else ("systemctl",)
    steps.append(RunCommand((*systemctl, "daemon-reload"), "reload systemd"))
    steps.append(RunCommand((*systemctl, "enable", "--now", UNIT_NAME), "enable and start"))
    return steps


def describe(steps: Sequence[Step]) -> str:
    """What the steps would do, numbered, for ``--dry-run``."""
    lines = ["voicecoach service install would:"]
    lines += [f"  {number}. {step.describe()}" for number, step in enumerate(steps, 1)]
    return "\n".join(lines)


def execute(steps: Sequence[Step]) -> None:
    """Carry out the steps in order, stopping at the first failure with a clear InstallError."""
    for number, step in enumerate(steps, 1):
        log.info("step %d/%d: %s", number, len(steps), step.describe())
        try:
            step.run()
        except subprocess.CalledProcessError as error:
            raise InstallError(
                f"step {number} failed: {shlex.join(map(str, error.cmd))} "
                f"exited with status {error.returncode}"
            ) from error
        except FileNotFoundError as error:
            if isinstance(step, RunCommand):
                raise InstallError(f"step {number} failed: {step.argv[0]} not found") from error
            raise InstallError(f"step {number} failed: {error}") from error
        except PermissionError as error:
            raise InstallError(
                f"step {number} failed: {error}; installing the system service needs root "
                "(sudo), or use --user"
            ) from error
        except OSError as error:
            raise InstallError(f"step {number} failed: {error}") from error
