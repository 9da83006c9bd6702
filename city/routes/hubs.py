"""What hubs call: enrollment with a one-time code, and their log (mfc_edge/city_protocol.py).

A bad request is answered with a clean 4xx and a one-line detail, never a 500: an oversized
body 413, a body that is not a batch 400, a bad code 403, a bad token 401; when every database
connection is busy the hub is told to come back (429 with Retry-After), and its forwarder does.
"""
from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import orjson
import psycopg
from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from psycopg_pool import PoolTimeout

from city.city import City
from city.hubs import HubError, Hubs
from city.ingest import Ingest, Unauthorized, parse_batch
from mfc_edge import city_protocol as cp

router = APIRouter(tags=["hubs"])
RETRY_AFTER_S = 2
MAX_ENROLL_BYTES = 4096


def _json(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(content), status_code=status, media_type="application/json", headers=headers)


def _busy() -> Response:
    return _json({"detail": "the city is busy: retry later"}, 429, {"Retry-After": str(RETRY_AFTER_S)})


def _unavailable() -> Response:
    return _json({"detail": "the city's database is unavailable: retry later"}, 503,
                 {"Retry-After": str(RETRY_AFTER_S * 5)})


async def _body(request: Request, limit: int) -> bytes:
    """The request's body, refused with 413 past `limit` bytes, however it is sent."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"the body is larger than {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"the body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _bundle_key(request: Request, city: City) -> str | None:
    """The city's publishing key as the enroll reply gives it: base64, or null while the city has
    none. The publishing part provides it as `app.state.bundle_key` (a callable of the City
    returning the raw key or None)."""
    provider: Callable[[City], bytes | None] | None = getattr(request.app.state, "bundle_key", None)
    if provider is None:
        return None
    raw = provider(city)
    return None if raw is None else base64.b64encode(raw).decode()


@router.post(cp.CITY_ENROLL_PATH)
async def enroll(request: Request) -> Response:
    city: City = request.app.state.city
    try:
        asked = orjson.loads(await _body(request, MAX_ENROLL_BYTES))
    except orjson.JSONDecodeError:
        raise HTTPException(400, "the body is not JSON") from None
    if not isinstance(asked, dict) or not isinstance(asked.get("code"), str) or not isinstance(asked.get("hub"), str):
        raise HTTPException(400, 'expected {"code": "...", "hub": "..."}')

    def run() -> dict[str, Any]:
        enrolled = Hubs(city).enroll(asked["code"], asked["hub"])
        return {"token": enrolled.token, "hub": enrolled.hub, "centers": enrolled.centers,
                "bundle_key": _bundle_key(request, city)}

    try:
        return _json(await run_in_threadpool(run))
    except HubError as exc:
        raise HTTPException(403, str(exc)) from None
    except PoolTimeout:
        return _busy()
    except psycopg.OperationalError:
        return _unavailable()


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


@router.post(cp.CITY_LOG_PATH)
async def log(request: Request) -> Response:
    city: City = request.app.state.city
    token = _bearer(request)
    if token is None:
        raise HTTPException(401, "a hub's token is needed: Authorization: Bearer <token>",
                            headers={"WWW-Authenticate": "Bearer"})
    raw = await _body(request, cp.MAX_LOG_BYTES)
    try:
        records = parse_batch(raw)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    if len(records) > cp.MAX_LOG_RECORDS:
        raise HTTPException(413, f"at most {cp.MAX_LOG_RECORDS} records in a batch")
    try:
        return _json(await run_in_threadpool(Ingest(city).post, token, records))
    except Unauthorized:
        raise HTTPException(401, "unknown or revoked hub token", headers={"WWW-Authenticate": "Bearer"}) from None
    except PoolTimeout:
        return _busy()
    except psycopg.OperationalError:
        return _unavailable()
