"""Synthetic voices for training data: espeak-ng variants, flite and festival, as 16 kHz PCM."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soxr

from voicecoach.audio import SAMPLE_RATE

ESPEAK_LANGS = (
    "en",
    "en-us",
    "en-gb-scotland",
    "en-gb-x-rp",
    "en-029",
    "en-us-nyc",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
)
ESPEAK_VARIANTS = (
    "",
    "+m1",
    "+m3",
    "+m5",
    "+m7",
    "+f1",
    "+f2",
    "+f3",
    "+f4",
    "+f5",
    "+klatt",
    "+klatt4",
    "+croak",
    "+whisper",
    "+Andy",
    "+Annie",
    "+Denis",
    "+Gene",
)
FLITE_VOICES = ("kal", "kal16", "awb", "rms", "slt")
#: The coach's own voice (espeak-ng "en", default variant, rate 160): never a positive example,
#: so the spotter can learn that this voice never gives commands.
COACH_VOICE = ("espeak", "en", "", 160, 50)


@dataclass(frozen=True)
class Voice:
    """One synthetic speaker setting."""

    engine: str  # espeak | flite | festival
    name: str
    variant: str = ""
    rate: int = 160  # words per minute (espeak) or 160 x 1/stretch (flite, festival)
    pitch: int = 50

    @property
    def family(self) -> str:
        """Voices of one family sound alike (for held-out evaluation)."""
        return f"{self.engine}:{self.name}"


def _wav_pcm(data: bytes) -> np.ndarray:
    with wave.open(io.BytesIO(data)) as w:
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        rate = w.getframerate()
    return (
        np.asarray(soxr.resample(pcm, rate, SAMPLE_RATE), dtype=np.int16)
        if rate != SAMPLE_RATE
        else pcm
    )


def available_engines() -> list[str]:
    """Which synthesizers are installed."""
    return [
        e
        for e, tool in (("espeak", "espeak-ng"), ("flite", "flite"), ("festival", "text2wave"))
        if shutil.which(tool)
    ]


def espeak_env() -> dict[str, str]:
    """The environment for an espeak-ng process that renders to --stdout.

    espeak-ng starts a PulseAudio client even then, and that was measured to perturb its
    output (a different waveform on some runs, e.g. the first in a new home directory). With no
    server to look for, every run renders the same samples.
    """
    return {**os.environ, "PULSE_SERVER": "none"}


def render(voice: Voice, text: str) -> np.ndarray:
    """Speak ``text`` with ``voice``; 16 kHz int16, silence trimmed at both ends."""
    stretch = 160 / voice.rate
    if voice.engine == "espeak":
        cmd = [
            "espeak-ng",
            "-v",
            voice.name + voice.variant,
            "-s",
            str(voice.rate),
            "-p",
            str(voice.pitch),
            "--stdout",
            text,
        ]
        run = subprocess.run(cmd, capture_output=True, check=True, env=espeak_env())
        pcm = _wav_pcm(run.stdout)
    elif voice.engine == "flite":
        with tempfile.TemporaryDirectory() as d:
            out = Path(d) / "x.wav"
            cmd = [
                "flite",
                "-voice",
                voice.name,
                "--setf",
                f"duration_stretch={stretch:.2f}",
                "-t",
                text,
                "-o",
                str(out),
            ]
            subprocess.run(cmd, capture_output=True, check=True)
            pcm = _wav_pcm(out.read_bytes())
    else:
        with tempfile.TemporaryDirectory() as d:
            out = Path(d) / "x.wav"
            script = f"(Parameter.set 'Duration_Stretch {stretch:.2f})"
            subprocess.run(
                ["text2wave", "-eval", script, "-o", str(out)],
                input=text.encode(),
                capture_output=True,
                check=True,
            )
            pcm = _wav_pcm(out.read_bytes())
    loud = np.flatnonzero(np.abs(pcm.astype(np.int32)) > 300)
    return pcm[loud[0] : loud[-1] + 1] if loud.size else pcm[:0]


def voices(rng: np.random.Generator, per_family: int) -> list[Voice]:
    """A random spread of voices: every family, ``per_family`` settings each."""
    out: list[Voice] = []
    engines = available_engines()
    if "espeak" in engines:
        for lang in ESPEAK_LANGS:
            for _ in range(per_family):
                v = Voice(
                    "espeak",
                    lang,
                    str(rng.choice(ESPEAK_VARIANTS)),
                    int(rng.integers(120, 220)),
                    int(rng.integers(25, 80)),
                )
                if (v.engine, v.name, v.variant, v.rate, v.pitch) != COACH_VOICE:
                    out.append(v)
    if "flite" in engines:
        for name in FLITE_VOICES:
            for _ in range(max(1, per_family // 2)):
                out.append(Voice("flite", name, rate=int(rng.integers(120, 200))))
    if "festival" in engines:
        for _ in range(max(1, per_family // 2)):
            out.append(Voice("festival", "kal_diphone", rate=int(rng.integers(120, 200))))
    return out
