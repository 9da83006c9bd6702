"""The supervisor's report in the demo: at the end of the day the supervisor opens the report of
the day per window on the console, with its chart of the share that waited over 15 minutes,
and the screens' proof of play of the day (50-console-report.png)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def reports_scene(center: Any, shots: Path) -> str:
    """The report page in the real console, driven in Chromium; a line saying what it showed."""
    from playwright.sync_api import sync_playwright

    from mfc_edge.cli.demo import _chromium, signed_in_console
    from mfc_edge.cli.demo_devices import SUPERVISOR
    from mfc_edge.cli.demo_kiosk import VISIT_START

    day = center.clock.now().astimezone(VISIT_START.tzinfo).date().isoformat()  # the demo's day, not the machine's
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), args=["--no-sandbox", "--disable-gpu"])
        try:
            page = signed_in_console(browser, center.server.url, SUPERVISOR, height=1100)
            page.wait_for_selector("#reports:not(.hidden)")
            page.fill("#report-from", day)
            page.fill("#report-to", day)
            page.select_option("#report-by", "window")
            page.click("#report-show")
            page.wait_for_selector("#report-rows tr:has-text('окно')")
            page.wait_for_selector("#report-chart .report-bar")
            page.locator("#reports").scroll_into_view_if_needed()
            page.screenshot(path=str(shots / "50-console-report.png"))
            found = json.loads(page.evaluate(
                f"fetch('/console/api/report?from={day}&to={day}&by=window', "
                "{credentials: 'same-origin'}).then(r => r.text())"))
            played = json.loads(page.evaluate(
                f"fetch('/console/api/plays?from={day}&to={day}', {{credentials: 'same-origin'}}).then(r => r.text())"))
        finally:
            browser.close()
    total = found["total"]
    over = "no one" if total["over_15_share"] is None else f"{round(total['over_15_share'] * 100)} %"
    return (f"The supervisor's report of {day} by window: {total['issued']} tickets at {len(found['rows'])} rows "
            f"(windows and those not called), {total['served']} served, {over} of those in line waited over "
            f"15 minutes, the chart beside it; the hall's screens played {played['total']['plays']} slides that "
            "day (proof of play, as CSV or XLSX).")
