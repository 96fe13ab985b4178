"""Enrollment benchmark: how much better the coach hears one person after five takes, at what cost.

Run from the repository root after ``scripts/setup.sh --train``: ``.venv/bin/python
bench/enrollment.py``. On one x86 core (BLAS and onnxruntime single-threaded, as the
adaptation is timed).

- A real voice (``../shared/data/one-speaker``, one person recorded over time, MIT): enrolled on
  the five earliest "stop" takes (and, in a second row, also three of the earliest recordings of
  their ordinary speech, the ``none`` folder: what spoken enrollment asks for last); judged on
  the 35 later "stop" takes, quiet and in held-out noise at 10 dB SNR, and on every other
  recording of that voice (other words and speech) for false commands.
- Held-out synthetic voice families (Piper joe, the Kokoro speaker never trained on): every
  enrollment phrase in five settings (speed, and Piper's noise), three ordinary sentences;
  judged on every phrase of every intent in six other settings, quiet and at 10 dB.
- What must not fire, the benchmark's report half, never in training or in the adaptation
  pack: other people's words and read sentences, held-out noise, the coach's prompts in a room;
  and other people's "stop" (does the personal model still hear them?).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import collections  # noqa: E402
import csv  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._report import write_section  # noqa: E402
from training import corpus, evalsets  # noqa: E402
from training.paths import DATA  # noqa: E402
from training.phrases import positives  # noqa: E402
from training.voices import held_out_voices, render  # noqa: E402
from voicecoach.audio import SAMPLE_RATE  # noqa: E402
from voicecoach.audio.replay import load_input  # noqa: E402
from voicecoach.speech.commands import personal  # noqa: E402
from voicecoach.speech.commands.recognizer import CommandRecognizer  # noqa: E402

ONE = DATA / "one-speaker"
LEVEL = evalsets.LEVEL
ENROLL_TAKES = 5
ORDINARY_TAKES = 3
BLOCK = 1280


def heard(rec: CommandRecognizer, pcm: np.ndarray) -> list[str]:
    """Intents heard in one clip, as ``voicecoach listen`` hears it (2 s before, 1 s after)."""
    rec.reset()
    track = np.concatenate(
        [np.zeros(2 * SAMPLE_RATE, np.int16), pcm, np.zeros(SAMPLE_RATE, np.int16)]
    )
    out = []
    for i in range(0, len(track), BLOCK):
        out += [d.intent.value for d in rec.accept(track[i : i + BLOCK], i / SAMPLE_RATE)]
    return out


def in_noise(rng: np.random.Generator, clips: list[np.ndarray], snr: float | None) -> list:
    """Each clip at the benchmark's speech level, in held-out noise at ``snr`` (None: quiet)."""
    noise = corpus.noise("report")
    out = []
    for c in clips:
        c = evalsets.scale_to(c, LEVEL)
        if snr is not None:
            bank = noise[int(rng.integers(len(noise)))]
            start = int(rng.integers(0, len(bank) - len(c) - 1))
            c = evalsets.add_noise(c, bank[start:], snr, LEVEL)
        out.append(c)
    return out


@dataclass
class Recall:
    """Heard of a set of trials, and the wrong commands heard in them."""

    heard: int = 0
    trials: int = 0
    wrong: int = 0

    def cell(self) -> str:
        """``97.1 % (34/35)``."""
        rate = 100 * self.heard / self.trials if self.trials else 0.0
        return f"{rate:.1f} % ({self.heard}/{self.trials})"


def recall(rec: CommandRecognizer, clips: list[np.ndarray], intents: list[str]) -> Recall:
    """How many clips the recognizer hears as their intent."""
    out = Recall()
    for pcm, intent in zip(clips, intents, strict=True):
        got = heard(rec, pcm)
        out.heard += intent in got
        out.trials += 1
        out.wrong += sum(g != intent for g in got)
    return out


def false_commands(rec: CommandRecognizer, audio: np.ndarray) -> collections.Counter[str]:
    """Every command heard in long audio with none in it."""
    rec.reset()
    out: collections.Counter[str] = collections.Counter()
    for i in range(0, len(audio), BLOCK):
        out.update(d.intent.value for d in rec.accept(audio[i : i + BLOCK], i / SAMPLE_RATE))
    return out


# -- what must not fire ----------------------------------------------------------------------
def report_negatives() -> dict[str, np.ndarray]:
    """Other people, noise and the coach: the report half, never trained or adapted on."""
    rng = np.random.default_rng(41)
    noise = corpus.noise("report")
    words = [evalsets._levelled(rng, corpus.load(c)) for c in corpus.select(None, ("report",))]
    talk = [corpus.load(c) for c in corpus.select("_speech_", ("report",))]
    return {
        "other people's words": evalsets._join(rng, words, 0.5, 1.0),
        "other people's sentences": evalsets._join(rng, talk, 0.3, 0.6),
        "noise": np.concatenate(noise),
        "the coach's prompts in a room": evalsets.coach_in_room(rng, 10, noise),
    }


def negatives_table(
    rows: list[tuple[str, Callable[[], CommandRecognizer]]], negatives: dict[str, np.ndarray]
) -> str:
    """False commands per hour in each negative, one row per model."""
    hours = {k: len(v) / SAMPLE_RATE / 3600 for k, v in negatives.items()}
    head = " | ".join(f"{k} ({hours[k] * 60:.0f} min)" for k in negatives)
    lines = [f"| model | {head} |", "|---|" + "---|" * len(negatives)]
    for name, make in rows:
        rec = make()
        cells = []
        for k, audio in negatives.items():
            found = false_commands(rec, audio)
            n = sum(found.values())
            what = ", ".join(f"{i} {c}" for i, c in found.most_common())
            cells.append(f"{n} ({n / hours[k]:.1f}/h{': ' + what if what else ''})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# -- a real voice ----------------------------------------------------------------------------
def one_speaker() -> dict[str, list[np.ndarray]]:
    """Word -> that voice's recordings, earliest first (the file names carry the time)."""
    by: dict[str, list[str]] = collections.defaultdict(list)
    with (ONE / "manifest.csv").open() as f:
        for row in csv.DictReader(f):
            by[row["word"]].append(row["file"])
    return {
        w: [load_input(ONE / p) for p in sorted(files, key=lambda p: Path(p).name)]
        for w, files in by.items()
    }


def real_voice(tmp: Path, negatives: dict[str, np.ndarray]) -> str:
    """The one-speaker tables."""
    voice = one_speaker()
    stops = voice["stop"]
    enroll, later = stops[:ENROLL_TAKES], stops[ENROLL_TAKES:]
    ordinary = voice["none"][:ORDINARY_TAKES]
    rng = np.random.default_rng(43)
    quiet = in_noise(rng, later, None)
    noisy = in_noise(rng, later, 10.0)
    others = [c for w, clips in voice.items() if w != "stop" for c in clips]
    others = [c for c in others if not any(c is o for o in ordinary)]
    others_quiet = in_noise(rng, others, None)
    # other people's "stop": does the personal model still hear them?
    people = [t for t in evalsets.human_stops(("report",)) if t.condition in ("quiet", "10 dB")]

    models: list[tuple[str, Callable[[], CommandRecognizer]]] = [("general", CommandRecognizer)]
    seconds = {}
    for name, other in (
        ("personal: 5 stop takes", ()),
        ("personal: 5 stop takes + 3 ordinary", ordinary),
    ):
        path = tmp / f"{len(models)}.npz"
        result = personal.adapt({"stop": enroll}, path, other=other, seed=0)
        seconds[name] = result.seconds
        models.append((name, lambda path=path: CommandRecognizer(personal=path)))

    lines = [
        "| model | later stop, quiet | later stop, 10 dB | false commands in the same voice's "
        f"other recordings ({len(others)}) | other people's stop, quiet | other people's stop, "
        "10 dB | adaptation |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, make in models:
        rec = make()
        q = recall(rec, quiet, ["stop"] * len(quiet))
        n = recall(rec, noisy, ["stop"] * len(noisy))
        fa = collections.Counter(g for c in others_quiet for g in heard(rec, c))
        what = ", ".join(f"{i} {c}" for i, c in fa.most_common())
        pq, pn = (
            recall(
                rec,
                [t.pcm for t in people if t.condition == c],
                ["stop"] * len([t for t in people if t.condition == c]),
            )
            for c in ("quiet", "10 dB")
        )
        took = f"{seconds[name]:.0f} s" if name in seconds else "-"
        lines.append(
            f"| {name} | {q.cell()} | {n.cell()} | {sum(fa.values())}{': ' + what if what else ''}"
            f" | {pq.cell()} | {pn.cell()} | {took} |"
        )
    speakers = len({t.speaker for t in people})
    return (
        '### A real voice: five takes of "stop"\n\n'
        f"One person's recordings (`one-speaker`, MIT, © 2019 Feiyu Chen): enrolled on the "
        f'{ENROLL_TAKES} earliest of {len(stops)} "stop" takes, judged on the {len(later)} '
        "later ones, each at the benchmark's speech level, quiet and in held-out noise at "
        f"10 dB SNR. Other people's stop: {len(people) // 2} clips of {speakers} validation "
        "speakers per condition (Speech Commands, CC BY 4.0).\n\n"
        + "\n".join(lines)
        + "\n\nFalse commands per hour where no command is said, the same audio for every "
        "model (report half: speakers, noise and texts in neither training nor the adaptation "
        "pack):\n\n" + negatives_table(models, negatives)
    )


# -- held-out synthetic voices ---------------------------------------------------------------
def synthetic(tmp: Path, negatives: dict[str, np.ndarray]) -> str:
    """Every command, enrolled and judged in voice families the general model never heard."""
    rng = np.random.default_rng(44)
    groups = held_out_voices(np.random.default_rng(45), ENROLL_TAKES + 6)
    out = []
    for group, voices in groups.items():
        enroll_voices, test_voices = voices[:ENROLL_TAKES], voices[ENROLL_TAKES:]
        takes = {p: [render(v, p) for v in enroll_voices] for p in personal.ENROLL_PHRASES}
        other = [render(enroll_voices[0], s) for s in personal.ORDINARY_SENTENCES]
        path = tmp / f"{group}.npz"
        result = personal.adapt(takes, path, other=other, seed=0)
        trials = [
            (intent, render(v, phrase))
            for intent, phrases in positives().items()
            for phrase in phrases
            for v in test_voices
        ]
        intents = [i for i, _ in trials]
        quiet = in_noise(rng, [p for _, p in trials], None)
        noisy = in_noise(rng, [p for _, p in trials], 10.0)
        models = [
            ("general", CommandRecognizer),
            ("personal", lambda path=path: CommandRecognizer(personal=path)),
        ]
        rows = collections.defaultdict(dict)
        for name, make in models:
            rec = make()
            for cond, clips in (("quiet", quiet), ("10 dB", noisy)):
                for intent in positives():
                    idx = [k for k, i in enumerate(intents) if i == intent]
                    rows[(intent, cond)][name] = recall(
                        rec, [clips[k] for k in idx], [intent] * len(idx)
                    )
        table = ["| intent | condition | general | personal |", "|---|---|---|---|"]
        for (intent, cond), cells in rows.items():
            table.append(
                f"| {intent} | {cond} | {cells['general'].cell()} | {cells['personal'].cell()} |"
            )
        cv = ", ".join(f"{p} {r.heard}/{r.trials}" for p, r in result.recall.items())
        out.append(
            f"#### {group}\n\nEnrolled on {len(personal.ENROLL_PHRASES)} phrases x "
            f"{ENROLL_TAKES} settings and {len(other)} ordinary sentences; adaptation "
            f"{result.seconds:.0f} s on one core. Judged on every phrase of every intent "
            f"(phrases never enrolled too) in {len(test_voices)} other settings.\n\n"
            + "\n".join(table)
            + f"\n\nCross-validated on the enrolled takes (what `enroll` tells the user): {cv}."
            + "\n\nFalse commands per hour, general and this personal model:\n\n"
            + negatives_table(models, negatives)
        )
    return "### Held-out synthetic voices: every command\n\n" + "\n\n".join(out)


def main() -> None:
    """Run everything and write docs/benchmarks.md's enrollment section."""
    missing = corpus.shared_missing()
    if missing or not (ONE / "manifest.csv").exists():
        sys.exit(f"cannot run: {missing or f'no recordings at {ONE}'}")
    negatives = report_negatives()
    with tempfile.TemporaryDirectory() as tmp:
        parts = [real_voice(Path(tmp), negatives)]
        if "--real-only" not in sys.argv:
            parts.append(synthetic(Path(tmp), negatives))
    write_section("enrollment", "## Enrollment: your own voice\n\n" + "\n\n".join(parts))
    print("\n\n".join(parts))


if __name__ == "__main__":
    main()
