"""The voice folder: private, atomic, and ``remove`` deletes only what enrollment made."""

from __future__ import annotations

import json
import stat
import wave
from pathlib import Path

import numpy as np
import pytest

from tests.enrollment_fakes import FakeAdapt, install_fake_adapt
from voicecoach.enrollment.adaptation import adapt_and_keep, recall_sentences
from voicecoach.enrollment.folder import VoiceFolder


@pytest.fixture
def fake_adapt(monkeypatch: pytest.MonkeyPatch) -> FakeAdapt:
    return install_fake_adapt(monkeypatch)


def clip(seconds: float, value: int) -> np.ndarray:
    return np.full(int(seconds * 16000), value, np.int16)


def test_takes_are_kept_as_16k_mono_wavs_in_a_private_folder(tmp_path: Path):
    folder = VoiceFolder(tmp_path / "data")
    folder.save_takes({"that hurts": [clip(0.5, 7), clip(0.25, -3)], "stop": [clip(0.1, 1)]})
    assert stat.S_IMODE(folder.path.stat().st_mode) == 0o700
    kept = folder.enrolled_clips()
    assert kept == {
        "stop": [folder.clips / "stop" / "1.wav"],
        "that hurts": [
            folder.clips / "that_hurts" / "1.wav",
            folder.clips / "that_hurts" / "2.wav",
        ],
    }
    with wave.open(str(kept["that hurts"][1]), "rb") as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (16000, 1, 2)
        assert np.array_equal(np.frombuffer(w.readframes(w.getnframes()), "<i2"), clip(0.25, -3))
    assert stat.S_IMODE(kept["stop"][0].stat().st_mode) & 0o077 == 0


def test_new_takes_replace_the_old_ones_and_leave_no_temporary_files(tmp_path: Path):
    folder = VoiceFolder(tmp_path)
    folder.save_takes({"stop": [clip(0.1, 1)] * 3, "next": [clip(0.1, 2)]})
    folder.save_takes({"stop": [clip(0.1, 5)]})
    assert folder.enrolled_clips() == {"stop": [folder.clips / "stop" / "1.wav"]}
    assert sorted(p.name for p in folder.path.iterdir()) == ["clips"]


def test_an_existing_folder_is_made_private(tmp_path: Path):
    (tmp_path / "voice").mkdir(mode=0o755)
    VoiceFolder(tmp_path).create()
    assert stat.S_IMODE((tmp_path / "voice").stat().st_mode) == 0o700


def test_adapting_keeps_clips_model_and_status(tmp_path: Path, fake_adapt):
    folder = VoiceFolder(tmp_path)
    enrollment = adapt_and_keep(folder, {"ouch": [clip(0.2, 3)] * 4, "stop": [clip(0.2, 4)] * 2})
    assert fake_adapt.calls == [{"ouch": 4, "stop": 2}]
    assert folder.active_model() == folder.model
    status = json.loads(folder.status_file.read_text())
    assert status["phrases"] == {
        "ouch": {"takes": 4, "heard": 3, "trials": 4},
        "stop": {"takes": 2, "heard": 1, "trials": 2},
    }
    assert status["seconds"] == 0.5 and status["when"][:2] == "20"
    assert folder.status() == enrollment
    assert recall_sentences(enrollment) == [
        "It now hears 'ouch' in 3 of 4 of your takes.",
        "It now hears 'stop' in 1 of 2 of your takes.",
    ]
    assert sorted(p.name for p in folder.path.iterdir()) == [
        "clips",
        "enrollment.json",
        "personal.npz",
    ]


def test_a_failed_adaptation_leaves_the_previous_enrollment_whole(
    tmp_path: Path, fake_adapt, monkeypatch
):
    folder = VoiceFolder(tmp_path)
    adapt_and_keep(folder, {"stop": [clip(0.2, 4)]})
    before = {p: p.read_bytes() for p in folder.path.rglob("*") if p.is_file()}

    def failing(takes, out, *, other=(), seed=0):
        out.write_bytes(b"half a model")
        raise ValueError("no takes of 'ouch'")

    monkeypatch.setattr("voicecoach.speech.commands.personal.adapt", failing)
    with pytest.raises(ValueError, match="no takes"):
        adapt_and_keep(folder, {"ouch": []})
    after = {p: p.read_bytes() for p in folder.path.rglob("*") if p.is_file()}
    assert after == before


def test_no_model_or_a_damaged_one_is_not_active(tmp_path: Path, fake_adapt):
    folder = VoiceFolder(tmp_path)
    assert folder.active_model() is None and folder.model_problem() == "no personal voice"
    folder.create()
    folder.model.write_bytes(b"not a model")
    assert folder.active_model() is None
    assert folder.model_problem() == "the personal model is damaged"


def test_a_damaged_status_file_reads_as_none(tmp_path: Path):
    folder = VoiceFolder(tmp_path)
    folder.create()
    folder.status_file.write_text('{"phrases": ')
    assert folder.status() is None


def test_remove_deletes_clips_model_and_status_and_nothing_else(tmp_path: Path, fake_adapt):
    folder = VoiceFolder(tmp_path)
    adapt_and_keep(folder, {"stop": [clip(0.2, 4)] * 2})
    (tmp_path / "voicecoach.db").write_text("history")
    (folder.path / "notes.txt").write_text("mine")
    (folder.path / ".clips-new-x").mkdir()  # what an interrupted write left
    assert folder.remove() == [folder.clips, folder.model, folder.status_file]
    assert sorted(p.name for p in folder.path.iterdir()) == ["notes.txt"]
    assert (tmp_path / "voicecoach.db").read_text() == "history"
    assert folder.remove() == []
