"""The supervisor's part of the booked visits in the demo: right after the check-ins at the
kiosk, windows call the booked visitors (the queue calls them by their slot), and at the end the
supervisor's console lists the day's bookings with their check-ins, tickets, calls, the
5-minute norm and the no-shows (39-console-bookings.png)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

WINDOWS = ("7", "8", "9", "10")


def call_booked(center: Any) -> list[str]:
    """Right after the check-ins, windows 7–10 open for the services of the booked tickets
    waiting and each calls the next visitor, as its operator would with «Вызвать следующего»,
    until the booked visitors are called: the queue's slot rule decides who each window gets
    (a walk-in whose 15 minutes run out sooner goes first). The numbers called, in order."""
    from mfc_edge.cli.demo_devices import SUPERVISOR

    queue = center.hub.queue

    def booked_waiting() -> list[str]:
        return sorted({r["service"] for r in center.hub.db.db.query(
            "SELECT service FROM tickets WHERE center = 'strogino' AND state = 'waiting' AND booking != ''")})

    services, called, opened = booked_waiting(), [], []
    for window in WINDOWS:
        if not booked_waiting():
            break
        queue.open_window("strogino", window, services, SUPERVISOR[0], take_over=True)
        opened.append(window)
        ticket = queue.call_next("strogino", window, services)
        if ticket is not None:
            called.append(f"{ticket['number']} at window {window}")
    center.clock.advance(minutes=3)
    for window in opened:
        if queue.current("strogino", window):
            queue.finish("strogino", window)
        queue.close_window("strogino", window)
    return called


def bookings_console_scene(center: Any, called: list[str], shots: Path) -> str:
    """The supervisor's console with the day's bookings, after `call_booked`."""
    from playwright.sync_api import sync_playwright

    from mfc_edge.cli.demo import _chromium, signed_in_console
    from mfc_edge.cli.demo_devices import SUPERVISOR

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), args=["--no-sandbox", "--disable-gpu"])
        try:
            page = signed_in_console(browser, center.server.url, SUPERVISOR)
            page.wait_for_selector("#booking-rows tr td")
            page.locator("#bookings").scroll_into_view_if_needed()
            page.screenshot(path=str(shots / "39-console-bookings.png"))
            day = json.loads(page.evaluate(
                "fetch('/console/api/bookings', {credentials: 'same-origin'}).then(r => r.text())"))
        finally:
            browser.close()
    c = day["counts"]
    return (f"Right after the check-ins the windows called {', '.join(called) or 'nobody'}; the supervisor's "
            f"console lists {c['booked']} bookings of the day ({c['cancelled']} cancelled): {c['checked_in']} checked "
            f"in, {c['norm_met']} of {c['norm_judged']} called within 5 minutes of their slot, {c['no_shows']} "
            "no-shows.")
