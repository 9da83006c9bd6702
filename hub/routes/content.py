"""Routes the center's devices fetch their content bundles from with their token: the hub's own
bundles and the city's layer it relays (hub/city_bundles.py), and the assets of both by hash.

Devices poll a bundle with If-None-Match, so an unchanged bundle costs one 304. Assets are served
by hash with Range support, so an interrupted download resumes where it stopped.
"""
from __future__ import annotations

import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import FileResponse

from hub.routes.common import API, DeviceDep, HubDep
from mfc_edge import bundle, protocol

SHA256 = Annotated[str, PathParam(pattern=r"^[0-9a-f]{64}$", description="the asset's SHA-256, lowercase hex")]

router = APIRouter()


class BlobResponse(FileResponse):
    # Large reads for large bundles: benchmarks/bundle_bench.py measures the download
    # (figures in benchmarks/RESULTS.md).
    chunk_size = 1024 * 1024


@router.get(protocol.BUNDLE_PATH, tags=["content"], responses={
    200: {"description": 'the signed envelope {"manifest": base64, "signature": base64}',
          "content": {"application/json": {}}},
    304: {"description": "unchanged since the ETag given in If-None-Match"},
    401: {"description": "no valid device token"},
    404: {"description": "nothing published yet for this device's center and role"}})
def latest_bundle(request: Request, hub: HubDep, who: DeviceDep) -> Any:
    latest = hub.bundles.latest(who.center, who.role)
    if latest is None:
        raise HTTPException(404, f"no bundle has been published for {who.role} devices of center {who.center}")
    etag = f'"{who.center}-{who.role}-{latest.version}"'
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={"ETag": etag})
    return Response(latest.envelope, media_type="application/json", headers={"ETag": etag})


@router.get(f"{API}/assets/{{sha256}}", response_class=BlobResponse, tags=["content"], responses={
    200: {"description": "the asset's bytes", "content": {"application/octet-stream": {}}},
    206: {"description": "the requested range of the asset's bytes"},
    401: {"description": "no valid device token"},
    404: {"description": "no asset with this hash in a bundle of this device's center"},
    416: {"description": "the range starts beyond the end of the asset"}})
def asset(sha256: SHA256, hub: HubDep, who: DeviceDep) -> Any:
    path = hub.bundles.blob_for(who.center, sha256)
    if path is None:
        raise HTTPException(404, f"no asset {sha256} in the bundles of center {who.center}")
    return BlobResponse(path, media_type="application/octet-stream")


# The city's layer (hub/city_bundles.py), relayed beside the hub's own bundles; devices check it
# with the city's key, which they pin after checking the hub's endorsement of it.
@router.get(f"{API}/{bundle.CITY_KEY_PATH}", tags=["content"], responses={
    404: {"description": "this hub has no city key (not linked, or the city publishes nothing yet)"}})
def city_key(hub: HubDep, who: DeviceDep) -> dict[str, str]:
    endorsed = hub.city_bundles.endorsement()
    if endorsed is None:
        raise HTTPException(404, "this hub relays no city content")
    return endorsed


@router.get(f"{API}/{bundle.CITY_BUNDLE_PATH}", tags=["content"], responses={
    304: {"description": "unchanged since the ETag given in If-None-Match"},
    404: {"description": "the city published nothing for this device's center and role"}})
def city_bundle(request: Request, hub: HubDep, who: DeviceDep) -> Any:
    latest = hub.city_bundles.latest(who.center, who.role)
    if latest is None:
        raise HTTPException(404, f"no city bundle for {who.role} devices of center {who.center}")
    # The envelope's own hash too: a city the hub joins next numbers its bundles from 1 again.
    etag = f'"city-{who.center}-{who.role}-{latest.version}-{hashlib.sha256(latest.envelope).hexdigest()[:16]}"'
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={"ETag": etag})
    return Response(latest.envelope, media_type="application/json", headers={"ETag": etag})


@router.get(f"{API}/{bundle.CITY_ASSETS_PATH}/{{sha256}}", response_class=BlobResponse, tags=["content"])
def city_asset(sha256: SHA256, hub: HubDep, who: DeviceDep) -> Any:
    path = hub.city_bundles.blob_for(who.center, sha256)
    if path is None:
        raise HTTPException(404, f"no asset {sha256} in the city bundles of center {who.center}")
    return BlobResponse(path, media_type="application/octet-stream")
