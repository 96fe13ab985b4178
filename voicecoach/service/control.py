"""The private control socket between the CLI and ``voicecoach serve``.

Protocol: the client connects, sends one JSON object on one UTF-8 line (``{"cmd": "status"}``),
reads one JSON object line back (``{"ok": true, ...}`` or ``{"ok": false, "error": "..."}``)
and the server closes the connection. One request per connection keeps both sides trivial.

The server is a single thread running a ``selectors`` loop over non-blocking sockets, not a
thread per connection: a client that connects and sends nothing (or half a line) costs one
file descriptor and is dropped at its deadline, while other clients are served meanwhile;
nothing can make it spawn threads without bound, and handler calls are serialised, so the
handler needs no locking of its own. The price: a handler must be quick (start a session
elsewhere and return, never run one inline). A handler whose answer depends on work done
elsewhere (did the session really start?) returns a ``Future`` instead: the connection waits,
costing nothing but its descriptor, until the future holds the reply or ``REPLY_TIMEOUT`` passes;
a client that gave up or was dropped cancels the future, so the work is not done for nobody.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import selectors
import socket
import stat
import struct
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voicecoach import paths

log = logging.getLogger(__name__)

SOCKET_NAME = "control.sock"
MAX_REQUEST = 4096  # bytes in a request line, newline excluded
MAX_REPLY = 1 << 20  # what a client accepts before calling the server broken
CLIENT_TIMEOUT = 2.0  # seconds a connection may take to send its line (and to take the reply)
REPLY_TIMEOUT = 30.0  # seconds a deferred reply (a Future) may take: loading a session's models
MAX_CLIENTS = 64  # open connections; the oldest is dropped to make room for a new one
_UNIX_PATH_MAX = 108  # sockaddr_un.sun_path, including the terminating NUL

Request = dict[str, Any]
Reply = dict[str, Any]
Answer = Reply | Future[Reply]  # a reply now, or one the service gives when the work is done
Handler = Callable[[Request], Answer]


class ServiceError(RuntimeError):
    """The control socket could not be used; the message says why and what to do."""


class ServiceUnavailable(ServiceError):
    """No service listens at the socket: the CLI may run the session itself instead."""


class AlreadyRunning(ServiceError):
    """Another server already answers on the socket path."""


class RequestError(ValueError):
    """Raised by a handler for a request it rejects; the message goes back to the client."""


def default_socket_path() -> Path:
    """Where the control socket lives: in ``paths.runtime_dir()``."""
    return paths.runtime_dir() / SOCKET_NAME


def _short(value: object, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def dispatch(commands: Mapping[str, Handler]) -> Handler:
    """A handler that routes on ``"cmd"``, naming the known commands when it is unknown."""
    table = dict(commands)

    def handle(request: Request) -> Answer:
        cmd = request.get("cmd")
        command = table.get(cmd) if isinstance(cmd, str) else None
        if command is None:
            known = ", ".join(sorted(table))
            raise RequestError(f"unknown command {_short(cmd)}; known commands: {known}")
        return command(request)

    return handle


def error_reply(message: str) -> Reply:
    """The reply for a request that failed."""
    return {"ok": False, "error": message}


def peer_uid(sock: socket.socket) -> int:
    """The uid of the process at the other end of a connected Unix socket (SO_PEERCRED).

    The kernel records it at connect time, so the client cannot lie about it.
    """
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return int(uid)


def peer_allowed(uid: int, own_uid: int | None = None) -> bool:
    """Only our own user and root may drive the coach (the socket mode says so too)."""
    return uid in (os.getuid() if own_uid is None else own_uid, 0)


_umask_lock = threading.Lock()


@contextmanager
def _umask(mask: int) -> Iterator[None]:
    # The umask is process-wide: files other threads create meanwhile are only made *more*
    # private, and the lock keeps two of these from restoring each other's value.
    with _umask_lock:
        old = os.umask(mask)
        try:
            yield
        finally:
            os.umask(old)


def _private_dir(folder: Path) -> None:
    """Create ``folder`` as 0700, or check that an existing one is not writable by others."""
    try:
        with _umask(0o077):
            folder.mkdir(mode=0o700, parents=True)
    except FileExistsError:
        pass
    except OSError as error:
        raise ServiceError(f"cannot create the socket directory {folder}: {error}") from error
    info = folder.stat()
    if not stat.S_ISDIR(info.st_mode):
        raise ServiceError(f"{folder} is not a directory")
    if info.st_uid not in (os.getuid(), 0):
        raise ServiceError(f"{folder} belongs to uid {info.st_uid}, not to us: refusing to use it")
    if info.st_mode & 0o022:
        raise ServiceError(f"{folder} is writable by others: refusing to put the socket there")


def _clear_stale(path: Path) -> None:
    """Remove a socket left by a dead server; refuse to touch anything else."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(info.st_mode):
        raise ServiceError(f"{path} exists and is not a socket: refusing to replace it")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(str(path))
        except (ConnectionRefusedError, FileNotFoundError):
            log.info("removing stale control socket %s", path)
            path.unlink(missing_ok=True)
            return
        except OSError as error:
            raise ServiceError(f"cannot check the existing socket {path}: {error}") from error
    raise AlreadyRunning(f"another voicecoach service is already listening on {path}")


@dataclass(eq=False)
class _Client:
    sock: socket.socket
    deadline: float
    inbox: bytearray = field(default_factory=bytearray)
    outbox: bytes = b""
    pending: Future[Reply] | None = None  # a deferred reply being waited for
    cmd: str = ""


_LISTENER = object()
_WAKER = object()


class ControlServer:
    """Serves control requests on a Unix stream socket (mode 0600) from a background thread.

    ``handler`` gets each well-formed request (a dict with a string ``"cmd"``) and returns the
    reply dict (``"ok": true`` is added when missing) or a ``Future`` of it. Malformed requests,
    rejected peers, handler exceptions and timeouts all get ``{"ok": false, "error": ...}``; none
    of them stops the server.
    """

    def __init__(
        self,
        path: Path | str,
        handler: Handler,
        *,
        client_timeout: float = CLIENT_TIMEOUT,
        max_clients: int = MAX_CLIENTS,
        reply_timeout: float = REPLY_TIMEOUT,
    ) -> None:
        self.path = Path(path)
        if len(os.fsencode(self.path)) >= _UNIX_PATH_MAX:
            limit = _UNIX_PATH_MAX - 1
            raise ServiceError(f"socket path longer than AF_UNIX allows ({limit} bytes): {path}")
        self._handler = handler
        self._client_timeout = client_timeout
        self._reply_timeout = reply_timeout
        self._max_clients = max_clients
        self._selector = selectors.DefaultSelector()
        self._clients: dict[socket.socket, _Client] = {}  # in accept order: oldest first
        self._listener: socket.socket | None = None
        self._inode: int | None = None
        self._wake_r, self._wake_w = socket.socketpair()
        self._closing = False
        self._thread: threading.Thread | None = None

    def __enter__(self) -> ControlServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def start(self) -> None:
        """Bind the socket (parent made 0700, socket 0600) and serve in a daemon thread."""
        if self._thread is not None or self._closing:
            raise RuntimeError("a control server starts once")
        try:
            listener = self._listen()
        except BaseException:
            self.close()  # a server that failed to start is finished: free its descriptors
            raise
        self._listener = listener
        self._wake_r.setblocking(False)
        self._selector.register(listener, selectors.EVENT_READ, _LISTENER)
        self._selector.register(self._wake_r, selectors.EVENT_READ, _WAKER)
        self._thread = threading.Thread(target=self._serve, name="control-socket", daemon=True)
        self._thread.start()
        log.info("control socket listening on %s", self.path)

    def _listen(self) -> socket.socket:
        _private_dir(self.path.parent)
        _clear_stale(self.path)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        try:
            with _umask(0o177):  # born 0600: never world-accessible, not even before a chmod
                listener.bind(str(self.path))
            os.chmod(self.path, 0o600)
            self._inode = os.stat(self.path).st_ino
            listener.listen(64)
            listener.setblocking(False)
        except BaseException as error:
            listener.close()
            if isinstance(error, OSError):
                if error.errno == errno.EADDRINUSE:  # another server bound it since we looked
                    raise AlreadyRunning(f"another server just took {self.path}") from error
                raise ServiceError(f"cannot listen on {self.path}: {error}") from error
            raise
        return listener

    def close(self) -> None:
        """Stop serving, drop open connections and remove the socket file (if still ours)."""
        if self._closing:
            return
        self._closing = True
        if self._thread is not None:
            with suppress(OSError):
                self._wake_w.send(b"x")
            self._thread.join(timeout=5.0)
            if self._thread.is_alive():
                log.warning("control thread did not stop within 5 s (a handler is stuck?)")
        for client in list(self._clients.values()):
            if client.pending is not None:  # answered just now, or never: say which
                self._send_now(client.sock, self._settled(client, "the service stopped"))
            self._drop(client)
        if self._listener is not None:
            self._listener.close()
            self._listener = None
            self._remove_socket_file()
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()

    def _remove_socket_file(self) -> None:
        # Only our own inode: a newer server may already have replaced the file.
        try:
            if os.stat(self.path).st_ino == self._inode:
                self.path.unlink()
        except FileNotFoundError:
            pass

    # -- the loop (runs on the control thread only) --

    def _serve(self) -> None:
        while not self._closing:
            try:
                self._once()
            except Exception:  # one bad connection must never end the service
                log.exception("control loop error (continuing)")

    def _once(self) -> None:
        now = time.monotonic()
        deadlines = [c.deadline for c in self._clients.values()]
        timeout = max(0.0, min(deadlines) - now) if deadlines else None
        for key, mask in self._selector.select(timeout):
            if key.data is _WAKER:
                self._wake_r.recv(64)
            elif key.data is _LISTENER:
                self._accept()
            elif isinstance(key.data, _Client) and key.data.sock in self._clients:
                self._service(key.data, mask)
        for client in [c for c in self._clients.values() if c.pending and c.pending.done()]:
            try:
                self._respond(client, self._settled(client, ""))
            except OSError:  # it hung up while waiting
                self._drop(client)
        now = time.monotonic()
        for client in [c for c in self._clients.values() if c.deadline <= now]:
            if client.pending is not None:
                self._send_now(client.sock, self._settled(client, "no answer in time"))
            elif not client.outbox:  # still waiting for a request: tell it why it is dropped
                self._send_now(client.sock, error_reply("timed out waiting for a request line"))
            self._drop(client)

    def _settled(self, client: _Client, unanswered: str) -> Reply:
        """The reply a deferred answer gave, or an error saying why there is none."""
        future, client.pending = client.pending, None
        assert future is not None
        if not future.done() and future.cancel():
            return error_reply(f"{unanswered}: {client.cmd} was not carried out")
        if not future.done():  # already being carried out: its outcome is not known yet
            return error_reply(f"{unanswered}: {client.cmd} is still in progress; see status")
        if future.cancelled():
            return error_reply(f"{client.cmd} was cancelled")
        error = future.exception()
        if error is not None:
            return self._failure(client.cmd, error)
        return self._checked(client.cmd, future.result())

    def _accept(self) -> None:
        assert self._listener is not None
        for _ in range(16):  # a burst at a time, then let waiting clients progress
            try:
                sock, _addr = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:  # EMFILE, ENFILE, ENOBUFS: out of descriptors or memory
                # The listener stays readable, so returning would spin: free a descriptor
                # by dropping the oldest connection, or pause when there is none to drop.
                log.warning("control socket accept failed: %s", error)
                if self._clients:
                    self._drop(next(iter(self._clients.values())))
                else:
                    time.sleep(0.1)
                return
            sock.setblocking(False)
            try:
                uid = peer_uid(sock)
            except OSError as error:
                log.warning("cannot read peer credentials (%s): connection closed", error)
                sock.close()
                continue
            if not peer_allowed(uid):
                log.warning("control request from uid %d refused", uid)
                self._send_now(sock, error_reply(f"permission denied for uid {uid}"))
                sock.close()
                continue
            if len(self._clients) >= self._max_clients:
                oldest = next(iter(self._clients.values()))
                log.warning("too many control connections: dropping the oldest")
                self._drop(oldest)
            client = _Client(sock, time.monotonic() + self._client_timeout)
            self._clients[sock] = client
            self._selector.register(sock, selectors.EVENT_READ, client)

    def _service(self, client: _Client, mask: int) -> None:
        try:
            if client.pending is not None:
                if not client.sock.recv(MAX_REQUEST):  # anything more is ignored: one request
                    self._drop(client)  # it hung up: the deferred work is for nobody now
                return
            if mask & selectors.EVENT_READ and not client.outbox:
                self._read(client)
            if mask & selectors.EVENT_WRITE and client.outbox:
                self._write(client)
        except OSError as error:  # reset, broken pipe: the client went away
            log.debug("control client dropped: %s", error)
            self._drop(client)

    def _read(self, client: _Client) -> None:
        data = client.sock.recv(MAX_REQUEST + 1)
        client.inbox += data
        newline = client.inbox.find(b"\n")
        if newline >= 0:
            line = bytes(client.inbox[:newline])
        elif data and len(client.inbox) <= MAX_REQUEST:
            return  # the rest of the line is still to come
        elif not data and not client.inbox:
            self._drop(client)  # connected and left without a word
            return
        else:  # too long already, or end of file after an unterminated line (taken as the line)
            line = bytes(client.inbox)
        if len(line) > MAX_REQUEST:
            self._respond(client, error_reply(f"request longer than {MAX_REQUEST} bytes"))
            return
        answer = self._answer(line, client)
        if isinstance(answer, Future):
            self._defer(client, answer)
        else:
            self._respond(client, answer)

    def _defer(self, client: _Client, future: Future[Reply]) -> None:
        # The socket stays watched for reading, to notice a client that hangs up meanwhile;
        # the future's completion wakes the loop (from whichever thread completes it).
        client.pending = future
        client.inbox.clear()
        client.deadline = time.monotonic() + self._reply_timeout
        future.add_done_callback(lambda _f: self._wake())

    def _wake(self) -> None:
        with suppress(OSError):  # closed: the server is going away and replies as it does
            self._wake_w.send(b"x")

    def _respond(self, client: _Client, reply: Reply) -> None:
        client.outbox = _encode(reply)
        client.inbox.clear()
        client.deadline = time.monotonic() + self._client_timeout
        self._selector.modify(client.sock, selectors.EVENT_WRITE, client)
        self._write(client)

    def _write(self, client: _Client) -> None:
        sent = client.sock.send(client.outbox)
        client.outbox = client.outbox[sent:]
        if not client.outbox:
            self._drop(client)

    def _drop(self, client: _Client) -> None:
        if client.pending is not None:  # nobody waits for it any more
            client.pending.cancel()
            client.pending = None
        if self._clients.pop(client.sock, None) is not None:
            with suppress(KeyError, ValueError):
                self._selector.unregister(client.sock)
        client.sock.close()

    @staticmethod
    def _send_now(sock: socket.socket, reply: Reply) -> None:
        # Best effort on a fresh or idle socket: a short line fits the empty send buffer.
        with suppress(OSError):
            sock.send(_encode(reply))

    def answer(self, line: bytes) -> Answer:
        """The reply to one request line: validation, then the handler, never an exception."""
        return self._answer(line)

    def _answer(self, line: bytes, client: _Client | None = None) -> Answer:
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            return error_reply("request is not valid UTF-8")
        try:
            request = json.loads(text)
        except (ValueError, RecursionError):  # RecursionError: "[[[[..." nested too deep
            return error_reply("request is not valid JSON")
        if not isinstance(request, dict):
            return error_reply("request must be a JSON object")
        cmd = request.get("cmd")
        if not isinstance(cmd, str) or not cmd:
            return error_reply('request needs a "cmd" string')
        try:
            reply = self._handler(request)
        except Exception as error:
            return self._failure(cmd, error)
        if isinstance(reply, Future):
            if client is not None:
                client.cmd = _short(cmd)
            return reply
        return self._checked(cmd, reply)

    @staticmethod
    def _failure(cmd: str, error: BaseException) -> Reply:
        if isinstance(error, RequestError):
            return error_reply(str(error))
        log.error("control command %s failed", _short(cmd), exc_info=error)
        return error_reply(f"internal error in {_short(cmd)}: {type(error).__name__}: {error}")

    @staticmethod
    def _checked(cmd: str, reply: object) -> Reply:
        if not isinstance(reply, dict):
            log.error("handler for %s returned %s, not a dict", _short(cmd), type(reply).__name__)
            return error_reply(f"internal error in {_short(cmd)}: bad reply")
        return {"ok": True, **reply}


def _encode(reply: Reply) -> bytes:
    try:
        return json.dumps(reply).encode("ascii") + b"\n"
    except (TypeError, ValueError) as error:  # not JSON-serialisable, or circular
        log.error("control reply not serialisable: %s", error)
        return json.dumps(error_reply("internal error: reply not serialisable")).encode() + b"\n"


def request(path: Path | str, payload: Mapping[str, Any], timeout: float = 5.0) -> Reply:
    """Send one request to the service and return its reply (check ``reply["ok"]``).

    Raises ``ServiceUnavailable`` when no socket exists or nothing listens on it (the CLI then
    runs the session itself), and ``ServiceError`` for anything else: permission denied (the
    service runs as another user), no reply within ``timeout`` seconds, a malformed reply.
    """
    line = json.dumps(dict(payload)).encode("ascii") + b"\n"
    if len(line) > MAX_REQUEST + 1:
        raise ValueError(f"request longer than {MAX_REQUEST} bytes")
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC) as sock:
        _connect(sock, path, deadline, timeout)
        try:
            sock.sendall(line)
        except (BrokenPipeError, ConnectionResetError):
            pass  # it may have answered and hung up first (a refused peer): read why below
        except OSError as error:
            raise ServiceError(f"{path}: connection lost while sending: {error}") from error
        try:
            data = _read_line(sock, deadline)
        except TimeoutError as error:
            raise ServiceError(f"{path}: no reply within {timeout:g} s") from error
        except OSError as error:
            raise ServiceError(f"{path}: connection lost before the reply: {error}") from error
    try:
        reply = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise ServiceError(f"{path}: malformed reply from the service") from error
    if not isinstance(reply, dict):
        raise ServiceError(f"{path}: the service replied with something other than an object")
    return reply


def _connect(sock: socket.socket, path: Path | str, deadline: float, timeout: float) -> None:
    while True:
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        try:
            sock.connect(str(path))
            return
        except BlockingIOError as error:  # EAGAIN: the listen backlog is full, so try again
            if time.monotonic() >= deadline:
                raise ServiceError(f"{path}: no connection within {timeout:g} s") from error
            time.sleep(0.01)
        except (FileNotFoundError, ConnectionRefusedError, NotADirectoryError) as error:
            raise ServiceUnavailable(f"no voicecoach service listening at {path}") from error
        except PermissionError as error:
            raise ServiceError(
                f"permission denied on {path}: the service runs as another user "
                "(on the appliance, run this command as root or as the voicecoach user)"
            ) from error
        except TimeoutError as error:
            raise ServiceError(f"{path}: no connection within {timeout:g} s") from error
        except OSError as error:
            raise ServiceError(f"cannot connect to {path}: {error}") from error


def _read_line(sock: socket.socket, deadline: float) -> bytes:
    buffer = bytearray()
    while b"\n" not in buffer:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        sock.settimeout(remaining)
        chunk = sock.recv(65536)
        if not chunk:
            if not buffer:
                raise ConnectionAbortedError("closed without replying")
            break
        buffer += chunk
        if len(buffer) > MAX_REPLY:
            raise ServiceError("reply too long")
    return bytes(buffer.split(b"\n", 1)[0])
