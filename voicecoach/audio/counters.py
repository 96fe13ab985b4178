"""What the audio callbacks counted (dropped and flagged blocks), for ``status`` and the log.

The callbacks only count; these numbers are how a user or a maintainer sees that a slow machine
dropped microphone audio or that the speaker underflowed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

log = logging.getLogger(__name__)

#: Every counter, so a reply always has the same keys (zero for a device that is not open).
KEYS = ("mic_blocks", "mic_dropped", "mic_flagged", "mic_reopened", "output_flagged")


def combined(*parts: Mapping[str, int]) -> dict[str, int]:
    """The devices' counters in one mapping with every key."""
    counters = dict.fromkeys(KEYS, 0)
    for part in parts:
        counters.update(part)
    return counters


def summary(counters: Mapping[str, int]) -> str:
    """One line: what the microphone and the speaker counted."""
    c = combined(counters)
    return (
        f"microphone: {c['mic_blocks']} blocks heard, {c['mic_dropped']} dropped (listener "
        f"behind), {c['mic_flagged']} flagged by the device, reopened {c['mic_reopened']} times; "
        f"speaker: {c['output_flagged']} blocks flagged by the device"
    )


def log_session_end(counters: Mapping[str, int]) -> None:
    """Log the session's counters: a warning when audio was dropped or flagged."""
    c = combined(counters)
    troubled = c["mic_dropped"] or c["mic_flagged"] or c["output_flagged"]
    log.log(logging.WARNING if troubled else logging.INFO, "audio this session: %s", summary(c))
