"""Every way a visit goes, in the demo: window 4 opens for foreign passports and calls the visitor
waiting there since the morning's kiosk visit; the operator sends them to pay the state fee
(«Отложить»: 40-console-visitor-held.png) and calls them back to the same window («Вернуть»); the
visitor applies for their child's passport in the same visit, and the operator finishes it with
an outcome for each service (41-console-visit-outcomes.png)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

WINDOW = "4"
SERVICE = "foreign-passport-5"
# The visit's services: its ticket's own, then the one the operator adds; the outcome of each.
OUTCOMES = {SERVICE: "done", "foreign-passport-child": "documents_missing"}
HOLD_REASON = "оплата госпошлины"


def visits_scene(center: Any, shots: Path) -> str:
    """The scene in the real console page, driven in Chromium; a line saying what happened."""
    from playwright.sync_api import sync_playwright

    from mfc_edge.cli.demo import DEMO_OPERATOR, _chromium, signed_in_console

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), args=["--no-sandbox", "--disable-gpu"])
        try:
            # tall enough for the held list below the visitor, under the help request from the entrance
            page = signed_in_console(browser, center.server.url, DEMO_OPERATOR, height=1000)
            page.fill("#window", WINDOW)
            page.check(f"#services input[value='{SERVICE}']")
            page.click("#open-window")
            page.wait_for_selector("#call-next:enabled")
            number = _call(page, "#call-next")
            if number == "—":
                raise RuntimeError(f"the demo's visit left nobody waiting for {SERVICE} to call at window {WINDOW}")
            page.click("#start")
            center.clock.advance(minutes=4)
            page.fill("#hold-reason", HOLD_REASON)
            page.click("#hold")
            page.wait_for_selector(f"#held tr:has-text('{number}'):has-text('{HOLD_REASON}')")
            _shoot(page, shots / "40-console-visitor-held.png")

            center.clock.advance(minutes=7)  # paid at the terminal in the hall
            _call(page, f"#held tr:has-text('{number}') button")
            page.click("#start")
            added = [s for s in OUTCOMES if s != SERVICE]
            for service in added:
                page.select_option("#add-service-to", service)
                page.click("#add-service")
                page.wait_for_selector(f"#visit-services select[name='{service}']")
            for service, outcome in OUTCOMES.items():
                page.select_option(f"#visit-services select[name='{service}']", outcome)
            _shoot(page, shots / "41-console-visit-outcomes.png")
            center.clock.advance(minutes=12)
            page.click("#finish")
            page.wait_for_selector("#current:text-is('—')")
            page.click("#close-window")
            page.wait_for_selector("#call-next:disabled")
        finally:
            browser.close()
    rows = list(center.hub.db.db.query(
        "SELECT v.service, v.outcome FROM visit_services v JOIN tickets t ON t.id = v.ticket "
        "WHERE t.center = 'strogino' AND t.number = ? AND t.window = ? ORDER BY v.service != t.service, v.service",
        [number, WINDOW]))
    found = {r["service"]: r["outcome"] for r in rows}
    outcomes = ", ".join(f"{service} {outcome}" for service, outcome in found.items())
    return (f"At window {WINDOW} {number} was sent to pay the state fee (held: «{HOLD_REASON}») and called back to "
            f"the same window; the visit took {len(rows)} services, finished with their outcomes: {outcomes}.")


def _call(page: Any, button: str) -> str:
    """Press a button that brings a visitor to the window; the number the console then shows
    ("—" if the hub called nobody)."""
    page.click(button)
    page.wait_for_selector("#current:not(:text-is('—')), #message:not(:empty)")
    number: str = page.inner_text("#current")
    return number


def _shoot(page: Any, path: Path) -> None:
    page.evaluate("window.scrollTo(0, 0)")  # choosing in a select scrolled the page to it
    page.screenshot(path=str(path))
