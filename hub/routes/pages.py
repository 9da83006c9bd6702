"""Pages people open in a browser: the operator console, the files of the pages (the visitor's
ticket page on their phone, `/t/<token>`, is hub/routes/status.py), and the screenshots of
screens the console shows to supervisors."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import FileResponse

from hub.routes.common import DEVICE, HubDep, SupervisorDep, etag_matches

PAGES = Path(__file__).resolve().parent.parent / "pages"

router = APIRouter()


# The pages' scripts and styles, served from the hub itself: its Content-Security-Policy
# (hub/headers.py) runs no inline script or style and nothing from elsewhere.
STATIC = {"console.js": "text/javascript; charset=utf-8", "remote.js": "text/javascript; charset=utf-8",
          "notices.js": "text/javascript; charset=utf-8", "bookings.js": "text/javascript; charset=utf-8",
          "reports.js": "text/javascript; charset=utf-8",
          "console.css": "text/css; charset=utf-8", "status.css": "text/css; charset=utf-8",
          "status.js": "text/javascript; charset=utf-8"}


@router.get("/console", response_class=FileResponse, include_in_schema=False)
def console_page() -> FileResponse:
    return FileResponse(PAGES / "console.html", media_type="text/html; charset=utf-8")


@router.get("/static/{name}", response_class=FileResponse, include_in_schema=False)
def static_file(name: str) -> FileResponse:
    if name not in STATIC:
        raise HTTPException(404, f"no file {name!r} here")
    return FileResponse(PAGES / name, media_type=STATIC[name], headers={"Cache-Control": "no-cache"})


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
