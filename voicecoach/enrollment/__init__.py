"""Personal-voice enrollment: the user's takes of each command, checked, kept and adapted to.

``folder.py`` is where a user's voice is kept; ``takes.py`` checks one take; ``from_dir.py``
enrolls from recorded files and ``spoken.py`` by talking the user through it; ``adaptation.py``
turns good takes into the personal model (``speech/commands/personal.py``) and its status.
"""
