"""Pages people open in a browser: the operator console, the visitor's ticket status page on
their phone (`/t/<token>`, from the QR code on the ticket), and the screenshots of screens
the console shows to supervisors."""
from __future__ import annotations

import html
from pathlib import Path
from string import Template
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse

from hub.hub import Hub
from hub.routes.common import DEVICE, HubDep, SupervisorDep, etag_matches
from mfc_edge.i18n import people_ahead_text, translator, wait_text

PAGES = Path(__file__).resolve().parent.parent / "pages"

router = APIRouter()


# The pages' scripts and styles, served from the hub itself: its Content-Security-Policy
# (hub/headers.py) runs no inline script or style and nothing from elsewhere.
STATIC = {"console.js": "text/javascript; charset=utf-8", "remote.js": "text/javascript; charset=utf-8",
          "console.css": "text/css; charset=utf-8", "status.css": "text/css; charset=utf-8"}


@router.get("/console", response_class=FileResponse, include_in_schema=False)
def console_page() -> FileResponse:
    return FileResponse(PAGES / "console.html", media_type="text/html; charset=utf-8")


@router.get("/static/{name}", response_class=FileResponse, include_in_schema=False)
def static_file(name: str) -> FileResponse:
    if name not in STATIC:
        raise HTTPException(404, f"no file {name!r} here")
    return FileResponse(PAGES / name, media_type=STATIC[name], headers={"Cache-Control": "no-cache"})


@router.get("/t/{status_token}", response_class=HTMLResponse, tags=["visitors"])
def ticket_status(status_token: str, hub: HubDep, lang: str = "ru") -> HTMLResponse:
    page, status = status_page(hub, status_token, "en" if lang == "en" else "ru")
    return HTMLResponse(page, status_code=status)


def status_page(hub: Hub, status_token: str, lang: str) -> tuple[str, int]:
    """The visitor's phone view of a ticket: no personal data, only the line and the window."""
    t = translator(lang)
    ticket = hub.queue.ticket_by_token(status_token) if len(status_token) <= 64 else None
    if ticket is None:
        title, lines, status = t("Ticket not found"), [t("Check the link in the QR code on your ticket.")], 404
    else:
        status = 200
        # The number on the visitor's paper; the hub may call it by another (hub/placement.py).
        printed = ticket["printed_number"] or ticket["number"]
        title = t("Ticket {number}").format(number=printed)
        if ticket["state"] in ("called", "serving"):
            lines = [t("Please go to window {window}").format(window=ticket["window"])]
        elif ticket["state"] == "waiting":
            estimate = hub.queue.estimate(ticket)  # by the rule of the kiosks' figure for a new ticket
            lines = [people_ahead_text(t, estimate.ahead), wait_text(t, estimate.minutes)]
        elif ticket["state"] == "done":
            lines = [t("You have been served. Thank you for your visit!")]
        else:
            lines = [t("This ticket is no longer in line. Please ask a consultant in the hall.")]
        if printed != ticket["number"] and ticket["state"] in ("waiting", "called", "serving"):
            lines.insert(0, t("Your ticket {printed} will be called as {number}").format(
                printed=printed, number=ticket["number"]))
        lines.insert(0, hub.catalogs.for_center(ticket["center"]).name(ticket["service"], lang))
    other = "en" if lang == "ru" else "ru"
    page = Template((PAGES / "status.html").read_text(encoding="utf-8")).substitute(
        lang=lang, title=html.escape(title),
        lines="".join(f"<p>{html.escape(line)}</p>" for line in lines),
        other_lang_link=f"?lang={other}", other_lang_name="English" if other == "en" else "Русский",
        refresh=html.escape(t("The page updates itself every 15 seconds.")))
    return page, status


@router.get("/console/screens/{device_id}.png", tags=["console"], response_class=Response,
            responses={200: {"content": {"image/png": {}}}, 403: {"description": "not a supervisor"},
                       404: {"description": "no screenshot from this device yet"}})
def screenshot_image(request: Request, hub: HubDep, who: SupervisorDep,
                     device_id: str = PathParam(pattern=DEVICE)) -> Any:
    """The device's latest screenshot, for signed-in supervisors only."""
    row = hub.screens.latest(who.center, device_id)
    etag = f'"{row["sha256"]}"' if row else ""
    if row and etag_matches(request.headers.get("if-none-match", ""), etag):
        return Response(status_code=304, headers={"ETag": etag, "Cache-Control": "private, no-cache"})
    try:
        # Read whole (at most a few MB) rather than streamed: an upload replacing the file
        # meanwhile would otherwise cut the image short of its announced length.
        data = hub.screens.path(who.center, device_id).read_bytes() if row else None
    except FileNotFoundError:
        data = None
    if data is None:
        raise HTTPException(404, f"от устройства {device_id} ещё нет снимка экрана")
    # private: a screen may show visitors' ticket numbers; shared caches keep none of it.
    return Response(data, media_type="image/png", headers={"Cache-Control": "private, no-cache", "ETag": etag})
