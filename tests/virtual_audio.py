"""A private PulseAudio server with a null sink (the speaker) and a pipe source (the microphone).

PortAudio reaches it through ALSA's pulse plugin (libasound2-plugins), so the code under test
uses the real sounddevice/PortAudio path. Used by tests and benchmarks; started per use, in a
private runtime folder, and killed afterwards.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SINK = "coach_speaker"
SOURCE = "coach_mic"
RATE = 16000


@dataclass
class VirtualAudio:
    """A running server: its environment, the microphone pipe, and a recording of the speaker.

    The speaker's monitor is recorded from start to end into ``monitor``. Besides giving tests
    what was played, the recorder keeps the null sink's latency low: with no low-latency client
    the null sink runs with a 2 s latency and the ALSA pulse plugin starves (measured).
    """

    runtime: Path
    mic_fifo: Path
    env: dict[str, str]
    monitor: Path

    def monitor_frames(self) -> int:
        """Frames recorded from the speaker so far."""
        return self.monitor.stat().st_size // 2

    def recorded(self, start_frame: int = 0) -> np.ndarray:
        """What the speaker played, from ``start_frame`` on (int16, 16 kHz)."""
        with self.monitor.open("rb") as f:
            f.seek(start_frame * 2)
            data = f.read()
        return np.frombuffer(data[: len(data) // 2 * 2], dtype="<i2")

    def pactl(self, *args: str) -> str:
        """Run pactl against this server."""
        return subprocess.run(
            ["pactl", *args], env=self.env, check=True, capture_output=True, text=True
        ).stdout


def available() -> str | None:
    """Why a virtual audio server cannot run here, or None."""
    for tool in ("pulseaudio", "pactl", "parec"):
        if not shutil.which(tool):
            return f"{tool} is not installed (scripts/setup.sh --test installs it)"
    if not Path(
        "/usr/lib/x86_64-linux-gnu/alsa-lib/libasound_module_pcm_pulse.so"
    ).exists() and not list(Path("/usr/lib").glob("*/alsa-lib/libasound_module_pcm_pulse.so")):
        return "ALSA's pulse plugin (libasound2-plugins) is not installed"
    return None


def _server(*modules: str) -> list[str]:
    """A private pulseaudio in the foreground, with only these modules (no default.pa)."""
    cmd = ["pulseaudio", "--daemonize=no", "--exit-idle-time=-1", "--disallow-exit"]
    cmd += ["--use-pid-file=no", "-n", "--log-target=stderr"]
    for module in modules:
        cmd += ["-L", module]
    return cmd


@contextmanager
def virtual_audio(tmp: Path) -> Iterator[VirtualAudio]:
    """Start the server with PULSE_SERVER etc. set in os.environ for in-process PortAudio."""
    runtime = tmp / "pulse-runtime"
    runtime.mkdir(mode=0o700)
    fifo = runtime / "mic.fifo"
    env = dict(
        os.environ,
        XDG_RUNTIME_DIR=str(runtime),
        HOME=str(tmp),
        PULSE_RUNTIME_PATH=str(runtime / "pulse"),
    )
    cmd = _server(
        "module-native-protocol-unix",
        f"module-null-sink sink_name={SINK} rate={RATE} channels=1",
        f"module-pipe-source source_name={SOURCE} file={fifo} format=s16le rate={RATE} channels=1",
        "module-always-sink",
    )
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    audio = VirtualAudio(runtime, fifo, env, runtime / "monitor.raw")
    recorder: subprocess.Popen[bytes] | None = None
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                audio.pactl("info")
                break
            except subprocess.CalledProcessError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "pulseaudio did not start: " + server.stderr.read().decode()[-2000:]
                    ) from None
                time.sleep(0.05)
        audio.pactl("set-default-sink", SINK)
        audio.pactl("set-default-source", SOURCE)
        with audio.monitor.open("wb") as sink_file:
            recorder = subprocess.Popen(
                [
                    "parec",
                    f"--device={SINK}.monitor",
                    "--format=s16le",
                    f"--rate={RATE}",
                    "--channels=1",
                    "--latency-msec=10",
                    "--raw",
                ],
                env=env,
                stdout=sink_file,
            )
        # Wait until the recorder is connected: only then does the sink run at low latency.
        while not audio.pactl("list", "short", "source-outputs").strip():
            if time.monotonic() > deadline:
                raise RuntimeError("the monitor recorder did not connect")
            time.sleep(0.05)
        # Warm the sink up with a short native-protocol stream: the very first ALSA-plugin stream
        # to a fresh null sink otherwise stalls for up to a second (measured).
        silence = runtime / "silence.raw"
        silence.write_bytes(bytes(2 * RATE // 10))
        subprocess.run(
            ["pacat", "--raw", "--format=s16le", f"--rate={RATE}", "--channels=1", str(silence)],
            env=env,
            check=True,
            timeout=10,
        )
        saved = {k: os.environ.get(k) for k in ("XDG_RUNTIME_DIR", "PULSE_RUNTIME_PATH")}
        os.environ.update(
            XDG_RUNTIME_DIR=env["XDG_RUNTIME_DIR"], PULSE_RUNTIME_PATH=env["PULSE_RUNTIME_PATH"]
        )
        try:
            yield audio
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    finally:
        if recorder is not None:
            recorder.send_signal(signal.SIGINT)
            recorder.wait(5)
        server.terminate()
        try:
            server.wait(5)
        except subprocess.TimeoutExpired:
            server.kill()


def reinit_portaudio() -> None:
    """PortAudio lists devices when it initialises: make it look again."""
    import sounddevice as sd

    sd._terminate()
    sd._initialize()


class MicFeeder:
    """Writes audio into the virtual microphone's FIFO in real time (silence by default).

    Without a writer the pipe source delivers nothing, which is what an unplugged microphone
    looks like to the coach.
    """

    def __init__(self, audio: VirtualAudio, pcm: np.ndarray | None = None) -> None:
        import threading

        self._pcm = pcm if pcm is not None else np.zeros(0, np.int16)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(audio.mic_fifo,), daemon=True)
        self._thread.start()

    def _run(self, fifo: Path) -> None:
        import os as _os

        fd = _os.open(fifo, _os.O_WRONLY)
        try:
            block = RATE // 50
            position = 0
            start = time.monotonic()
            sent = 0
            while not self._stop.is_set():
                chunk = self._pcm[position : position + block]
                position += block
                if len(chunk) < block:
                    chunk = np.concatenate([chunk, np.zeros(block - len(chunk), np.int16)])
                _os.write(fd, chunk.astype("<i2").tobytes())
                sent += block
                delay = start + sent / RATE - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
        finally:
            _os.close(fd)

    def close(self) -> None:
        """Stop writing (the microphone goes silent, as if unplugged)."""
        self._stop.set()
        self._thread.join(2)


PLUGGABLE = "coachmic"  # the ALSA device name of the pluggable microphone


class PluggableMicrophone:
    """A microphone on its own PulseAudio server, which can be unplugged and plugged back.

    It lives on a second server because a server moves a recording stream whose source
    disappears to another source (here: the speaker's monitor), which is not what unplugging a
    USB microphone on the device does. Alone on its server, the source takes its stream with it.
    ALSA reaches it as the device ``coachmic`` (written to ``home/.asoundrc``: the home of the
    process under test); audio is fed in real time, following the pipe through unplug and replug.
    """

    def __init__(self, tmp: Path, home: Path) -> None:
        import threading

        self.runtime = tmp / "mic-runtime"
        self.runtime.mkdir(mode=0o700)
        self.fifo = self.runtime / "mic.fifo"
        socket = self.runtime / "native"
        self.env = dict(os.environ, PULSE_SERVER=f"unix:{socket}", HOME=str(tmp))
        self.server = subprocess.Popen(
            _server(f"module-native-protocol-unix socket={socket} auth-anonymous=1"),
            env=dict(self.env, XDG_RUNTIME_DIR=str(self.runtime)),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while subprocess.run(["pactl", "info"], env=self.env, capture_output=True).returncode:
            if self.server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the microphone's pulseaudio did not start")
            time.sleep(0.05)
        asoundrc = home / ".asoundrc"
        asoundrc.write_text(
            f'pcm.{PLUGGABLE} {{ type pulse; server "unix:{socket}"; device "{SOURCE}" }}\n'
        )
        self.module: str | None = None
        self.plug()
        self._said: list[np.ndarray] = []  # queued speech, fed in place of the quiet noise
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._feed, daemon=True)
        self._thread.start()

    def _pactl(self, *args: str) -> str:
        return subprocess.run(
            ["pactl", *args], env=self.env, check=True, capture_output=True, text=True
        ).stdout

    def plug(self) -> None:
        """The microphone appears."""
        self.module = self._pactl(
            "load-module",
            "module-pipe-source",
            f"source_name={SOURCE}",
            f"file={self.fifo}",
            "format=s16le",
            f"rate={RATE}",
            "channels=1",
        ).strip()

    def unplug(self) -> None:
        """The microphone disappears, and its stream with it."""
        if self.module is not None:
            self._pactl("unload-module", self.module)
            self.module = None

    def say(self, pcm: np.ndarray) -> None:
        """Speak into the microphone (16 kHz int16), as soon as what was queued before is done."""
        self._said.append(pcm.astype(np.int16))

    def _feed(self) -> None:
        """Quiet noise into the pipe in real time, reopening it after each replug."""
        rng = np.random.default_rng(0)
        block = RATE // 50
        while not self._stop.is_set():
            try:
                fd = os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # no source reading the pipe now: unplugged
                time.sleep(0.05)
                continue
            os.set_blocking(fd, True)
            start, sent = time.monotonic(), 0
            try:
                speech = np.zeros(0, np.int16)
                while not self._stop.is_set():
                    if not speech.size and self._said:
                        speech = self._said.pop(0)
                    chunk = rng.normal(0, 30, block).astype(np.int16)
                    part, speech = speech[:block], speech[block:]
                    chunk[: len(part)] += part
                    os.write(fd, chunk.astype("<i2").tobytes())
                    sent += block
                    delay = start + sent / RATE - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
            except OSError:  # the source went away
                pass
            finally:
                os.close(fd)

    def close(self) -> None:
        """Stop feeding and the server."""
        self._stop.set()
        self._thread.join(2)
        self.server.terminate()
        try:
            self.server.wait(5)
        except subprocess.TimeoutExpired:
            self.server.kill()
