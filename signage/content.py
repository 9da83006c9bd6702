"""What a screen plays: its profile's playlist from the active signed bundle, read once per bundle;
with the city's layer (offline_cache/city_layer.py), the city campaign's items first, then the
center's own (mfc_edge/layers.py)."""
from __future__ import annotations

import logging
import threading
from pathlib import Path

from mfc_edge.config import DeviceConfig
from mfc_edge.layers import LayeredAssets, merge_playlists
from mfc_edge.playlist import Playlist, PlaylistError, load_playlists
from offline_cache.city_layer import CityLayer
from offline_cache.content import ActiveBundle, ContentStore, load_bundle_key

log = logging.getLogger(__name__)

PLAYLIST_ASSET = "playlist.toml"
QUOTA_BYTES = 8 * 1024 ** 3  # videos: a screen's SD card holds far more, but other things live there too


def open_screen_content(device: DeviceConfig) -> ContentStore | None:
    """The screen's content folder, or None before enrollment pinned the hub's bundle key."""
    key = load_bundle_key(device.data_dir)
    return ContentStore(device.data_dir / "content", QUOTA_BYTES, key) if key else None


class ScreenContent:
    """The playlist for one profile from the active bundle; None when there is no bundle, the
    bundle has no such playlist, or its playlist cannot be read (the screen then shows its
    built-in fallback, never an error). The bundle is read again after `refresh()`, which the
    bundle follower calls when a new one has been applied. A `default` playlist, when given, is
    played instead of the fallback (the kiosk's attract loop: most kiosk bundles have none)."""

    def __init__(self, content: ContentStore | None, profile: str, default: Playlist | None = None,
                 city: CityLayer | None = None):
        """`city`: the city's layer, played first, the center's own items after (mfc_edge/layers.py)."""
        self.content, self.profile, self.default, self.city = content, profile, default, city
        self._lock = threading.Lock()
        self._stale = True
        self._active: ActiveBundle | None = None
        self._city_active: ActiveBundle | None = None
        self._read_versions: tuple[int | None, int | None] | None = None
        self._playlist: Playlist | None = None

    def refresh(self) -> None:
        self._stale = True

    def current(self) -> tuple[Playlist | None, int | None]:
        with self._lock:
            if self._stale:
                self._stale = False
                active = self.content.current() if self.content else None
                city_store = self.city.content if self.city else None
                city_active = city_store.current() if city_store else None
                versions = (active.version if active else None, city_active.version if city_active else None)
                if versions != self._read_versions:
                    self._playlist = self._read_layers(active, city_active)
                    self._read_versions = versions
                self._active, self._city_active = active, city_active
            return self._playlist or self.default, self._active.version if self._active else None

    def _read_layers(self, active: ActiveBundle | None, city_active: ActiveBundle | None) -> Playlist | None:
        if city_active is None:
            return self._read(active) if active else None
        city = self._playlists(city_active, "the city's bundle")
        local = self._playlists(active, "the center's bundle") if active else {}
        merged = merge_playlists(city, local)
        return merged.get(self.profile)

    @staticmethod
    def _playlists(active: ActiveBundle, which: str) -> dict[str, Playlist]:
        path = active.path_of(PLAYLIST_ASSET)
        try:
            return load_playlists(path) if path else {}
        except PlaylistError as exc:
            log.error("%s %d: its playlist cannot be used: %s", which, active.version, exc)
            return {}

    def _read(self, active: ActiveBundle) -> Playlist | None:
        path = active.path_of(PLAYLIST_ASSET)
        if path is None and self.default is not None:
            log.info("bundle %d has no %s: playing the built-in %s loop", active.version, PLAYLIST_ASSET, self.profile)
            return None
        if path is None:
            log.error("bundle %d has no %s: showing the fallback", active.version, PLAYLIST_ASSET)
            return None
        try:
            playlists = load_playlists(path)
        except PlaylistError as exc:
            log.error("bundle %d: its playlist cannot be used, showing the fallback: %s", active.version, exc)
            return None
        if self.profile not in playlists:
            log.error("bundle %d has no playlist for %r (it has %s): showing the fallback",
                      active.version, self.profile, ", ".join(sorted(playlists)))
            return None
        return playlists[self.profile]

    def asset_path(self, name: str) -> Path | None:
        active, city_active = self._active, self._city_active
        if city_active is not None:
            return LayeredAssets(city_active.path_of, active.path_of if active else None).path_of(name)
        return active.path_of(name) if active else None
