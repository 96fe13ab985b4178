"""The pure session engine: ``step(state, event, now) -> (state, effects)``.

Nothing here does I/O, sleeps or reads a clock; time comes in as ``now`` (session seconds) and
everything the coach does goes out as effect data for a shell to carry out.
"""
