"""The one back-off rule, used for the speaker (service) and the microphone."""

from __future__ import annotations

import pytest

from voicecoach.backoff import Backoff


def test_each_failure_waits_the_next_delay_and_the_last_repeats():
    backoff = Backoff((1, 2, 4))
    assert backoff.due(0.0)
    waits = []
    now = 0.0
    for _ in range(5):
        waits.append(backoff.failed(now))
        assert not backoff.due(now) and backoff.due(now + waits[-1])
        now += waits[-1]
    assert waits == [1, 2, 4, 4, 4]
    assert backoff.failures == 5


def test_a_floor_and_a_fresh_start():
    backoff = Backoff((0.5, 8.0))
    assert backoff.failed(10.0, at_least=1.0) == 1.0 and backoff.next_try == 11.0
    assert backoff.failed(11.0, at_least=1.0) == 8.0
    backoff.reset()  # a success: the next failure waits the first delay again
    assert backoff.failures == 0 and backoff.next_try == 19.0
    backoff.reset(next_try=20.0)  # a new loss: try at once
    assert backoff.due(20.0) and backoff.failed(20.0) == 0.5


def test_an_empty_schedule_is_refused():
    with pytest.raises(ValueError, match="at least one delay"):
        Backoff(())
