"""HTTP endpoints of the waiting-area screens: the load chart they show, the screenshots they
send, and what the operator console shows of those screenshots.

Everything is pulled by the devices (they sit behind NAT): a supervisor's request for a new
screenshot waits on the hub until the screen next asks for requests.
"""
from __future__ import annotations

from typing import Any, Callable

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from hub.identity import Device
from hub.load import DEFAULT_WEEKS, MAX_WEEKS
from hub.operators import Operator
from hub.screens import ScreenshotError
from hub.web import supervisor_auth
from mfc_edge import protocol

API = "/api/v1"
SCREENSHOT_PATH = f"{API}/screenshot"
DEVICE = r"^[a-z0-9][a-z0-9-]{0,39}$"


class Load(BaseModel):
    """The center's load chart; weekdays are mon..sun, hours 0..23 of the center's local time."""
    center: str
    timezone: str = Field(description="the center's IANA time zone (Europe/Moscow unless set with hub set-center)")
    weeks: int
    since: str = Field(description="the first local date counted")
    until: str = Field(description="the last local date counted (yesterday)")
    computed_at: str
    days: dict[str, int] = Field(description="per weekday: days with tickets, the days the averages stand on")
    hours: dict[str, list[float]] = Field(description="per weekday: 24 average numbers of tickets issued per hour")
    busiest: dict[str, int | None] = Field(description="per weekday: the busiest working hour, null without data")
    quietest: dict[str, list[int]] = Field(description="per weekday: up to 3 quietest working hours, in clock order")


class Screenshot(BaseModel):
    device: str
    taken_at: str = Field(description="when the image reached the hub (the hub's clock)")
    bytes: int
    width: int
    height: int


class ScreenshotRequest(BaseModel):
    requested: bool = Field(description="true: a supervisor asked for a new screenshot; send one")
    requested_at: str | None = None


PNG_BODY = {"requestBody": {"required": True, "content": {"image/png": {"schema": {"type": "string",
                                                                                   "format": "binary"}}}}}


def etag_matches(if_none_match: str, etag: str) -> bool:
    """If-None-Match compares weakly: W/"x" and "x" are the same tag."""
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag.removeprefix("W/") in tags


def signage_routes(hub: Any, device: Callable[..., Device]) -> APIRouter:
    router = APIRouter()
    supervisor = supervisor_auth(hub)

    @router.get(f"{API}/load", response_model=Load, tags=["signage"],
                responses={304: {"description": "unchanged since the ETag given in If-None-Match"}})
    def load(request: Request, response: Response, weeks: int = Query(DEFAULT_WEEKS, ge=1, le=MAX_WEEKS),
             who: Device = Depends(device)) -> Any:
        """Average visitors per weekday and hour over the last weeks, the busiest and the quietest
        hours; recomputed at most every few minutes. See hub/load.py for how days are counted."""
        etag, figures = hub.load.get(who.center, weeks)
        if etag_matches(request.headers.get("if-none-match", ""), etag):
            return Response(status_code=304, headers={"ETag": etag})
        response.headers["ETag"] = etag
        return figures

    @router.put(SCREENSHOT_PATH, response_model=Screenshot, tags=["signage"], openapi_extra=PNG_BODY,
                responses={413: {"description": f"over {protocol.MAX_SCREENSHOT_BYTES} bytes"},
                           415: {"description": "not sent as image/png"},
                           422: {"description": "not a whole PNG image; the detail says why"}})
    async def upload_screenshot(request: Request, who: Device = Depends(device)) -> Any:
        """The device's screen as a PNG: kept as its latest screenshot, answering any request."""
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != "image/png":
            raise HTTPException(415, f"send the screenshot as image/png, not {kind or 'no content type'}")
        data = await request.body()
        try:
            # In a worker thread: writing and syncing a few megabytes must not stall other requests.
            row = await run_in_threadpool(hub.screens.store, who.center, who.id, data)
        except ScreenshotError as exc:
            raise HTTPException(422, str(exc)) from None
        return Screenshot(device=who.id, taken_at=row["taken_at"], bytes=row["bytes"], width=row["width"],
                          height=row["height"])

    @router.get(f"{SCREENSHOT_PATH}/request", response_model=ScreenshotRequest, tags=["signage"])
    def screenshot_requested(who: Device = Depends(device)) -> ScreenshotRequest:
        """Whether a supervisor asked this device for a new screenshot; an upload answers it."""
        at = hub.screens.requested(who.center, who.id)
        return ScreenshotRequest(requested=at is not None, requested_at=at)

    @router.get("/console/api/screens", tags=["console"],
                responses={403: {"description": "the signed-in operator is not a supervisor"}})
    def screens(who: Operator = Depends(supervisor)) -> dict[str, Any]:
        """Every screen of the center with its latest screenshot (address, time, size) and any open request."""
        return {"screens": hub.screens.screens(who.center)}

    @router.post("/console/api/screens/{device_id}/request", tags=["console"],
                 responses={403: {"description": "the signed-in operator is not a supervisor"},
                            404: {"description": "no such active device in the center"}})
    def request_screenshot(device_id: str = PathParam(pattern=DEVICE), who: Operator = Depends(supervisor)) -> Any:
        """Ask the screen for a new screenshot; it sends one when it next asks (within ~15 s)."""
        row = hub.screens.request(who.center, device_id, who.login)
        if row is None:
            raise HTTPException(404, f"устройство {device_id} не найдено или отключено")
        return JSONResponse({"device": device_id, "requested_at": row["requested_at"]})

    @router.get("/console/screens/{device_id}.png", tags=["console"], response_class=Response,
                responses={200: {"content": {"image/png": {}}}, 403: {"description": "not a supervisor"},
                           404: {"description": "no screenshot from this device yet"}})
    def screenshot_image(request: Request, device_id: str = PathParam(pattern=DEVICE),
                         who: Operator = Depends(supervisor)) -> Any:
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

    return router
