"""What the kiosk takes from the center's signed bundles: its service catalog and settings.

The bundle's `catalog.toml` replaces the built-in catalog; without a bundle, or with one whose
catalog cannot be read, the kiosk keeps the built-in one. A catalog that arrives while the
kiosk runs is taken between visitors, never in the middle of someone's choice. The bundle's
`kiosk.toml` sets center-wide settings (opening hours, languages, idle time: see
`mfc_edge.config.OVERRIDABLE`) over the device's own file when the kiosk starts. Its `kids.toml`
(mfc_edge/kids_room.py) is the kids' room page's hours and activities, read when the page opens.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from kiosk.tickets import TicketStore
from mfc_edge.catalog import Catalog, CatalogError, load_catalog
from mfc_edge.config import ConfigError, DeviceConfig, load_config
from mfc_edge.kids_room import KidsRoom, KidsRoomError, load_kids_room
from mfc_edge.layers import layered_catalog
from offline_cache.bundle_follower import BundleFollower
from offline_cache.city_layer import CityLayer
from offline_cache.content import ContentStore, load_bundle_key
from offline_cache.hub_client import HubClient

log = logging.getLogger(__name__)

CATALOG_ASSET, SETTINGS_ASSET, KIDS_ASSET = "catalog.toml", "kiosk.toml", "kids.toml"
QUOTA_BYTES = 512 * 1024 * 1024  # a kiosk bundle is a catalog and a few pictures


def open_content(device: DeviceConfig) -> ContentStore | None:
    """The kiosk's content folder, or None before enrollment pinned the hub's bundle key."""
    key = load_bundle_key(device.data_dir)
    return ContentStore(device.data_dir / "content", QUOTA_BYTES, key) if key else None


def bundled_catalog(content: ContentStore | None, city: ContentStore | None = None) -> Catalog | None:
    """The active bundle's catalog, or None to use the built-in one. With a city layer (`city`,
    offline_cache/city_layer.py) whose bundle has a catalog: the city's, with the center's own
    entries added (mfc_edge/layers.py)."""
    active = content.current() if content else None
    path = active.path_of(CATALOG_ASSET) if active else None
    city_active = city.current() if city else None
    city_path = city_active.path_of(CATALOG_ASSET) if city_active else None
    if city_path is not None:
        log.info("service catalog from the city's bundle %d%s", city_active.version,  # type: ignore[union-attr]
                 f" with the center's bundle {active.version}" if path and active else "")
        return layered_catalog(city_path, path)
    if path is None:
        return None
    try:
        catalog = load_catalog(path)
    except CatalogError as exc:  # signed but unusable: the publisher checks, but never trust one check
        log.error("bundle %d: its catalog cannot be used, keeping the built-in one: %s", active.version, exc)
        return None
    log.info("service catalog from bundle %d", active.version)
    return catalog


def bundled_kids_room(content: ContentStore | None) -> KidsRoom | None:
    """The active bundle's kids' room, or None when it has none (or one that cannot be read)."""
    active = content.current() if content else None
    path = active.path_of(KIDS_ASSET) if active else None
    if path is None:
        return None
    try:
        return load_kids_room(path)
    except KidsRoomError as exc:  # the page then shows the center's hours and a friendly line
        log.error("bundle %d: its %s cannot be used: %s", active.version, KIDS_ASSET, exc)
        return None


def with_bundle_settings(device: DeviceConfig, content: ContentStore | None) -> DeviceConfig:
    """The device's configuration with the active bundle's settings laid over it."""
    active = content.current() if content else None
    path = active.path_of(SETTINGS_ASSET) if active else None
    if path is None:
        return device
    try:
        return load_config(device.path, overrides=path)
    except ConfigError as exc:
        log.error("bundle %d: its %s cannot be used, keeping the device's own settings: %s",
                  active.version, SETTINGS_ASSET, exc)
        return device


class CatalogUpdates:
    """A newer catalog waiting for the kiosk to be between visitors. Offered from the bundle
    thread, taken on the screen's thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: Catalog | None = None

    def offer(self, catalog: Catalog) -> None:
        with self._lock:
            self._waiting = catalog

    def take(self) -> Catalog | None:
        with self._lock:
            catalog, self._waiting = self._waiting, None
            return catalog


def catalog_offer(content: ContentStore, city: CityLayer | None, updates: CatalogUpdates) -> Callable[[], None]:
    """What to do when either layer applied a bundle: offer the catalog of the two together
    (a kiosk with no catalog in either gets the built-in one back)."""
    return lambda: updates.offer(bundled_catalog(content, city.content if city else None) or load_catalog())


def follow_bundles(device: DeviceConfig, hub: HubClient, content: ContentStore, store: TicketStore,
                   updates: CatalogUpdates, city: CityLayer | None = None) -> BundleFollower:
    """Follow the hub's kiosk bundles; offer each applied bundle's catalog to the screens,
    with the city's catalog under it when there is a city layer (`city`)."""
    return BundleFollower(content, hub, center=device.center_id, role="kiosk", report=store.record_event,
                          on_applied=catalog_offer(content, city, updates))
