"""The live microphone's own rules, with PortAudio replaced by a stream the test drives.

The real device path (unplugging, reopening) is tested on a virtual card in
``test_microphone_loss.py``; here the callback is called directly, so what it keeps when the
listener falls behind is exact.
"""

from __future__ import annotations

import ast
import sys
import threading
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import voicecoach
from voicecoach.audio import microphone


class FakeStream:
    """What ``sounddevice.InputStream`` is to the microphone: it keeps the callback."""

    opened: list[FakeStream] = []

    def __init__(self, **kwargs: Any) -> None:
        self.callback = kwargs["callback"]
        FakeStream.opened.append(self)

    def start(self) -> None:
        pass

    def abort(self) -> None:
        pass

    def close(self) -> None:
        pass

    def deliver(self, value: int, status: int = 0) -> None:
        block = np.full((microphone.BLOCK, 1), value, np.int16)
        self.callback(
            block, microphone.BLOCK, types.SimpleNamespace(inputBufferAdcTime=0.0), status
        )


class SlowListener:
    """Takes the first block, then stalls until released: the listener falling behind."""

    def __init__(self) -> None:
        self.fed: list[int] = []
        self.first = threading.Event()
        self.release = threading.Event()
        self.done = threading.Event()
        self.want = 0

    def feed(self, mic: np.ndarray, ref: np.ndarray | None, t: float) -> None:
        self.fed.append(int(mic[0]))
        self.first.set()
        self.release.wait(10)
        if len(self.fed) >= self.want:
            self.done.set()


@pytest.fixture
def fake_portaudio(monkeypatch: pytest.MonkeyPatch) -> type[FakeStream]:
    FakeStream.opened = []
    monkeypatch.setitem(sys.modules, "sounddevice", types.SimpleNamespace(InputStream=FakeStream))
    return FakeStream


def _microphone(listener: SlowListener, seen: list[str]) -> microphone.LiveMicrophone:
    return microphone.LiveMicrophone(
        listener,
        None,
        on_lost=lambda: seen.append("lost"),
        on_back=lambda: seen.append("back"),
    )


def test_a_full_queue_drops_the_oldest_blocks_and_counts_them(fake_portaudio):
    listener = SlowListener()
    mic = _microphone(listener, [])
    try:
        stream = fake_portaudio.opened[-1]
        stream.deliver(0)
        assert listener.first.wait(10)  # the listener holds block 0 and falls behind
        extra = 7
        for value in range(1, microphone.QUEUE_BLOCKS + extra + 1):
            stream.deliver(value)
        stream.deliver(9999, status=1)  # the device flags a block too
        listener.want = 1 + microphone.QUEUE_BLOCKS
        listener.release.set()
        assert listener.done.wait(10)
    finally:
        mic.close()
    last = microphone.QUEUE_BLOCKS + extra
    # The newest audio is kept ("stop" said just now); the oldest is what is dropped.
    assert listener.fed == [0, *range(extra + 2, last + 1), 9999]
    assert mic.counters() == {
        "mic_blocks": 1 + microphone.QUEUE_BLOCKS,
        "mic_dropped": extra + 1,
        "mic_flagged": 1,
        "mic_reopened": 0,
    }


def test_loss_and_return_are_told_through_plain_callbacks(fake_portaudio, monkeypatch):
    monkeypatch.setattr(microphone, "SILENT_FOR_S", 0.05)
    listener = SlowListener()
    listener.release.set()
    seen: list[str] = []
    mic = _microphone(listener, seen)
    try:
        deadline = threading.Event()
        for _ in range(200):  # silence: the microphone is lost, and reopened
            if "lost" in seen and len(fake_portaudio.opened) > 1:
                break
            deadline.wait(0.02)
        assert seen == ["lost"]
        fake_portaudio.opened[-1].deliver(5)  # blocks flow again from the reopened stream
        for _ in range(200):
            if "back" in seen:
                break
            deadline.wait(0.02)
    finally:
        mic.close()
    assert seen[:2] == ["lost", "back"]
    assert mic.reopened >= 1


def _imports(path: Path, package: str) -> set[str]:
    """Every module ``path`` imports, anywhere in it, relative imports made absolute."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            parts = package.split(".")
            base = ".".join(parts[: len(parts) - node.level + 1]) if node.level else ""
            module = ".".join(p for p in (base, node.module or "") if p)
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def test_no_audio_module_imports_the_engine():
    root = Path(voicecoach.__file__).parent
    modules = sorted((root / "audio").rglob("*.py"))
    assert len(modules) > 1
    leaks = set()
    for path in modules:
        package = ".".join(("voicecoach", *path.parent.relative_to(root).parts))
        for name in _imports(path, package):
            if name == "voicecoach.engine" or name.startswith("voicecoach.engine."):
                leaks.add(f"{path.name}: {name}")
    assert not leaks, "the audio package must not know the engine"
