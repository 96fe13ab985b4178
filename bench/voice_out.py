"""Voice out: synthesis speed by method, and how fast a cut silences the speaker.

Run from the repository root: ``.venv/bin/python bench/voice_out.py``. It needs espeak-ng, and
PulseAudio for the virtual-device rows (scripts/setup.sh --test installs both).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._report import write_section  # noqa: E402
from tests.virtual_audio import available, reinit_portaudio, virtual_audio  # noqa: E402
from voicecoach.audio import SAMPLE_RATE  # noqa: E402
from voicecoach.audio.output import FileOutput, LiveOutput  # noqa: E402
from voicecoach.audio.playout import BLOCK, Playout  # noqa: E402
from voicecoach.speech.tts import EspeakSynth  # noqa: E402

SENTENCES = [
    "Lie on your back with both knees bent and your feet flat on the mat.",
    "Tighten your tummy muscles, and gently press the small of your back down into the mat.",
    "Let your back relax.",
    "three",
]


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def synthesis_rows() -> list[str]:
    rows = []
    synth = EspeakSynth()
    times = []
    for _ in range(5):
        for text in SENTENCES:
            t = time.perf_counter()
            synth._render(text)  # uncached
            times.append(time.perf_counter() - t)
    rows.append(
        f"| libespeak-ng in-process (ctypes, synchronous) + resample | {median_ms(times):.1f} |"
    )
    times = []
    for _ in range(5):
        for text in SENTENCES:
            t = time.perf_counter()
            subprocess.run(["espeak-ng", "--stdout", text], capture_output=True, check=True)
            times.append(time.perf_counter() - t)
    rows.append(f"| `espeak-ng --stdout` process per utterance | {median_ms(times):.1f} |")
    code = (
        "import pyttsx3,sys,time;e=pyttsx3.init('espeak');t=time.perf_counter();"
        "e.save_to_file(sys.argv[1],sys.argv[2]);e.runAndWait();print(time.perf_counter()-t)"
    )
    times = []
    with tempfile.TemporaryDirectory() as d:
        for text in SENTENCES:
            out = subprocess.run(
                [sys.executable, "-c", code, text, f"{d}/x.wav"],
                capture_output=True,
                text=True,
                timeout=60,
            )
            if out.returncode == 0 and out.stdout.strip():
                times.append(float(out.stdout.strip().splitlines()[-1]))
    if times:
        rows.append(
            f"| pyttsx3 `save_to_file` + `runAndWait` (engine already started) | {median_ms(times):.1f} |"
        )
    return rows


def file_cut_frames(synth: EspeakSynth) -> int:
    """Samples of speech written after a cut in file mode."""
    playout = Playout()
    with tempfile.TemporaryDirectory() as d:
        out = FileOutput(playout, Path(d) / "x.wav")
        playout.play(synth.render(SENTENCES[1]), 1)
        out.advance_to(SAMPLE_RATE)
        playout.cut()
        before = playout.frames
        out.advance_to(2 * SAMPLE_RATE)
        out.close()
        data = np.frombuffer((Path(d) / "x.wav").read_bytes()[44:], "<i2")
    return int(np.count_nonzero(data[before:]))


def device_cuts(trials: int = 10) -> tuple[list[float], float]:
    """Seconds the tone went on after each cut, through PulseAudio; the stream's latency."""
    lates = []
    with tempfile.TemporaryDirectory() as d, virtual_audio(Path(d)) as audio:
        reinit_portaudio()
        playout = Playout()
        output = LiveOutput(playout, "pulse")
        output.wait_flowing()
        latency = output.latency_s()
        tone = (np.sin(np.arange(4 * SAMPLE_RATE) * 2 * np.pi * 440 / SAMPLE_RATE) * 8000).astype(
            np.int16
        )
        rng = np.random.default_rng(1)
        for _ in range(trials):
            mark = audio.monitor_frames()
            played = time.monotonic()
            playout.play(tone)
            time.sleep(0.5 + rng.uniform(0, 0.5))
            cut = time.monotonic()
            playout.cut()
            time.sleep(0.5)
            rec = audio.recorded(mark)
            loud = np.flatnonzero(np.abs(rec.astype(np.int32)) > 300)
            lates.append((loud[-1] - loud[0]) / SAMPLE_RATE - (cut - played))
        output.close()
    return lates, latency


def main() -> None:
    rows = synthesis_rows()
    synth = EspeakSynth()
    body = [
        "### Synthesis (median per utterance, 4 utterances of 1 to 16 words)",
        "",
        "| method | ms |",
        "|---|---|",
        *rows,
        "",
        "The coach uses the first: it is the fastest and gives PCM we play ourselves, so a cut",
        "is one call. pyttsx3's own playback cannot be interrupted mid-utterance.",
        "",
        "### Cut: speech after `cut()`",
        "",
        "| path | result |",
        "|---|---|",
        f"| file output (`--audio-out`) | {file_cut_frames(synth)} samples of speech after the cut |",
        f"| playout, any device | silent from the next block: at most {BLOCK} samples = {BLOCK * 1000 // SAMPLE_RATE} ms |",
    ]
    reason = available()
    if reason is None:
        lates, latency = device_cuts()
        body.append(
            f"| PulseAudio null sink via PortAudio/ALSA (10 trials) | silent at the sink "
            f"{latency * 1000 + median_ms(lates):.0f} ms (median), "
            f"{(latency + max(lates)) * 1000:.0f} ms (worst) after the cut request: the stream's "
            f"{latency * 1000:.0f} ms output latency plus {median_ms(lates):.0f} ms "
            f"(worst {max(lates) * 1000:.0f} ms) measured on the recorded monitor |"
        )
    else:
        body.append(f"| PulseAudio null sink | not measured: {reason} |")
    write_section("voice_out", "\n".join(body))
    print("\n".join(body))


if __name__ == "__main__":
    main()
