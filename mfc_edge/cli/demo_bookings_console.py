"""The supervisor's part of the booked visits in the demo: a window calls the booked visitors
who checked in at the kiosk (the queue calls them by their slot), and the supervisor's console
lists the day's bookings with their check-ins, tickets, calls, the 5-minute norm and the
no-shows (39-console-bookings.png)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

WINDOW = "7"


def call_booked(center: Any) -> list[str]:
    """Window 7 opens for the services of the booked tickets waiting and calls each in turn, as
    its operator would with «Вызвать следующего»: the numbers called."""
    from mfc_edge.cli.demo_devices import SUPERVISOR

    queue = center.hub.queue
    services = sorted({r["service"] for r in center.hub.db.db.query(
        "SELECT service FROM tickets WHERE center = 'strogino' AND state = 'waiting' AND booking != ''")})
    if not services:
        return []
    queue.open_window("strogino", WINDOW, services, SUPERVISOR[0], take_over=True)
    called = []
    while (ticket := queue.call_next("strogino", WINDOW, services)) is not None:
        called.append(ticket["number"])
        center.clock.advance(minutes=4)
        queue.finish("strogino", WINDOW)
        if not ticket["booking"]:
            break  # the booked visitors are called: the walk-ins are the other windows' part here
    queue.close_window("strogino", WINDOW)
    return called


def bookings_console_scene(center: Any, shots: Path) -> str:
    """Call the booked visitors, then the supervisor's console with the day's bookings."""
    from playwright.sync_api import sync_playwright

    from mfc_edge.cli.demo import _chromium, signed_in_console
    from mfc_edge.cli.demo_devices import SUPERVISOR

    called = call_booked(center)
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
    return (f"Window {WINDOW} called {', '.join(called) or 'no booked visitor'}; the supervisor's console lists "
            f"{c['booked']} bookings of the day ({c['cancelled']} cancelled): {c['checked_in']} checked in, "
            f"{c['norm_met']} of {c['norm_judged']} called within 5 minutes of their slot, {c['no_shows']} no-shows.")
