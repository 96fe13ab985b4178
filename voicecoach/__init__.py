"""voicecoach: an offline, voice-guided back-care exercise companion."""

__version__ = "0.1.0"
