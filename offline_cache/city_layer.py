"""The city's layer of a device's content: bundles the city signed, relayed by the device's hub.

A device trusts its hub's key, pinned when it enrolled. The city's key it learns from the hub
with the hub's endorsement (the hub's signature over the city key, mfc_edge/bundle.py), checks
that with the pinned hub key, and pins the city key once: a device enrolled before its hub
joined the city learns it at its next check, one enrolled after right at enrollment. A city
key that is not endorsed by the pinned hub key is refused and reported, as a bad bundle is. When
city bundles stop matching the pinned city key and the hub endorses another one (it joined
another city, or the city made a new key), the device pins the newly endorsed key.

The city's bundles then go into a content folder of their own (`content-city/`), checked
against the city key by the same updater as the hub's bundles.
"""
from __future__ import annotations

import base64
import binascii
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from mfc_edge import bundle, protocol
from offline_cache.background import Every
from offline_cache.bundle_follower import CHECK_EVERY_S
from offline_cache.bundle_sync import (
    APPLIED,
    FAILED,
    REFUSED,
    RETRY_REFUSED_AFTER_S,
    UNCHANGED,
    BundleUpdater,
    UpdateResult,
)
from offline_cache.content import CITY_KEY_FILE, ContentStore, load_bundle_key, save_bundle_key
from offline_cache.hub_client import HubClient

log = logging.getLogger(__name__)

CITY_CONTENT = "content-city"
REASON_PREFIX = "city-"  # the city layer's refusals, told apart from the hub's in the hub's health view


def learn_city_key(hub: HubClient, data_dir: Path, timeout: float = 15.0) -> bytes | None:
    """The city key: the pinned one, or one the hub endorses now (then pinned); None when the hub
    relays no city content. Raises bundle.ManifestError for an endorsement the hub did not make,
    requests' errors when the hub cannot be reached."""
    pinned = load_bundle_key(data_dir, CITY_KEY_FILE)
    if pinned is not None:
        return pinned
    city_key = endorsed_city_key(hub, data_dir, timeout)
    if city_key is not None:
        save_bundle_key(data_dir, city_key, CITY_KEY_FILE)
        log.info("the city's bundle key is pinned (endorsed by the hub)")
    return city_key


def endorsed_city_key(hub: HubClient, data_dir: Path, timeout: float = 15.0) -> bytes | None:
    """The city key the hub endorses now, checked with the pinned hub key; None when it endorses
    none. Raises as `learn_city_key`."""
    hub_key = load_bundle_key(data_dir)
    if hub_key is None:
        return None
    with hub.get(f"{protocol.API}/{bundle.CITY_KEY_PATH}", timeout=timeout) as reply:
        if reply.status_code == 404:
            return None
        if reply.status_code != 200:
            raise requests.RequestException(f"the hub answered {reply.status_code} for the city key")
        try:
            answer = reply.json()
            city_key = base64.b64decode(answer["key"], validate=True)
            signature = base64.b64decode(answer["endorsement"], validate=True)
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise bundle.ManifestError("the hub's city key is not a key with an endorsement",
                                       "bad-endorsement") from None
    bundle.verify_endorsement(city_key, signature, hub_key)
    return city_key


def city_content(data_dir: Path, quota_bytes: int) -> ContentStore | None:
    """The city layer's content folder as it is on disk (for a device starting without its hub),
    or None before the city key was pinned."""
    key = load_bundle_key(Path(data_dir), CITY_KEY_FILE)
    return ContentStore(Path(data_dir) / CITY_CONTENT, quota_bytes, key) if key else None


class CityLayer:
    """Follows the city's bundle for this device's center and role through its hub."""

    def __init__(self, data_dir: Path, hub: HubClient, *, center: str, role: str, quota_bytes: int,
                 report: Callable[[str, dict[str, Any]], Any] | None = None, timeout: float = 30.0,
                 monotonic: Callable[[], float] = time.monotonic):
        self.data_dir, self.hub, self.center, self.role = Path(data_dir), hub, center, role
        self.quota_bytes, self.timeout = quota_bytes, timeout
        self._report = report if report is not None else (lambda event_type, body: None)
        self.monotonic = monotonic
        self._refused: tuple[float, UpdateResult] | None = None  # (until when, the result) of a refused key
        self._pending: dict[str, Any] | None = None  # a bad-signature refusal not told yet
        self.updater: BundleUpdater | None = None
        store = city_content(self.data_dir, quota_bytes)
        if store is not None:
            self._follow(store.public_key)

    def _follow(self, key: bytes) -> None:
        store = ContentStore(self.data_dir / CITY_CONTENT, self.quota_bytes, key)
        self.updater = BundleUpdater(store, self.hub, center=self.center, role=self.role, report=self._refusals,
                                     timeout=self.timeout, paths=(bundle.CITY_BUNDLE_PATH, bundle.CITY_ASSETS_PATH),
                                     reasons=REASON_PREFIX)

    def _refusals(self, event_type: str, body: dict[str, Any]) -> None:
        # bundle.applied stays the hub layer's: the hub compares it with the version it published.
        if event_type != protocol.BUNDLE_REFUSED:
            return
        if body.get("reason") == REASON_PREFIX + "bad-signature":
            self._pending = body  # told only if the hub endorses no other key (_endorsed_again)
        else:
            self._report(event_type, body)

    @property
    def content(self) -> ContentStore | None:
        return self.updater.store if self.updater else None

    def follow(self, on_applied: Callable[[], None], every: float = CHECK_EVERY_S) -> Every:
        """Check every `every` seconds in the background; `on_applied` after a new city bundle applied."""
        def check() -> None:
            if self.check().status == APPLIED:
                on_applied()
        return Every(every, check, f"{self.role}-city-bundles")

    def check(self) -> UpdateResult:
        """Learn the city key if needed, then one check of the city's bundle."""
        if self.updater is None:
            if self._refused is not None and self.monotonic() < self._refused[0]:
                return self._refused[1]  # a refused endorsement is asked for again only later
            try:
                key = learn_city_key(self.hub, self.data_dir, self.timeout)
            except bundle.ManifestError as exc:
                return self._refuse_key(exc)
            except (requests.RequestException, OSError) as exc:
                return UpdateResult(FAILED, None, f"{exc.__class__.__name__}: {exc}")
            if key is None:
                return UpdateResult(UNCHANGED, None, "the hub relays no city content")
            self._refused = None
            self._follow(key)
        assert self.updater is not None
        self._pending = None
        result = self.updater.check()
        if result.status == REFUSED and result.reason.startswith("bad-signature"):
            pending, result = self._pending, self._endorsed_again(result)
            if result.status == REFUSED and pending is not None:
                self._report(protocol.BUNDLE_REFUSED, pending)
        return result

    def _refuse_key(self, exc: bundle.ManifestError) -> UpdateResult:
        log.warning("city key refused: %s", exc)
        self._report(protocol.BUNDLE_REFUSED, {"version": None, "reason": REASON_PREFIX + exc.reason,
                                               "detail": str(exc)[:1000]})
        result = UpdateResult(REFUSED, None, f"{exc.reason}: {exc}")
        self._refused = (self.monotonic() + RETRY_REFUSED_AFTER_S, result)
        return result

    def _endorsed_again(self, refused: UpdateResult) -> UpdateResult:
        """A city bundle not signed by the pinned city key. If the hub now endorses another city
        key (it joined another city, or the city made a new key), the device pins that one and
        checks again: the hub's key is what the device trusts, and it vouches for the new key.
        Otherwise the refusal stands."""
        pinned = load_bundle_key(self.data_dir, CITY_KEY_FILE)
        try:
            key = endorsed_city_key(self.hub, self.data_dir, self.timeout)
        except (bundle.ManifestError, requests.RequestException, OSError):
            return refused
        if key is None or key == pinned:
            return refused
        save_bundle_key(self.data_dir, key, CITY_KEY_FILE)
        log.info("the hub endorses another city key: pinned it in place of the old one")
        self._follow(key)
        assert self.updater is not None
        return self.updater.check()
