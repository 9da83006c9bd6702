"""`mfc-edge doctor` on a healthy and on a broken setup; the disk, the NTP answer, the clock
and the Raspberry Pi's sysfs tree, firmware command and pin backend are handed in, so a full
disk, a wrong clock or an under-voltage need not be real."""
from __future__ import annotations

from collections import namedtuple
from datetime import UTC, datetime, timedelta

import pytest
from gpiozero import DigitalInputDevice
from gpiozero.pins.mock import MockFactory

from hardware.clock import ManualClock
from hub.api import Hub
from hub.server import HubThread
from mfc_edge.cli.doctor import Board, Doctor, run_doctor
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
                               env={"DISPLAY": ":0"}, board=Board(root=tmp_path / "a-pc"))
    assert code == 0, lines
    assert set(lines) == {"printer", "display", "board", "hub", "token", "clock", "disk", "outbox"}
    assert "not a Raspberry Pi" in lines["board"]
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


# --- on a Raspberry Pi ---------------------------------------------------------------------------

def raspberry_pi(root, *, millidegrees: int = 52_000, throttled: str = "0x0", **board) -> Board:
    """A fake Pi 4: its device-tree model and thermal zone under `root`, and a stand-in
    `vcgencmd` that answers `throttled`."""
    (root / "proc/device-tree").mkdir(parents=True)
    (root / "proc/device-tree/model").write_bytes(b"Raspberry Pi 4 Model B Rev 1.5\0")
    (root / "sys/class/thermal/thermal_zone0").mkdir(parents=True)
    (root / "sys/class/thermal/thermal_zone0/temp").write_text(f"{millidegrees}\n")
    vcgencmd = root / "vcgencmd"
    vcgencmd.write_text(f'#!/bin/sh\n[ "$1" = get_throttled ] && echo "throttled={throttled}"\n')
    vcgencmd.chmod(0o755)
    return Board(root=root, throttled_command=(str(vcgencmd), "get_throttled"), **board)


def pi_lines(tmp_path, board: Board, device=None) -> tuple[int, dict[str, str]]:
    device = device or load_config(write_console_config(tmp_path))
    return doctor_lines(device, board=board, pin_factory=MockFactory(), ntp_synchronized=lambda: True,
                        disk_usage=lambda _: PLENTY)


def test_a_healthy_pi_says_its_model_temperature_power_and_pin_backend(tmp_path):
    board = raspberry_pi(tmp_path / "pi", pin_backend=lambda: "lgpio", has_lgpio=lambda: True, machine="aarch64")
    code, lines = pi_lines(tmp_path, board)
    assert code == 0, lines
    assert lines["board"] == "ok   board    Raspberry Pi 4 Model B Rev 1.5"
    assert lines["pins"] == "ok   pins     gpiozero pin backend: lgpio"
    assert lines["cpu"] == "ok   cpu      52.0 C"
    assert lines["power"] == "ok   power    0x0: no under-voltage or throttling since boot"


def test_a_hot_cpu_and_under_voltage_now_are_decoded_into_words(tmp_path):
    board = raspberry_pi(tmp_path / "pi", millidegrees=83_500, throttled="0x50005", pin_backend=lambda: "lgpio")
    code, lines = pi_lines(tmp_path, board)
    assert code == 1
    assert lines["cpu"].startswith("WARN cpu      83.5 C — hot, the Pi slows down — give the case air")
    assert lines["power"].startswith("FAIL power    0x50005: now: under-voltage, throttled; "
                                     "since boot: under-voltage, throttled — use the official power supply")


def test_under_voltage_since_boot_only_warns(tmp_path):
    code, lines = pi_lines(tmp_path, raspberry_pi(tmp_path / "pi", throttled="0x20000", pin_backend=lambda: "lgpio"))
    assert code == 0
    assert lines["power"].startswith("WARN power    0x20000: since boot: frequency capped — cool the Pi")


def test_the_native_pin_backend_without_lgpio_on_aarch64_is_warned(tmp_path):
    board = raspberry_pi(tmp_path / "pi", pin_backend=lambda: "native", has_lgpio=lambda: False, machine="aarch64")
    code, lines = pi_lines(tmp_path, board)
    assert code == 0
    assert lines["pins"].startswith("WARN pins     gpiozero falls back to its native backend: lgpio is not installed")
    assert "Pi 5 or a kernel >= 6.6" in lines["pins"]
    kiosk = kiosk_config(tmp_path, "tcp://127.0.0.1:9", "http://127.0.0.1:9")
    assert "pins" not in pi_lines(tmp_path, board, kiosk)[1]  # no buttons on a kiosk: nothing to say


def test_a_pi_without_vcgencmd_or_thermal_zone_warns_instead_of_failing(tmp_path):
    board = raspberry_pi(tmp_path / "pi", pin_backend=lambda: "lgpio")
    (tmp_path / "pi/sys/class/thermal/thermal_zone0/temp").unlink()
    board = Board(root=board.root, throttled_command=(str(tmp_path / "no-vcgencmd"), "get_throttled"),
                  pin_backend=board.pin_backend)
    code, lines = pi_lines(tmp_path, board)
    assert code == 0
    assert lines["cpu"].startswith("WARN cpu      temperature unknown")
    assert lines["power"].startswith("WARN power    not checked") and "raspi-utils" in lines["power"]


def test_this_machine_is_not_taken_for_a_raspberry_pi(tmp_path):
    board = Board(root=tmp_path)  # no device-tree model: a PC, a container, a CI runner
    _, lines = pi_lines(tmp_path, board)
    assert lines["board"].startswith("ok   board    not a Raspberry Pi")
    assert not {"pins", "cpu", "power"} & set(lines)
