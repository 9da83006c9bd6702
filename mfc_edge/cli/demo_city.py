"""A small city in the demo: two centers, each with its own hub, linked to a city on a private
PostgreSQL. The demo's center (Строгино) joins with a one-time code and forwards everything it
holds; a second center (Тверской) has its own hub, its own morning of visitors and an operator
serving them. The city's operations office then sees both on its dashboard
(`60-city-dashboard.png`, the drill-down into one in `61-city-center.png`), residents see the
waits on the public page (`62-city-waits.png`), the content office publishes a campaign once
for every center, the back office reads the day's tickets from the integration feed, and both
levels are backed up."""
from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

CITY_VIEWER = ("ops", "Оперативный отдел", "demo-city-ops")  # login, name, password
SECOND_CENTER, SECOND_HUB = "tverskoy", "hub-tverskoy"
SECOND_SERVICES = ("passport-rf", "residence-registration", "foreign-passport-10")
ZONE = ZoneInfo("Europe/Moscow")


def city_scene(center: Any, out: Path, shots: Path) -> str:
    """The city part of the demo; lines saying what it showed."""
    from city.city import City
    from city.hubs import Hubs
    from city.local_cluster import LocalCluster
    from city.server import CityThread
    from mfc_edge.cli.city_publish_commands import publish_demo_campaign

    with LocalCluster(out / "city-postgres") as cluster:
        dsn = cluster.create_database("city")
        city = City(dsn, center.clock.now, pool_size=4)
        server = CityThread(city).start()
        second = None
        try:
            hubs = Hubs(city)
            hubs.set_center("strogino", name="МФЦ района Строгино", district="СЗАО")
            hubs.set_center(SECOND_CENTER, name="МФЦ Тверского района", district="ЦАО")
            _join(center.hub, out / "hub", hubs, server.url, "hub-strogino", ["strogino"])
            second, second_clock = _second_center(out)
            _join(second, out / "hub-2", hubs, server.url, SECOND_HUB, [SECOND_CENTER])
            _morning(second, second_clock, center.clock.now())
            forwarded = _forward(center.hub, out / "hub") + _forward(second, out / "hub-2")
            lines = [f"The city: both centers' hubs joined with one-time codes and forwarded {forwarded} records "
                     "to PostgreSQL, each stored once."]
            lines.append("Publishing: " + publish_demo_campaign(
                city, out / "city-content", [(center.hub, out / "hub"), (second, out / "hub-2")]) + ".")
            lines.append(_screenshots(city, server.url, shots))
            lines.append(_feed(city, server.url))
            lines.append(_backups(center, city, dsn, out))
        finally:
            server.stop()
            city.close()
            if second is not None:
                second.close()
    return "\n".join(lines)


def _join(hub: Any, folder: Path, hubs: Any, url: str, hub_id: str, centers: list[str]) -> None:
    """What the city's office and the center's technician do: a code made at the city, given to the hub."""
    from hub import city_link

    city_link.join(hub.db, folder, url, hubs.make_code(hub_id, centers), hub_id)


def _forward(hub: Any, folder: Path) -> int:
    """The hub's forwarder, run to the end of its outbox (a serving hub runs it in a thread)."""
    from hub.city_forwarder import CityForwarder

    forwarder = CityForwarder(hub.db, folder)
    try:
        return int(forwarder.drain())
    finally:
        forwarder.stop()


def _second_center(out: Path) -> tuple[Any, Any]:
    """Тверской's hub, on a clock of its own (its morning is played before the demo's moment)."""
    import shutil

    from hardware.clock import ManualClock
    from hub.hub import Hub

    shutil.rmtree(out / "hub-2", ignore_errors=True)
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    hub = Hub(out / "hub-2", clock=clock)
    hub.centers.set(SECOND_CENTER, "Europe/Moscow", "МФЦ Тверского района")
    return hub, clock


def _morning(hub: Any, clock: Any, until: datetime) -> None:
    """Two hours up to `until`: a visitor takes a ticket at the kiosk every four minutes, two
    windows serve them for 6 to 12 minutes each; the hub's clock moves minute by minute."""
    from hub.identity import Device
    from mfc_edge import ids, protocol

    rng, kiosk = random.Random(19), Device(SECOND_CENTER, "kiosk-1", "kiosk")
    clock.set(until - timedelta(hours=2))
    windows = {"1": clock.now(), "2": clock.now()}  # when each window is free
    for window in windows:
        hub.queue.open_window(SECOND_CENTER, window, list(SECOND_SERVICES), f"operator-{window}")
    for minute in range(121):
        now = clock.now()
        if minute % 4 == 0:
            service = rng.choice(SECOND_SERVICES)
            body = {"ticket": ids.ticket_id(), "number": f"Т{minute // 4 + 1:03d}", "service": service,
                    "day": now.astimezone(ZONE).date().isoformat(), "priority": False, "issued_at": now.isoformat(),
                    "status_token": ids.status_token(), "clock": {"boot": "demo", "mono": 0, "hub": True}}
            hub.events.ingest(kiosk, [protocol.make_event(protocol.TICKET_ISSUED, SECOND_CENTER, kiosk.id, now, body)])
        for window, free_at in windows.items():
            if free_at > now:
                continue
            if hub.queue.current(SECOND_CENTER, window):
                hub.queue.finish(SECOND_CENTER, window)
            if hub.queue.call_next(SECOND_CENTER, window, list(SECOND_SERVICES)):
                hub.queue.start(SECOND_CENTER, window)
                windows[window] = now + timedelta(minutes=rng.randint(6, 12))
        clock.advance(minutes=1)
    clock.set(until)


def _screenshots(city: Any, url: str, shots: Path) -> str:
    """The operations office's dashboard and its drill-down, and the residents' page, in Chromium."""
    import requests
    from playwright.sync_api import sync_playwright

    from city.accounts import Accounts
    from city.public import screenshot_page
    from mfc_edge import city_protocol
    from mfc_edge.cli.city_dashboard_commands import dashboard_png
    from mfc_edge.cli.demo import _chromium

    login, name, password = CITY_VIEWER
    Accounts(city).add(login, name, password, "viewer")
    dashboard_png(url, login, password, shots / "60-city-dashboard.png")
    dashboard_png(url, login, password, shots / "61-city-center.png", center="strogino")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), args=["--no-sandbox", "--disable-gpu"])
        try:
            screenshot_page(browser, url, shots / "62-city-waits.png")
        finally:
            browser.close()
    with requests.Session() as portal:  # what the city portal reads
        portal.trust_env = False
        public = portal.get(url + city_protocol.PUBLIC_WAITS_PATH, timeout=10).json()
    told = "; ".join(f"{c['name'] or c['id']}: " + (f"{c['waiting']} waiting, about {c['wait_minutes']} min"
                                                     if c["state"] == "open" else c["state"])
                     for c in public["centers"])
    return ("The city's dashboard shows both centers (60-city-dashboard.png) and Строгино's windows and line "
            f"(61-city-center.png); the public page (62-city-waits.png) and its JSON say {told}.")


def _feed(city: Any, url: str) -> str:
    """The back office reads the day's tickets from the integration feed with its own token."""
    import requests

    from city.integration import IntegrationTokens
    from mfc_edge import city_protocol

    _, token = IntegrationTokens(city).issue("АИС МФЦ")
    kinds: dict[str, int] = {}
    after = None
    with requests.Session() as office:
        office.trust_env = False
        office.headers["Authorization"] = f"Bearer {token}"
        while True:
            page = office.get(url + city_protocol.FEED_PATH, params={"after": after} if after else {},
                              timeout=10).json()
            for event in page["events"]:
                kinds[event["type"]] = kinds.get(event["type"], 0) + 1
            after = page["next"]
            if not page["more"]:
                break
    said = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
    return f"The back office's feed (cursor-based, version 1) gave the centers' ticket events: {said}."


def _backups(center: Any, city: Any, dsn: str, out: Path) -> str:
    """Both levels backed up: the hub's SQLite with the online backup API, the city with pg_dump."""
    from city.backups import dump
    from hub.backups import backup

    folder = out / "backups"
    hub_copy = backup(center.hub.db, folder / "hub", center.clock.now())
    city_copy = dump(dsn, folder / "city.dump")
    return (f"Backups: the hub's {hub_copy.name} ({hub_copy.stat().st_size // 1024} KB) and the city's pg_dump "
            f"({city_copy.stat().st_size // 1024} KB) in {folder}.")
