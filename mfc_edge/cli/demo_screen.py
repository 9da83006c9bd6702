"""The waiting-area screen's part of the demo: a screen enrolled with the demo hub, a signed
signage bundle, eight weeks of past visits for the load chart, and a call announced.

The past visits are simulated: they reach the hub as the `ticket.issued` events kiosks send,
and each past day is closed at its end, so the live queue holds only today's visitors.
"""
from __future__ import annotations

import random
import shutil
import time
from datetime import datetime, timedelta
from pathlib import Path

SCREEN_CONFIG = """\
# A demo waiting-area screen. See mfc_edge/data/signage.example.toml for a real one.
[center]
id = "strogino"
name = "Центр госуслуг района Строгино"
name_en = "Strogino public services center"
timezone = "Europe/Moscow"

[device]
id = "screen-hall"
role = "signage"
data_dir = "screen-data"

[signage]
profile = "waiting-area"
ticker = "Бесплатный Wi-Fi: MFC-Free · Детская комната работает с 9:00 до 20:00"
ticker_en = "Free Wi-Fi: MFC-Free · The kids' room is open 9:00 to 20:00"

[announcements]
english = true

[hub]
url = "{hub_url}"
"""
PLAYLIST = """\
[playlists.waiting-area]
[[playlists.waiting-area.items]]
type = "load-chart"
duration = 20

[[playlists.waiting-area.items]]
type = "consultation"
consultation = "rosreestr-video"
duration = 15

[[playlists.waiting-area.items]]
type = "satisfaction"
duration = 10

[[playlists.waiting-area.items]]
type = "rules"
duration = 15

[playlists.kids]
[[playlists.kids.items]]
type = "text"
title = "Детская комната"
text = "Мультфильмы, книги и карандаши ждут вас, пока родители получают услугу"
title_en = "The kids' room"
text_en = "Cartoons, books and pencils for you while your parents are served"
duration = 30
"""
# Visitors by hour on a weekday: a morning peak before lunch and another after work.
WEEKDAY_CURVE = {8: 6, 9: 12, 10: 18, 11: 22, 12: 24, 13: 17, 14: 14, 15: 13, 16: 15, 17: 21, 18: 23, 19: 9}
SERVICES = ("passport-rf", "adult-snils", "residence-registration")  # of the built-in catalog: others are refused


def seed_history(hub, center: str, today: datetime, weeks: int = 8, seed: int = 2026) -> int:
    """Simulated visits on each day of the past `weeks` weeks, through the hub's ingest; those
    days are then over, so their tickets never called expire."""
    from hub.identity import Device
    from mfc_edge import ids, protocol

    rng, device, count = random.Random(seed), Device(center, "kiosk-history", "kiosk"), 0
    for days_ago in range(weeks * 7, 0, -1):
        day = (today - timedelta(days=days_ago)).date()
        weekend = day.weekday() >= 5
        events = []
        for hour, visitors in WEEKDAY_CURVE.items():
            low, high = (0.5, 0.7) if weekend else (0.8, 1.2)
            for _ in range(rng.randint(int(visitors * low), int(visitors * high))):
                at = datetime(day.year, day.month, day.day, hour, rng.randrange(60), tzinfo=today.tzinfo)
                # Dated by the hub's time (hub/placement.py): the hub places each on its own day.
                body = {"ticket": ids.ticket_id(), "number": f"П{len(events) % 999 + 1:03d}",
                        "service": rng.choice(SERVICES), "day": day.isoformat(), "priority": False,
                        "issued_at": at.isoformat(), "status_token": ids.status_token(),
                        "clock": {"boot": "history", "mono": 0, "hub": True}}
                events.append(protocol.make_event(protocol.TICKET_ISSUED, center, device.id, at, body))
        for start in range(0, len(events), protocol.MAX_BATCH_EVENTS):
            hub.events.ingest(device, events[start:start + protocol.MAX_BATCH_EVENTS])
        count += len(events)
    with hub.db.transaction() as d:  # simulated visits reached the hub as they happened, not today
        d.execute("UPDATE tickets SET received_at = issued_at WHERE center = ? AND device = ?", [center, device.id])
    hub.queue.close_past_days(center)  # as the hub's minute check would
    hub.load.forget(center)  # the kiosk may have asked for the load chart before there was a history
    return count


def publish_screen_bundle(folder: Path, hub, center: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "playlist.toml").write_text(PLAYLIST, encoding="utf-8")
    hub.bundles.publish_folder(folder, center, "signage")


def open_demo_screen(folder: Path, hub, hub_url: str, clock, announcements: Path):
    """Enroll the screen like a technician would, then put it together with a recording speaker."""
    from hardware.audio import SimulatedOutput
    from mfc_edge.config import load_config
    from offline_cache.enrollment import enroll
    from signage.wiring import open_screen

    config = folder / "screen.toml"
    config.write_text(SCREEN_CONFIG.format(hub_url=hub_url), encoding="utf-8")
    device = load_config(config)
    enroll(device, hub.identity.create_code("strogino", "signage"))
    announcements.mkdir(parents=True, exist_ok=True)
    screen = open_screen(device, clock, audio=SimulatedOutput(keep_dir=announcements))
    return device, screen


def enrolled_screen(folder: Path, config_text: str, center, what: str):
    """Another screen of the demo in `folder` (emptied first), `config_text` its device file with
    {hub_url} to fill in: enrolled like a technician would, with a recording speaker, and with
    the center's signed bundle applied. `what` names it in errors."""
    from hardware.audio import SimulatedOutput
    from mfc_edge.config import load_config
    from offline_cache.enrollment import enroll
    from signage.wiring import open_screen

    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    config = folder / "screen.toml"
    config.write_text(config_text.format(hub_url=center.server.url), encoding="utf-8")
    device = load_config(config)
    enroll(device, center.hub.identity.create_code("strogino", "signage"))
    screen = open_screen(device, center.clock, audio=SimulatedOutput(keep_dir=folder / "heard"))
    result = screen.bundles.check() if screen.bundles else None
    if result is None or result.status not in ("applied", "unchanged"):
        screen.close()
        raise RuntimeError(f"{what} did not apply the signage bundle: {result}")
    screen.content.refresh()
    return device, screen


def screen_scene(device, screen, clock, call_next, shots: Path) -> str:
    """The hall's screen shows the load chart and the calls; a new call is highlighted and
    announced. `call_next()` makes an operator's next call and returns the ticket's number."""
    from hardware.headless_display import HeadlessDisplay
    from signage.app import SignageApp

    result = screen.bundles.check() if screen.bundles else None
    if result is None or result.status not in ("applied", "unchanged"):
        raise RuntimeError(f"the screen did not apply the signage bundle: {result}")
    screen.content.refresh()
    for poller in (screen.load, screen.ratings, screen.feed):  # the screen starts with the hub's data
        if not poller.poll_once():
            raise RuntimeError(f"the screen could not reach the hub for {poller.path}")
    app = SignageApp(device, screen, clock, new_calls=screen.calls_to_announce)
    with HeadlessDisplay(app, device.signage.size) as d:
        _wait(d, lambda: getattr(app.player.current, "item", None) is not None
              and app.player.current.item.type == "load-chart", "the load chart")
        _wait(d, lambda: app.calls_panel.ids.rows.children, "the calls")
        number = call_next()
        screen.feed.poll_once()
        _wait(d, lambda: app.calls_panel.ids.rows.children[-1].number == number, f"{number} on the screen")
        _wait(d, lambda: screen.announcer.wait_idle(0.1), "the announcement")
        d.frames(10)  # the crossfade and the row's highlight settle
        d.screenshot(shots / "21-screen-call-and-load-chart.png")
        d.resize((1080, 1920))
        d.frames(20)
        d.screenshot(shots / "22-screen-portrait.png")
    spoken = screen.announcer.announced[-1]
    return f"The hall's screen showed {number} and announced it: " + " / ".join(spoken.phrases)


def _wait(display, condition, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"the demo waited in vain for {what}")
        display.frames(1)
