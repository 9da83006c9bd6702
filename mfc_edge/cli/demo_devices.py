"""The demo's fleet: the supervisor's «Устройства» with one device offline.

A second waiting-area screen is enrolled, beats once and goes dark (its power cut, say). The
center's clock moves on four minutes, three of its intervals and more; the kiosk, the window
console and the hall's screen beat again, and the supervisor sees the silent one in red with
since when, beside the others' heartbeat figures. The hub's alert sweep notices it too, and
the demo shows the text a messenger would get from the center's webhook.
"""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

DARK_SCREEN = "screen-2"
SUPERVISOR = ("supervisor", "demo-supervisor-2026", "Смирнова Анна")


class Messenger:
    """A webhook on loopback standing in for a messenger bot: keeps the alerts' texts."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        messenger = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                alert = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                messenger.texts.append(alert["text"])
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        threading.Thread(target=self.server.serve_forever, name="messenger", daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def beat_once(device: Any) -> None:
    """The heartbeat of a wired device (offline_cache/device.py), sent now rather than within the minute."""
    from offline_cache.heartbeat import Heartbeat

    for worker in device.workers:
        if isinstance(worker, Heartbeat):
            worker.send_once()


def dark_screen(center: Any, folder: Path) -> None:
    """A second screen, enrolled, that beats once and is then never heard of again."""
    from offline_cache.heartbeat import Heartbeat
    from offline_cache.hub_client import HubClient
    from offline_cache.outbox import DeviceStore

    _, token = center.hub.identity.enroll(center.hub.identity.create_code("strogino", "signage"), DARK_SCREEN)
    store = DeviceStore(folder / "signage.sqlite", center_id="strogino", device_id=DARK_SCREEN, clock=center.clock)
    client = HubClient(center.server.url, token)
    client.keep_time(store)
    try:
        Heartbeat(store, client, folder).send_once()
    finally:
        client.close()
        store.close()


def devices_scene(center: Any, live: list[Any], out: Path, shots: Path) -> str:
    """`live`: the wired devices still running (kiosk, window console, the hall's screen)."""
    from playwright.sync_api import sync_playwright

    from mfc_edge.cli.demo import _chromium, _wait, signed_in_console

    for device in live:  # the demo's clock has run ahead of the real minute they beat by
        beat_once(device)
    center.hub.alerts.run_once()  # what the hub knows now is no news
    messenger = Messenger()
    try:
        center.hub.alerts.set_webhook("strogino", messenger.url)
        dark_screen(center, out / "screen-2-data")
        center.clock.advance(minutes=4)
        for device in live:
            beat_once(device)
        center.hub.alerts.run_once()
        _wait(lambda: any(DARK_SCREEN in text for text in messenger.texts), "the alert about the dark screen")
    finally:
        messenger.close()
    login, password, name = SUPERVISOR
    center.hub.operators.add("strogino", login, name, password, role="supervisor")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), args=["--no-sandbox", "--disable-gpu"])
        try:
            page = signed_in_console(browser, center.server.url, SUPERVISOR)
            page.wait_for_selector(f"#device-rows tr[data-device='{DARK_SCREEN}'].offline")
            page.wait_for_selector("#device-rows tr[data-device='kiosk-demo']:not(.offline)")
            page.locator("#screens").scroll_into_view_if_needed()
            page.screenshot(path=str(shots / "23-console-devices-one-offline.png"))
        finally:
            browser.close()
    alert = next(text for text in messenger.texts if DARK_SCREEN in text)
    return (f"The second screen {DARK_SCREEN} stopped beating: the supervisor's «Устройства» shows it offline in "
            f"red, and the center's webhook got: {alert}")
