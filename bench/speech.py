"""Speech benchmark: what the coach hears, what it wrongly hears, how fast, at what cost.

Run from the repository root after ``scripts/setup.sh --train``: ``.venv/bin/python
bench/speech.py``. Everything it judges on is held out from training (``training/evalsets.py``):
human "stop" from validation speakers (Speech Commands v0.02 and v0.01, CC BY 4.0), every
command in two voice families never trained on (Piper joe, a Kokoro speaker), held-out noise,
and over two hours of audio with no command in it. Every configuration hears the same audio
through the same path as a session (echo canceller, reference gate, refractory period).
It writes its tables into docs/benchmarks.md and the model card.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._report import write_section  # noqa: E402
from bench.previous import previous_default  # noqa: E402
from training import corpus, evalsets  # noqa: E402
from training.calibrate import Scorer, count_events  # noqa: E402
from training.card import replace_section  # noqa: E402
from training.evalsets import Trial  # noqa: E402
from training.voices import held_out_voices, render  # noqa: E402
from voicecoach.audio import SAMPLE_RATE  # noqa: E402
from voicecoach.audio.gate import FRAME  # noqa: E402
from voicecoach.audio.output import read_wav  # noqa: E402
from voicecoach.audio.replay import RoomEcho, mix  # noqa: E402
from voicecoach.session.listener import Listener  # noqa: E402
from voicecoach.speech.commands.decision import peaks  # noqa: E402
from voicecoach.speech.commands.model import CommandModel  # noqa: E402
from voicecoach.speech.commands.recognizer import MODEL, CommandRecognizer  # noqa: E402
from voicecoach.speech.recognizer import Detection  # noqa: E402

GAP = np.zeros(SAMPLE_RATE, np.int16)
LEAD_IN = np.zeros(2 * SAMPLE_RATE, np.int16)
SAFETY = ("stop", "pain")


def configurations() -> dict[str, Callable[[], list]]:
    """Column name -> a function making fresh recognizers of that configuration."""
    out: dict[str, Callable[[], list]] = {
        "command model (default)": lambda: [CommandRecognizer()],
        "previous default: pocketsphinx + spotter": previous_default,
    }
    if os.environ.get("VOICECOACH_VOSK_MODEL"):
        from voicecoach.speech.vosk_asr import VoskRecognizer  # noqa: PLC0415

        model = Path(os.environ["VOICECOACH_VOSK_MODEL"])
        out["command model + vosk"] = lambda: [CommandRecognizer(), VoskRecognizer(model)]
    return out


def stream(
    make: Callable[[], list], mic: np.ndarray, ref: np.ndarray | None = None
) -> list[Detection]:
    """Run fresh recognizers over one recording, as a session listens."""
    listener = Listener.for_coach(make(), lambda _e: None)
    for i in range(0, len(mic), FRAME):
        listener.feed(
            mic[i : i + FRAME], None if ref is None else ref[i : i + FRAME], i / SAMPLE_RATE
        )
    return listener.heard


@dataclass
class Result:
    """One trial's outcome under one configuration."""

    trial: Trial
    heard: bool
    wrong: list[str]
    latency: float | None


def run_trials(make: Callable[[], list], trials: list[Trial]) -> list[Result]:
    """All trials back to back in one recording (a second of silence between them)."""
    parts, spans = [], []
    at = 0
    for t in trials:
        parts += [t.pcm, GAP]
        spans.append((at, at + len(t.pcm)))
        at += len(t.pcm) + len(GAP)
    heard = stream(make, np.concatenate(parts))
    out = []
    for t, (a, b) in zip(trials, spans, strict=True):
        inside = [d for d in heard if a / SAMPLE_RATE <= d.end < b / SAMPLE_RATE]
        right = [d for d in inside if d.intent.value == t.intent]
        latency = right[0].end - (a / SAMPLE_RATE + t.end) if right else None
        wrong = [d.intent.value for d in inside if d.intent.value != t.intent]
        out.append(Result(t, bool(right), wrong, latency))
    return out


def poisson_interval(k: int, conf: float = 0.95) -> tuple[float, float]:
    """Exact (Garwood) interval for the mean of a Poisson count ``k``."""

    def cdf(n: int, mu: float) -> float:
        return sum(math.exp(i * math.log(mu) - mu - math.lgamma(i + 1)) for i in range(n + 1))

    def root(g: Callable[[float], float]) -> float:  # g increasing in mu
        lo, hi = 1e-9, 10.0 + 10 * k
        for _ in range(100):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if g(mid) < 0 else (lo, mid)
        return (lo + hi) / 2

    alpha = 1 - conf
    lower = 0.0 if k == 0 else root(lambda mu: (1 - cdf(k - 1, mu)) - alpha / 2)
    upper = root(lambda mu: alpha / 2 - cdf(k, mu))
    return lower, upper


def coach_sessions(tmp: Path) -> list[np.ndarray]:
    """Whole sessions in the coach's voice, rendered by voicecoach itself."""
    out = []
    for routine in ("core-stability", "pain-eased-by-sitting", "desk-break", "back-stretches"):
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


def in_room(pcm: np.ndarray, rng: np.random.Generator, noise: list[np.ndarray]) -> np.ndarray:
    """The coach's output at the microphone: a room at 0 dB, noise 20 dB below it."""
    mic = mix(np.zeros(len(pcm), np.int16), RoomEcho(0.0).apply(pcm))
    n = noise[int(rng.integers(len(noise)))]
    return evalsets.add_noise(mic, n, 20.0, evalsets.augment.rms(mic))


def false_commands(
    make: Callable[[], list], negatives: dict[str, np.ndarray], sessions: list[np.ndarray]
) -> dict[str, tuple[int, float]]:
    """Source -> (false commands, hours)."""
    out = {}
    for name, pcm in negatives.items():
        out[name] = (len(stream(make, pcm)), len(pcm) / SAMPLE_RATE / 3600)
    rng = np.random.default_rng(5)
    noise = corpus.noise("report")
    count, seconds = 0, 0.0
    for pcm in sessions:
        count += len(stream(make, in_room(pcm, rng, noise), pcm))
        seconds += len(pcm) / SAMPLE_RATE
    out["the coach's own sessions in a room, 20 dB noise"] = (count, seconds / 3600)
    return out


def barge_in_trials(
    sessions: list[np.ndarray], n: int = 40
) -> list[tuple[float, Trial, np.ndarray]]:
    """Phrases said over the coach: (signal-to-echo dB, trial, the coach's output then)."""
    rng = np.random.default_rng(9)
    humans = [t for t in evalsets.human_stops(("tune", "report")) if t.condition == "quiet"]
    voices = held_out_voices(np.random.default_rng(23), 4)
    from training.phrases import positives  # noqa: PLC0415

    phrases = [(i, p) for i, ps in positives().items() for p in ps]
    out = []
    for sir in (0.0, -6.0):
        for k in range(n):
            pcm = sessions[k % len(sessions)]
            start = int(rng.uniform(20, len(pcm) / SAMPLE_RATE - 20) * SAMPLE_RATE)
            piece = pcm[start : start + 8 * SAMPLE_RATE]
            echo = RoomEcho(0.0).apply(
                np.concatenate([pcm[max(0, start - 4 * SAMPLE_RATE) : start], piece])
            )[-len(piece) :]
            echo_level = max(evalsets.augment.rms(mix(np.zeros(len(piece), np.int16), echo)), 300.0)
            if k % 2 == 0:
                human = humans[(k // 2) % len(humans)]
                intent, phrase, speaker = "stop", "stop", human.speaker
                a = int((human.end - 0.01) * SAMPLE_RATE)
                voice_pcm = evalsets.trim(human.pcm[:a])
            else:
                intent, phrase = phrases[(k // 2) % len(phrases)]
                group = list(voices)[(k // 2) % 2]
                voice = voices[group][(k // 4) % len(voices[group])]
                voice_pcm, speaker = render(voice, phrase), group
            user_pcm = evalsets.scale_to(voice_pcm, echo_level * 10 ** (sir / 20))
            at = int(rng.uniform(2, 5) * SAMPLE_RATE)
            user = np.zeros(len(piece), np.int16)
            user[at : at + len(user_pcm)] = user_pcm[: len(user) - at]
            mic = mix(user, echo)
            end = (at + len(user_pcm)) / SAMPLE_RATE
            out.append(
                (sir, Trial("barge-in", intent, phrase, f"{sir:+.0f} dB", speaker, mic, end), piece)
            )
    return out


def barge_in(
    make: Callable[[], list], trials: list[tuple[float, Trial, np.ndarray]]
) -> list[Result]:
    out = []
    for _sir, t, ref in trials:
        heard = stream(make, t.pcm, ref)
        right = [d for d in heard if d.intent.value == t.intent]
        wrong = [d.intent.value for d in heard if d.intent.value != t.intent]
        out.append(Result(t, bool(right), wrong, right[0].end - t.end if right else None))
    return out


def cost(name: str) -> tuple[float, float]:
    """Real-time factor on one core and peak RSS (MiB), in a fresh process."""
    code = f"""
import sys, time, numpy as np
sys.path.insert(0, {str(Path(__file__).resolve().parent.parent)!r})
from bench.speech import configurations
from training import corpus
from voicecoach.session.listener import Listener
clip = np.concatenate([corpus.load(c) for c in corpus.select("_speech_", ("report",))[:20]])
audio = np.resize(clip, 60 * 16000)
coach = np.roll(audio, 16000) // 2  # a reference: the canceller and gate work as in a session
listener = Listener.for_coach(configurations()[{name!r}](), lambda _e: None)
t = time.process_time()
for i in range(0, len(audio), 320):
    listener.feed(audio[i : i + 320], coach[i : i + 320], i / 16000)
dt = time.process_time() - t
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forking parent across exec.
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM"))
print(dt / 60, hwm / 1024)
"""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    rtf, rss = run.stdout.split()
    return float(rtf), float(rss)


# -- DET curves (the command model's scores, without the gate) -----------------------------
def det_tables(model: CommandModel, trials: list[Trial], negatives: dict[str, np.ndarray]) -> str:
    """Per intent: recall on held-out commands and false commands per hour, around the
    operating point (log-odds offsets from the shipped threshold)."""
    scorer = Scorer(model)
    k = model.consecutive
    neg_peaks = [peaks(scorer.trace(pcm), k) for pcm in negatives.values()]
    hours = sum(len(p) for p in negatives.values()) / SAMPLE_RATE / 3600
    quiet = [t for t in trials if t.condition == "quiet"]
    trial_best = {}
    for t in quiet:
        # after a lead-in of silence, as in a session (the model looks back 1.28 s)
        p = peaks(scorer.trace(np.concatenate([LEAD_IN, t.pcm])), k)
        col = model.intents.index(t.intent)
        trial_best[id(t)] = float(p[:, col].max()) if len(p) else -np.inf
    lines = [
        f"Model scores only (no gate): held-out commands in quiet, and {hours:.2f} h of report negatives.",
        "",
    ]
    for col, intent in enumerate(model.intents):
        mine = [t for t in quiet if t.intent == intent]
        if not mine:
            continue
        op = model.thresholds[intent]
        lines += [
            f"**{intent}** ({len(mine)} clips; operating point {op:+.2f})",
            "",
            "| threshold | recall | false per hour |",
            "|---|---|---|",
        ]
        for offset in (-6, -4, -3, -2, -1, 0, 1, 2, 4):
            th = op + offset
            recall = np.mean([trial_best[id(t)] >= th for t in mine])
            events = sum(count_events(p[:, col], th) for p in neg_peaks)
            mark = " (shipped)" if offset == 0 else ""
            lines.append(f"| {th:+.2f}{mark} | {100 * recall:.1f} % | {events / hours:.2f} |")
        lines.append("")
    return "\n".join(lines)


# -- tables --------------------------------------------------------------------------------
def pct(values: list[bool]) -> str:
    return (
        f"{100 * sum(values) / len(values):.1f} % ({sum(values)}/{len(values)})" if values else "-"
    )


def speakers(results: list[Result]) -> int:
    return len({r.trial.speaker for r in results})


def main() -> None:
    missing = corpus.shared_missing()
    if missing:
        sys.exit(f"cannot run: {missing}")
    started = time.monotonic()
    configs = configurations()
    names = list(configs)
    trials = evalsets.human_stops(("tune", "report")) + evalsets.held_out_trials()
    negatives = evalsets.negatives("report")
    with tempfile.TemporaryDirectory() as d:
        sessions = coach_sessions(Path(d))
    barge = barge_in_trials(sessions)

    def log(msg: str) -> None:
        print(f"[{time.monotonic() - started:5.0f} s] {msg}", file=sys.stderr, flush=True)

    log("sets ready")
    report: dict[str, dict] = {}
    for name, make in configs.items():
        report[name] = {
            "recall": run_trials(make, trials),
            "false": false_commands(make, negatives, sessions),
            "barge": barge_in(make, barge),
            "cost": cost(name),
        }
        log(f"{name} done")
    det = det_tables(CommandModel.load(MODEL), [t for t in trials], negatives)
    tables = render_tables(names, report)
    write_section("speech", tables + "\n\n### DET curves\n\n" + det)
    replace_section(
        "benchmark",
        f"From `python bench/speech.py` (docs/benchmarks.md has the DET curves):\n\n{tables}",
    )
    print(tables)


def render_tables(names: list[str], report: dict[str, dict]) -> str:
    first = report[names[0]]["recall"]
    groups = sorted(
        {(r.trial.group, r.trial.intent) for r in first}, key=lambda g: (g[0] != "human stop", g)
    )
    lines = [
        "Recall: the share of commands heard as the right intent. *Human stop*: validation speakers",
        f"(never trained on): {len([r for r in first if r.trial.group == 'human stop' and r.trial.condition == 'quiet'])} clips from "
        f"{speakers([r for r in first if r.trial.group == 'human stop'])} speakers. The voice families were never trained on",
        "(each intent's phrases, 6 settings of speed and noise each). Noise: held-out part of the shared noise.",
        "",
        "| set | intent | condition | " + " | ".join(names) + " |",
        "|---|---|---|" + "---|" * len(names),
    ]
    for group, intent in groups:
        for condition, _ in evalsets.CONDITIONS:
            cells = []
            for n in names:
                rs = [
                    r
                    for r in report[n]["recall"]
                    if (r.trial.group, r.trial.intent, r.trial.condition)
                    == (group, intent, condition)
                ]
                cells.append(pct([r.heard for r in rs]))
            lines.append(f"| {group} | {intent} | {condition} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Summary of recall:",
        "",
        "| | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    summaries = [
        (
            "human stop, quiet",
            lambda r: r.trial.group == "human stop" and r.trial.condition == "quiet",
        ),
        (
            "human stop, 10 dB",
            lambda r: r.trial.group == "human stop" and r.trial.condition == "10 dB",
        ),
        (
            "human stop, 0 dB",
            lambda r: r.trial.group == "human stop" and r.trial.condition == "0 dB",
        ),
    ]
    for group in sorted({r.trial.group for r in first} - {"human stop"}):
        for condition, _ in evalsets.CONDITIONS:
            summaries.append(
                (
                    f"{group}, every intent, {condition}",
                    lambda r, g=group, c=condition: r.trial.group == g and r.trial.condition == c,
                )
            )
            summaries.append(
                (
                    f"{group}, intents other than stop and pain, {condition}",
                    lambda r, g=group, c=condition: (
                        r.trial.group == g
                        and r.trial.condition == c
                        and r.trial.intent not in SAFETY
                    ),
                )
            )
    for label, keep in summaries:
        lines.append(
            f"| {label} | "
            + " | ".join(pct([r.heard for r in report[n]["recall"] if keep(r)]) for n in names)
            + " |"
        )
    lines += [
        "",
        "Wrong intents fired during commands (any condition): "
        + ", ".join(f"{n}: {sum(len(r.wrong) for r in report[n]['recall'])}" for n in names)
        + ".",
    ]
    lines += [
        "",
        "False commands: detections of any intent in audio with no command in it (report part: speakers, voices, texts and noise never trained on nor used to set thresholds). 95 % interval in brackets.",
        "",
    ]
    lines += ["| audio | hours | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    sources = list(report[names[0]]["false"])
    totals = {n: [0, 0.0] for n in names}
    for source in sources:
        hours = report[names[0]]["false"][source][1]
        cells = []
        for n in names:
            k, h = report[n]["false"][source]
            totals[n][0] += k
            totals[n][1] += h
            cells.append(f"{k} ({k / h:.2f}/h)")
        lines.append(f"| {source} | {hours:.2f} | " + " | ".join(cells) + " |")
    cells = []
    for n in names:
        k, h = totals[n]
        lo, hi = poisson_interval(k)
        cells.append(f"**{k / h:.2f}/h** [{lo / h:.2f}, {hi / h:.2f}]")
    lines.append(f"| **all** | {totals[names[0]][1]:.2f} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Barge-in: a command said over the coach's own voice (a rendered session through a simulated room), at the signal-to-echo ratio shown; echo canceller and reference gate as in a session. Half the phrases are validation speakers' \"stop\", half every intent's phrases in the held-out voices.",
        "",
    ]
    lines += ["| level | phrases | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    for level in ("+0 dB", "-6 dB"):
        for label, keep in (
            ("stop and pain", lambda r: r.trial.intent in SAFETY),
            ("other intents", lambda r: r.trial.intent not in SAFETY),
        ):
            lines.append(
                f"| {level} | {label} | "
                + " | ".join(
                    pct(
                        [
                            r.heard
                            for r in report[n]["barge"]
                            if r.trial.condition == level and keep(r)
                        ]
                    )
                    for n in names
                )
                + " |"
            )
    lines += [
        "",
        "Latency in audio time, from the end of the phrase to the intent (quiet commands; a rendered session is silent one 20 ms block later, a live speaker adds its output latency).",
        "",
    ]
    lines += ["| | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for label, safety in (("stop and pain", True), ("other intents", False)):
        for q in (50, 95):
            cells = []
            for n in names:
                lat = [
                    r.latency
                    for r in report[n]["recall"]
                    if r.latency is not None
                    and r.trial.condition == "quiet"
                    and (r.trial.intent in SAFETY) == safety
                ]
                cells.append(f"{np.percentile(lat, q) * 1000:.0f} ms" if lat else "-")
            lines.append(
                f"| {label}, {'median' if q == 50 else 'p95'} | " + " | ".join(cells) + " |"
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
