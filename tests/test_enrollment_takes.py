"""Checks on one enrollment take: real recordings pass, spoilt copies of them are refused."""

from __future__ import annotations

import numpy as np
import pytest

from tests.enrollment_fakes import needs_shared, stop_takes
from voicecoach.audio import SAMPLE_RATE
from voicecoach.enrollment import takes
from voicecoach.enrollment.takes import FRAME, TakeChecker, level_problem

pytestmark = needs_shared


@pytest.fixture(scope="module")
def checker() -> TakeChecker:
    return TakeChecker()


@pytest.fixture(scope="module")
def recordings() -> list[np.ndarray]:
    return stop_takes()


def int16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def loudest_frame(pcm: np.ndarray) -> int:
    """The sample at the middle of the loudest 20 ms."""
    n = len(pcm) // FRAME
    energy = (pcm[: n * FRAME].astype(np.float64).reshape(n, FRAME) ** 2).mean(axis=1)
    return int(np.argmax(energy)) * FRAME + FRAME // 2


def test_every_real_take_passes(checker, recordings):
    assert len(recordings) >= 30
    assert [checker.problem(pcm, "stop") for pcm in recordings] == [None] * len(recordings)


def test_a_quieter_take_within_the_trained_range_passes(checker, recordings):
    assert checker.problem(int16(recordings[0] * 10 ** (-20 / 20)), "stop") is None


def test_an_attenuated_take_is_too_quiet(recordings):
    for pcm in recordings[:10]:
        assert level_problem(int16(pcm * 10 ** (-45 / 20))) == takes.QUIET


def test_a_clipped_take_is_too_loud(recordings):
    for pcm in recordings[:10]:
        assert level_problem(int16(pcm.astype(np.float64) * 8)) == takes.CLIPPED


def test_noise_as_loud_as_the_take_is_too_noisy(recordings):
    rng = np.random.default_rng(1)
    for pcm in recordings[:10]:
        x = pcm.astype(np.float64)
        noise = rng.standard_normal(len(x)) * np.sqrt(np.mean(x**2))
        assert level_problem(int16(x + noise)) == takes.NOISY


def test_silence_and_steady_noise_hold_no_speech(recordings):
    rng = np.random.default_rng(2)
    assert level_problem(np.zeros(2 * SAMPLE_RATE, np.int16)) == takes.NO_SPEECH
    assert level_problem(int16(rng.standard_normal(2 * SAMPLE_RATE) * 300)) == takes.NO_SPEECH
    assert level_problem(np.zeros(10, np.int16)) == takes.NO_SPEECH  # shorter than a frame


def test_a_take_cut_inside_the_word_is_cut_off(recordings):
    for pcm in recordings[:10]:
        middle = loudest_frame(pcm)
        assert level_problem(pcm[:middle]) == takes.CUT_END
        assert level_problem(pcm[middle:]) == takes.CUT_START


def test_a_take_the_general_model_hears_as_another_command_is_refused(checker, recordings):
    # The general model hears most of these "stop"s: as takes of "next" they are refused.
    refused = [checker.problem(pcm, "next") for pcm in recordings[:10]]
    said = takes.heard_as("stop", "next")
    assert said in refused
    assert set(refused) <= {said, None}


def test_not_being_heard_by_the_general_model_is_fine(checker):
    # A clear, well-placed sound the general model hears as nothing: a vowel-like buzz.
    t = np.arange(int(0.5 * SAMPLE_RATE)) / SAMPLE_RATE
    buzz = np.sin(2 * np.pi * 140 * t) + 0.5 * np.sin(2 * np.pi * 280 * t)
    pad = np.zeros(SAMPLE_RATE // 2)
    take = int16(np.concatenate([pad, buzz * 8000 * np.hanning(len(t)), pad]))
    assert checker.heard_instead(take, "ouch") is None
    assert checker.problem(take, "ouch") is None
