"""What linked hubs fetch of the city's published content (city/publishing.py).

A hub asks for the newest city bundle of one of its centers and role; an unchanged one costs a
304, as between a device and its hub. Assets are served only to a hub one of whose centers has
a bundle with them, from any byte on (a Range request resumes a broken download).
"""
from __future__ import annotations

import base64
import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from city import publishing
from city.city import City
from city.hubs import Hubs
from city.routes.common import CityDep, city_of
from mfc_edge import bundle
from mfc_edge.city_protocol import CITY_BUNDLES_PATH

router = APIRouter(tags=["publishing"])

_RANGE = re.compile(r"^bytes=(\d{1,19})-$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def linked_hub(request: Request, city: Annotated[City, Depends(city_of)]) -> str:
    """The hub whose token the request carries; 401 for none, an unknown or a revoked one."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(401, "a hub's token is required", headers={"WWW-Authenticate": "Bearer"})
    hub = Hubs(city).authenticate(token)
    if hub is None:
        raise HTTPException(401, "unknown or revoked hub token", headers={"WWW-Authenticate": "Bearer"})
    return hub


HubDep = Annotated[str, Depends(linked_hub)]


@router.get(CITY_BUNDLES_PATH + "/key")
def bundle_key(city: CityDep, hub: HubDep) -> dict[str, str | None]:
    """The city's publishing key, for a hub that joined before the city had one (the enroll
    reply's bundle_key is the same key)."""
    del hub  # only linked hubs ask
    key = publishing.public_key(city)
    return {"bundle_key": base64.b64encode(key).decode() if key else None}


@router.get(CITY_BUNDLES_PATH, responses={
    304: {"description": "unchanged since the ETag given in If-None-Match"},
    403: {"description": "the center is not one of this hub's"},
    404: {"description": "the city has published nothing for this center and role"}})
def latest_bundle(request: Request, city: CityDep, hub: HubDep,
                  center: Annotated[str, Query(max_length=64)],
                  role: Annotated[str, Query(max_length=20)]) -> Any:
    if role not in bundle.ROLES:
        raise HTTPException(400, f"role must be one of {', '.join(bundle.ROLES)}")
    if center not in publishing.centers_of_hub(city, hub):
        raise HTTPException(403, f"center {center[:64]!r} is not one of hub {hub}'s centers")
    latest = publishing.latest_envelope(city, center, role)
    if latest is None:
        raise HTTPException(404, f"the city has published nothing for {role} devices of center {center}")
    version, envelope = latest
    etag = f'"city-{center}-{role}-{version}"'
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={"ETag": etag})
    return Response(envelope, media_type="application/json", headers={"ETag": etag})


@router.get(CITY_BUNDLES_PATH + "/assets/{sha256}", responses={
    206: {"description": "the asset from the byte the Range header names"},
    404: {"description": "no asset with this hash in a city bundle of this hub's centers"},
    416: {"description": "the range starts past the asset's end"}})
async def asset(sha256: str, request: Request, city: CityDep, hub: HubDep) -> Any:
    if not _SHA256.match(sha256):
        raise HTTPException(404, "an asset is named by 64 lowercase hex digits")
    size = await run_in_threadpool(publishing.asset_size_for_hub, city, hub, sha256)
    if size is None:
        raise HTTPException(404, f"no asset {sha256} in the city's bundles for this hub's centers")
    asked = request.headers.get("range")
    match = _RANGE.match(asked) if asked else None
    start = int(match.group(1)) if match else 0
    if match and start >= size:
        raise HTTPException(416, f"the asset has {size} bytes", headers={"Content-Range": f"bytes */{size}"})
    headers = {"Content-Length": str(size - start), "Accept-Ranges": "bytes"}
    if match:
        headers["Content-Range"] = f"bytes {start}-{size - 1}/{size}"
    return StreamingResponse(publishing.asset_bytes(city, sha256, start), status_code=206 if match else 200,
                             media_type="application/octet-stream", headers=headers)
