"""Getting a software release from the hub: the offer, its signature, and the role's wheels.

The hub offers the newest release this device should run (GET /api/v1/release?machine=...).
The offer is checked like a content bundle: signed with the key pinned at enrollment, for this
machine, with wheels for this device's role. Wheels are downloaded into a cache by their
hash, only those missing from it, resuming a partial download with a Range request and
checking size and SHA-256 on the way (the content updater's download, offline_cache/bundle_sync.py).
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from typing import Any

import requests
import urllib3

from mfc_edge import release
from mfc_edge.bundle import Asset, canonical_json
from offline_cache.bundle_sync import Failure, Refusal, fetch_resumable
from offline_cache.hub_client import HubClient
from offline_cache.software_update_state import Layout

MAX_OFFER_BYTES = release.MAX_ENVELOPE_BYTES + 1024
CHANNELS = ("pilot", "stable")
# Room asked for per byte of wheels, for the environment they unpack into (files unzipped and
# compiled .pyc beside them): an estimate erring on the safe side.
UNPACKED_PER_WHEEL_BYTE = 3


@dataclass(frozen=True)
class Offer:
    release: release.Release
    channel: str
    etag: str | None


class ReleaseSource:
    """The hub as a source of releases for one device: `offer()` and `download()`."""

    def __init__(self, hub: HubClient, public_key: bytes, machine: str, role: str, layout: Layout,
                 timeout: float = 60.0):
        self.hub, self.public_key, self.machine, self.role = hub, public_key, machine, role
        self.layout, self.timeout = layout, timeout

    def offer(self, etag: str | None = None) -> Offer | None:
        """The release the hub offers this device, checked; None when it offers none or the same
        as `etag`. Refusal for anything that cannot be installed, Failure to try later."""
        headers = {"If-None-Match": etag} if etag else {}
        try:
            with self.hub.get(release.RELEASE_PATH, params={"machine": self.machine}, headers=headers,
                              stream=True, timeout=self.timeout) as reply:
                if reply.status_code in (204, 304):
                    return None
                if reply.status_code != 200:
                    raise Failure(f"the hub answered {reply.status_code} when asked for a release")
                body = reply.raw.read(MAX_OFFER_BYTES + 1, decode_content=True)  # never more than that in memory
                etag = reply.headers.get("ETag")
        except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
            raise Failure(f"the hub cannot be reached: {exc.__class__.__name__}") from None
        if len(body) > MAX_OFFER_BYTES:
            raise Refusal("oversized", f"the hub's release offer is larger than {MAX_OFFER_BYTES} bytes")
        envelope, channel = _read_offer(body)
        try:
            found = release.verify_release(envelope, self.public_key, self.machine)
        except release.ReleaseError as exc:
            raise Refusal(exc.reason, str(exc)) from None
        if not found.wheels_for(self.role):
            raise Refusal("no-wheels", f"release {found.release} has no wheels for a {self.role}", found.release)
        return Offer(found, channel, etag)

    def download(self, offer: Offer) -> int:
        """Bring every wheel of this role's into the cache. Returns bytes received."""
        received = 0
        number = offer.release.release
        wheels = offer.release.wheels_for(self.role)
        self._check_room(sum(w.size for w in wheels), number)
        for wheel in wheels:
            target = self.layout.wheel_path(wheel.sha256)
            if target.exists() and target.stat().st_size == wheel.size:
                continue  # stored under its hash only once verified
            part = target.with_suffix(".part")
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                received += fetch_resumable(self._get, f"{release.WHEELS_PATH}/{wheel.sha256}", part,
                                            Asset(wheel.name, wheel.sha256, wheel.size), number)
            except Refusal:
                part.unlink(missing_ok=True)  # bytes that are not the wheel are worth nothing
                raise
            part.replace(target)
        return received

    def _check_room(self, wheel_bytes: int, number: int) -> None:
        """Refuse to start what the card cannot hold: the wheels, and the environment they
        unpack into (about three times their size), beside the current and previous releases."""
        self.layout.wheels.mkdir(parents=True, exist_ok=True)
        needed = wheel_bytes * (1 + UNPACKED_PER_WHEEL_BYTE)
        free = shutil.disk_usage(self.layout.wheels).free
        if free < needed:
            raise Refusal("no-room", f"release {number} needs about {needed // 2**20 + 1} MB free on the card, "
                                     f"and it has less", number)

    def _get(self, path: str, headers: dict[str, str]) -> requests.Response:
        return self.hub.get(path, headers=headers, stream=True, timeout=self.timeout)


def _read_offer(data: bytes) -> tuple[bytes, str]:
    """The envelope's bytes and the channel in the hub's answer; Refusal for anything else."""
    try:
        raw: Any = json.loads(data)
    except ValueError:
        raise Refusal("malformed", "the hub's release offer is not JSON") from None
    if not isinstance(raw, dict) or raw.get("channel") not in CHANNELS:
        raise Refusal("malformed", "the hub's release offer is not an object with an envelope and a channel")
    envelope = raw.get("envelope")
    if isinstance(envelope, dict):
        return canonical_json(envelope), raw["channel"]
    if isinstance(envelope, str):
        return envelope.encode("utf-8"), raw["channel"]
    raise Refusal("unsigned", "the hub's release offer carries no envelope")
