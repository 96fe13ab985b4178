"""The sd_notify protocol, spoken directly: readiness, status, watchdog pings, stopping.

It is one datagram of ``KEY=value`` lines to the socket named by ``$NOTIFY_SOCKET``, so a few
lines over ``AF_UNIX``/``SOCK_DGRAM`` replace a dependency on libsystemd or python-systemd.
Outside systemd (no ``$NOTIFY_SOCKET``) every call is a no-op, so ``voicecoach serve`` runs the
same from a terminal.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)


def _address(value: str) -> str | None:
    """The socket address for a ``$NOTIFY_SOCKET`` value, or None when we cannot use it.

    ``@name`` names a Linux abstract socket (the address is a NUL byte, then ``name``); anything
    else must be an absolute path.
    (systemd 254 added ``vsock:`` addresses, which only matter inside VMs: not supported.)
    """
    if value.startswith("@") and len(value) > 1:
        return "\0" + value[1:]
    if value.startswith("/"):
        return value
    return None


def _one_line(text: str) -> str:
    # The message is newline-separated assignments: a newline in STATUS would start a new one.
    return " ".join(text.split())


class Notifier:
    """Tells the service manager about our state; all no-ops when not run under Type=notify.

    The environment is read once, when the notifier is made; pass ``environ`` in tests.
    """

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        raw = env.get("NOTIFY_SOCKET", "")
        self._address = _address(raw) if raw else None
        if raw and self._address is None:
            log.warning("ignoring NOTIFY_SOCKET=%r: not an absolute path or @abstract name", raw)
        self._watchdog_usec = env.get("WATCHDOG_USEC", "")
        self._watchdog_pid = env.get("WATCHDOG_PID", "")

    @property
    def enabled(self) -> bool:
        """Whether there is a service manager listening (``$NOTIFY_SOCKET`` is usable)."""
        return self._address is not None

    def send(self, *assignments: str) -> bool:
        """Send ``KEY=value`` assignments in one datagram; True when it was delivered.

        A failure is logged, never raised: losing a status line must not take the coach down
        (a lost READY or WATCHDOG is reported by systemd itself, as a timeout).
        """
        if self._address is None:
            return False
        message = "\n".join(assignments).encode("utf-8")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto(message, self._address)
        except OSError as error:
            log.warning("sd_notify to %r failed: %s", self._address.replace("\0", "@"), error)
            return False
        return True

    def ready(self, status: str | None = None) -> bool:
        """Startup is complete (devices open, models loaded): systemd may start dependants."""
        extra = [f"STATUS={_one_line(status)}"] if status else []
        return self.send("READY=1", *extra)

    def status(self, text: str) -> bool:
        """A one-line status shown by ``systemctl status``."""
        return self.send(f"STATUS={_one_line(text)}")

    def watchdog(self) -> bool:
        """Keep-alive ping; send it only after checking that we are really healthy."""
        return self.send("WATCHDOG=1")

    def stopping(self) -> bool:
        """Shutdown has begun, so systemd does not mistake a slow stop for a hang."""
        return self.send("STOPPING=1")

    def watchdog_interval(self) -> float | None:
        """Seconds within which systemd expects a ping (``$WATCHDOG_USEC``), or None if unset.

        None too when ``$WATCHDOG_PID`` names another process: the variables were inherited
        and the watchdog belongs to our parent, not to us.
        """
        if not self._watchdog_usec:
            return None
        if self._watchdog_pid:
            try:
                if int(self._watchdog_pid) != os.getpid():
                    return None
            except ValueError:
                return None
        try:
            usec = int(self._watchdog_usec)
        except ValueError:
            log.warning("ignoring WATCHDOG_USEC=%r: not an integer", self._watchdog_usec)
            return None
        return usec / 1_000_000 if usec > 0 else None


class HealthWatchdog:
    """Feeds systemd's watchdog only while the coach is demonstrably working.

    Call ``beat`` from the session loop itself, with what it just observed. Never drive it from
    a free-running timer thread: such a thread keeps pinging while the microphone is dead or
    the engine is deadlocked, so systemd would never restart a hung coach. Here a missing beat
    *is* the alarm: if the loop stops, or the microphone stops delivering audio, the pings stop
    and systemd restarts the service after ``WatchdogSec``.
    """

    def __init__(
        self,
        notifier: Notifier,
        interval: float | None = None,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._notifier = notifier
        self._interval = notifier.watchdog_interval() if interval is None else interval
        self._now = now
        self._last_ping: float | None = None
        self._healthy = True

    @property
    def active(self) -> bool:
        """Whether systemd asked for pings at all (a watchdog interval is set)."""
        return self._notifier.enabled and self._interval is not None and self._interval > 0

    def beat(self, mic_ok: bool, engine_ticked: bool) -> bool:
        """Ping if audio is flowing and the engine ticked, at most every interval/2; True if sent.

        ``mic_ok``: audio blocks arrived since the last beat, or the microphone is known to be
        unplugged and its reconnect loop is running. A stream that is open but silent is a hang
        that a restart cures; a missing device is not (restarting would only crash-loop into
        the start limit), so it is reported to the user instead. ``engine_ticked``: the session
        loop completed an iteration since the last beat (an idle loop ticks on its timeout).
        Half the interval is what sd_watchdog_enabled(3) recommends: one late ping is not fatal.
        """
        healthy = mic_ok and engine_ticked
        if healthy != self._healthy:
            if healthy:
                log.info("healthy again: watchdog pings resume")
            else:
                why = "microphone delivers no audio" if not mic_ok else "engine did not tick"
                log.warning("withholding watchdog ping: %s", why)
            self._healthy = healthy
        interval = self._interval
        if not healthy or not self._notifier.enabled or interval is None or interval <= 0:
            return False
        now = self._now()
        if self._last_ping is not None and now - self._last_ping < interval / 2:
            return False
        if not self._notifier.watchdog():
            return False
        self._last_ping = now
        return True
