"""The control socket: round trips, permissions, and a server that no input can crash or stall."""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import socket
import stat
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from voicecoach.service.control import (
    AlreadyRunning,
    ControlServer,
    RequestError,
    ServiceError,
    ServiceUnavailable,
    default_socket_path,
    dispatch,
    peer_allowed,
    request,
)

QUICK = 1.0  # seconds a status request may take even on a busy 2-core machine


def status(_request: dict[str, Any]) -> dict[str, Any]:
    return {"state": "idle"}


def boom(_request: dict[str, Any]) -> dict[str, Any]:
    raise RuntimeError("the microphone caught fire")


def picky(request: dict[str, Any]) -> dict[str, Any]:
    if "routine" not in request:
        raise RequestError("run needs a routine")
    return {"started": request["routine"]}


def not_a_dict(_request: dict[str, Any]) -> dict[str, Any]:
    return "surprise"  # type: ignore[return-value]


def unserialisable(_request: dict[str, Any]) -> dict[str, Any]:
    return {"when": object()}


HANDLER = dispatch(
    {"status": status, "boom": boom, "run": picky, "odd": not_a_dict, "blob": unserialisable}
)


@pytest.fixture
def sock_path(tmp_path: Path) -> Path:
    return tmp_path / "run" / "control.sock"


@pytest.fixture
def server(sock_path: Path) -> Iterator[ControlServer]:
    with ControlServer(sock_path, HANDLER) as running:
        yield running


def raw(path: Path, data: bytes, *, eof: bool = False, timeout: float = 3.0) -> bytes:
    """Send raw bytes, optionally half-close, and return everything the server sends back."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(path))
        try:
            sock.sendall(data)
            if eof:
                sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may hang up on an over-long line before we finish sending
        reply = b""
        try:
            while chunk := sock.recv(65536):
                reply += chunk
        except ConnectionResetError:
            pass  # it closed with our surplus unread; what it sent first is still in `reply`
        return reply


def error_of(reply: bytes) -> str:
    assert reply.endswith(b"\n") and reply.count(b"\n") == 1, reply
    decoded = json.loads(reply)
    assert decoded["ok"] is False
    return str(decoded["error"])


def assert_quick_status(path: Path) -> None:
    started = time.monotonic()
    assert request(path, {"cmd": "status"}, timeout=5) == {"ok": True, "state": "idle"}
    assert time.monotonic() - started < QUICK


def test_round_trip(server: ControlServer, sock_path: Path) -> None:
    assert request(sock_path, {"cmd": "status"}) == {"ok": True, "state": "idle"}
    assert request(sock_path, {"cmd": "run", "routine": "cat-cow"}) == {
        "ok": True,
        "started": "cat-cow",
    }


def test_socket_is_0600_in_a_0700_directory(server: ControlServer, sock_path: Path) -> None:
    assert stat.S_ISSOCK(sock_path.stat().st_mode)
    assert stat.S_IMODE(sock_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(sock_path.parent.stat().st_mode) == 0o700


def test_socket_is_born_private_not_chmodded_later(
    sock_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    previous = os.umask(0)  # the most permissive umask a caller could have
    try:
        monkeypatch.setattr(os, "chmod", lambda *_args: None)  # only the umask protects
        with ControlServer(sock_path, HANDLER):
            assert stat.S_IMODE(sock_path.stat().st_mode) == 0o600
            assert stat.S_IMODE(sock_path.parent.stat().st_mode) == 0o700
    finally:
        os.umask(previous)


def test_refuses_a_directory_others_can_write(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    with pytest.raises(ServiceError, match="writable by others"):
        ControlServer(shared / "control.sock", HANDLER).start()


def test_refuses_to_replace_a_regular_file(sock_path: Path) -> None:
    sock_path.parent.mkdir(mode=0o700)
    sock_path.write_text("not a socket")
    with pytest.raises(ServiceError, match="not a socket"):
        ControlServer(sock_path, HANDLER).start()


def test_stale_socket_is_replaced_and_a_live_one_is_not(sock_path: Path) -> None:
    sock_path.parent.mkdir(mode=0o700)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as dead:
        dead.bind(str(sock_path))  # left behind, nobody listening
    with ControlServer(sock_path, HANDLER):
        assert_quick_status(sock_path)
        with pytest.raises(AlreadyRunning):
            ControlServer(sock_path, HANDLER).start()
        assert_quick_status(sock_path)  # the failed second server did not remove our socket
    assert not sock_path.exists()


def test_bad_requests_get_error_replies(server: ControlServer, sock_path: Path) -> None:
    cases = {
        b"\xff\xfe{}\n": "not valid UTF-8",
        b'{"cmd": "stat\n': "not valid JSON",
        b"[" * 3000 + b"\n": "not valid JSON",  # nested beyond the recursion limit
        b'["status"]\n': "must be a JSON object",
        b"{}\n": '"cmd"',
        b'{"cmd": 3}\n': '"cmd"',
        b'{"cmd": ""}\n': '"cmd"',
        b'{"cmd": "fly"}\n': "unknown command 'fly'; known commands: blob, boom, odd, run, status",
        b'{"cmd": "run"}\n': "run needs a routine",
        b"x" * 5000 + b"\n": "longer than 4096 bytes",
        b"x" * 100_000: "longer than 4096 bytes",
    }
    for data, expected in cases.items():
        assert expected in error_of(raw(sock_path, data)), data[:40]
    assert_quick_status(sock_path)


def test_handler_failures_are_replies_not_crashes(server: ControlServer, sock_path: Path) -> None:
    reply = request(sock_path, {"cmd": "boom"})
    assert reply["ok"] is False
    assert "RuntimeError: the microphone caught fire" in reply["error"]
    assert request(sock_path, {"cmd": "odd"})["ok"] is False
    assert request(sock_path, {"cmd": "blob"})["ok"] is False
    assert_quick_status(sock_path)


def test_unterminated_line_is_answered_at_end_of_file(
    server: ControlServer, sock_path: Path
) -> None:
    reply = json.loads(raw(sock_path, b'{"cmd": "status"}', eof=True))
    assert reply == {"ok": True, "state": "idle"}


def test_silent_client_times_out_without_stalling_others(sock_path: Path) -> None:
    with (
        ControlServer(sock_path, HANDLER, client_timeout=0.3),
        socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as idle,
    ):
        idle.settimeout(3.0)
        idle.connect(str(sock_path))
        idle.sendall(b'{"cmd": "sta')
        assert_quick_status(sock_path)  # served while the idle one still waits
        started = time.monotonic()
        assert "timed out" in error_of(idle.recv(4096))
        assert time.monotonic() - started < 2.0


def test_a_flood_of_idle_connections_cannot_lock_others_out(sock_path: Path) -> None:
    with ControlServer(sock_path, HANDLER, max_clients=16):
        idle = []
        try:
            for _ in range(40):  # more than max_clients: the oldest are dropped to make room
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.connect(str(sock_path))
                idle.append(sock)
            assert_quick_status(sock_path)
        finally:
            for sock in idle:
                sock.close()


def fuzz_case(rng: random.Random) -> tuple[str, bytes]:
    """One hostile or broken request: (how it is sent, the bytes)."""
    kind = rng.choice(
        ["junk", "junk", "truncated", "huge", "non-object", "bad-cmd", "idle", "hangup", "eof"]
    )
    if kind == "junk":
        return "line", rng.randbytes(rng.randint(0, 300)) + b"\n"
    if kind == "truncated":
        valid = json.dumps({"cmd": "run", "routine": "x" * rng.randint(0, 50)}).encode()
        return "line", valid[: rng.randint(0, len(valid) - 1)] + b"\n"
    if kind == "huge":
        return "line", rng.randbytes(rng.randint(4097, 30_000)).replace(b"\n", b" ") + b"\n"
    if kind == "non-object":
        value = rng.choice(["[]", "42", "null", '"status"', "true", "1e999", "[" * 2000])
        return "line", value.encode() + b"\n"
    if kind == "bad-cmd":
        cmd = rng.choice([None, 7, "", "STATUS", "boom", "\u00e9" * 50, ["status"], {"a": 1}])
        return "line", json.dumps({"cmd": cmd}).encode() + b"\n"
    if kind == "idle":  # connects, maybe sends half a line, then never again
        return "idle", rng.choice([b"", b"{", b'{"cmd": "status"', rng.randbytes(10)])
    if kind == "hangup":  # sends something and goes away without reading the reply
        return "hangup", rng.randbytes(rng.randint(0, 5000))
    return "eof", rng.randbytes(rng.randint(1, 200)).replace(b"\n", b"")


def test_fuzz_server_keeps_answering(server: ControlServer, sock_path: Path) -> None:
    rng = random.Random(20240601)
    cases, batch = 5000, 250
    started = time.monotonic()
    idle: list[socket.socket] = []
    kinds: dict[str, int] = {}
    unanswered = 0
    try:
        for index in range(cases):
            how, data = fuzz_case(rng)
            kinds[how] = kinds.get(how, 0) + 1
            if how == "idle":
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.connect(str(sock_path))
                sock.sendall(data)
                idle.append(sock)
            elif how == "hangup":
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                    sock.connect(str(sock_path))
                    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                        sock.sendall(data)
            else:
                reply = raw(sock_path, data, eof=how == "eof")
                if not reply:  # only for an over-long line the server hung up on (reset)
                    unanswered += 1
                else:
                    decoded = json.loads(reply)
                    assert isinstance(decoded, dict) and "ok" in decoded, (data[:60], reply)
                    if how == "line":
                        assert decoded["ok"] is False, data[:60]
            if (index + 1) % batch == 0:
                assert_quick_status(sock_path)  # with this batch's idle clients still open
                for sock in idle:
                    sock.close()
                idle.clear()
    finally:
        for sock in idle:
            sock.close()
    elapsed = time.monotonic() - started
    print(f"fuzz: {cases} cases {kinds}, {unanswered} unanswered, in {elapsed:.1f} s")
    assert unanswered < cases // 100
    assert elapsed < 15, "keep this test light"
    assert_quick_status(sock_path)


def test_service_unavailable_when_nothing_listens(tmp_path: Path) -> None:
    with pytest.raises(ServiceUnavailable):
        request(tmp_path / "missing" / "control.sock", {"cmd": "status"})
    stale = tmp_path / "stale.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as dead:
        dead.bind(str(stale))
    with pytest.raises(ServiceUnavailable, match="no voicecoach service"):
        request(stale, {"cmd": "status"})


def test_server_too_busy_to_accept_is_an_error_not_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "busy.sock"
    waiting = []
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as busy:
        busy.bind(str(path))
        busy.listen(0)  # never accepts: the backlog fills up
        try:
            for _ in range(8):
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.setblocking(False)
                waiting.append(sock)
                try:
                    sock.connect(str(path))
                except BlockingIOError:
                    break
            with pytest.raises(ServiceError, match="no connection within 0.3 s") as caught:
                request(path, {"cmd": "status"}, timeout=0.3)
            assert not isinstance(caught.value, ServiceUnavailable)
        finally:
            for sock in waiting:
                sock.close()


def test_client_rejects_oversized_request(server: ControlServer, sock_path: Path) -> None:
    with pytest.raises(ValueError, match="longer than"):
        request(sock_path, {"cmd": "run", "routine": "x" * 5000})


def test_client_times_out_on_a_server_that_never_answers(tmp_path: Path) -> None:
    path = tmp_path / "mute.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as mute:
        mute.bind(str(path))
        mute.listen(1)
        with pytest.raises(ServiceError, match="no reply within 0.2 s") as caught:
            request(path, {"cmd": "status"}, timeout=0.2)
        assert not isinstance(caught.value, ServiceUnavailable)


def test_peer_policy() -> None:
    assert peer_allowed(1000, own_uid=1000)
    assert peer_allowed(0, own_uid=1000)
    assert not peer_allowed(1001, own_uid=1000)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to connect as another user")
def test_other_users_are_refused_by_peer_credentials() -> None:
    python = shutil.which("python3", path="/usr/bin:/bin")
    if python is None:
        pytest.skip("no system python3 to run as nobody")
    # A world-reachable place, loosened after start so only SO_PEERCRED stands in the way.
    base = Path(tempfile.mkdtemp(prefix="vc-peer-", dir="/tmp"))
    try:
        path = base / "run" / "control.sock"
        with ControlServer(path, HANDLER):
            base.chmod(0o711)
            path.parent.chmod(0o711)
            path.chmod(0o666)
            client = (
                "import socket, sys\n"
                "s = socket.socket(socket.AF_UNIX)\n"
                "s.settimeout(3)\n"
                "s.connect(sys.argv[1])\n"
                "try:\n"
                '    s.sendall(b\'{"cmd": "status"}\\n\')\n'
                "except BrokenPipeError:\n"
                "    pass  # refused before it spoke\n"
                "sys.stdout.write(s.recv(4096).decode())\n"
            )
            done = subprocess.run(
                [python, "-c", client, str(path)],
                user=65534,
                group=65534,
                extra_groups=[],
                capture_output=True,
                text=True,
                timeout=20,
                check=True,
            )
            assert "permission denied for uid 65534" in error_of(done.stdout.encode())
            assert_quick_status(path)
    finally:
        shutil.rmtree(base)


def test_default_socket_path(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("VOICECOACH_RUNTIME_DIR", "RUNTIME_DIRECTORY", "XDG_RUNTIME_DIR"):
        monkeypatch.delenv(var, raising=False)
    assert default_socket_path() == Path("/run/voicecoach/control.sock")
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/1000")
    assert default_socket_path() == Path("/run/user/1000/voicecoach/control.sock")
    monkeypatch.setenv("RUNTIME_DIRECTORY", "/run/voicecoach:/run/other")
    assert default_socket_path() == Path("/run/voicecoach/control.sock")
    monkeypatch.setenv("VOICECOACH_RUNTIME_DIR", "/srv/vc")
    assert default_socket_path() == Path("/srv/vc/control.sock")
    monkeypatch.setenv("VOICECOACH_RUNTIME_DIR", "relative")
    assert default_socket_path() == Path("/run/voicecoach/control.sock")


def test_socket_path_too_long_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ServiceError, match="longer than AF_UNIX allows"):
        ControlServer(tmp_path / ("x" * 120) / "control.sock", HANDLER)


class Deferred:
    """A handler whose replies are given later, by another thread (as the service's loop does)."""

    def __init__(self) -> None:
        self.futures: list[Future[dict[str, Any]]] = []

    def __call__(self, request: dict[str, Any]) -> Any:
        if request["cmd"] == "status":
            return {"state": "idle"}
        future: Future[dict[str, Any]] = Future()
        self.futures.append(future)
        return future

    def wait_for_request(self, number: int = 1) -> Future[dict[str, Any]]:
        deadline = time.monotonic() + 10
        while len(self.futures) < number and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.futures[number - 1]


def test_a_deferred_reply_arrives_when_the_work_is_done(sock_path: Path) -> None:
    handler = Deferred()
    with ControlServer(sock_path, handler):
        replies: list[dict[str, Any]] = []
        asker = threading.Thread(
            target=lambda: replies.append(request(sock_path, {"cmd": "run"}, timeout=20))
        )
        asker.start()
        future = handler.wait_for_request()
        assert_quick_status(sock_path)  # others are served while one waits
        assert not replies
        assert future.set_running_or_notify_cancel()
        future.set_result({"ok": False, "error": "cannot start: no audio device"})
        asker.join(timeout=20)
        assert replies == [{"ok": False, "error": "cannot start: no audio device"}]

        asker = threading.Thread(
            target=lambda: replies.append(request(sock_path, {"cmd": "run"}, timeout=20))
        )
        asker.start()
        handler.wait_for_request(2).set_result({"started": "x"})
        asker.join(timeout=20)
        assert replies[-1] == {"ok": True, "started": "x"}


def test_a_deferred_reply_that_never_comes_is_an_error_and_cancels_the_work(
    sock_path: Path,
) -> None:
    handler = Deferred()
    with ControlServer(sock_path, handler, reply_timeout=0.3):
        reply = request(sock_path, {"cmd": "run"}, timeout=20)
        assert reply["ok"] is False and "was not carried out" in reply["error"]
        assert handler.futures[0].cancelled()  # so the service does not start it later
        assert_quick_status(sock_path)


def test_a_client_that_hangs_up_cancels_its_deferred_work(sock_path: Path) -> None:
    handler = Deferred()
    with ControlServer(sock_path, handler):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(str(sock_path))
            sock.sendall(b'{"cmd": "run"}\n')
            future = handler.wait_for_request()
        deadline = time.monotonic() + 10
        while not future.cancelled() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert future.cancelled()  # so the service does not start what nobody waits for
        assert_quick_status(sock_path)


def test_a_closing_server_answers_those_still_waiting(sock_path: Path) -> None:
    handler = Deferred()
    server = ControlServer(sock_path, handler)
    server.start()
    replies: list[dict[str, Any]] = []
    asker = threading.Thread(
        target=lambda: replies.append(request(sock_path, {"cmd": "run"}, timeout=20))
    )
    asker.start()
    future = handler.wait_for_request()
    server.close()
    asker.join(timeout=20)
    assert replies and replies[0]["ok"] is False and "stopped" in replies[0]["error"]
    assert future.cancelled()
