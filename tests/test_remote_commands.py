"""Remote hands: a supervisor asks a device of the center to restart its app, reboot or send a
screenshot (hub/remote.py); the device finds the command when it next asks, does it once and
reports it (offline_cache/remote_commands.py). Against a hub serving on 127.0.0.1."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

import pytest
import requests

from hardware.clock import ManualClock
from hub.api import Hub
from hub.remote import EXPIRED
from hub.screens import png_size
from hub.server import HubThread
from mfc_edge import protocol
from offline_cache.hub_client import HubClient, save_token
from offline_cache.remote_commands import (
    DONE_FILE,
    KEEP_DONE,
    REBOOT_REQUEST,
    REBOOT_UNAVAILABLE,
    RESTART_EXIT_CODE,
    DoneCommands,
    RemoteHands,
    runtime_folder,
    send_screenshot,
)
from offline_cache.screenshots import ScreenshotUploader
from tests.helpers.hubprocess import HubProcess
from tests.helpers.screenshots import PASSWORD
from tests.helpers.window import write_console_config


class Center:
    def __init__(self, hub: Hub, url: str):
        self.hub, self.url = hub, url

    def device(self, device_id: str, role: str = "kiosk", center: str = "strogino") -> HubClient:
        """A device enrolled through the hub's API, and its client."""
        code = self.hub.identity.create_code(center, role, window="5" if role == "console" else None)
        reply = requests.post(f"{self.url}/api/v1/enroll", json={"code": code, "device_id": device_id}, timeout=10)
        assert reply.status_code == 200, reply.text
        return HubClient(self.url, reply.json()["token"])

    def staff(self, login: str, center: str = "strogino") -> requests.Session:
        session = requests.Session()
        reply = session.post(f"{self.url}/console/api/sign-in",
                             json={"center": center, "login": login, "password": PASSWORD}, timeout=10)
        assert reply.status_code == 200, reply.text
        return session

    def ask(self, staff: requests.Session, device: str, kind: str) -> requests.Response:
        return staff.post(f"{self.url}/console/api/devices/{device}/{kind}", timeout=10)

    def command(self, device: str, kind: str, center: str = "strogino") -> dict:
        """The latest command of the kind, as the console shows it."""
        return next(c for c in self.hub.remote.latest(center) if (c["device"], c["kind"]) == (device, kind))


def add_staff(hub: Hub) -> None:
    hub.operators.add("strogino", "smirnova", "Смирнова Анна", PASSWORD, "supervisor")
    hub.operators.add("strogino", "ivanova", "Иванова Мария", PASSWORD, "operator")
    hub.operators.add("tushino", "orlov", "Орлов Иван", PASSWORD, "supervisor")


@pytest.fixture
def center(tmp_path):
    hub = Hub(tmp_path / "hub")
    add_staff(hub)
    with HubThread(hub) as server:
        yield Center(hub, server.url)
    hub.close()


def never(*_args: object) -> NoReturn:
    raise AssertionError("not expected here")


def test_a_supervisor_restarts_a_kiosk_once_even_when_the_hub_hands_the_command_out_twice(center, tmp_path):
    kiosk = center.device("kiosk-1")
    supervisor = center.staff("smirnova")
    asked = center.ask(supervisor, "kiosk-1", "restart")
    assert asked.status_code == 200 and asked.json()["requested_by"] == "smirnova", asked.text
    again = center.ask(supervisor, "kiosk-1", "restart")
    assert again.status_code == 409 and "ещё не выполнило" in again.json()["detail"]  # one pending of a kind
    restarts: list[str] = []
    hands = RemoteHands(kiosk, tmp_path / DONE_FILE, restart=lambda: restarts.append("first"))
    hands.run_once()
    assert restarts == ["first"] and hands.exit_code == RESTART_EXIT_CODE
    done = center.command("kiosk-1", "restart")
    assert done["delivered_at"] and done["done_at"] and done["result"].startswith("restarting")
    hands.run_once()  # the hub no longer hands it out
    assert restarts == ["first"]

    # The report was lost on the way (the app was already going down): the hub hands the
    # command to the restarted app, which only reports it again.
    with center.hub.db.transaction() as d:
        d.execute("UPDATE device_commands SET done_at = NULL, result = NULL WHERE id = ?", [done["id"]])
    restarted = RemoteHands(kiosk, tmp_path / DONE_FILE, restart=lambda: restarts.append("again"))
    restarted.run_once()
    restarted.run_once()
    assert restarts == ["first"] and restarted.exit_code == 0
    assert center.command("kiosk-1", "restart")["result"] == done["result"]
    assert center.ask(supervisor, "kiosk-1", "restart").status_code == 200  # done: it may be asked again
    shown = supervisor.get(f"{center.url}/console/api/commands", timeout=10).json()["commands"]
    assert [(c["device"], c["kind"], c["result"]) for c in shown] == [("kiosk-1", "restart", None)]


def test_reboot_writes_the_request_file_the_reboot_path_unit_watches(center, tmp_path):
    screen = center.device("screen-1", role="signage")
    supervisor = center.staff("smirnova")
    assert center.ask(supervisor, "screen-1", "reboot").status_code == 200
    runtime = tmp_path / "run"  # what systemd's RuntimeDirectory= gives the unit
    hands = RemoteHands(screen, tmp_path / DONE_FILE, restart=never, runtime_dir=runtime)
    assert not (runtime / REBOOT_REQUEST).exists()
    hands.run_once()
    assert (runtime / REBOOT_REQUEST).is_file()
    assert center.command("screen-1", "reboot")["result"] == "reboot requested" and hands.exit_code == 0


def test_without_systemd_a_reboot_is_answered_not_available(center, tmp_path):
    console = center.device("console-5", role="console")
    assert center.ask(center.staff("smirnova"), "console-5", "reboot").status_code == 200
    data = tmp_path / "device"
    RemoteHands(console, data / DONE_FILE, restart=never, runtime_dir=None).run_once()
    assert center.command("console-5", "reboot")["result"] == REBOOT_UNAVAILABLE
    assert [p.name for p in data.iterdir()] == [DONE_FILE]


def test_the_runtime_folder_is_systemd_s():
    assert runtime_folder({"RUNTIME_DIRECTORY": "/run/mfc-edge"}) == Path("/run/mfc-edge")
    assert runtime_folder({"RUNTIME_DIRECTORY": "/run/a:/run/b"}) == Path("/run/a")
    assert runtime_folder({}) is None and runtime_folder({"RUNTIME_DIRECTORY": ""}) is None


def test_only_the_center_s_supervisors_may_ask(center):
    center.device("kiosk-1")
    center.device("console-5", role="console")
    center.device("kiosk-2")
    center.hub.identity.revoke("strogino", "kiosk-2")
    supervisor = center.staff("smirnova")
    assert center.ask(center.staff("ivanova"), "kiosk-1", "restart").status_code == 403  # an operator
    elsewhere = center.staff("orlov", center="tushino")
    refused = center.ask(elsewhere, "kiosk-1", "reboot")
    assert refused.status_code == 404 and "kiosk-1" in refused.json()["detail"]  # another center's supervisor
    assert requests.post(f"{center.url}/console/api/devices/kiosk-1/restart", timeout=10).status_code == 401
    assert center.ask(supervisor, "kiosk-2", "restart").status_code == 404  # revoked
    assert center.ask(supervisor, "kiosk-9", "restart").status_code == 404
    assert center.ask(supervisor, "kiosk-1", "format-disk").status_code == 422
    no_screen = center.ask(supervisor, "console-5", "screenshot")
    assert no_screen.status_code == 409 and "нет экрана" in no_screen.json()["detail"]
    assert elsewhere.get(f"{center.url}/console/api/commands", timeout=10).json() == {"commands": []}
    assert center.staff("ivanova").get(f"{center.url}/console/api/commands", timeout=10).status_code == 403
    assert center.hub.db.db.execute("SELECT count(*) FROM device_commands").fetchone()[0] == 0


def test_a_device_sees_and_reports_only_its_own_commands(center, tmp_path):
    kiosk = center.device("kiosk-1")
    neighbour = center.device("screen-1", role="signage")
    namesake = center.device("kiosk-1", center="tushino")  # the same id in another center
    asked = center.ask(center.staff("smirnova"), "kiosk-1", "reboot").json()
    for hostile in (neighbour, namesake):
        assert hostile.get(protocol.COMMANDS_PATH).json() == {"commands": []}
        report = hostile.post(f"{protocol.COMMANDS_PATH}/{asked['id']}", json={"result": "reboot requested"})
        assert report.status_code == 404
    untouched = center.command("kiosk-1", "reboot")
    assert untouched["delivered_at"] is None and untouched["done_at"] is None
    assert HubClient(center.url, "not-a-token-at-all").get(protocol.COMMANDS_PATH).status_code == 401
    assert kiosk.post(f"{protocol.COMMANDS_PATH}/{asked['id']}", json={"result": ""}).status_code == 422
    assert [c["id"] for c in kiosk.get(protocol.COMMANDS_PATH).json()["commands"]] == [asked["id"]]


def test_a_command_not_done_within_ten_minutes_expires(tmp_path):
    clock = ManualClock(datetime(2026, 3, 2, 7, 0, tzinfo=UTC))
    hub = Hub(tmp_path / "hub", clock=clock)
    try:
        hub.identity.enroll(hub.identity.create_code("strogino", "kiosk"), "kiosk-1")
        asked = hub.remote.request("strogino", "kiosk-1", "reboot", "smirnova")
        clock.advance(minutes=11)  # the kiosk was switched off for the night
        assert hub.remote.latest("strogino")[0]["result"] == EXPIRED
        assert hub.remote.deliver("strogino", "kiosk-1") == []  # it must not reboot when switched on
        again = hub.remote.request("strogino", "kiosk-1", "reboot", "smirnova")
        assert asked and again and again["id"] != asked["id"]
    finally:
        hub.close()


def test_done_commands_survive_a_damaged_file_and_keep_the_newest(tmp_path):
    path = tmp_path / DONE_FILE
    path.write_text("{not json")
    done = DoneCommands(path)  # a warning, then an empty memory: nothing to stop the device for
    assert done.result("a") is None
    for n in range(KEEP_DONE + 5):
        done.add(f"command-{n}", "reboot requested")
    kept = json.loads(path.read_text())
    assert len(kept) == KEEP_DONE and "command-4" not in kept and f"command-{KEEP_DONE + 4}" in kept
    assert DoneCommands(path).result(f"command-{KEEP_DONE + 4}") == "reboot requested"


def test_a_command_this_device_does_not_know_is_reported_not_done(center, tmp_path):
    kiosk = center.device("kiosk-1")
    asked = center.hub.remote.request("strogino", "kiosk-1", "restart", "smirnova")
    hands = RemoteHands(kiosk, tmp_path / DONE_FILE, restart=never)
    hands.handle(asked["id"], "self-destruct")  # as from a newer hub
    assert "unknown command" in center.command("kiosk-1", "restart")["result"]


def test_a_screen_that_cannot_be_captured_is_said_so(center, tmp_path):
    screen = center.device("screen-1", role="signage")
    assert center.ask(center.staff("smirnova"), "screen-1", "screenshot").status_code == 200

    def broken() -> bytes:
        raise RuntimeError("no window yet")

    uploader = ScreenshotUploader(screen, broken, every_minutes=0)
    RemoteHands(screen, tmp_path / DONE_FILE, restart=never, screenshot=lambda: send_screenshot(uploader)).run_once()
    assert center.command("screen-1", "screenshot")["result"] == "the screen could not be captured: no window yet"
    assert center.hub.screens.latest("strogino", "screen-1") is None


# --- a kiosk's screenshot, through its own wiring -----------------------------------------

KIOSK_CONFIG = """\
[center]
id = "strogino"
name = "Центр госуслуг района Строгино"
timezone = "Europe/Moscow"

[device]
id = "kiosk-1"
role = "kiosk"
data_dir = "data"

[kiosk]
ticket_range = [1, 499]

[printer]
uri = "{printer}"
timeout = 2

[hub]
url = "{hub}"
"""


@pytest.mark.slow
def test_a_kiosk_sends_the_screenshot_its_supervisor_asks_for(center, tmp_path, printer, clock):
    from hardware.screen_capture import capture_png
    from kiosk.app import KioskApp
    from kiosk.headless import HeadlessKiosk
    from kiosk.wiring import open_kiosk
    from mfc_edge.config import load_config
    from offline_cache.remote_commands import start_remote_hands

    token = center.device("kiosk-1").token
    (tmp_path / "kiosk.toml").write_text(KIOSK_CONFIG.format(printer=printer.uri, hub=center.url), encoding="utf-8")
    device = load_config(tmp_path / "kiosk.toml")
    save_token(device.data_dir, token)
    supervisor = center.staff("smirnova")
    assert center.ask(supervisor, "kiosk-1", "screenshot").status_code == 200
    kiosk = open_kiosk(device, clock)
    try:
        app = KioskApp(kiosk.device, kiosk.catalog, kiosk.desk, clock)
        with HeadlessKiosk(app, (1280, 800)) as shown:
            # The commands are read on the device's background thread; the capture waits for
            # Kivy's, which runs here.
            hands = start_remote_hands(kiosk, never, capture_png, interval=3600)
            assert hands is not None
            deadline = time.monotonic() + 20
            while center.command("kiosk-1", "screenshot")["result"] is None and time.monotonic() < deadline:
                shown.frames(1)
    finally:
        kiosk.close()
    assert center.command("kiosk-1", "screenshot")["result"] == "screenshot sent"
    image = supervisor.get(f"{center.url}/console/screens/kiosk-1.png", timeout=10)
    assert image.status_code == 200 and png_size(image.content) == (1280, 800)
    assert json.loads((device.data_dir / DONE_FILE).read_text())  # remembered by id


def test_the_console_page_has_the_buttons(center):
    page = requests.get(f"{center.url}/console", timeout=10).text
    script = requests.get(f"{center.url}/static/remote.js", timeout=10)
    assert '<script src="/static/remote.js"></script>' in page
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    for words in ("Перезапустить", "Перезагрузить", "Снимок экрана", "/console/api/commands", "confirm("):
        assert words in script.text


# --- the real commands: a hub process and a window console's process --------------------------

def run_console(config: Path, runtime: Path) -> subprocess.Popen:
    env = {**os.environ, "RUNTIME_DIRECTORY": str(runtime)}
    # stdin stays open: the simulated keypad reads keys from it, and its end would stop the console.
    return subprocess.Popen([sys.executable, "-m", "mfc_edge.cli", "console", "--config", str(config), "--simulate"],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)


def end(process: subprocess.Popen) -> None:
    process.kill()
    process.wait()
    if process.stdin:
        process.stdin.close()


def wait_for(condition, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.slow
def test_a_console_process_ends_to_be_restarted_and_asks_systemd_for_a_reboot(tmp_path):
    hub = Hub(tmp_path / "hub")
    add_staff(hub)
    _, token = hub.identity.enroll(hub.identity.create_code("strogino", "console", window="5"), "console-5")
    hub.close()
    runtime = tmp_path / "run"
    runtime.mkdir()
    with HubProcess(tmp_path / "hub") as served:
        center = Center(Hub(tmp_path / "hub"), served.url)  # the same file, for reading the commands
        config = write_console_config(tmp_path, served.url)
        save_token(tmp_path / "data", token)
        supervisor = center.staff("smirnova")
        assert center.ask(supervisor, "console-5", "restart").status_code == 200
        first = run_console(config, runtime)
        try:
            # The device asks for its commands as it starts: the restart ends it with its code.
            assert first.wait(timeout=60) == RESTART_EXIT_CODE
        finally:
            end(first)
        assert center.command("console-5", "restart")["result"].startswith("restarting")
        assert center.ask(supervisor, "console-5", "reboot").status_code == 200
        second = run_console(config, runtime)
        try:
            assert wait_for(lambda: (runtime / REBOOT_REQUEST).exists())
            assert wait_for(lambda: center.command("console-5", "reboot")["result"] == "reboot requested")
            assert second.poll() is None  # not restarted again
            second.send_signal(signal.SIGTERM)
            assert second.wait(timeout=30) == 0
        finally:
            end(second)
        center.hub.close()


@pytest.mark.browser
@pytest.mark.slow
def test_a_supervisor_uses_the_buttons_in_the_browser(center, tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    from tests.helpers.browser import CHROMIUM, CHROMIUM_ARGS

    kiosk = center.device("kiosk-1")
    center.device("console-5", role="console")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        page.goto(f"{center.url}/console")
        page.fill("#center", "strogino")
        page.fill("#login", "smirnova")
        page.fill("#password", PASSWORD)
        page.click("#sign-in")
        kiosk_row = page.locator("#device-rows tr", has_text="kiosk-1")
        kiosk_row.get_by_role("button", name="Перезапустить").wait_for()
        console_row = page.locator("#device-rows tr", has_text="console-5")
        assert console_row.get_by_role("button", name="Снимок экрана").count() == 0  # a console has no screen
        kiosk_row.get_by_role("button", name="Перезапустить").click()
        page.wait_for_selector("#device-rows tr:has-text('kiosk-1') :text('ждёт устройство')")
        assert kiosk_row.get_by_role("button", name="Перезапустить").is_disabled()
        page.once("dialog", lambda dialog: dialog.dismiss())  # the reboot is asked to confirm: not now
        kiosk_row.get_by_role("button", name="Перезагрузить").click()
        time.sleep(2.5)  # a round of the page's polling, to show a reboot was not asked
        assert [c["kind"] for c in center.hub.remote.latest("strogino")] == ["restart"]
        page.once("dialog", lambda dialog: dialog.accept())
        kiosk_row.get_by_role("button", name="Перезагрузить").click()
        page.wait_for_function("() => [...document.querySelectorAll('#device-rows tr')].some((tr) =>"
                               " tr.textContent.includes('Перезагрузить (smirnova')) ")
        RemoteHands(kiosk, tmp_path / DONE_FILE, restart=lambda: None, runtime_dir=tmp_path / "run").run_once()
        page.wait_for_selector("#device-rows tr:has-text('kiosk-1') :text('перезагружается')")
        page.wait_for_selector("#device-rows tr:has-text('kiosk-1') :text('перезапускается')")
        assert kiosk_row.get_by_role("button", name="Перезапустить").is_enabled()
        browser.close()
