"""The hub's HTTP API (FastAPI). OpenAPI is served at /docs and /openapi.json."""
from __future__ import annotations

import asyncio
import base64
import logging
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
from fastapi import Depends, FastAPI, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from hub.auth import device_auth
from hub.bundle_api import bundle_routes
from hub.bundles import Bundles
from hub.centers import Centers
from hub.db import HubDB
from hub.device_health import DeviceHealth
from hub.events import EventLog
from hub.hall import Hall
from hub.limits import BodyLimit
from hub.load import LoadCache
from hub.identity import Device, EnrollmentError, Identity
from hub.operators import Operators
from hub.queue import DEFAULT_PRIORITY_STREAK, Queue
from hub.help import HelpDesk
from hub.ratings import Ratings
from hub.screens import Screens
from hub.signage_api import SCREENSHOT_PATH, signage_routes
from hub.web import web_routes
from hub.window_api import window_routes
from mfc_edge.catalog import load_catalog
from mfc_edge import protocol

API = "/api/v1"
END_OF_DAY_CHECK_S = 60.0

log = logging.getLogger(__name__)


class EnrollRequest(BaseModel):
    code: str = Field(min_length=4, max_length=64)
    device_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")


class EnrollReply(BaseModel):
    center: str
    device_id: str
    role: str
    window: str | None = Field(None, description="for a console: the window the hub lets it act at")
    token: str
    bundle_key: str = Field(description="base64 of the hub's raw Ed25519 public key; devices pin it to verify bundles")


class EventBatch(BaseModel):
    events: list[Any] = Field(max_length=protocol.MAX_BATCH_EVENTS)


class EventResult(BaseModel):
    id: str | None
    status: str
    reason: str = ""


class BatchReply(BaseModel):
    results: list[EventResult]


class FeedCall(BaseModel):
    number: str
    window: str
    at: str
    recall: bool


class Feed(BaseModel):
    center: str
    version: int
    waiting: dict[str, int]
    oldest_waiting_since: dict[str, str]  # times, not durations, so an unchanged feed stays unchanged
    calls: list[FeedCall]
    mean_service_minutes: float
    open_windows: dict[str, int]


class Hub:
    """The hub's parts, shared by the API and the command line."""

    def __init__(self, data_dir: str | Path, priority_streak: int = DEFAULT_PRIORITY_STREAK, clock: Any = None):
        self.db = HubDB(data_dir, clock)
        self.identity = Identity(self.db)
        self.ratings, self.help = Ratings(self.db), HelpDesk(self.db)
        self.bundles = Bundles(self.db, data_dir)
        self.device_health = DeviceHealth(self.db, self.identity, self.bundles.latest_version)
        self.centers = Centers(self.db)
        self.queue = Queue(self.db, self.centers, priority_streak)
        self.events = EventLog(self.db, self.queue, {protocol.RATING_GIVEN: self.ratings.project,
                                         protocol.HELP_REQUESTED: self.help.project,
                                         **{kind: self.device_health.project for kind in (
                                             protocol.PRINTER_STATUS, protocol.BUTTON_STUCK, protocol.BUTTON_RELEASED,
                                             protocol.BUNDLE_APPLIED, protocol.BUNDLE_REFUSED)}})
        self.operators = Operators(self.db)
        self.hall = Hall(self.db)
        self.catalog = load_catalog()
        self.service_ids = {s.id for s in self.catalog.services}
        self.load, self.screens = LoadCache(self.db, self.centers), Screens(self.db, self.identity, data_dir)

    def close(self) -> None:
        self.db.close()


async def close_past_days(hub: Hub, every: float) -> None:
    """Close each center's past service days, now and then every `every` seconds, for as long
    as the hub serves: waiting counts, screens and phones then stop counting yesterday's line."""
    while True:
        try:
            closed = await run_in_threadpool(hub.queue.close_past_days_everywhere)
            if closed:
                log.info("end of day: %d tickets never called have expired", closed)
        except Exception:  # a locked or full disk now must not stop tomorrow's closing
            log.exception("closing past service days failed; trying again in %.0f s", every)
        await asyncio.sleep(every)


def create_app(hub: Hub, end_of_day_every: float = END_OF_DAY_CHECK_S) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        task = asyncio.create_task(close_past_days(hub, end_of_day_every))
        yield
        task.cancel()

    app = FastAPI(title="mfc-edge hub", version="1", lifespan=lifespan,
                  description="The center's hub: device enrollment, event sync, the live queue.")

    app.add_middleware(BodyLimit, max_bytes=protocol.MAX_BATCH_BYTES,
                       per_path={SCREENSHOT_PATH: protocol.MAX_SCREENSHOT_BYTES})

    device = device_auth(hub.identity)

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post(f"{API}/enroll", response_model=EnrollReply, tags=["devices"],
              responses={403: {"description": "unknown, used or expired code"}})
    def enroll(request: EnrollRequest) -> EnrollReply:
        try:
            found, token = hub.identity.enroll(request.code, request.device_id)
        except EnrollmentError as exc:
            raise HTTPException(403, str(exc)) from None
        return EnrollReply(center=found.center, device_id=found.id, role=found.role, window=found.window, token=token,
                           bundle_key=base64.b64encode(hub.bundles.public_key()).decode())

    def ingest(who: Device, body: bytes) -> Response:
        try:
            batch = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise RequestValidationError([{"type": "json_invalid", "loc": ("body", exc.pos), "msg": "JSON decode error",
                                           "input": {}, "ctx": {"error": exc.msg}}]) from None
        events = batch.get("events") if isinstance(batch, dict) else None
        if not isinstance(events, list) or len(events) > protocol.MAX_BATCH_EVENTS:
            raise RequestValidationError([{
                "type": "batch", "loc": ("body", "events"), "input": None,
                "msg": f"expected an object whose events are a list of at most {protocol.MAX_BATCH_EVENTS}"}])
        outcomes = hub.events.ingest(who, events)
        # Built by hand rather than through BatchReply: validating up to 500 results the hub
        # itself just made is work on the ingest path for nothing. BatchReply documents the shape.
        return Response(orjson.dumps({"results": [{"id": o.id, "status": o.status, "reason": o.reason}
                                                  for o in outcomes]}), media_type="application/json")

    # The body is read and parsed here rather than through EventBatch: orjson parses a batch in
    # under 2 µs per event, FastAPI's json.loads in 4. EventBatch still documents the body.
    @app.post(f"{API}/events", response_model=BatchReply, tags=["devices"],
              responses={401: {"description": "no valid device token"}, 413: {"description": "batch too large"}},
              openapi_extra={"requestBody": {"required": True, "content": {
                  "application/json": {"schema": EventBatch.model_json_schema()}}}})
    async def events(request: Request, who: Device = Depends(device)) -> Response:
        return await run_in_threadpool(ingest, who, await request.body())

    @app.get(f"{API}/feed", response_model=Feed, tags=["queue"],
             responses={304: {"description": "unchanged since the ETag given in If-None-Match"}})
    def feed(request: Request, response: Response, who: Device = Depends(device)) -> Any:
        version = hub.db.feed_version(who.center)
        etag = f'"{who.center}-{version}"'
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers={"ETag": etag})
        waiting = hub.queue.waiting(who.center)
        response.headers["ETag"] = etag
        return Feed(center=who.center, version=version,
                    waiting={s: w["count"] for s, w in waiting.items()},
                    oldest_waiting_since={s: w["oldest"] for s, w in waiting.items()},
                    calls=[FeedCall(**c.__dict__) for c in hub.queue.recent_calls(who.center)],
                    mean_service_minutes=hub.queue.mean_service_minutes(who.center),
                    open_windows=hub.queue.open_windows_by_service(who.center))

    app.include_router(web_routes(hub))
    app.include_router(bundle_routes(hub.bundles, device))
    app.include_router(window_routes(hub, device))
    app.include_router(signage_routes(hub, device))
    return app
