"""``voicecoach enroll`` and what the other commands say and do about a personal voice."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from tests.enrollment_fakes import FakeAdapt, install_fake_adapt, needs_shared, stop_files
from voicecoach.cli import cli
from voicecoach.enrollment.folder import VoiceFolder
from voicecoach.speech import backends
from voicecoach.speech.recognizer import RecognizerUnavailable


@pytest.fixture
def fake_adapt(monkeypatch: pytest.MonkeyPatch) -> FakeAdapt:
    return install_fake_adapt(monkeypatch)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def takes_dir(tmp_path: Path) -> Path:
    source = tmp_path / "takes"
    (source / "stop").mkdir(parents=True)
    for f in stop_files()[:3]:
        shutil.copy(f, source / "stop" / f.name)
    (source / "stop" / "hiss.wav").write_bytes(
        (source / "stop" / stop_files()[0].name).read_bytes()[:44]
    )
    return source


@pytest.fixture
def chosen(monkeypatch: pytest.MonkeyPatch) -> list[Path | None]:
    """``choose`` replaced: what each call was given as ``personal`` (no recognizers built)."""
    calls: list[Path | None] = []

    def choose(*args: Any, personal: Path | None = None, **kwargs: Any) -> backends.Choice:
        calls.append(personal)
        return backends.Choice([], ["every command: a stand-in"])

    monkeypatch.setattr(backends, "choose", choose)
    return calls


def test_status_without_a_personal_voice(data: Path):
    code, out, _ = run("--data-dir", str(data), "enroll", "--status")
    assert (code, out) == (0, "No personal voice: the general model is used.\n")


@needs_shared
def test_from_dir_then_status_then_remove(data: Path, takes_dir: Path, fake_adapt):
    code, out, err = run("--data-dir", str(data), "enroll", "--from-dir", str(takes_dir))
    assert code == 0, err
    assert f"{takes_dir / 'stop' / 'hiss.wav'}: refused: " in err
    assert out.startswith("Enrolled 1 phrase from 3 takes")
    assert "It now hears 'stop' in 2 of 3 of your takes." in out
    voice = data / "voice"
    code, out, _ = run("--data-dir", str(data), "enroll", "--status")
    lines = out.splitlines()
    assert code == 0 and lines[0].startswith(f"Personal voice active ({voice / 'personal.npz'}")
    assert "  stop  3 takes, heard in 2 of 3 held-out takes" in lines
    assert lines[-1] == f"Files: {voice} (takes in clips/, model personal.npz)"
    code, out, _ = run("--data-dir", str(data), "enroll", "--remove")
    assert code == 0
    assert out.startswith(f"Deleted 3 takes ({voice / 'clips'}), the personal model (")
    assert sorted(voice.iterdir()) == []
    code, out, _ = run("--data-dir", str(data), "enroll", "--remove")
    assert (code, out) == (0, f"No personal voice to remove in {voice}.\n")


def test_from_dir_with_a_folder_that_is_no_phrase(data: Path, tmp_path: Path):
    (tmp_path / "takes" / "ouchh").mkdir(parents=True)
    code, out, err = run("--data-dir", str(data), "enroll", "--from-dir", str(tmp_path / "takes"))
    assert code == 1 and out == ""
    assert err.startswith(f"Error: {tmp_path / 'takes' / 'ouchh'}: 'ouchh' is not a command phrase")
    assert len(err.splitlines()) == 1


def test_spoken_enrollment_without_a_sound_card_says_how_to_use_recordings(
    data: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr("voicecoach.cli._audio_output_problem", lambda d: "No audio output.")
    code, _, err = run("--data-dir", str(data), "enroll")
    assert code == 1 and len(err.splitlines()) == 1
    assert "needs a speaker and a microphone (No audio output)" in err
    assert "voicecoach enroll --from-dir DIR" in err
    assert not data.exists()


def test_only_one_of_from_dir_status_and_remove(data: Path):
    code, _, err = run("--data-dir", str(data), "enroll", "--status", "--remove")
    assert code == 2 and "--status and --remove cannot be used together" in err


def _enrolled(data: Path, fake: Any) -> VoiceFolder:
    from voicecoach.enrollment.adaptation import adapt_and_keep

    folder = VoiceFolder(data)
    adapt_and_keep(folder, {"stop": [np.full(8000, 3, np.int16)]})
    return folder


def test_listen_uses_the_personal_voice_only_when_asked(
    data: Path, tmp_path: Path, fake_adapt, chosen
):
    folder = _enrolled(data, fake_adapt)
    recording = folder.enrolled_clips()["stop"][0]
    assert run("--data-dir", str(data), "listen", str(recording))[0] == 0
    assert run("--data-dir", str(data), "listen", "--personal", str(recording))[0] == 0
    assert chosen == [None, folder.model]


def test_listen_personal_without_one_is_an_error(data: Path, tmp_path: Path, chosen):
    recording = tmp_path / "x.wav"
    recording.write_bytes(b"")
    code, _, err = run("--data-dir", str(data), "listen", "--personal", str(recording))
    assert code == 1 and err.startswith("Error: --personal: no personal voice.")
    assert chosen == []


def test_run_listens_with_the_active_personal_voice(
    data: Path, tmp_path: Path, fake_adapt, monkeypatch
):
    folder = _enrolled(data, fake_adapt)
    given: list[Path | None] = []

    def choose(*args: Any, personal: Path | None = None, **kwargs: Any) -> backends.Choice:
        given.append(personal)
        raise RecognizerUnavailable("stand-in: nothing to listen with")

    monkeypatch.setattr(backends, "choose", choose)
    recording = folder.enrolled_clips()["stop"][0]
    out_wav = tmp_path / "out.wav"
    args = ("run", "desk-break", "--audio-in", str(recording), "--audio-out", str(out_wav))
    code, _, err = run("--data-dir", str(data), *args)
    assert code == 1 and "stand-in" in err
    assert given == [folder.model]


def test_doctor_says_whether_a_personal_voice_is_active(data: Path, fake_adapt, chosen):
    _, out, _ = run("--data-dir", str(data), "doctor")
    assert "ok  personal voice: No personal voice: the general model is used." in out
    folder = _enrolled(data, fake_adapt)
    _, out, _ = run("--data-dir", str(data), "doctor")
    assert f"ok  personal voice: Personal voice active ({folder.model}" in out
    folder.model.write_bytes(b"adapted elsewhere")
    code, out, _ = run("--data-dir", str(data), "doctor")
    line = next(line for line in out.splitlines() if "personal voice" in line)
    assert line.startswith("NO  personal voice: Personal voice not used: the personal model is")
    assert f"voicecoach --data-dir {data} enroll --from-dir {folder.clips}" in line
    assert code == 1
    assert chosen == [None, folder.model, None]


def test_spoken_enrollment_goes_to_the_running_service(data: Path, monkeypatch):
    asked: list[dict] = []

    def service_request(payload: dict, wait: bool = False) -> dict:
        asked.append(payload)
        return {"ok": True, "enrolling": True}

    monkeypatch.setattr("voicecoach.cli._service_request", service_request)
    code, out, _ = run("--data-dir", str(data), "enroll")
    assert code == 0 and asked == [{"cmd": "enroll"}]
    assert out.startswith("The voicecoach service is enrolling your voice")


def test_status_says_whether_the_service_hears_a_personal_voice(monkeypatch):
    line = "Personal voice active (/var/lib/voicecoach/voice/personal.npz)."
    monkeypatch.setattr(
        "voicecoach.cli._service_request",
        lambda payload, wait=False: {"ok": True, "state": "idle", "personal_voice": line},
    )
    code, out, _ = run("status")
    assert code == 0 and f"personal_voice: {line}\n" in out
