"""Speech: synthesis to PCM, recognizers, and the command grammar they share."""
