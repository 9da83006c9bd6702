"""The hub's HTTP API (FastAPI). The OpenAPI schema is served at /openapi.json; Swagger UI at
/docs only when asked for (`mfc-edge hub --docs`), since it loads its scripts from a CDN.

The routes live in hub/routes/, one router per kind of caller; `create_app` puts the `Hub`
in the app's state, where the routes' dependencies find it, and runs the end-of-day check.
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from hub.alerts import SWEEP_EVERY_S, watch_devices
from hub.feed_watch import FeedWatch
from hub.headers import SecurityHeaders
from hub.hub import Hub
from hub.limits import BodyLimit
from hub.releases import SOAK_CHECK_EVERY_S, soak_releases
from hub.routes import console, content, devices, integration, notices, pages, releases, reports, status
from hub.routes.device_models import Feed, FeedCall, FeedEstimate
from hub.routes.devices import SCREENSHOT_PATH
from hub.time_header import HubTimeHeader
from mfc_edge import protocol

__all__ = ["END_OF_DAY_CHECK_S", "Feed", "FeedCall", "FeedEstimate", "Hub", "close_past_days", "create_app"]

END_OF_DAY_CHECK_S = 60.0

log = logging.getLogger(__name__)

ops = APIRouter(tags=["ops"])


@ops.get(protocol.HEALTH_PATH)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


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


# Swagger UI comes from this CDN: for a development hub only (`--docs`), never a center's.
DOCS_CDN = "https://cdn.jsdelivr.net"


def docs_page() -> HTMLResponse:
    """Swagger UI, with a Content-Security-Policy of its own: its CDN, and its one inline script by hash."""
    page = get_swagger_ui_html(openapi_url="/openapi.json", title="mfc-edge hub: API",
                               swagger_favicon_url="data:,")
    scripts = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()}'"
                       for text in re.findall(r"<script>(.*?)</script>", bytes(page.body).decode(), re.S))
    page.headers["Content-Security-Policy"] = (
        f"default-src 'none'; script-src {DOCS_CDN} {scripts}; style-src {DOCS_CDN} 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'")
    return page


async def client_gone(request: Request, exc: Exception) -> Response:
    """A request whose body was cut off (a device losing its network mid-batch): one line in the
    log rather than an ASGI traceback; nothing of it was stored, and the device sends it again."""
    client = f"{request.client.host}:{request.client.port}" if request.client else "a client"
    log.warning("%s %s from %s: the connection closed before the whole body arrived", request.method,
                request.url.path, client)
    return Response(status_code=400)


async def invalid_request(request: Request, exc: Exception) -> Response:
    """FastAPI's 422, also for a body with NaN or Infinity: Python's JSON parser takes them, and
    the reply, which echoes each bad value, could not be written (a 500 and a traceback)."""
    assert isinstance(exc, RequestValidationError)
    try:
        return await request_validation_exception_handler(request, exc)
    except ValueError:
        errors = [{k: v for k, v in error.items() if k not in ("input", "ctx")} for error in exc.errors()]
        return JSONResponse(status_code=422, content={"detail": jsonable_encoder(errors)})


def create_app(hub: Hub, end_of_day_every: float = END_OF_DAY_CHECK_S, docs: bool = False,
               alerts_every: float = SWEEP_EVERY_S, soak_every: float = SOAK_CHECK_EVERY_S) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(close_past_days(hub, end_of_day_every)),
                 asyncio.create_task(watch_devices(hub.alerts, alerts_every)),
                 asyncio.create_task(soak_releases(hub.releases, soak_every))]
        yield
        for task in tasks:
            task.cancel()
        # A task waiting on a worker thread (an alert sweep, a day's closing) ends only once that
        # thread is done: waiting for it keeps the hub's database open until nobody uses it.
        await asyncio.gather(*tasks, return_exceptions=True)

    app = FastAPI(title="mfc-edge hub", version="1", lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="The center's hub: device enrollment, event sync, the live queue.")
    app.state.hub = hub
    # The phone pages' long polls wait here for their center's line to change (hub/routes/status.py).
    app.state.feed_watch = FeedWatch(hub.db.feed_version)
    hub.db.on_feed_bump(app.state.feed_watch.nudge)
    app.add_exception_handler(ClientDisconnect, client_gone)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_middleware(BodyLimit, max_bytes=protocol.MAX_BATCH_BYTES,
                       per_path={SCREENSHOT_PATH: protocol.MAX_SCREENSHOT_BYTES,
                                 protocol.HEARTBEAT_PATH: protocol.MAX_HEARTBEAT_BYTES})
    app.add_middleware(SecurityHeaders)
    app.add_middleware(HubTimeHeader, now=hub.db.now)  # added last: outermost
    for router in (ops, devices.router, content.router, releases.router, console.router, notices.router, pages.router,
                   status.router, integration.router, reports.router):
        app.include_router(router)
    if docs:
        app.add_api_route("/docs", docs_page, methods=["GET"], include_in_schema=False)
    return app
