"""Audio: the sample format, PCM playout with an instant cut, devices, files."""

#: Everything inside voicecoach runs at one rate: synthesis is resampled once to it, the
#: microphone is opened at it, so the playback reference and the microphone line up sample for
#: sample (what echo handling and deterministic replay need).
SAMPLE_RATE = 16000
