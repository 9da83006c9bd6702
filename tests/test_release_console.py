"""What technicians and supervisors see of software releases: each device's version, release,
channel and last rollback in `mfc-edge hub devices` and the console's «Устройства», and the
supervisor's «Обновления»: each release's rollout in the center, with promote and halt."""
from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from hub.api import Hub
from hub.server import HubThread
from mfc_edge import protocol
from mfc_edge.cli.fleet import beat_figures, device_line
from mfc_edge.release import Wheel
from mfc_edge.release_build import DESCRIPTION, Description
from offline_cache.hub_client import HubClient
from tests.helpers.browser import CHROMIUM, CHROMIUM_ARGS


def a_device(beat: dict[str, Any] | None) -> dict[str, Any]:
    return {"id": "kiosk-1", "role": "kiosk", "window": None, "revoked": False, "online": True,
            "last_beat": "2026-11-26T06:00:00+00:00", "heard_at": "2026-11-26T06:00:00+00:00", "parts": {},
            "beat": beat, "bundle": {"running": None, "latest": None, "up_to_date": None}}


def test_a_device_installed_from_the_card_image_shows_its_version_alone():
    assert beat_figures({"version": "0.1.0", "outbox": 0}).startswith("v0.1.0, outbox 0")
    assert beat_figures({"version": "0.1.0", "release": None, "channel": None, "outbox": 0}).startswith("v0.1.0,")


def test_a_device_on_a_release_shows_its_number_and_channel():
    line = device_line(a_device({"version": "0.2.0", "release": 7, "channel": "pilot", "outbox": 3}))
    assert "v0.2.0 release 7 (pilot), outbox 3" in line
    assert "release 7 (stable)" in device_line(a_device({"version": "0.2.0", "release": 7, "channel": "stable",
                                                         "outbox": 0}))
    assert "no heartbeat yet" in device_line(a_device(None))


# --- the console's «Обновления» against a hub on 127.0.0.1 --------------------------------------

PASSWORD = "correct horse 42"


def built_release(folder: Path, version: str) -> Path:
    """A release folder as `mfc-edge release build` writes it: a stand-in project wheel for kiosks."""
    name = f"mfc_edge-{version}-py3-none-any.whl"
    data = f"mfc-edge {version}\n".encode() * 20
    (folder / "wheels").mkdir(parents=True)
    (folder / "wheels" / name).write_bytes(data)
    wheel = Wheel(name, hashlib.sha256(data).hexdigest(), len(data))
    (folder / DESCRIPTION).write_bytes(Description(version, (wheel,), {"x86_64": {"kiosk": (name,)}}).encode())
    return folder


class Center:
    def __init__(self, hub: Hub, url: str):
        self.hub, self.url = hub, url

    def device(self, device_id: str, center: str = "strogino") -> HubClient:
        code = self.hub.identity.create_code(center, "kiosk")
        reply = requests.post(f"{self.url}{protocol.ENROLL_PATH}", json={"code": code, "device_id": device_id},
                              timeout=10)
        assert reply.status_code == 200, reply.text
        return HubClient(self.url, reply.json()["token"])

    def console(self, login: str, role: str = "supervisor", center: str = "strogino") -> requests.Session:
        self.hub.operators.add(center, login, login.title(), PASSWORD, role)
        session = requests.Session()
        reply = session.post(f"{self.url}/console/api/sign-in", timeout=10,
                             json={"center": center, "login": login, "password": PASSWORD})
        assert reply.status_code == 200, reply.text
        return session


@pytest.fixture
def center(tmp_path):
    hub = Hub(tmp_path / "hub")
    with HubThread(hub) as server:
        yield Center(hub, server.url)
    hub.close()


def beat(client: HubClient, device: str, version: str, release: int | None, channel: str | None) -> None:
    reply = client.post(protocol.HEARTBEAT_PATH, json={"center": "strogino", "device": device, "version": version,
                                                       "release": release, "channel": channel, "outbox": 0})
    assert reply.status_code == 200, reply.text


def send(client: HubClient, device: str, event_type: str, body: dict[str, Any]) -> None:
    event = protocol.make_event(event_type, "strogino", device, datetime.now(UTC), body)
    reply = client.post(protocol.EVENTS_PATH, json={"events": [event]})
    assert reply.status_code == 200 and reply.json()["results"][0]["status"] == "stored", reply.text


def shown(session: requests.Session, url: str) -> dict[str, Any]:
    reply = session.get(f"{url}/console/api/releases", timeout=10)
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_a_supervisor_follows_a_pilot_release_promotes_it_and_sees_a_rollback(center, tmp_path):
    pilot, other = center.device("kiosk-1"), center.device("kiosk-2")
    center.hub.releases.set_pilots("strogino", devices=["kiosk-1"])
    center.hub.releases.publish(built_release(tmp_path / "r1", "0.2.0"), "pilot")
    supervisor = center.console("smirnova")
    found = shown(supervisor, center.url)
    assert found["may_act"] is True
    (first,) = found["releases"]
    assert (first["number"], first["version"], first["channel"], first["halted"]) == (1, "0.2.0", "pilot", False)
    assert first["devices"] == {"updated": [], "pending": ["kiosk-1"], "rolled_back": []}

    beat(pilot, "kiosk-1", "0.2.0", 1, "pilot")
    assert shown(supervisor, center.url)["releases"][0]["progress"] == {"updated": 1, "pending": 0, "rolled_back": 0}
    reply = supervisor.post(f"{center.url}/console/api/releases/1/promote", timeout=10)
    assert reply.status_code == 200 and reply.json() == {"release": 1, "status": "promoted"}
    first = shown(supervisor, center.url)["releases"][0]
    assert first["channel"] == "stable" and first["devices"]["pending"] == ["kiosk-2"]

    send(other, "kiosk-2", protocol.SOFTWARE_ROLLED_BACK,
         {"release": 1, "version": "0.2.0", "reason": "no READY within 180 s"})
    first = shown(supervisor, center.url)["releases"][0]
    assert first["devices"] == {"updated": ["kiosk-1"], "pending": [], "rolled_back": ["kiosk-2"]}
    # The device's own line says so too, in the console and in `mfc-edge hub devices`.
    devices = {d["id"]: d for d in center.hub.device_health.devices("strogino")}
    assert devices["kiosk-2"]["parts"]["rolled back"]["status"] == "1 (0.2.0): no READY within 180 s"
    assert "rolled back 1 (0.2.0): no READY within 180 s since" in device_line(devices["kiosk-2"])
    assert "rolled back" not in devices["kiosk-1"]["parts"]


def test_a_rollback_is_no_news_once_the_device_has_taken_a_newer_release(center, tmp_path):
    kiosk = center.device("kiosk-1")
    send(kiosk, "kiosk-1", protocol.SOFTWARE_ROLLED_BACK, {"release": 1, "version": "0.2.0", "reason": "import error"})
    send(kiosk, "kiosk-1", protocol.SOFTWARE_UPDATED, {"from": "0.1.0", "to": "0.3.0", "release": 2})
    (device,) = center.hub.device_health.devices("strogino")
    assert device["parts"] == {}


@pytest.mark.slow  # three console sign-ins, each a password hash
def test_halting_from_the_console_and_what_it_refuses(center, tmp_path):
    center.device("kiosk-1")
    center.hub.releases.publish(built_release(tmp_path / "r1", "0.2.0"), "pilot")
    supervisor = center.console("smirnova")
    assert supervisor.post(f"{center.url}/console/api/releases/1/halt", timeout=10).status_code == 200
    (first,) = shown(supervisor, center.url)["releases"]
    assert first["halted"] and first["devices"] == {"updated": [], "pending": [], "rolled_back": []}
    refused = supervisor.post(f"{center.url}/console/api/releases/1/promote", timeout=10)
    assert refused.status_code == 409 and "halted" in refused.json()["detail"]
    missing = supervisor.post(f"{center.url}/console/api/releases/9/halt", timeout=10)
    assert missing.status_code == 409 and missing.json()["detail"] == "there is no release 9"
    assert supervisor.post(f"{center.url}/console/api/releases/1/reboot", timeout=10).status_code == 422
    assert supervisor.post(f"{center.url}/console/api/releases/-1/halt", timeout=10).status_code == 422
    operator = center.console("ivanova", role="operator")
    assert operator.get(f"{center.url}/console/api/releases", timeout=10).status_code == 403
    assert operator.post(f"{center.url}/console/api/releases/1/halt", timeout=10).status_code == 403
    assert requests.get(f"{center.url}/console/api/releases", timeout=10).status_code == 401


def test_on_a_hub_serving_two_centers_only_its_technician_promotes(center, tmp_path):
    center.device("kiosk-1")
    center.device("kiosk-1", center="khimki")
    center.hub.releases.publish(built_release(tmp_path / "r1", "0.2.0"), "pilot")
    supervisor = center.console("smirnova")
    assert shown(supervisor, center.url)["may_act"] is False
    refused = supervisor.post(f"{center.url}/console/api/releases/1/promote", timeout=10)
    assert refused.status_code == 403 and "другие центры" in refused.json()["detail"]
    assert center.hub.releases.rows()[0]["channel"] == "pilot"


@pytest.mark.slow
@pytest.mark.browser
def test_the_console_panel_shows_the_rollout_and_halts_a_release(center, tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    pilot = center.device("kiosk-1")
    center.hub.releases.set_pilots("strogino", devices=["kiosk-1"])
    center.hub.releases.publish(built_release(tmp_path / "r1", "0.2.0"), "pilot")
    beat(pilot, "kiosk-1", "0.2.0", 1, "pilot")
    center.hub.operators.add("strogino", "smirnova", "Смирнова Анна", PASSWORD, "supervisor")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 900})
            page.goto(f"{center.url}/console")
            page.fill("#center", "strogino")
            page.fill("#login", "smirnova")
            page.fill("#password", PASSWORD)
            page.click("#sign-in")
            page.wait_for_selector("#device-rows tr[data-device='kiosk-1']:has-text('выпуск № 1 (пилот)')")
            row = page.locator("#release-rows tr", has_text="№ 1")
            row.wait_for()
            assert [c.strip() for c in row.locator("td").all_inner_texts()[:7]] == [
                "№ 1", "0.2.0", "пилот", row.locator("td").nth(3).inner_text().strip(), "1", "0", "0"]
            page.once("dialog", lambda dialog: dialog.accept())  # «Остановить» asks first
            row.locator("button[data-action='halt']").click()
            page.wait_for_selector("#release-rows tr:has-text('остановлен')")
            assert row.locator("button").count() == 0  # nothing more to do with a halted release
        finally:
            browser.close()
    assert center.hub.releases.rows()[0]["halted_at"]
