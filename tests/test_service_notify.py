"""sd_notify against a real datagram socket standing in for systemd."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from voicecoach.service.notify import HealthWatchdog, Notifier


@pytest.fixture
def manager(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    """A bound datagram socket, named by NOTIFY_SOCKET, as systemd would provide it."""
    path = tmp_path / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(2.0)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    yield sock
    sock.close()


def received(sock: socket.socket) -> list[str]:
    """Every datagram waiting on the socket, decoded."""
    messages = []
    sock.setblocking(False)
    try:
        while True:
            messages.append(sock.recv(4096).decode())
    except BlockingIOError:
        pass
    finally:
        sock.settimeout(2.0)
    return messages


def test_ready_carries_status(manager: socket.socket) -> None:
    notifier = Notifier()
    assert notifier.enabled
    assert notifier.ready("listening on\nthe microphone")
    assert manager.recv(4096).decode() == "READY=1\nSTATUS=listening on the microphone"


def test_status_and_stopping(manager: socket.socket) -> None:
    notifier = Notifier()
    notifier.status("session: cat-cow, 3 of 8")
    notifier.stopping()
    assert manager.recv(4096) == b"STATUS=session: cat-cow, 3 of 8"
    assert manager.recv(4096) == b"STOPPING=1"


def test_watchdog_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"NOTIFY_SOCKET": "/nowhere", "WATCHDOG_USEC": "30000000"}
    assert Notifier(env).watchdog_interval() == 30.0
    mine = {**env, "WATCHDOG_PID": str(os.getpid())}
    assert Notifier(mine).watchdog_interval() == 30.0
    inherited = {**env, "WATCHDOG_PID": str(os.getpid() + 1)}
    assert Notifier(inherited).watchdog_interval() is None
    assert Notifier({**env, "WATCHDOG_USEC": "0"}).watchdog_interval() is None
    assert Notifier({**env, "WATCHDOG_USEC": "soon"}).watchdog_interval() is None
    assert Notifier({"NOTIFY_SOCKET": "/nowhere"}).watchdog_interval() is None


def test_watchdog_pings_only_when_healthy_and_at_half_interval(
    manager: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "10000000")  # 10 s: ping at most every 5 s
    now = [100.0]
    dog = HealthWatchdog(Notifier(), now=lambda: now[0])
    assert dog.active

    assert not dog.beat(mic_ok=False, engine_ticked=True)
    assert not dog.beat(mic_ok=True, engine_ticked=False)
    assert received(manager) == []

    assert dog.beat(mic_ok=True, engine_ticked=True)
    now[0] += 1.0
    assert not dog.beat(mic_ok=True, engine_ticked=True)  # too soon after the last ping
    now[0] += 4.0
    assert not dog.beat(mic_ok=False, engine_ticked=True)  # due, but the microphone is dead
    assert dog.beat(mic_ok=True, engine_ticked=True)
    assert received(manager) == ["WATCHDOG=1", "WATCHDOG=1"]


def test_watchdog_silent_without_watchdog_usec(manager: socket.socket) -> None:
    dog = HealthWatchdog(Notifier())
    assert not dog.active
    assert not dog.beat(mic_ok=True, engine_ticked=True)
    assert received(manager) == []


def test_no_op_when_notify_socket_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    monkeypatch.setenv("WATCHDOG_USEC", "1000000")
    notifier = Notifier()
    assert not notifier.enabled
    assert not notifier.ready("ready")
    assert not notifier.status("x")
    assert not notifier.watchdog()
    assert not notifier.stopping()
    assert not HealthWatchdog(notifier).beat(mic_ok=True, engine_ticked=True)


def test_relative_notify_socket_is_ignored() -> None:
    assert not Notifier({"NOTIFY_SOCKET": "relative/socket"}).enabled


def test_abstract_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"voicecoach-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(2.0)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        assert Notifier().ready()
        assert sock.recv(4096) == b"READY=1"


def test_send_failure_is_reported_not_raised(tmp_path: Path) -> None:
    notifier = Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone")})
    assert notifier.enabled
    assert not notifier.ready()
