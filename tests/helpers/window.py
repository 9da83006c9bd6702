"""Shared by the window hardware tests: a hand-moved monotonic clock, a console device file,
and a hub on 127.0.0.1 with a window open and visitors waiting."""
from __future__ import annotations

from datetime import UTC
from pathlib import Path

from hardware.clock import ManualClock
from hub.api import Hub
from hub.identity import Device
from hub.server import HubThread
from tests.helpers.day import TEST_DAY, at

START = at(7, tz=UTC)  # 10:00 in Moscow
PASSWORD = "correct horse 42"

CONSOLE_CONFIG = """\
[center]
id = "strogino"
name = "Центр госуслуг района Строгино"

[device]
id = "console-5"
role = "console"
data_dir = "data"

[console]
window = "5"

[rating]
buttons = [5, 6, 13, 19, 26]
leds = [12, 16, 20, 21, 25]
buzzer = 18

[help_button]
pin = 4
led = 24
point = "Окно 5, доступное"

[keypad]
call_next = 17
recall = 27
no_show = 22
done = 23
{hub}"""


class Ticks:
    """A monotonic clock for buttons that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def write_console_config(folder: Path, hub_url: str | None = None) -> Path:
    path = folder / "console.toml"
    path.write_text(CONSOLE_CONFIG.format(hub=f'\n[hub]\nurl = "{hub_url}"\n' if hub_url else ""), encoding="utf-8")
    return path


class Center:
    """A hub serving on loopback, its clock, four waiting tickets, an operator and a console device."""

    def __init__(self, folder: Path):
        self.clock = ManualClock(START)
        self.hub = Hub(folder, clock=self.clock)
        self.hub.operators.add("strogino", "ivanova", "Иванова Мария", PASSWORD)
        with self.hub.db.transaction() as d:
            for n in range(1, 5):
                d["tickets"].insert({"id": f"ticket-{n:04d}", "center": "strogino", "device": "kiosk-1",
                                     "number": f"П{n:03d}", "service": "passport-rf", "day": TEST_DAY.isoformat(),
                                     "priority": 0, "issued_at": f"{TEST_DAY}T07:00:0{n}.000000+00:00",
                                     "status_token": f"token-{n:04d}-abcdefghijklmnop", "state": "waiting"})
        _, self.token = self.hub.identity.enroll(self.hub.identity.create_code("strogino", "console", window="5"),
                                                "console-5")
        self.device = Device("strogino", "console-5", "console", "5")
        self.server = HubThread(self.hub).start()
        self.url = self.server.url

    def close(self) -> None:
        self.server.stop()
        self.hub.close()
