"""Speech embeddings for the command model: one 96-d vector per 80 ms, from two small ONNX models.

The same streaming computation serves training and listening, so the classifier never sees features
computed differently from the ones it was trained on.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
CHUNK = 1280  # 80 ms at 16 kHz: one embedding per chunk
MEL_CONTEXT = 480  # samples of look-back the mel model needs to give 8 frames per chunk
WINDOW = 76  # mel frames per embedding (0.775 s)
EMBEDDING = 96


class FeatureStream:
    """Feed 16 kHz int16 audio; get an embedding for every complete 80 ms chunk."""

    def __init__(self) -> None:
        import onnxruntime as ort  # noqa: PLC0415 - only where the command model runs

        options = ort.SessionOptions()
        options.inter_op_num_threads = 1
        options.intra_op_num_threads = 1
        providers = ["CPUExecutionProvider"]
        self._mel = ort.InferenceSession(
            str(HERE / "melspectrogram.onnx"), options, providers=providers
        )
        self._emb = ort.InferenceSession(
            str(HERE / "embedding_model.onnx"), options, providers=providers
        )
        self.reset()

    def reset(self) -> None:
        """Start from silence."""
        self._raw = np.zeros(MEL_CONTEXT, np.int16)
        self._pending = np.zeros(0, np.int16)
        self._mels = np.ones((WINDOW, 32), np.float32)  # what openWakeWord starts from

    def _melspec(self, audio: np.ndarray) -> np.ndarray:
        out = self._mel.run(None, {"input": audio.astype(np.float32)[None, :]})[0]
        return np.asarray(np.squeeze(out).reshape(-1, 32) / 10 + 2)  # openWakeWord's transform

    def push(self, pcm: np.ndarray) -> list[np.ndarray]:
        """Embeddings completed by these samples (zero or more 96-d vectors)."""
        self._pending = np.concatenate([self._pending, pcm.astype(np.int16)])
        out = []
        while len(self._pending) >= CHUNK:
            chunk, self._pending = self._pending[:CHUNK], self._pending[CHUNK:]
            audio = np.concatenate([self._raw[-MEL_CONTEXT:], chunk])
            self._raw = audio
            self._mels = np.vstack([self._mels, self._melspec(audio)])[-WINDOW:]
            x = self._mels.astype(np.float32)[None, :, :, None]
            out.append(self._emb.run(None, {"input_1": x})[0].reshape(EMBEDDING))
        return out


def embed_clip(stream: FeatureStream, pcm: np.ndarray) -> np.ndarray:
    """All embeddings of a clip, from silence (n_chunks x 96)."""
    stream.reset()
    vectors = stream.push(pcm)
    return np.array(vectors, dtype=np.float32).reshape(-1, EMBEDDING)
