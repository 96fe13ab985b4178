"""Microphone loss on a real PortAudio device: unplugged and plugged back ten times in a session.

The microphone is a PulseAudio pipe source on its own server (see ``PluggableMicrophone``);
unloading its module is what pulling a USB microphone looks like to the coach: the stream stops
delivering. The coach must pause and say so, reopen the device with back-off, and listen again
when it is back; never crash, never guide blind.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.scenes import no_questions
from tests.virtual_audio import PLUGGABLE, PluggableMicrophone, available, virtual_audio
from voicecoach.cli import cli
from voicecoach.engine import prompts

pytestmark = pytest.mark.skipif(available() is not None, reason=str(available()))

CYCLES = 10


def _wait_for(proc: subprocess.Popen, lines: list[str], text: str, count: int, within: float):
    """Read stderr lines until ``text`` has appeared ``count`` times."""
    deadline = time.monotonic() + within
    while sum(text in line for line in lines) < count:
        assert time.monotonic() < deadline, f"no {text!r} #{count}:\n" + "".join(lines[-30:])
        line = proc.stderr.readline()
        assert line, "the coach exited:\n" + "".join(lines[-30:])
        lines.append(line)


def test_unplugged_and_plugged_back_ten_times_during_a_session(tmp_path: Path):
    with virtual_audio(tmp_path) as audio:
        mic = PluggableMicrophone(tmp_path, Path(audio.env["HOME"]))
        proc = subprocess.Popen(
            [sys.executable, "-m", "voicecoach", "-v", "--data-dir", str(tmp_path / "data")]
            + ["--config", str(no_questions(tmp_path))]  # about the microphone, not questions
            + ["run", "core-stability", "--input-device", PLUGGABLE],
            env=audio.env,
            stdin=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        lines: list[str] = []
        try:
            _wait_for(proc, lines, "coach: ", 1, 30)  # the session has begun
            for cycle in range(1, CYCLES + 1):
                mic.unplug()
                _wait_for(proc, lines, "no microphone input", cycle, 10)
                time.sleep(1.0)  # unplugged for a while: reopening fails meanwhile
                mic.plug()
                _wait_for(proc, lines, "microphone back", cycle, 20)
            out, err = proc.communicate("finish\n", timeout=60)
            lines += err.splitlines(keepends=True)
        finally:
            if proc.poll() is None:
                proc.kill()
            mic.close()
    log = "".join(lines)
    assert proc.returncode == 0, log[-3000:]
    assert "Traceback" not in log
    # Paused and said so, once per loss while running; heard again each time.
    assert prompts.MIC_LOST in log
    assert log.count("microphone reopened") >= CYCLES
    history = CliRunner().invoke(cli, ["--data-dir", str(tmp_path / "data"), "history", "--json"])
    assert '"end_reason": "finished_early"' in history.stdout


def _coach(env: dict[str, str], *args: str, stdin: int | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "voicecoach", "-v", *args],
        env=env,
        stdin=stdin,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )


# Cheap recognizers: this is about the microphone, not about what it would hear.
NO_MIC = ["--input-device", "no-such-microphone", "--asr", "none", "--no-command-model"]


def test_run_and_serve_both_pause_and_say_so_without_a_microphone(tmp_path: Path):
    """`run` and a session of `serve` are wired by the same builder: same warning, same pause."""
    with virtual_audio(tmp_path) as audio:
        env = dict(
            audio.env,
            VOICECOACH_DATA_DIR=str(tmp_path / "data"),
            VOICECOACH_RUNTIME_DIR=str(tmp_path / "run"),
        )
        warning = "warning: no microphone: the session is paused until one is found"

        # `voicecoach run` on its own (no service): it holds the session and says why.
        run = _coach(env, "run", "desk-break", *NO_MIC, stdin=subprocess.PIPE)
        lines: list[str] = []
        try:
            _wait_for(run, lines, f"coach: {prompts.MIC_LOST}", 1, 60)
            _, err = run.communicate("finish\n", timeout=60)  # a typed command still works
            lines += err.splitlines(keepends=True)
        finally:
            if run.poll() is None:
                run.kill()
        log = "".join(lines)
        assert run.returncode == 0, log[-3000:]
        assert warning in log and "Commands can only be typed" not in log
        assert "Traceback" not in log

        # `voicecoach serve`: a session asked over its socket pauses the same way.
        serve = _coach(env, "serve", *NO_MIC)
        lines = []
        try:
            _wait_for(serve, lines, "control socket", 1, 60)
            asked = subprocess.run(
                [sys.executable, "-m", "voicecoach", "run", "desk-break"],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert asked.returncode == 0, asked.stderr
            assert warning in asked.stderr
            assert "The voicecoach service is guiding desk-break." in asked.stderr
            _wait_for(serve, lines, f"coach: {prompts.MIC_LOST}", 1, 30)
            stopped = subprocess.run(
                [sys.executable, "-m", "voicecoach", "stop"],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert stopped.returncode == 0, stopped.stderr
            serve.send_signal(signal.SIGTERM)
            _, err = serve.communicate(timeout=30)
            lines += err.splitlines(keepends=True)
        finally:
            if serve.poll() is None:
                serve.kill()
        log = "".join(lines)
        assert serve.returncode == 0, log[-3000:]
        assert "Traceback" not in log
