"""The city's HTTP API (FastAPI): one app for every kind of caller, served by any number of
stateless processes behind a load balancer."""
from __future__ import annotations

from fastapi import APIRouter, FastAPI

from city.city import City
from city.publishing import public_key as publishing_key
from city.routes import dashboard, hubs, integration, public, publishing
from city.webhooks import lifespan
from mfc_edge import protocol

ops = APIRouter(tags=["ops"])


@ops.get(protocol.HEALTH_PATH)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


def create_app(city: City) -> FastAPI:
    app = FastAPI(title="mfc-edge city", version="1", docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.city = city
    app.state.bundle_key = publishing_key  # the enroll reply's bundle_key (city/routes/hubs.py)
    for router in (ops, hubs.router, dashboard.router, public.router, publishing.router, integration.router):
        app.include_router(router)
    return app
