"""Clocks: the system's, and one that tests and the demo set by hand.

Device code takes a clock instead of calling `datetime.now()`, the way gpiozero devices
take a pin factory: the same code runs against the real time or a controlled one.

Besides the wall clock, which NTP, fake-hwclock or a person may step at any moment, a clock
has a monotonic one that only counts seconds passing since the device booted (`monotonic`,
`boot_id`): what lets a device keep the hub's time, and tell the hub how long ago it issued a
ticket, across any step of its wall clock (see offline_cache/hub_time.py).
"""
from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol


class Clock(Protocol):
    """What device code takes: anything with `now()` giving an aware datetime."""

    def now(self) -> datetime: ...


class SteadyClock(Clock, Protocol):
    """A clock that also counts seconds since boot, which no step of the wall clock moves."""

    def monotonic(self) -> float: ...

    def boot_id(self) -> str: ...


BOOT_ID_FILE = Path("/proc/sys/kernel/random/boot_id")
# Where the kernel gives no boot id, this process stands for the boot: monotonic readings are
# then only compared within one run of the program, which is always safe.
_PROCESS_BOOT = f"process-{uuid.uuid4().hex}"


def _boot_id() -> str:
    try:
        found = BOOT_ID_FILE.read_text(encoding="ascii").strip()
    except OSError:
        return _PROCESS_BOOT
    return found or _PROCESS_BOOT


class SystemClock:
    """The device's wall clock, in UTC. On a Raspberry Pi without a real-time clock
    it may be wrong until NTP syncs: callers must not trust it blindly."""

    _boot: str | None = None

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        """CLOCK_MONOTONIC: seconds since boot, slewed but never stepped by NTP."""
        return time.monotonic()

    def boot_id(self) -> str:
        if SystemClock._boot is None:
            SystemClock._boot = _boot_id()
        return SystemClock._boot


class ManualClock:
    """A clock that only moves when told to: for tests, benchmarks and the scripted demo.

    `advance` is time passing, `jump` a step of the wall clock alone (NTP, fake-hwclock, a
    person), `reboot` a new boot (the monotonic clock starts again). `set` and `advance` read as
    "it is now `moment`": a move forward is time passing, a move back a step of the wall clock.
    """

    def __init__(self, start: datetime):
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()
        self._mono = 0.0
        self._boots = 1
        self._boot = uuid.uuid4().hex

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        with self._lock:
            return self._mono

    def boot_id(self) -> str:
        with self._lock:
            return f"{self._boot}-{self._boots}"

    def set(self, moment: datetime) -> None:
        with self._lock:
            moment = moment.astimezone(UTC)
            self._mono += max(0.0, (moment - self._now).total_seconds())
            self._now = moment

    def advance(self, **delta: float) -> None:
        step = timedelta(**delta)
        with self._lock:
            self._now += step
            self._mono += max(0.0, step.total_seconds())  # a step back is the wall clock's alone

    def jump(self, **delta: float) -> None:
        """Step the wall clock alone, either way; the monotonic clock does not see it."""
        with self._lock:
            self._now += timedelta(**delta)

    def jump_to(self, moment: datetime) -> None:
        with self._lock:
            self._now = moment.astimezone(UTC)

    def reboot(self, wall: datetime | None = None) -> None:
        """A new boot: the monotonic clock starts again, and the wall clock reads `wall` (what
        fake-hwclock saved, 1970, ...) when given."""
        with self._lock:
            self._boots += 1
            self._mono = 0.0
            if wall is not None:
                self._now = wall.astimezone(UTC)
