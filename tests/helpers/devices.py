"""A kiosk's device file and the kiosk fixtures: a hand-moved clock, a virtual printer, the
loaded device file, the kiosk and its screens at 1280x800."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.day import MONDAY_10AM

BASE_CONFIG = """\
[center]
id = "strogino"
name = "Центр госуслуг района Строгино"
name_en = "Strogino public services center"
timezone = "Europe/Moscow"

[device]
id = "kiosk-1"
role = "kiosk"
data_dir = "data"

[kiosk]
ticket_range = [1, 499]
idle_timeout = 60

[printer]
uri = "{printer_uri}"
timeout = 2

[hub]
url = "https://hub.example.org"
"""


def write_config(folder: Path, text: str | None = None, printer_uri: str = "tcp://127.0.0.1:9") -> Path:
    path = folder / "kiosk.toml"
    path.write_text(text if text is not None else BASE_CONFIG.format(printer_uri=printer_uri), encoding="utf-8")
    return path


@pytest.fixture
def clock():
    from hardware.clock import ManualClock

    return ManualClock(MONDAY_10AM)


@pytest.fixture
def printer(tmp_path):
    from hardware.virtual_printer import VirtualPrinter

    with VirtualPrinter(tmp_path / "printer") as vp:
        yield vp


@pytest.fixture
def device(tmp_path, printer):
    from mfc_edge.config import load_config

    return load_config(write_config(tmp_path, printer_uri=printer.uri))


@pytest.fixture
def kiosk(device, clock):
    from kiosk.wiring import open_kiosk

    k = open_kiosk(device, clock)
    yield k
    k.close()


@pytest.fixture
def screens(kiosk, clock):
    """The real kiosk screens at 1280x800, driven by touches."""
    from kiosk.app import KioskApp
    from kiosk.headless import HeadlessKiosk

    app = KioskApp(kiosk.device, kiosk.catalog, kiosk.desk, clock)
    with HeadlessKiosk(app, (1280, 800)) as k:
        yield k
