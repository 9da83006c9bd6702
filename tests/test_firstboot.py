"""Zero-touch first boot (`mfc-edge firstboot`): a fake boot partition in a temporary folder, a
real hub process speaking HTTPS with its own CA, and system commands (provisioning, nmcli,
systemctl) recorded instead of run."""
from __future__ import annotations

import logging
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory

from mfc_edge import boot_file
from mfc_edge.cli import main
from mfc_edge.cli.firstboot import FirstBoot, FirstBootError, Places
from mfc_edge.config import load_config
from tests.helpers.hubprocess import HubProcess, free_port

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    """A center's hub provisioned as `mfc-edge hub tls` leaves it, serving HTTPS on 127.0.0.1."""
    folder = tmp_path_factory.mktemp("center")
    tls = folder / "tls"
    assert main(["hub", "tls", "--dir", str(tls), "--ip", "127.0.0.1"]) == 0
    assert main(["hub", "set-center", "--data", str(folder / "hub"), "--center", "strogino", "--timezone",
                 "Europe/Moscow", "--name", "Центр госуслуг района Строгино"]) == 0
    with HubProcess(folder / "hub", tls=(tls / "hub.pem", tls / "hub.key", tls / "ca.pem")) as running:
        yield running, tls


def device_file_text(hub, capsys, role: str = "kiosk", *extra: str) -> str:
    """What `mfc-edge hub device-file` prints for the next device of `role`."""
    running, tls = hub
    capsys.readouterr()
    assert main(["hub", "device-file", "--data", str(running.data_dir), "--role", role, "--ca", str(tls / "ca.pem"),
                 "--hub-url", running.url, *extra]) == 0
    return capsys.readouterr().out


class System:
    """Stands for the machine's commands: records each; fails those starting with `failing`."""

    def __init__(self, failing: tuple[str, ...] = ()):
        self.commands: list[str] = []
        self.failing = failing

    def __call__(self, command: list[str]) -> None:
        if command[0] == sys.executable:  # the program itself: python -m mfc_edge.cli ...
            command = ["mfc-edge", *command[3:]]
        line = " ".join(command)
        self.commands.append(line)
        if self.failing and line.startswith(self.failing):
            raise FirstBootError(f"`{line}` failed: refused for the test")


def places(tmp_path: Path, text: str) -> Places:
    found = Places(boot=tmp_path / "boot", etc=tmp_path / "etc", var=tmp_path / "var", network=tmp_path / "nm")
    found.boot.mkdir()
    found.boot_file.write_text(text, encoding="utf-8")
    return found


@pytest.mark.slow
def test_first_boot_enrolls_scrubs_the_code_joins_wifi_and_starts_the_role(hub, capsys, tmp_path):
    text = device_file_text(hub, capsys, "kiosk", "--wifi-ssid", "MFC Staff", "--wifi-psk", "pa$$word\\1")
    given = boot_file.parse(Path("x"), tomllib.loads(text))
    where = places(tmp_path, text)
    system = System()

    assert FirstBoot(where, run=system).until_done(once=True) == 0

    assert system.commands == ["raspi-config nonint do_wifi_country RU", "nmcli connection reload",
                               "nmcli connection up mfc-edge-wifi",
                               "mfc-edge provision kiosk", "systemctl enable --now --no-block mfc-edge-kiosk.service"]
    assert not where.boot_file.exists()  # marked done: the first-boot unit's condition fails from now on
    left = where.done_file.read_text(encoding="utf-8")
    assert given.code not in left and "enrollment_code" not in left
    assert "pa$$word" not in left and "psk" not in left
    assert "# First-boot file for" in left and 'ssid = "MFC Staff"' in left  # the rest kept, comments too
    assert 'country = "RU"' in left

    device = load_config(where.etc / "kiosk.toml")
    assert (device.center_id, device.device_id, device.role) == ("strogino", given.device_id, "kiosk")
    assert device.ticket_range == given.ticket_range and device.center_name == "Центр госуслуг района Строгино"
    assert device.hub_url == hub[0].url and device.hub_ca_file == str(where.etc / "hub-ca.pem")
    assert (where.etc / "hub-ca.pem").read_bytes() == (hub[1] / "ca.pem").read_bytes()
    assert device.data_dir == where.var and (where.var / "device-token").is_file()
    keyfile = where.network / "mfc-edge-wifi.nmconnection"
    assert keyfile.stat().st_mode & 0o777 == 0o600
    assert "ssid=MFC Staff\n" in keyfile.read_text() and "psk=pa$$word\\\\1\n" in keyfile.read_text()

    # The unit may start again (it should not, the file is renamed): nothing more is done.
    again = System()
    assert FirstBoot(where, run=again).until_done(once=True) == 0
    assert again.commands == []


def failures(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "mfc_edge.firstboot" and r.levelno >= logging.ERROR]


@pytest.mark.slow
def test_a_bad_code_is_one_line_and_a_corrected_file_dropped_in_is_taken(hub, capsys, tmp_path, caplog):
    good = device_file_text(hub, capsys)
    code = boot_file.parse(Path("x"), tomllib.loads(good)).code
    bad = good.replace(code, "AAAA-BBBB-CCCC-DDDD")
    where = places(tmp_path, bad)
    corrected = device_file_text(hub, capsys)
    pauses: list[float] = []

    def technician_drops_a_new_file(seconds: float) -> None:
        pauses.append(seconds)
        assert where.boot_file.read_text(encoding="utf-8") == bad  # left as it was, code and all
        where.boot_file.write_text(corrected, encoding="utf-8")

    system = System()
    caplog.set_level(logging.INFO, "mfc_edge.firstboot")
    assert FirstBoot(where, run=system).until_done(sleep=technician_drops_a_new_file) == 0

    assert pauses == [10]
    assert failures(caplog) == ["FAILED: could not enroll: the hub refused the code: unknown enrollment code. "
                                "Trying again in 10 s"]
    assert not any(r.exc_info for r in caplog.records)
    assert system.commands == ["mfc-edge provision kiosk", "mfc-edge provision kiosk",
                               "systemctl enable --now --no-block mfc-edge-kiosk.service"]
    assert (where.var / "device-token").is_file() and where.done_file.exists()


def test_an_unreachable_hub_is_one_line_and_the_file_stays_for_the_next_try(tmp_path, caplog):
    tls = tmp_path / "tls"
    assert main(["hub", "tls", "--dir", str(tls), "--ip", "127.0.0.1"]) == 0
    url = f"https://127.0.0.1:{free_port()}"
    text = boot_file.render(boot_file.BootFile(
        role="signage", device_id="screen-1", center="strogino", center_name="Центр", timezone="Europe/Moscow",
        hub_url=url, ca_pem=(tls / "ca.pem").read_text(), code="AAAA-BBBB-CCCC-DDDD"))
    where = places(tmp_path, text)
    system = System()
    caplog.set_level(logging.INFO, "mfc_edge.firstboot")

    assert FirstBoot(where, run=system).until_done(once=True) == 1

    assert failures(caplog) == [f"FAILED: could not enroll: cannot reach the hub at {url}: no connection (wrong "
                                "address, the hub not running, or no network)"]
    assert where.boot_file.read_text(encoding="utf-8") == text
    assert system.commands == ["mfc-edge provision signage"]  # never started
    assert not (where.var / "device-token").exists()


def test_a_failed_step_is_tried_again_after_a_growing_pause(tmp_path, caplog):
    tls = tmp_path / "tls"
    assert main(["hub", "tls", "--dir", str(tls)]) == 0
    text = boot_file.render(boot_file.BootFile(
        role="kiosk", device_id="kiosk-1", center="strogino", center_name="Центр", timezone="Europe/Moscow",
        hub_url="https://hub.local:8443", ca_pem=(tls / "ca.pem").read_text(), code="AAAA-BBBB-CCCC-DDDD",
        ticket_range=(1, 200)))
    where = places(tmp_path, text)
    pauses: list[float] = []

    class Enough(Exception):
        pass

    def sleep(seconds: float) -> None:
        pauses.append(seconds)
        if len(pauses) == 8:
            raise Enough

    caplog.set_level(logging.INFO, "mfc_edge.firstboot")
    with pytest.raises(Enough):
        FirstBoot(where, run=System(failing=("mfc-edge provision",))).until_done(sleep=sleep)
    assert pauses == [10, 20, 40, 80, 160, 300, 300, 300]
    assert failures(caplog)[0] == ("FAILED: `mfc-edge provision kiosk` failed: refused for the test. Trying again "
                                   "in 10 s")


@pytest.mark.slow
def test_a_console_shows_on_its_help_led_that_it_failed_then_hands_the_pin_over(hub, capsys, tmp_path, caplog):
    good = device_file_text(hub, capsys, "console", "--window", "7")
    code = boot_file.parse(Path("x"), tomllib.loads(good)).code
    where = places(tmp_path, good.replace(code, "AAAA-BBBB-CCCC-DDDD"))
    factory = MockFactory()
    setup = FirstBoot(where, run=System(), pin_factory=factory)

    assert setup.until_done(once=True) == 1
    assert setup.led is not None and setup.led.mode == "failed"
    led_pin = factory.pin(24)  # the example console's help LED
    time.sleep(0.5)
    assert len(led_pin.states) > 3  # blinking fast

    where.boot_file.write_text(good, encoding="utf-8")
    assert setup.until_done(once=True) == 0
    assert setup.led is None  # closed before the console's own service starts
    device = load_config(where.etc / "console.toml")
    assert device.console.window == "7" and device.console.help_button.point == "Окно 7"


def test_a_bad_file_is_one_line_on_the_screen_without_a_traceback(tmp_path):
    where = places(tmp_path, '[device]\nrole = "printer"\nid = "kiosk-1"\n[center]\nid = "strogino"\nname = "Ц"\n'
                             '[hub]\nurl = "https://hub.local"\nca = "x"\n')
    done = subprocess.run([sys.executable, "-m", "mfc_edge.cli", "firstboot", "--boot", str(where.boot),
                           "--etc", str(where.etc), "--var", str(where.var), "--network", str(where.network),
                           "--once"], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.returncode == 1
    assert done.stdout == (f"mfc-edge first boot: FAILED: {where.boot_file}: [device] role = 'printer': expected "
                           "one of kiosk, signage, console. Correct the file on the boot partition\n")
    assert done.stderr == ""
    assert not where.etc.exists()


def test_the_code_is_scrubbed_without_a_chmod_which_the_fat_boot_partition_refuses(tmp_path, monkeypatch):
    tls = tmp_path / "tls"
    assert main(["hub", "tls", "--dir", str(tls)]) == 0
    path = tmp_path / "mfc-edge.toml"
    path.write_text(boot_file.render(boot_file.BootFile(
        role="signage", device_id="screen-1", center="strogino", center_name="Центр", timezone="Europe/Moscow",
        hub_url="https://hub.local:8443", ca_pem=(tls / "ca.pem").read_text(), code="AAAA-BBBB-CCCC-DDDD",
        wifi_ssid="MFC", wifi_psk="password1")), encoding="utf-8")

    def refused(*args: object) -> None:
        raise PermissionError(1, "Operation not permitted")  # vfat mounted with its defaults

    monkeypatch.setattr("os.fchmod", refused)
    monkeypatch.setattr("os.chmod", refused)
    boot_file.scrub(path)
    left = boot_file.read(path)
    assert (left.code, left.wifi_psk, left.wifi_ssid, left.device_id) == (None, None, "MFC", "screen-1")
