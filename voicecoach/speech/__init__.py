"""Speech: synthesis to PCM, recognizers, and the command grammar they share."""

#: The general recognizer beside the command model (``backends.choose``). ``auto``: vosk when
#: an English model is installed, otherwise none (the command model hears every command).
#: pocketsphinx is kept beside it on request: the benchmark measured it worse overall (it heard
#: more of pause, repeat and resume in one held-out voice, and made four times the false
#: commands). Kept here, not in ``backends``, so the CLI's options load no recognizer.
ASR_CHOICES = ("auto", "vosk", "pocketsphinx", "none")
