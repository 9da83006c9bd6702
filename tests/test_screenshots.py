"""Screenshots of screens: devices upload PNGs to a real hub on 127.0.0.1, supervisors see
them on the console and ask for new ones with a screenshot command."""
from __future__ import annotations

import pytest
import requests

from hub.api import Hub
from hub.screens import ScreenshotError, png_size
from hub.server import HubThread
from mfc_edge import protocol
from tests.helpers.screenshots import PASSWORD, make_png


class Center:
    def __init__(self, hub: Hub, url: str):
        self.hub, self.url = hub, url

    def enroll(self, device_id: str, role: str = "signage", center: str = "strogino") -> dict[str, str]:
        code = self.hub.identity.create_code(center, role)
        reply = requests.post(f"{self.url}/api/v1/enroll", json={"code": code, "device_id": device_id}, timeout=10)
        assert reply.status_code == 200, reply.text
        return {"Authorization": f"Bearer {reply.json()['token']}"}

    def upload(self, auth: dict[str, str], data: bytes, kind: str = "image/png") -> requests.Response:
        return requests.put(f"{self.url}/api/v1/screenshot", data=data, headers={**auth, "Content-Type": kind},
                            timeout=30)

    def asked(self, auth: dict[str, str]) -> list[str]:
        """The kinds of the commands the device is given when it asks for them."""
        reply = requests.get(f"{self.url}/api/v1/commands", headers=auth, timeout=10)
        assert reply.status_code == 200, reply.text
        return [c["kind"] for c in reply.json()["commands"]]

    def ask_screenshot(self, staff: requests.Session, device: str) -> requests.Response:
        return staff.post(f"{self.url}/console/api/devices/{device}/screenshot", timeout=10)

    def staff(self, login: str, center: str = "strogino") -> requests.Session:
        session = requests.Session()
        reply = session.post(f"{self.url}/console/api/sign-in",
                             json={"center": center, "login": login, "password": PASSWORD}, timeout=10)
        assert reply.status_code == 200, reply.text
        return session


@pytest.fixture
def center(tmp_path):
    hub = Hub(tmp_path / "hub")
    hub.operators.add("strogino", "smirnova", "Смирнова Анна", PASSWORD, "supervisor")
    hub.operators.add("strogino", "ivanova", "Иванова Мария", PASSWORD, "operator")
    hub.operators.add("tushino", "orlov", "Орлов Иван", PASSWORD, "supervisor")
    with HubThread(hub) as server:
        yield Center(hub, server.url)
    hub.close()


def test_png_size_reads_ihdr_and_refuses_garbage():
    png = make_png(64, 48)
    assert png_size(png) == (64, 48)
    broken_crc = png[:20] + bytes([png[20] ^ 1]) + png[21:]
    for bad, reason in ((b"", "signature"), (b"GIF89a" + png[6:], "signature"), (png[:8] + b"\0" * 40, "IHDR"),
                        (broken_crc, "checksum"), (png[:-30], "IEND")):
        with pytest.raises(ScreenshotError, match=reason):
            png_size(bad)


def test_upload_replace_and_the_console_sees_the_latest(center):
    screen = center.enroll("screen-1")
    center.enroll("kiosk-1", role="kiosk")
    center.enroll("console-5", role="console")
    first = center.upload(screen, make_png(1920, 1080))
    assert first.status_code == 200, first.text
    assert first.json()["width"] == 1920 and first.json()["height"] == 1080
    second_png = make_png(1080, 1920)
    second = center.upload(screen, second_png)
    assert second.status_code == 200 and second.json()["bytes"] == len(second_png)
    supervisor = center.staff("smirnova")
    listed = supervisor.get(f"{center.url}/console/api/screens", timeout=10).json()["screens"]
    by_device = {s["device"]: s for s in listed}
    assert set(by_device) == {"screen-1", "kiosk-1"}  # a window console has no screen
    shown = by_device["screen-1"]
    assert (shown["width"], shown["height"], shown["bytes"]) == (1080, 1920, len(second_png))
    assert by_device["kiosk-1"]["image"] is None and by_device["kiosk-1"]["taken_at"] is None
    image = supervisor.get(center.url + shown["image"], timeout=10)
    assert image.status_code == 200 and image.headers["content-type"] == "image/png" and image.content == second_png
    assert "private" in image.headers["cache-control"]
    again = supervisor.get(center.url + shown["image"], headers={"If-None-Match": image.headers["ETag"]}, timeout=10)
    assert again.status_code == 304 and again.content == b""  # the console's refresh costs no image
    folder = center.hub.screens.path("strogino", "screen-1").parent
    assert sorted(p.name for p in folder.iterdir()) == ["screen-1.png"]  # replaced, no temporary left behind


def test_bad_uploads_are_refused_and_the_last_good_one_is_kept(center):
    screen = center.enroll("screen-1")
    good = make_png(320, 240)
    assert center.upload(screen, good).status_code == 200
    png = make_png(320, 240)
    for data, kind, status, words in (
            (b"this is not an image", "image/png", 422, "PNG signature"),
            (png[:len(png) // 2], "image/png", 422, "incomplete"),
            (png[:29] + b"\0\0\0\0" + png[33:], "image/png", 422, "checksum"),
            (b"", "image/png", 422, "signature"),
            (png, "application/octet-stream", 415, "image/png")):
        reply = center.upload(screen, data, kind)
        assert reply.status_code == status and words in reply.json()["detail"], (status, reply.text)
    supervisor = center.staff("smirnova")
    assert supervisor.get(f"{center.url}/console/screens/screen-1.png", timeout=10).content == good


def test_size_limit_is_larger_for_screenshots_only(center):
    screen = center.enroll("screen-1")
    big = make_png(1000, 1000, noise=True)  # about 3 MB: over the 2 MB of event batches
    assert protocol.MAX_BATCH_BYTES < len(big) < protocol.MAX_SCREENSHOT_BYTES
    assert center.upload(screen, big).status_code == 200
    too_big = big + b"\0" * (protocol.MAX_SCREENSHOT_BYTES - len(big) + 1)
    reply = center.upload(screen, too_big)
    assert reply.status_code == 413 and str(protocol.MAX_SCREENSHOT_BYTES) in reply.json()["detail"]
    events = requests.post(f"{center.url}/api/v1/events", data=big, timeout=30,
                           headers={**screen, "Content-Type": "application/json"})
    assert events.status_code == 413  # other routes keep their limit
    assert center.hub.screens.latest("strogino", "screen-1")["bytes"] == len(big)


def test_unknown_and_revoked_devices_cannot_upload(center):
    png = make_png(32, 32)
    assert center.upload({"Authorization": "Bearer not-a-token"}, png).status_code == 401
    assert center.upload({}, png).status_code == 401
    screen = center.enroll("screen-1")
    assert center.upload(screen, png).status_code == 200
    center.hub.identity.revoke("strogino", "screen-1")
    assert center.upload(screen, make_png(64, 64)).status_code == 401
    assert center.hub.screens.latest("strogino", "screen-1")["width"] == 32
    listed = center.staff("smirnova").get(f"{center.url}/console/api/screens", timeout=10).json()["screens"]
    assert listed == []  # a revoked screen is no longer the center's


def test_a_screenshot_command_is_answered_by_the_next_upload(center):
    screen = center.enroll("screen-1")
    other = center.enroll("screen-2")
    supervisor = center.staff("smirnova")
    assert center.asked(screen) == []
    asked = center.ask_screenshot(supervisor, "screen-1")
    assert asked.status_code == 200 and asked.json()["device"] == "screen-1"
    assert center.asked(screen) == ["screenshot"] and center.asked(other) == []
    assert center.ask_screenshot(supervisor, "screen-1").status_code == 409  # one at a time
    assert center.upload(other, make_png(16, 16)).status_code == 200
    assert center.asked(screen) == ["screenshot"]  # another screen's upload answers nothing here
    assert center.upload(screen, b"garbage").status_code == 422
    assert center.asked(screen) == ["screenshot"]  # a refused upload answers nothing
    # Any upload after the request answers it, a periodic one too: the picture is newer than the request.
    assert center.upload(screen, make_png(16, 16)).status_code == 200
    assert center.asked(screen) == []
    done = center.hub.remote.latest("strogino")[0]
    assert (done["requested_by"], done["result"]) == ("smirnova", protocol.SCREENSHOT_SENT)
    assert done["done_at"] >= done["requested_at"]
    report = requests.post(f"{center.url}/api/v1/commands/{done['id']}", json={"result": "screenshot not sent: failed"},
                           headers=screen, timeout=10)
    assert report.status_code == 200 and report.json()["result"] == protocol.SCREENSHOT_SENT  # the first answer stays
    later = center.ask_screenshot(supervisor, "screen-1")
    assert later.status_code == 200 and center.asked(screen) == ["screenshot"]  # an older upload answers nothing
    missing = center.ask_screenshot(supervisor, "screen-9")
    assert missing.status_code == 404 and "screen-9" in missing.json()["detail"]


def test_the_old_request_path_is_gone(center):
    screen = center.enroll("screen-1")
    supervisor = center.staff("smirnova")
    assert requests.get(f"{center.url}/api/v1/screenshot/request", headers=screen, timeout=10).status_code == 404
    assert supervisor.post(f"{center.url}/console/api/screens/screen-1/request", timeout=10).status_code == 404
    assert not hasattr(protocol, "SCREENSHOT_REQUEST_PATH")


def test_only_signed_in_supervisors_of_the_center_see_screens(center):
    screen = center.enroll("screen-1")
    assert center.upload(screen, make_png(16, 16)).status_code == 200
    image = f"{center.url}/console/screens/screen-1.png"
    assert requests.get(image, timeout=10).status_code == 401
    assert requests.get(image, headers=screen, timeout=10).status_code == 401  # a device token is not a session
    operator = center.staff("ivanova")
    assert operator.get(image, timeout=10).status_code == 403
    assert operator.get(f"{center.url}/console/api/screens", timeout=10).status_code == 403
    assert center.ask_screenshot(operator, "screen-1").status_code == 403
    assert center.ask_screenshot(requests.Session(), "screen-1").status_code == 401
    elsewhere = center.staff("orlov", center="tushino")
    assert elsewhere.get(image, timeout=10).status_code == 404
    assert elsewhere.get(f"{center.url}/console/api/screens", timeout=10).json() == {"screens": []}
    assert center.ask_screenshot(elsewhere, "screen-1").status_code == 404  # another center's screen
    assert center.asked(screen) == [] and center.hub.remote.latest("strogino") == []
    assert center.staff("smirnova").get(image, timeout=10).status_code == 200
    assert center.staff("smirnova").get(f"{center.url}/console/screens/screen-2.png", timeout=10).status_code == 404


def test_the_console_page_has_the_screens_panel(center):
    page = requests.get(f"{center.url}/console", timeout=10).text
    script = requests.get(f"{center.url}/static/console.js", timeout=10).text
    remote = requests.get(f"{center.url}/static/remote.js", timeout=10).text
    assert "Экраны" in page and "/console/api/screens" in script and "Обновить снимок" in remote


def test_center_ids_cannot_escape_the_screenshot_folder(center):
    path = center.hub.screens.path("../..", "screen-1")
    assert path.parent.parent == center.hub.screens.folder
    with pytest.raises(ScreenshotError):
        center.hub.screens.path("strogino", "../hub")


@pytest.mark.browser
@pytest.mark.slow
def test_supervisor_sees_thumbnails_and_asks_for_a_new_one_in_the_browser(center):
    playwright = pytest.importorskip("playwright.sync_api")
    from tests.helpers.browser import CHROMIUM, CHROMIUM_ARGS

    screen = center.enroll("screen-1")
    center.enroll("kiosk-1", role="kiosk")
    assert center.upload(screen, make_png(320, 180)).status_code == 200
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        page.goto(f"{center.url}/console")
        page.fill("#center", "strogino")
        page.fill("#login", "smirnova")
        page.fill("#password", PASSWORD)
        page.click("#sign-in")
        page.wait_for_selector("#screens figure:has-text('screen-1') img")
        figure = page.locator("#screens figure", has_text="screen-1")
        assert "320×180" in figure.inner_text() and "экран зала" in figure.inner_text()
        page.wait_for_function("document.querySelector('#screens img').naturalWidth === 320")  # served to the session
        assert "снимка ещё нет" in page.locator("#screens figure", has_text="kiosk-1").inner_text()
        figure.get_by_role("button", name="Обновить снимок").click()
        page.wait_for_selector("#screens figure:has-text('screen-1'):has-text('Обновить снимок (smirnova')"
                               ":has-text('ждёт устройство')")
        assert figure.get_by_role("button", name="Обновить снимок").is_disabled()
        assert center.asked(screen) == ["screenshot"]  # the same command the «Устройства» panel asks
        page.wait_for_selector("#device-rows tr:has-text('screen-1') :text('Снимок экрана (smirnova')")
        assert center.upload(screen, make_png(640, 360)).status_code == 200
        page.wait_for_selector("#screens figure:has-text('640×360'):has-text('снимок получен')")
        page.wait_for_function("document.querySelector('#screens img').naturalWidth === 640")
        assert figure.get_by_role("button", name="Обновить снимок").is_enabled()
        browser.close()
