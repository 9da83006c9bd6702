"""Public waiting times (city/public.py) over HTTP, and the light page residents open at /waits.

No token: anyone may read, from any site (the city portal embeds the answer), so the answer is
open to cross-origin GETs, cached by browsers and shared caches, and rate-limited per client
address (city/public_limits.py). The page keeps nothing about its reader: no cookies, no storage;
the language is in its address (?lang=en).
"""
from __future__ import annotations

import threading
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Annotated

import psycopg
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Response
from fastapi.responses import FileResponse

from city.public import Answer, PublicSettings, PublicWaits
from city.public_limits import RateLimiter
from mfc_edge.city_protocol import PUBLIC_WAITS_PATH
from mfc_edge.config import is_ident

PAGES = Path(__file__).resolve().parent.parent / "pages"
CORS = {"Access-Control-Allow-Origin": "*",
        "Access-Control-Expose-Headers": "ETag, Last-Modified, Retry-After"}
# The page runs its own script and style only; a portal may frame it (it has nothing to click
# that does anything on the reader's behalf).
PAGE_HEADERS = {"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
                                           "connect-src 'self'; base-uri 'none'; form-action 'none'",
                "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
                "Cache-Control": "public, max-age=300"}
STATIC = {"waits.js": "text/javascript; charset=utf-8", "waits.css": "text/css; charset=utf-8"}

router = APIRouter(tags=["public"])
_setting_up = threading.Lock()


def configure(app: FastAPI, settings: PublicSettings) -> None:
    """Give the app's public answers these settings (before it serves them)."""
    app.state.public_waits = PublicWaits(app.state.city, settings)
    app.state.public_limiter = RateLimiter(settings.rate_per_second, settings.burst)


def _parts(request: Request) -> tuple[PublicWaits, RateLimiter]:
    state = request.app.state
    if getattr(state, "public_waits", None) is None:
        with _setting_up:
            if getattr(state, "public_waits", None) is None:
                configure(request.app, PublicSettings())
    return state.public_waits, state.public_limiter


def limited(request: Request) -> PublicWaits:
    """The process's answers, once the caller's address has a token left; else 429."""
    waits, limiter = _parts(request)
    # uvicorn has put the client's own address here when the request came through a trusted proxy.
    retry_after = limiter.take(request.client.host if request.client else "")
    if retry_after:
        raise HTTPException(429, "слишком много запросов, повторите позже / too many requests, retry later",
                            headers={**CORS, "Retry-After": str(retry_after)})
    return waits


WaitsDep = Annotated[PublicWaits, Depends(limited)]


def _current(waits: PublicWaits) -> Answer:
    try:
        return waits.answer()
    except psycopg.Error:
        raise HTTPException(503, "данные временно недоступны / waiting times are unavailable for now",
                            headers={**CORS, "Retry-After": "30"}) from None


def _not_modified(request: Request, answer: Answer) -> bool:
    tags = request.headers.get("if-none-match")
    if tags is not None:
        # Either form's tag will do: both are the same answer.
        mine = {answer.etag, gzip_tag(answer.etag)}
        return tags.strip() == "*" or bool(mine & {t.strip().removeprefix("W/") for t in tags.split(",")})
    since = request.headers.get("if-modified-since")
    if since:
        try:
            return answer.made_at.replace(microsecond=0) <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False


def gzip_tag(etag: str) -> str:
    """The tag of the gzipped form: a representation of its own for caches."""
    return etag[:-1] + '-gz"'


def _takes_gzip(request: Request) -> bool:
    for part in request.headers.get("accept-encoding", "").split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() == "gzip":
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def _reply(request: Request, waits: PublicWaits, answer: Answer) -> Response:
    gzipped = answer.gzipped is not None and _takes_gzip(request)
    headers = {**CORS, "ETag": gzip_tag(answer.etag) if gzipped else answer.etag, "Vary": "Accept-Encoding",
               "Last-Modified": answer.last_modified, "Cache-Control": f"public, max-age={waits.max_age(answer)}"}
    if _not_modified(request, answer):
        return Response(status_code=304, headers=headers)
    if gzipped:
        return Response(answer.gzipped, media_type="application/json", headers={**headers, "Content-Encoding": "gzip"})
    return Response(answer.body, media_type="application/json", headers=headers)


@router.get(PUBLIC_WAITS_PATH, responses={429: {"description": "too many requests from this address"},
                                          503: {"description": "no answer could be made yet"}})
def all_waits(request: Request, waits: WaitsDep) -> Response:
    """Every center's waiting times now (README, "A city of centers", has the format)."""
    return _reply(request, waits, _current(waits))


@router.get(PUBLIC_WAITS_PATH + "/{center}", responses={404: {"description": "no such center"}})
def center_waits(request: Request, waits: WaitsDep, center: str) -> Response:
    """One center's waiting times now: {"made_at", "center": {...}}."""
    answer = _current(waits).center(center) if is_ident(center) else None
    if answer is None:
        shown = center if is_ident(center) else "?"  # a made-up id is not echoed back into the page
        raise HTTPException(404, f"нет центра {shown} / no center {shown}", headers=CORS)
    return _reply(request, waits, answer)


@router.options(PUBLIC_WAITS_PATH, include_in_schema=False)
@router.options(PUBLIC_WAITS_PATH + "/{center}", include_in_schema=False)
def preflight() -> Response:
    """A portal's script that asks with If-None-Match itself sends a preflight first."""
    return Response(status_code=204, headers={**CORS, "Access-Control-Allow-Methods": "GET",
                                              "Access-Control-Allow-Headers": "If-None-Match, If-Modified-Since",
                                              "Access-Control-Max-Age": "86400"})


@router.get("/waits", response_class=FileResponse, include_in_schema=False)
def waits_page(_: WaitsDep) -> FileResponse:
    return FileResponse(PAGES / "waits.html", media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)


@router.get("/waits/{name}", response_class=FileResponse, include_in_schema=False)
def waits_file(name: str) -> FileResponse:
    if name not in STATIC:
        raise HTTPException(404, f"нет файла {name} / no file {name}")
    return FileResponse(PAGES / name, media_type=STATIC[name], headers=PAGE_HEADERS)
