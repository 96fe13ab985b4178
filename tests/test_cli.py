"""Every CLI command through click's CliRunner."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from voicecoach import __version__
from voicecoach.cli import cli
from voicecoach.routines.loader import BUILTIN_DIR


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout, result.stderr


def test_version():
    code, out, _ = run("--version")
    assert code == 0 and __version__ in out


def test_help_on_every_command():
    for command in [[], *[[name] for name in cli.commands]]:
        code, out, _ = run(*command, "--help")
        assert code == 0 and "Usage:" in out


#: What only hearing and speaking need: never loaded for --help.
HEAVY = ("numpy", "sounddevice", "onnxruntime", "vosk", "soxr", "ctranslate2", "pocketsphinx")


def _imported(*args: str) -> set[str]:
    """The modules ``python -m voicecoach ARGS`` imports (from -X importtime)."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "voicecoach", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [line.split("|")[-1] for line in result.stderr.splitlines() if "import time:" in line]
    return {line.strip() for line in lines[1:]}  # the first line is the header


@pytest.mark.parametrize("args", [("--help",), ("run", "--help")])
def test_help_loads_no_audio_or_speech_stack(args):
    imported = _imported(*args)
    assert "voicecoach.cli" in imported  # the measurement saw the CLI load
    heavy = sorted(m for m in imported if m.split(".")[0] in HEAVY)
    assert not heavy, f"voicecoach {' '.join(args)} loaded {heavy[:5]}"


def test_list_shows_library():
    code, out, _ = run("list")
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) >= 8
    assert any(line.startswith("pain-eased-by-sitting ") for line in lines)
    assert all(re.search(r"\d+:\d\d", line) for line in lines)


def test_list_json():
    code, out, _ = run("list", "--json")
    rows = json.loads(out)
    assert code == 0 and len(rows) >= 8
    for row in rows:
        assert {"id", "title", "tags", "duration_s"} <= set(row)
        assert isinstance(row["duration_s"], int) and row["duration_s"] > 60


def test_show_text_and_json():
    code, out, _ = run("show", "core-stability")
    assert code == 0 and "Pelvic tilt" in out and "Source:" in out
    assert "Caution: If the pain lasts more than a few weeks" in out
    code, out, _ = run("show", "core-stability", "--json")
    obj = json.loads(out)
    assert {"id", "title", "duration_s", "exercises", "cautions"} <= set(obj)
    assert any("physiotherapist" in c for c in obj["cautions"])
    tilt = next(e for e in obj["exercises"] if e["id"] == "pelvic_tilt")
    assert (tilt["hold_s"], tilt["reps"], tilt["sides"]) == (5, 5, "none")
    assert all({"id", "name", "hold_s", "reps", "sides"} <= set(e) for e in obj["exercises"])


def test_unknown_routine_suggests_close_matches():
    code, _, err = run("show", "core-stabilty")
    assert code == 1
    assert "no routine called 'core-stabilty'" in err
    assert "core-stability" in err and "voicecoach list" in err


def test_usage_error_exits_2():
    assert run("show")[0] == 2
    assert run("list", "--bogus")[0] == 2
    assert run("no-such-command")[0] == 2


def test_validate_library_is_clean():
    code, out, _ = run("validate")
    assert code == 0 and out == ""
    assert run("validate", str(BUILTIN_DIR))[0] == 0


def test_validate_missing_path_exits_1():
    code, _, err = run("validate", "/no/such/file.toml")
    assert code == 1 and "no such file" in err


def _copy_routine(tmp_path: Path, name: str = "core-stability") -> tuple[Path, list[str]]:
    src = (BUILTIN_DIR / f"{name}.toml").read_text().splitlines()
    return tmp_path / f"my-{name}.toml", src


def _line_of(lines: list[str], prefix: str) -> int:
    return next(i for i, line in enumerate(lines, 1) if line.startswith(prefix))


@pytest.mark.parametrize(
    "breakage",
    ["syntax", "unknown-key", "negative", "mistyped", "command-word"],
)
def test_broken_copies_of_a_library_routine(tmp_path: Path, breakage: str):
    path, lines = _copy_routine(tmp_path)
    if breakage == "syntax":
        n = _line_of(lines, "title")
        lines[n - 1] = lines[n - 1].replace("=", "", 1)
    elif breakage == "unknown-key":
        n = _line_of(lines, "summary")
        lines[n - 1] = lines[n - 1].replace("summary", "sumary", 1)
    elif breakage in ("negative", "mistyped"):
        n = _line_of(lines, "exercise =") + 1
        lines.insert(n - 1, "reps = -2" if breakage == "negative" else 'reps = "five"')
    else:
        n = _line_of(lines, "title")
        lines[n - 1] = 'title = "Stop and go"'
    path.write_text("\n".join(lines) + "\n")
    code, out, _ = run("validate", str(path))
    assert code == 1
    assert re.search(rf"^{re.escape(str(path))}:{n}:\d+: ", out, re.M), out
    assert "Traceback" not in out


def test_validate_empty_copy(tmp_path: Path):
    path = tmp_path / "empty.toml"
    path.write_text("")
    code, out, _ = run("validate", str(path))
    assert code == 1 and out.startswith(f"{path}:1:1: ")


def test_broken_user_routine_is_reported_and_others_still_listed(tmp_path: Path):
    (tmp_path / "mine.toml").write_text('title = "Mine"\n')
    code, out, err = run("--routines-dir", str(tmp_path), "list")
    assert code == 0 and "core-stability" in out and "mine" not in out
    assert "skipped" in err and "mine.toml" in err
    code, out, _ = run("--routines-dir", str(tmp_path), "validate")
    assert code == 1 and "mine.toml:1:1: (file): missing required key" in out


class RefusingService:
    """A control socket that refuses every caller exactly as the service refuses another user."""

    def __init__(self, folder: Path, reply: bytes) -> None:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(folder / "control.sock"))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.reply = reply
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.sendall(self.reply)

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)
        self.sock.close()


@pytest.fixture
def refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("VOICECOACH_RUNTIME_DIR", str(tmp_path / "run"))
    service = RefusingService(
        tmp_path / "run", b'{"ok": false, "error": "permission denied for uid 1000"}\n'
    )
    yield
    service.close()


@pytest.mark.parametrize(
    "command", [["status"], ["status", "--json"], ["stop"], ["run", "desk-break"]]
)
def test_a_refusing_service_is_an_error_not_a_result(refused, command: list[str]):
    code, out, err = run(*command)
    assert code == 1, (out, err)
    assert "permission denied for uid 1000" in err and "sudo" in err
    assert "state: None" not in out and "No session was running" not in out
    assert "is guiding" not in err


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('voice = "en-gb"\n', 'voice = "en-gb": voice is a section; write [voice] on a line'),
        ('audio = "pulse"\n', 'audio = "pulse": audio is a section; write [audio] on a line'),
        (
            '[[reminders]]\nat = 08:30:00\nroutine = "desk-break"\n',
            'reminders[0].at: put the time in quotes: at = "08:30"',
        ),
        (
            '[[reminders]]\nat = 8:30\nroutine = "desk-break"\n',
            'put the time in quotes: at = "08:30"',
        ),
    ],
)
def test_config_mistakes_are_one_clear_line(tmp_path: Path, body: str, message: str):
    path = tmp_path / "config.toml"
    path.write_text(body)
    code, out, err = run("--config", str(path), "list")
    assert code == 1 and out == ""
    assert err.startswith(f"Error: {path}: ") and message in err, err
    assert len(err.strip().splitlines()) == 1 and "datetime" not in err


def test_a_missing_config_file_is_an_error_not_ignored(tmp_path: Path):
    code, out, err = run("--config", str(tmp_path / "nope.toml"), "list")
    assert code == 2 and out == ""
    assert "nope.toml" in err and "does not exist" in err


@pytest.mark.parametrize("command", [["run", "desk-break"], ["say", "hello"]])
def test_audio_out_into_a_missing_folder(tmp_path: Path, command: list[str]):
    target = tmp_path / "no-such-folder" / "out.wav"
    code, out, err = run(*command, "--audio-out", str(target))
    assert code == 1
    assert err == f"Error: cannot write {target}: No such file or directory\n"
    assert not target.parent.exists()


def test_audio_out_that_cannot_be_rendered_leaves_no_file(tmp_path: Path):
    notes = tmp_path / "notes.wav"
    notes.write_text("these are not samples\n")
    out_wav = tmp_path / "out.wav"
    code, _, _ = run("run", "desk-break", "--audio-in", str(notes), "--audio-out", str(out_wav))
    assert code == 1 and not out_wav.exists()


def test_audio_in_that_is_not_a_wav_file(tmp_path: Path):
    notes = tmp_path / "notes.wav"
    notes.write_text("these are not samples\n")
    out_wav = tmp_path / "out.wav"
    code, _, err = run("run", "desk-break", "--audio-in", str(notes), "--audio-out", str(out_wav))
    assert code == 1 and err.startswith(f"Error: {notes}: not a 16-bit PCM WAV file")
    assert len(err.strip().splitlines()) == 1 and "Aborted" not in err
    assert not out_wav.exists()  # checked before anything is written


MY_PELVIC_TILT = """\
[exercises.my_pelvic_tilt]
name = "Pelvic Tilt"
position = "Lie on your back with both knees bent."
setup = ["Rest your arms by your sides."]
action = "Gently flatten your lower back into the mat."
release = "Let it go."
hold_s = 3
reps = 5
suits = ["general"]
source = "My physiotherapist"
"""


def test_show_prints_the_ids_avoid_takes(tmp_path: Path):
    code, out, _ = run("show", "core-stability")
    assert code == 0 and "Pelvic tilt (pelvic_tilt) - " in out


def test_avoid_takes_names_as_show_prints_them(tmp_path: Path):
    data = ["--data-dir", str(tmp_path / "data")]
    code, out, _ = run(*data, "avoid", "add", "pelvic TILT")
    assert code == 0 and out == "pelvic_tilt (Pelvic tilt) added to the avoid list.\n"
    code, out, _ = run(*data, "avoid", "add", "pelvic_tilt")
    assert code == 0 and out == "pelvic_tilt was already on the avoid list.\n"
    code, out, _ = run(*data, "avoid", "list", "--json")
    assert [e["exercise"] for e in json.loads(out)] == ["pelvic_tilt"]
    code, out, _ = run(*data, "avoid", "remove", "Pelvic tilt")
    assert code == 0 and out.startswith("pelvic_tilt (Pelvic tilt) removed from the avoid list")
    assert json.loads(run(*data, "avoid", "list", "--json")[1]) == []
    code, _, err = run(*data, "avoid", "add", "pelvic tlt")
    assert code == 1 and "no exercise called 'pelvic tlt'" in err
    assert "Did you mean: pelvic_tilt?" in err


def test_an_ambiguous_exercise_name_lists_the_ids(tmp_path: Path):
    routines = tmp_path / "routines"
    routines.mkdir()
    (routines / "mine.toml").write_text(MY_PELVIC_TILT)
    common = ["--routines-dir", str(routines), "--data-dir", str(tmp_path / "data")]
    code, _, err = run(*common, "avoid", "add", "Pelvic tilt")
    assert code == 1
    assert "'Pelvic tilt' names 2 exercises: my_pelvic_tilt, pelvic_tilt." in err
    assert json.loads(run(*common, "avoid", "list", "--json")[1]) == []  # nothing was added
    code, out, _ = run(*common, "avoid", "add", "my_pelvic_tilt")
    assert code == 0 and out == "my_pelvic_tilt added to the avoid list.\n"


def test_doctor_prints_every_place_it_looked_for_a_vosk_model(tmp_path: Path):
    from voicecoach.speech.models import search_path

    mine = tmp_path / "my-models"
    _, out, _ = run("doctor", "--vosk-model", str(mine))
    if "vosk not used" not in out:
        pytest.skip("a vosk model is installed here")
    for place in search_path(mine):
        assert f"\n      {place}\n" in out, out
    assert "voicecoach models download" in out


def test_devices_says_when_there_are_none(monkeypatch: pytest.MonkeyPatch):
    import sounddevice

    monkeypatch.setattr(sounddevice, "query_devices", lambda: sounddevice.DeviceList())
    code, out, _ = run("devices")
    assert code == 0 and out == "No audio devices found (PortAudio sees no sound card).\n"


def test_warnings_reach_the_terminal_as_plain_lines(tmp_path: Path):
    from voicecoach.store import Store

    with Store.open(tmp_path / "data") as store:
        store.start_session("desk-break")  # left unfinished, as a killed coach leaves it
    env = dict(os.environ, VOICECOACH_DATA_DIR=str(tmp_path / "data"), AUDIODEV="null")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "voicecoach",
            "run",
            "desk-break",
            "--text",
            "--time-scale",
            "0.002",
        ],
        input="",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "WARNING" not in done.stderr and "voicecoach.store" not in done.stderr
    assert "warning: " in done.stderr and "interrupted" in done.stderr


@pytest.mark.parametrize("command", [["history"], ["avoid", "list"]])
def test_history_says_where_the_appliance_keeps_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
):
    from voicecoach.service import install

    appliance = tmp_path / "var-lib-voicecoach"
    appliance.mkdir()
    monkeypatch.setattr(install, "SERVICE_HOME", appliance)
    code, out, err = run("--data-dir", str(tmp_path / "mine"), *command, "--json")
    assert code == 0 and json.loads(out) == []
    hint = f"sudo -u voicecoach voicecoach --data-dir {appliance} {' '.join(command)}"
    assert hint in err
    # Read as the service's user, in its own folder: no note.
    code, out, err = run("--data-dir", str(appliance), *command)
    assert code == 0 and err == ""


def test_device_index_0_is_not_replaced_by_the_config_file(tmp_path: Path):
    config = tmp_path / "config.toml"
    config.write_text('[audio]\noutput_device = "configured-speaker"\n')
    code, _, err = run("--config", str(config), "say", "hi", "--output-device", "0")
    assert "configured-speaker" not in err  # device 0 was asked for, so device 0 is used
    assert code == 0 or "No output device 0." in err, err


def test_audio_in_without_audio_out_is_a_usage_error(tmp_path: Path):
    recording = tmp_path / "me.wav"
    recording.write_bytes(b"")
    code, _, err = run("run", "desk-break", "--audio-in", str(recording))
    assert code == 2 and "--audio-in works with --audio-out" in err
