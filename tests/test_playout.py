"""Playout logic: queueing, scheduled counts, the one-block cut, finished reports."""

from __future__ import annotations

import numpy as np

from voicecoach.audio import SAMPLE_RATE
from voicecoach.audio.playout import BLOCK, STALE_COUNT_S, Playout


def tone(n: int, value: int = 1000) -> np.ndarray:
    return np.full(n, value, dtype=np.int16)


def test_items_play_in_order_and_report_their_end_frame():
    p = Playout()
    p.play(tone(500, 1), utterance=1)
    p.play(tone(300, 2), utterance=2)
    out = p.render(1000)
    assert (out[:500] == 1).all() and (out[500:800] == 2).all() and (out[800:] == 0).all()
    assert list(p.finished) == [(1, 500), (2, 800)]
    assert p.frames == 1000 and not p.busy


def test_cut_silences_from_the_next_block_and_drops_the_queue():
    p = Playout()
    p.play(tone(SAMPLE_RATE), utterance=1)
    p.play(tone(SAMPLE_RATE), utterance=2)
    assert (p.render(BLOCK) != 0).all()
    p.cut()
    assert (p.render(BLOCK) == 0).all()  # the very next block is silent: <= 20 ms of audio
    assert not p.busy and list(p.finished) == [] and list(p.cuts) == [BLOCK]
    p.play(tone(100), utterance=3)  # what comes after the cut plays
    assert (p.render(100) != 0).all() and list(p.finished) == [(3, 2 * BLOCK + 100)]


def test_a_count_waits_for_its_frame():
    p = Playout()
    p.play(tone(50), at_frame=130)
    out = p.render(300)
    assert (out[:130] == 0).all() and (out[130:180] != 0).all() and (out[180:] == 0).all()


def test_a_stale_count_is_dropped_not_spoken_off_beat():
    p = Playout()
    p.play(tone(SAMPLE_RATE), utterance=1)  # one second of speech ...
    p.play(tone(10, 7), at_frame=0)  # ... with a count due at its start
    out = p.render(2 * SAMPLE_RATE)
    assert not (out == 7).any() and p.dropped_counts == 1
    assert STALE_COUNT_S < 1


def test_frames_to_boundary_stops_at_item_ends_and_starts():
    p = Playout()
    assert p.frames_to_boundary(320) == 320
    p.play(tone(100), utterance=1)
    assert p.frames_to_boundary(320) == 100
    p.render(100)
    p.play(tone(10), at_frame=250)
    assert p.frames_to_boundary(320) == 150
