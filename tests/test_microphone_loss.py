"""Microphone loss on a real PortAudio device: unplugged and plugged back ten times in a session.

The microphone is a PulseAudio pipe source on its own server (see ``PluggableMicrophone``);
unloading its module is what pulling a USB microphone looks like to the coach: the stream stops
delivering. The coach must pause and say so, reopen the device with back-off, and listen again
when it is back; never crash, never guide blind.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

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
