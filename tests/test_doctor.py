"""`mfc-edge doctor` on a healthy and on a broken setup; the disk, the NTP answer and the
clock are handed in, so a full disk or a wrong clock need not be real."""
from __future__ import annotations

from collections import namedtuple
from datetime import UTC, datetime, timedelta

import pytest
from gpiozero import DigitalInputDevice
from gpiozero.pins.mock import MockFactory

from hardware.clock import ManualClock
from hub.api import Hub
from hub.server import HubThread
from mfc_edge.cli.doctor import Doctor, run_doctor
from mfc_edge.config import load_config
from offline_cache.hub_client import save_token
from tests.helpers.devices import write_config
from tests.helpers.window import write_console_config

Usage = namedtuple("Usage", "total used free")
PLENTY, NEARLY_FULL = Usage(32e9, 20e9, 12e9), Usage(32e9, 32e9 - 50e6, 50e6)


@pytest.fixture
def hub(tmp_path):
    hub = Hub(tmp_path / "hub")
    with HubThread(hub) as server:
        yield hub, server.url
    hub.close()


def kiosk_config(tmp_path, printer_uri: str, hub_url: str):
    text = write_config(tmp_path, printer_uri=printer_uri).read_text().replace("https://hub.example.org", hub_url)
    (tmp_path / "kiosk.toml").write_text(text)
    return load_config(tmp_path / "kiosk.toml")


def doctor_lines(device, **options) -> tuple[int, dict[str, str]]:
    lines: list[str] = []
    code = run_doctor(device, out=lines.append, **options)
    return code, {line.split()[1]: line for line in lines}


def test_a_healthy_kiosk_passes_every_check(tmp_path, printer, hub):
    hub_db, url = hub
    device = kiosk_config(tmp_path, printer.uri, url)
    _, token = hub_db.identity.enroll(hub_db.identity.create_code("strogino", "kiosk"), "kiosk-1")
    save_token(device.data_dir, token)
    code, lines = doctor_lines(device, disk_usage=lambda _: PLENTY, ntp_synchronized=lambda: True,
                               env={"DISPLAY": ":0"})
    assert code == 0, lines
    assert set(lines) == {"printer", "display", "hub", "token", "clock", "disk", "outbox"}
    assert all(line.startswith("ok") for line in lines.values())
    assert "paper" not in lines["printer"] or "ok" in lines["printer"]


def test_a_broken_kiosk_fails_each_check_with_a_hint(tmp_path):
    device = kiosk_config(tmp_path, "tcp://127.0.0.1:9", "http://127.0.0.1:9")
    code, lines = doctor_lines(device, disk_usage=lambda _: NEARLY_FULL, ntp_synchronized=lambda: False,
                               env={}, framebuffer=tmp_path / "no-fb")
    assert code == 1
    for name, hint in (("printer", "unreachable"), ("display", "cable"), ("hub", "check the network"),
                       ("clock", "not synchronized"), ("disk", "free at least")):
        assert lines[name].startswith("FAIL") and hint in lines[name], lines[name]
    assert "token" not in lines  # nothing to ask when the hub is down


def test_the_clock_is_compared_with_the_hubs_without_timedatectl(tmp_path, hub):
    _, url = hub
    device = load_config(write_console_config(tmp_path, url))
    wrong = lambda: datetime.now(UTC) + timedelta(hours=1)  # noqa: E731
    code, lines = doctor_lines(device, ntp_synchronized=lambda: None, now=wrong, pin_factory=MockFactory(),
                               disk_usage=lambda _: PLENTY, token="not-a-token")
    assert code == 1 and lines["clock"].startswith("FAIL") and "+360" in lines["clock"]
    assert lines["token"].startswith("FAIL") and "refused (401)" in lines["token"]
    assert lines["gpio"].startswith("ok") and "17 pins free" in lines["gpio"]
    _, lines = doctor_lines(device, ntp_synchronized=lambda: None, pin_factory=MockFactory(),
                            disk_usage=lambda _: PLENTY)
    assert lines["clock"].startswith("ok")


def test_a_pin_in_use_and_an_old_outbox_fail(tmp_path):
    from offline_cache.outbox import DeviceStore

    device = load_config(write_console_config(tmp_path))
    factory = MockFactory()
    busy = DigitalInputDevice(17, pin_factory=factory)
    store = DeviceStore(device.data_dir / "console.sqlite", center_id="strogino", device_id="console-5",
                                clock=ManualClock(datetime.now(UTC) - timedelta(hours=3)))
    store.record_event("help.requested", {"request": "a" * 32, "point": "Вход"})
    store.close()
    checks = {c.name: c for c in Doctor(device, pin_factory=factory, ntp_synchronized=lambda: True,
                                        disk_usage=lambda _: PLENTY).run()}
    busy.close()
    assert not checks["gpio"].ok and "GPIO17" in checks["gpio"].detail
    assert not checks["outbox"].ok and "1 events waiting" in checks["outbox"].detail
