"""The hub's time on a device, learned from the hub's answers and kept across steps of the wall clock.

A Raspberry Pi has no real-time clock: it boots in 1970 or at what fake-hwclock saved at the
last shutdown, and NTP steps it later, by hours or years. When the hub is reachable its time
is the authority for the whole center (it decides the service day and the order of the line),
so a device dates what it records by the hub's time as soon as it has heard it.

Every answer of the hub carries its clock (`X-Hub-Time`, else the `Date` header). The device
reads its own clocks before sending and after the answer; the hub's reading fell about halfway
between, give or take half the round trip. The device keeps it as an *anchor*: the hub's time
paired with the device's monotonic clock at that moment, so that

    the hub's time now = anchor.hub + (monotonic now - anchor.mono)

An offset to the wall clock would go stale the moment NTP or fake-hwclock steps the wall clock,
which is exactly the moment this is for; the monotonic clock counts real seconds since boot and
no step moves it. A reboot restarts it, so an anchor holds within one boot (also across restarts
of the program, through the device's store) and the first answer after a reboot makes a new one.

Each request also tells the hub the device's boot and monotonic reading (`X-Device-Clock`),
which a ticket carries too: the hub then knows how many real seconds ago a ticket of the same
boot was issued, whatever the wall clock said then (hub/placement.py).
"""
from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

from hardware.clock import Clock
from mfc_edge import protocol

# A clock that cannot say its boot or monotonic time stands for this run of the program.
_PROCESS_BOOT = f"process-{uuid.uuid4().hex}"
# Hub times outside these are not a clock's reading but a fault: they teach the device nothing.
_EARLIEST, _LATEST = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Reading:
    """A device's clocks read at one moment."""
    boot: str
    mono: float
    wall: datetime


def read_clocks(clock: Clock) -> Reading:
    monotonic, boot_id = getattr(clock, "monotonic", None), getattr(clock, "boot_id", None)
    if monotonic is None or boot_id is None:
        return Reading(_PROCESS_BOOT, time.monotonic(), clock.now())
    return Reading(boot_id(), monotonic(), clock.now())


@dataclass(frozen=True)
class Anchor:
    """The hub's time `hub` was current when the monotonic clock of boot `boot` read `mono`;
    `offset` is the hub's time minus the device's wall clock then."""
    boot: str
    mono: float
    hub: datetime
    offset: timedelta

    def hub_now(self, reading: Reading) -> datetime | None:
        """The hub's time at `reading`, or None in another boot (the anchor no longer holds)."""
        if reading.boot != self.boot:
            return None
        return self.hub + timedelta(seconds=reading.mono - self.mono)

    def to_text(self) -> str:
        return json.dumps({"boot": self.boot, "mono": self.mono, "hub": self.hub.isoformat(),
                           "offset_s": self.offset.total_seconds()})

    @classmethod
    def from_text(cls, text: str | None) -> Anchor | None:
        """An anchor as `to_text` wrote it; None for nothing or anything else (never an error:
        a spoiled record costs only the wait for the hub's next answer)."""
        try:
            found: Any = json.loads(text or "")
            return cls(str(found["boot"]), float(found["mono"]), datetime.fromisoformat(found["hub"]),
                       timedelta(seconds=float(found["offset_s"])))
        except (ValueError, TypeError, KeyError):
            return None


def hub_time_of(headers: Mapping[str, str]) -> datetime | None:
    """The hub's clock in an answer's headers: `X-Hub-Time`, else the `Date` header (whole
    seconds, cut down, so half a second is added back)."""
    try:
        if (precise := headers.get(protocol.HUB_TIME_HEADER)) is not None:
            found = datetime.fromisoformat(precise)
        elif (date := headers.get("Date")) is not None:
            found = parsedate_to_datetime(date) + timedelta(milliseconds=500)
        else:
            return None
    except (TypeError, ValueError, IndexError):
        return None
    if found.tzinfo is None or not _EARLIEST <= found < _LATEST:
        return None
    return found


def anchor_from(sent: Reading, received: Reading, hub: datetime) -> Anchor | None:
    """The anchor an answer gives: read before the request (`sent`) and after its answer
    (`received`), with the hub's time in the answer. None if the device rebooted meanwhile."""
    if sent.boot != received.boot or received.mono < sent.mono:
        return None
    mono = sent.mono + (received.mono - sent.mono) / 2
    wall = sent.wall + (received.wall - sent.wall) / 2
    return Anchor(sent.boot, mono, hub.astimezone(UTC), hub - wall)


class TimeKeeper(Protocol):
    """What a `HubClient` tells about each exchange with the hub (a `DeviceStore` is one)."""

    def read_clocks(self) -> Reading: ...

    def learn_hub_time(self, sent: Reading, received: Reading, hub: datetime) -> None: ...
