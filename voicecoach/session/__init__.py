"""A session on real ports: the runner, its inbox, clocks and timelines, the listener, text mode.

``build.py`` is the one place a session is wired (live, text, rendered, replayed); ``voicecoach
run`` and ``voicecoach serve`` both start theirs there. Nothing is imported here, so importing
one module does not load the audio stack.
"""
