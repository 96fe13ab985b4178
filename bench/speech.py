"""Speech benchmark: recall, false commands, barge-in, latency and cost, per recognizer.

Run from the repository root after ``scripts/test`` (or ``scripts/setup.sh --test``):
``.venv/bin/python bench/speech.py``. It reads the shared recordings in ``../shared/data/speech``
(Speech Commands, CC BY 4.0; Hi-Fi TTS sentences, CC BY 4.0) and writes its tables into
docs/benchmarks.md. Deterministic: fixed seeds, file-rendered coach sessions.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._report import write_section  # noqa: E402
from tests.scenes import (
    SHARED_MISSING,
    add_noise,
    clips,
    manifest,
    rms,
    scale_to,
    speech_sentences,
    trim,
)  # noqa: E402
from voicecoach.audio import SAMPLE_RATE  # noqa: E402
from voicecoach.audio.gate import FRAME, ReferenceGate  # noqa: E402
from voicecoach.audio.output import read_wav  # noqa: E402
from voicecoach.audio.replay import RoomEcho, load_input, mix  # noqa: E402
from voicecoach.listen import Listener  # noqa: E402
from voicecoach.speech.spotter.card import replace_section  # noqa: E402
from voicecoach.speech.spotter.train import in_training_split  # noqa: E402
from voicecoach.speech.spotter.voices import Voice, available_engines, render  # noqa: E402
from voicecoach.vocabulary import Intent  # noqa: E402

PHRASES_TESTED = {
    Intent.STOP: ["stop"],
    Intent.PAIN: ["that hurts", "it hurts", "ouch"],
    Intent.NEXT: ["next"],
    Intent.PAUSE: ["pause"],
    Intent.RESUME: ["resume"],
    Intent.REPEAT: ["repeat"],
    Intent.HELP: ["help"],
    Intent.FINISH: ["finish"],
}
EVAL_VOICES = [  # settings never drawn for training (seeded differently), several families
    Voice("espeak", "en-us", "+f2", 145, 62),
    Voice("espeak", "en-gb-x-rp", "+m2", 175, 40),
    Voice("espeak", "en-gb-scotland", "+f4", 160, 55),
    Voice("espeak", "en-029", "+m6", 190, 45),
    Voice("espeak", "en", "+f1", 135, 70),
    Voice("espeak", "en-us-nyc", "+m4", 165, 35),
    Voice("flite", "slt", rate=150),
    Voice("flite", "awb", rate=170),
    Voice("flite", "rms", rate=140),
    Voice("flite", "kal16", rate=160),
    Voice("festival", "kal_diphone", rate=150),
]
LEVEL = 4000.0  # active-speech RMS of a user phrase at the microphone
TARGETS = {
    "safety recall quiet": 0.98,
    "safety recall 10 dB": 0.95,
    "barge-in": 0.95,
    "false per hour": 1.0,
    "coach false per hour": 0.0,
    "silence p95": 0.300,
    "rtf": 0.1,
}


def backends() -> dict[str, object]:
    """Name -> a function making the recognizers of that configuration."""
    from voicecoach.speech.pocketsphinx_asr import PocketsphinxRecognizer
    from voicecoach.speech.spotter.recognizer import SpotterRecognizer

    out: dict[str, object] = {
        "pocketsphinx alone": lambda: [PocketsphinxRecognizer(safety=True)],
        "spotter": lambda: [SpotterRecognizer()],
        "spotter, first stage only": lambda: [SpotterRecognizer(verifier=None)],
        "default: pocketsphinx + spotter": lambda: [
            PocketsphinxRecognizer(safety=False),
            SpotterRecognizer(),
        ],
    }
    if os.environ.get("VOICECOACH_VOSK_MODEL"):
        from voicecoach.speech.vosk_asr import VoskRecognizer

        model = Path(os.environ["VOICECOACH_VOSK_MODEL"])
        out["vosk"] = lambda: [VoskRecognizer(model)]
        out["vosk + spotter"] = lambda: [VoskRecognizer(model), SpotterRecognizer()]
    return out


def listen(make, mic: np.ndarray, ref: np.ndarray | None = None, echo: bool = True):
    """Run fresh recognizers over a recording; with a reference, as a session listens.

    ``echo=False`` leaves out the echo canceller (the reference gate alone), for comparison.
    """
    if ref is None:
        listener = Listener(make(), lambda _e: None)
    elif echo:
        listener = Listener.for_coach(make(), lambda _e: None)
    else:
        listener = Listener(make(), lambda _e: None, ReferenceGate())
    for i in range(0, len(mic), FRAME):
        listener.feed(
            mic[i : i + FRAME], None if ref is None else ref[i : i + FRAME], i / SAMPLE_RATE
        )
    return listener.heard


def eval_noise() -> list[np.ndarray]:
    return [p[len(p) // 2 :] for p in (load_input(f) for f in clips("_noise_"))]


def in_context(phrase: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """Silence around a phrase; returns the track and the phrase's end (s)."""
    phrase = scale_to(trim(phrase), LEVEL * 10 ** (rng.uniform(-6, 6) / 20))
    lead = int(rng.uniform(0.5, 1.0) * SAMPLE_RATE)
    track = np.concatenate([np.zeros(lead, np.int16), phrase, np.zeros(SAMPLE_RATE, np.int16)])
    return track, (lead + len(phrase)) / SAMPLE_RATE


def recall_rows(make, name: str, intents: list[Intent]) -> tuple[dict, list[float]]:
    rng = np.random.default_rng(11)
    noise = eval_noise()
    results: dict[tuple[str, str], list[bool]] = defaultdict(list)
    latencies: list[float] = []
    engines = available_engines()
    human = [trim(load_input(p)) for p in clips("stop")]
    for condition, snr in (("quiet", None), ("10 dB", 10.0), ("0 dB", 0.0)):
        reps = 1 if snr is None else 5
        for clip in human:
            for k in range(reps):
                track, end = in_context(clip, rng)
                if snr is not None:
                    track = add_noise(
                        track,
                        noise[k % len(noise)][rng.integers(0, 10 * SAMPLE_RATE) :],
                        snr,
                        rms(track),
                    )
                heard = listen(make, track)
                ok = any(h.intent is Intent.STOP for h in heard)
                results[("human stop", condition)].append(ok)
                if ok and snr is None:
                    latencies.append(next(h.end for h in heard if h.intent is Intent.STOP) - end)
        for intent in intents:
            for phrase in PHRASES_TESTED[intent]:
                for voice in EVAL_VOICES:
                    if voice.engine not in engines:
                        continue
                    track, end = in_context(render(voice, phrase), rng)
                    if snr is not None:
                        n = noise[int(rng.integers(len(noise)))]
                        track = add_noise(
                            track, n[rng.integers(0, len(n) - len(track)) :], snr, rms(track)
                        )
                    heard = listen(make, track)
                    ok = any(h.intent is intent for h in heard)
                    results[(f"synthetic {intent.value}", condition)].append(ok)
                    if ok and snr is None:
                        latencies.append(next(h.end for h in heard if h.intent is intent) - end)
    return results, latencies


def false_per_hour(make) -> dict[str, float]:
    """On the held-out half only (speakers and sentences the spotter never trained on)."""
    rows = [r for r in manifest() if r["word"] not in ("stop", "_noise_", "_speech_")]
    rows = [r for r in rows if not in_training_split(r)]
    words = np.concatenate(
        [
            np.concatenate(
                [
                    load_input(Path(os.path.dirname(clips("stop")[0])).parent / r["file"]),
                    np.zeros(SAMPLE_RATE // 2, np.int16),
                ]
            )
            for r in rows
        ]
    )
    sentences = speech_sentences(held_out=True)
    noise = np.concatenate(eval_noise())
    out = {}
    for label, audio in (
        ("isolated words", words),
        ("read sentences", sentences),
        ("noise", noise),
    ):
        heard = listen(make, audio)
        out[label] = (len(heard) / (len(audio) / SAMPLE_RATE / 3600), len(audio) / SAMPLE_RATE)
    return out


def coach_sessions(tmp: Path) -> list[np.ndarray]:
    """Whole rendered sessions in the coach's voice."""
    out = []
    for routine in ("core-stability", "pain-eased-by-sitting", "desk-break"):
        wav = tmp / f"{routine}.wav"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "voicecoach",
                "--data-dir",
                str(tmp / "data"),
                "run",
                routine,
                "--audio-out",
                str(wav),
            ],
            check=True,
            capture_output=True,
        )
        out.append(read_wav(wav))
    return out


def coach_false(make, sessions: list[np.ndarray], cancel_echo: bool = True) -> tuple[float, float]:
    rng = np.random.default_rng(5)
    noise = eval_noise()
    total, seconds = 0, 0.0
    for pcm in sessions:
        echo = RoomEcho(0.0).apply(pcm)
        mic = mix(np.zeros(len(pcm), np.int16), echo)
        n = noise[int(rng.integers(len(noise)))]
        mic = add_noise(mic, n, 20.0, rms(mic))
        total += len(listen(make, mic, pcm, cancel_echo))
        seconds += len(pcm) / SAMPLE_RATE
    return total / (seconds / 3600), seconds


def barge_in(
    make, sessions: list[np.ndarray], intents: list[Intent], cancel_echo: bool = True
) -> dict[str, list[bool]]:
    rng = np.random.default_rng(9)
    results: dict[str, list[bool]] = defaultdict(list)
    human = [trim(load_input(p)) for p in clips("stop")]
    for sir in (0.0, -6.0):
        for trial in range(12):
            pcm = sessions[trial % len(sessions)]
            start = int(rng.uniform(30, len(pcm) / SAMPLE_RATE - 30) * SAMPLE_RATE)
            piece = pcm[start : start + 8 * SAMPLE_RATE]
            echo = RoomEcho(0.0).apply(
                np.concatenate([pcm[max(0, start - SAMPLE_RATE) : start], piece])
            )[-len(piece) :]
            echo_level = rms(mix(np.zeros(len(piece), np.int16), echo))
            if trial % 3 == 0 and Intent.STOP in intents:
                phrase, intent = human[trial % len(human)], Intent.STOP
            else:
                intent = Intent.PAIN if Intent.PAIN in intents and trial % 2 else Intent.STOP
                text = "that hurts" if intent is Intent.PAIN else "stop"
                phrase = trim(render(EVAL_VOICES[trial % len(EVAL_VOICES)], text))
            phrase = scale_to(phrase, max(echo_level, 300) * 10 ** (sir / 20))
            at = int(rng.uniform(2, 5) * SAMPLE_RATE)
            user = np.zeros(len(piece), np.int16)
            user[at : at + len(phrase)] = phrase[: len(user) - at]
            mic = mix(user, echo)
            heard = listen(make, mic, piece, cancel_echo)
            results[f"{sir:+.0f} dB"].append(any(h.intent is intent for h in heard))
    return results


def cost(name: str) -> tuple[float, float]:
    """Real-time factor on one core, and peak RSS (MiB), in a fresh process."""
    code = f"""
import resource, sys, time, wave, numpy as np
sys.path.insert(0, {str(Path(__file__).resolve().parent.parent)!r})
from bench.speech import backends
from voicecoach.listen import Listener
with wave.open({str(clips("_speech_")[0])!r}) as w:
    clip = np.frombuffer(w.readframes(w.getnframes()), np.int16)
audio = np.resize(clip, 60 * 16000)
coach = np.roll(audio, 16000) // 2  # a reference: the canceller and gate work as in a session
listener = Listener.for_coach(backends()[{name!r}](), lambda _e: None)
t = time.process_time()
for i in range(0, len(audio), 320):
    listener.feed(audio[i : i + 320], coach[i : i + 320], i / 16000)
dt = time.process_time() - t
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forking parent across exec.
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM"))
print(dt / 60, hwm / 1024)
"""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    rtf, rss = out.stdout.split()
    return float(rtf), float(rss)


def pct(values: list[bool]) -> str:
    return (
        f"{100 * sum(values) / len(values):.0f} % ({sum(values)}/{len(values)})" if values else "-"
    )


def main() -> None:
    if SHARED_MISSING:
        sys.exit(f"cannot run: {SHARED_MISSING}")
    started = time.monotonic()
    makers = backends()
    with tempfile.TemporaryDirectory() as d:
        sessions = coach_sessions(Path(d))
    report: dict[str, dict] = {}
    for name, make in makers.items():
        intents = [Intent.STOP, Intent.PAIN] if name.startswith("spotter") else list(PHRASES_TESTED)
        recall, latency = recall_rows(make, name, intents)
        report[name] = {
            "recall": recall,
            "latency": latency,
            "false": false_per_hour(make),
            "coach": coach_false(make, sessions),
            "barge": barge_in(make, sessions, intents),
            "cost": cost(name),
        }
        print(name, "done", round(time.monotonic() - started), file=sys.stderr)
    spotter = makers["spotter"]
    echo_rows = {
        "reference gate only": (
            coach_false(spotter, sessions, cancel_echo=False),
            barge_in(spotter, sessions, [Intent.STOP, Intent.PAIN], cancel_echo=False),
        ),
        "echo canceller + reference gate (used)": (
            report["spotter"]["coach"],
            report["spotter"]["barge"],
        ),
    }
    tables = render_tables(report, echo_rows)
    write_section("speech", tables)
    replace_section(
        "benchmark", f"From `python bench/speech.py` (its table in docs/benchmarks.md):\n\n{tables}"
    )
    print(tables)


def render_tables(report: dict, echo_rows: dict) -> str:
    names = list(report)
    lines = [
        'Recall (detections of the right intent). Human: the 6 Speech Commands "stop" clips',
        "(never used in training), noise from the held-out half of the shared noise files.",
        "",
        "| set | condition | " + " | ".join(names) + " |",
        "|---|---|" + "---|" * len(names),
    ]
    keys = sorted({k for r in report.values() for k in r["recall"]})
    for key in keys:
        lines.append(
            f"| {key[0]} | {key[1]} | "
            + " | ".join(pct(report[n]["recall"].get(key, [])) for n in names)
            + " |"
        )
    lines += [
        "",
        "False commands per hour (any intent), on the held-out half of the shared recordings.",
        "",
        "| audio | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for label in ("isolated words", "read sentences", "noise"):
        lines.append(
            f"| {label} ({report[names[0]]['false'][label][1] / 60:.1f} min) | "
            + " | ".join(f"{report[n]['false'][label][0]:.0f}" for n in names)
            + " |"
        )
    coach_min = report[names[0]]["coach"][1] / 60
    lines.append(
        f"| the coach's own voice in a room, 20 dB noise ({coach_min:.0f} min) | "
        + " | ".join(f"{report[n]['coach'][0]:.0f}" for n in names)
        + " |"
    )
    lines += [
        "",
        "Barge-in: a user's stop/that hurts over the coach's voice (signal to echo).",
        "",
        "| level | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for level in ("+0 dB", "-6 dB"):
        lines.append(
            f"| {level} | " + " | ".join(pct(report[n]["barge"][level]) for n in names) + " |"
        )
    lines += [
        "",
        "Echo handling, measured with the spotter: the coach's voice in a room as above.",
        "",
        "| echo handling | false commands per hour from the coach | barge-in +0 dB | barge-in -6 dB |",
        "|---|---|---|---|",
    ]
    for label, (coach, barge) in echo_rows.items():
        lines.append(
            f"| {label} | {coach[0]:.0f} | {pct(barge['+0 dB'])} | {pct(barge['-6 dB'])} |"
        )
    lines += [
        "",
        "Latency in audio time, end of phrase to intent (output is silent one 20 ms block later in a rendered session; a live speaker adds its output latency, 60 ms).",
        "",
        "| | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for label, q in (("median", 50), ("p95", 95)):
        lines.append(
            f"| {label} | "
            + " | ".join(
                f"{np.percentile(report[n]['latency'], q) * 1000:.0f} ms"
                if report[n]["latency"]
                else "-"
                for n in names
            )
            + " |"
        )
    lines += ["", "| cost (one core) | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    lines.append(
        "| real-time factor | " + " | ".join(f"{report[n]['cost'][0]:.3f}" for n in names) + " |"
    )
    lines.append(
        "| peak RSS of the process | "
        + " | ".join(f"{report[n]['cost'][1]:.0f} MiB" for n in names)
        + " |"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
