"""The demo's phone of the visitor right behind the one the console calls: its page, open
before the call, follows the line by itself and says «Вы следующий» once the call is made,
without a reload (screenshot 34)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

# A phone in the center: Moscow time, Russian, the screen of a common handset.
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "timezone_id": "Europe/Moscow",
         "locale": "ru-RU"}


def open_next_in_line(browser: Any, url: str, center: Any, called: Any) -> Any | None:
    """The page of the kiosk's ticket waiting right behind `called` (one person ahead), opened
    and following the line; None when nobody waits behind it."""
    queue = center.hub.queue
    for ticket in center.kiosk.store.tickets():
        row = queue.ticket_by_token(ticket.status_token)
        if ticket.id != called.id and row and row["state"] == "waiting" and row["service"] == called.service_id \
                and queue.estimates.people_ahead(row) == 1:
            page = browser.new_page(**PHONE)
            page.goto(f"{url}/t/{ticket.status_token}")
            page.wait_for_selector("#footer:has-text('как только очередь сдвинется')")  # its script follows
            page.evaluate("window.sameDocument = true")  # gone if the page reloads
            return page
    return None


def you_are_next(page: Any | None, shots: Path) -> str:
    """Once the one ahead is called: the page saying «Вы следующий», as it changed by itself."""
    if page is None:
        return "Nobody waited behind the called ticket: no phone said «Вы следующий»."
    page.wait_for_selector("main.next #headline:has-text('Вы следующий')", timeout=10_000)
    same = page.evaluate("window.sameDocument === true")
    page.screenshot(path=str(shots / "34-phone-you-are-next.png"))
    title = page.text_content("#title") or ""
    return (f"The phone page of {title.removeprefix('Талон ').strip()} said «Вы следующий» within seconds of the "
            f"call{', without a reload' if same else ''}.")
