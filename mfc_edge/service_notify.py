"""Telling systemd how the program is doing: the sd_notify protocol (`man sd_notify`).

A `Type=notify` unit counts as started only when the program sends READY=1, and a unit with
`WatchdogSec=` is restarted when WATCHDOG=1 stops arriving for that long. Each message is
one datagram of `KEY=value` lines to the AF_UNIX socket named by $NOTIFY_SOCKET (a name
starting with '@' is in the abstract namespace). Outside systemd the variable is unset and
every call here does nothing, so the same program runs from a terminal or a test.

Why not a library from PyPI: `sdnotify` has had no release since 2017; `systemd-python` and
`cysystemd` build against libsystemd's headers on every device; `systemd-watchdog` times its
pings by the wall clock, which NTP and fake-hwclock step on a Raspberry Pi (no battery
clock), and raises when the socket is gone. The protocol is one `sendto`, so it is here.
"""
from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)


def _address(name: str) -> str | bytes | None:
    if name.startswith("@"):
        return b"\0" + name[1:].encode()  # the abstract namespace
    if name.startswith("/"):
        return name
    return None  # vsock and other forms are not used on our devices


class ServiceNotifier:
    """What one program tells systemd: ready, alive, what it is doing, stopping."""

    def __init__(self, env: Mapping[str, str] | None = None, *,
                 monotonic: Callable[[], float] = time.monotonic):
        env = os.environ if env is None else env
        self._address = _address(env.get("NOTIFY_SOCKET", ""))
        self._socket: socket.socket | None = None
        self._monotonic = monotonic
        self._last_ping: float | None = None
        self._status: str | None = None
        self._failed = False
        self.watchdog_interval = self._ping_interval(env) if self._address else None

    @staticmethod
    def _ping_interval(env: Mapping[str, str]) -> float | None:
        """Seconds between pings: half the watchdog's timeout, as sd_watchdog_enabled(3) advises,
        or None when the unit has no watchdog or it watches another process."""
        pid = env.get("WATCHDOG_PID")
        if pid is not None and pid != str(os.getpid()):
            return None
        try:
            usec = int(env.get("WATCHDOG_USEC", ""))
        except ValueError:
            return None
        return usec / 2_000_000 if usec > 0 else None

    @property
    def enabled(self) -> bool:
        return self._address is not None

    def send(self, *fields: str) -> None:
        """One message of `KEY=value` fields; a failure is logged once and never raised, since the
        program must not stop over its supervisor (systemd itself restarts it if it matters)."""
        if self._address is None:
            return
        try:
            if self._socket is None:
                self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                self._socket.setblocking(False)  # a full queue must not stall the screen's loop
            self._socket.sendto("\n".join(fields).encode(), self._address)
        except OSError as exc:
            if not self._failed:
                log.warning("cannot tell systemd %s: %s", fields[0].split("=")[0], exc)
            self._failed = True

    def ready(self, status: str | None = None) -> None:
        self._status = status
        self.send("READY=1", *([f"STATUS={status}"] if status else []))

    def ping(self) -> None:
        self._last_ping = self._monotonic()
        self.send("WATCHDOG=1")

    def ping_if_due(self) -> None:
        """A ping when a watchdog interval has passed since the last: for loops that turn often."""
        if self.watchdog_interval is None:
            return
        last = self._last_ping
        if last is None or self._monotonic() - last >= self.watchdog_interval:
            self.ping()

    def status(self, text: str) -> None:
        """What the program is doing, shown by `systemctl status`; sent only when it changes."""
        if text != self._status:
            self._status = text
            self.send(f"STATUS={text}")

    def stopping(self) -> None:
        self.send("STOPPING=1")

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
