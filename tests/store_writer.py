"""Crash-test child: writes pain reports as fast as it can until it is killed.

Usage: ``python tests/store_writer.py DATA_DIR``. Prints ``ack <session_id> <rep>`` (flushed)
after each ``record_pain`` has returned, i.e. after the store says the record is durable.
"""

from __future__ import annotations

import sys
from pathlib import Path

from voicecoach.store import Store

EXERCISES = ("cat_cow", "bridge", "bird_dog", "pelvic_tilt", "knee_hug", "plank", "dead_bug")
LIMIT = 1_000_000  # a guard: the parent always kills the writer long before this


def main(data_dir: Path) -> int:
    store = Store.open(data_dir)  # recover=True: the last writer's session becomes interrupted
    session_id = store.start_session("crash-test")
    for rep in range(1, LIMIT):
        exercise = EXERCISES[rep % len(EXERCISES)]
        # Another transaction between pain reports, on an exercise that never hurts, so every
        # acknowledged pain's exercise must still read 'dropped_pain'.
        store.record_outcome(session_id, "warm_up", "done")
        store.record_pain(session_id, exercise, "left" if rep % 2 else None, rep, rep / 10)
        sys.stdout.write(f"ack {session_id} {rep}\n")
        sys.stdout.flush()
    return 3  # never killed: the parent reports this


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
