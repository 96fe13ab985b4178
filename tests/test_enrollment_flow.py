"""Enrolling from a folder of recordings, and by voice against a fake room."""

from __future__ import annotations

import shutil
import wave
from pathlib import Path

import numpy as np
import pytest

from tests.enrollment_fakes import (
    FakeAdapt,
    FakeRoom,
    install_fake_adapt,
    needs_shared,
    stop_files,
    stop_takes,
    word_takes,
)
from voicecoach.audio import SAMPLE_RATE
from voicecoach.enrollment import spoken, takes
from voicecoach.enrollment.endpoint import SpeechEnd
from voicecoach.enrollment.folder import VoiceFolder
from voicecoach.enrollment.from_dir import EnrollError, Refused, enroll_from_dir
from voicecoach.enrollment.spoken import enroll_spoken, tone_pcm
from voicecoach.speech.commands import personal
from voicecoach.vocabulary import find_command_phrase


@pytest.fixture
def fake_adapt(monkeypatch: pytest.MonkeyPatch) -> FakeAdapt:
    return install_fake_adapt(monkeypatch)


def write_wav(path: Path, pcm: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(pcm.astype("<i2").tobytes())
    return path


# -- from a folder -------------------------------------------------------------------------
@needs_shared
def test_from_dir_uses_the_good_takes_and_reports_the_others(tmp_path: Path, fake_adapt):
    source = tmp_path / "takes"
    (source / "stop").mkdir(parents=True)
    for f in stop_files()[:4]:
        shutil.copy(f, source / "stop" / f.name)
    quiet = write_wav(source / "stop" / "zz-quiet.wav", (stop_takes(1)[0] * 0.004).astype(np.int16))
    (source / "stop" / "zz-broken.wav").write_bytes(b"RIFF nonsense")
    refused: list[Refused] = []
    folder = VoiceFolder(tmp_path / "data")
    enrollment = enroll_from_dir(source, folder, refused.append)
    assert fake_adapt.calls == [{"stop": 4}]
    assert enrollment.phrases["stop"].takes == 4
    assert [r.path.name for r in refused] == ["zz-broken.wav", "zz-quiet.wav"]
    assert refused[1] == Refused(quiet, takes.QUIET)
    assert "not a 16-bit PCM WAV file" in refused[0].reason
    assert len(folder.enrolled_clips()["stop"]) == 4


@needs_shared
def test_the_kept_clips_folder_enrolls_again(tmp_path: Path, fake_adapt):
    source = tmp_path / "takes" / "stop"
    source.mkdir(parents=True)
    for f in stop_files()[:3]:
        shutil.copy(f, source / f.name)
    folder = VoiceFolder(tmp_path / "data")
    enroll_from_dir(source.parent, folder, lambda r: None)
    enroll_from_dir(folder.clips, folder, lambda r: None)
    assert fake_adapt.calls == [{"stop": 3}, {"stop": 3}]


def test_a_folder_that_is_no_phrase_is_an_error_naming_it(tmp_path: Path, fake_adapt):
    (tmp_path / "takes" / "stopp").mkdir(parents=True)
    with pytest.raises(EnrollError, match=r"stopp.*not a command phrase.*that_hurts"):
        enroll_from_dir(tmp_path / "takes", VoiceFolder(tmp_path), lambda r: None)
    assert fake_adapt.calls == []


def test_a_phrase_without_a_good_take_is_an_error_and_changes_nothing(tmp_path: Path, fake_adapt):
    write_wav(tmp_path / "takes" / "that_hurts" / "1.wav", np.zeros(SAMPLE_RATE, np.int16))
    refused: list[Refused] = []
    with pytest.raises(EnrollError, match="no good take of: that_hurts"):
        enroll_from_dir(tmp_path / "takes", VoiceFolder(tmp_path / "data"), refused.append)
    assert [r.reason for r in refused] == [takes.NO_SPEECH]
    assert fake_adapt.calls == [] and not (tmp_path / "data").exists()


def test_an_empty_or_missing_folder_is_an_error(tmp_path: Path):
    with pytest.raises(EnrollError, match="no such folder"):
        enroll_from_dir(tmp_path / "nowhere", VoiceFolder(tmp_path), lambda r: None)
    (tmp_path / "empty").mkdir()
    with pytest.raises(EnrollError, match="no phrase folders"):
        enroll_from_dir(tmp_path / "empty", VoiceFolder(tmp_path / "data"), lambda r: None)


# -- by voice ------------------------------------------------------------------------------
SILENCE = np.zeros(SAMPLE_RATE, np.int16)


@needs_shared
def test_spoken_asks_after_a_tone_and_asks_again_on_a_problem(tmp_path: Path, fake_adapt):
    good = stop_takes(2)
    room = FakeRoom([good[0], SILENCE, good[1]])
    folder = VoiceFolder(tmp_path)
    enrollment = enroll_spoken(room, folder, phrases=["stop"], takes=2, sentences=())
    assert enrollment is not None and enrollment.phrases["stop"].takes == 2
    ask = "say: " + spoken.ASK.format(phrase="stop")
    record = f"record {spoken.RECORD_S}"
    assert room.events[1:11] == [
        *(ask, "tone", record),
        *(ask, "tone", record, f"say: {takes.NO_SPEECH}"),
        *(ask, "tone", record),
    ]
    assert room.events[11:] == [
        f"say: {spoken.ADAPTING}",
        "say: It now hears 'stop' in 1 of 2 of your takes.",
        f"say: {spoken.DONE}",
    ]
    assert [len(c) for c in folder.enrolled_clips().values()] == [2]


@needs_shared
def test_spoken_moves_on_after_three_tries_and_keeps_the_phrases_it_got(tmp_path: Path, fake_adapt):
    good = stop_takes(1)
    room = FakeRoom([SILENCE] * spoken.TRIES + good)
    enrollment = enroll_spoken(
        room, VoiceFolder(tmp_path), phrases=["ouch", "stop"], takes=1, sentences=()
    )
    assert room.events.count(f"say: {spoken.GIVE_UP_TAKE}") == 1
    assert f"say: {spoken.GIVE_UP_PHRASE.format(phrase='ouch')}" in room.events
    assert enrollment is not None and list(enrollment.phrases) == ["stop"]
    assert fake_adapt.calls == [{"stop": 1}]


def test_spoken_without_any_good_take_changes_nothing(tmp_path: Path, fake_adapt):
    room = FakeRoom([SILENCE] * spoken.TRIES)
    assert (
        enroll_spoken(room, VoiceFolder(tmp_path), phrases=["stop"], takes=1, sentences=()) is None
    )
    assert room.events[-1] == f"say: {spoken.NOTHING_KEPT}"
    assert fake_adapt.calls == [] and not (tmp_path / "voice").exists()


def test_spoken_asks_for_the_enrollment_phrases_in_order_safety_first(tmp_path: Path):
    room = FakeRoom([SILENCE] * 100)
    enroll_spoken(room, VoiceFolder(tmp_path), takes=1)
    asked = [e[len("say: After the tone, say: ") : -1] for e in room.events if "After the" in e]
    assert list(dict.fromkeys(asked))[:3] == ["that hurts", "ouch", "stop"]
    assert len(asked) == len(spoken.ENROLL_PHRASES) * spoken.TRIES


@needs_shared
def test_spoken_ends_with_ordinary_sentences_that_teach_what_is_no_command(
    tmp_path: Path, fake_adapt
):
    room = FakeRoom(stop_takes(1) + word_takes("left", 2))
    sentences = personal.ORDINARY_SENTENCES[:2]
    enroll_spoken(room, VoiceFolder(tmp_path), phrases=["stop"], takes=1, sentences=sentences)
    asked = [e for e in room.events if "After the" in e]
    assert asked[1:] == [f"say: {spoken.ASK.format(phrase=s)}" for s in sentences]
    assert fake_adapt.calls == [{"stop": 1}] and fake_adapt.other == 2


def test_the_ordinary_sentences_hold_no_command():
    for sentence in personal.ORDINARY_SENTENCES:
        assert find_command_phrase(sentence) is None, sentence


def test_the_tone_is_short_and_fades_in_and_out():
    tone = tone_pcm()
    assert len(tone) == int(0.15 * SAMPLE_RATE)
    assert abs(int(tone[0])) < 300 and abs(int(tone[-1])) < 300
    assert np.abs(tone).max() > 8000
    spectrum = np.abs(np.fft.rfft(tone.astype(np.float64)))
    assert abs(np.argmax(spectrum) * SAMPLE_RATE / len(tone) - 880) < 10


@needs_shared
def test_a_recording_may_stop_once_speech_is_followed_by_quiet():
    take = stop_takes(1)[0]
    background = take[:1600]  # the recording's own room, before the word
    stream = np.concatenate([take, np.tile(background, 10)])
    end = SpeechEnd()
    stopped_at = None
    for start in range(0, len(stream), 320):
        if end.push(stream[start : start + 320]):
            stopped_at = start + 320
            break
    assert stopped_at is not None
    assert len(take) <= stopped_at <= len(take) + int(0.8 * SAMPLE_RATE)
    quiet_only = SpeechEnd()
    assert not any(quiet_only.push(np.tile(background, 2)) for _ in range(20))
