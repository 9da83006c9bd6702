"""Clocks: the system's, and one that tests and the demo set by hand.

Device code takes a clock instead of calling `datetime.now()`, the way gpiozero devices
take a pin factory: the same code runs against the real time or a controlled one.
"""
from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """What device code takes: anything with `now()` giving an aware datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The device's wall clock, in UTC. On a Raspberry Pi without a real-time clock
    it may be wrong until NTP syncs: callers must not trust it blindly."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to: for tests, benchmarks and the scripted demo."""

    def __init__(self, start: datetime):
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._now = moment.astimezone(UTC)

    def advance(self, **delta: float) -> None:
        with self._lock:
            self._now += timedelta(**delta)
