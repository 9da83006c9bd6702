"""The hub's HTTP API (FastAPI). OpenAPI is served at /docs and /openapi.json.

The routes live in hub/routes/, one router per kind of caller; `create_app` puts the `Hub`
in the app's state, where the routes' dependencies find it, and runs the end-of-day check.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from starlette.concurrency import run_in_threadpool

from hub.hub import Hub
from hub.limits import BodyLimit
from hub.routes import console, devices, pages
from hub.routes.device_models import Feed, FeedCall, FeedEstimate
from hub.routes.devices import SCREENSHOT_PATH
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


def create_app(hub: Hub, end_of_day_every: float = END_OF_DAY_CHECK_S) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(close_past_days(hub, end_of_day_every))
        yield
        task.cancel()

    app = FastAPI(title="mfc-edge hub", version="1", lifespan=lifespan,
                  description="The center's hub: device enrollment, event sync, the live queue.")
    app.state.hub = hub
    app.add_middleware(BodyLimit, max_bytes=protocol.MAX_BATCH_BYTES,
                       per_path={SCREENSHOT_PATH: protocol.MAX_SCREENSHOT_BYTES})
    for router in (ops, devices.router, console.router, pages.router):
        app.include_router(router)
    return app
