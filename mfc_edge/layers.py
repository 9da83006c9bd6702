"""A device's content in two layers: what the city published for all its centers, and the center's
own bundle from its hub, shown together. The rule, the same for every kind of content:

- the city's layer is the base; the center's layer adds to it, never removes from it;
- catalog: the city's categories, situations, services and consultations, plus the center's
  entries whose ids the city does not use. An id both use keeps the city's entry: a center
  cannot quietly change a service the whole city shares (it is logged);
- playlists: for each screen profile, the city campaign's items first, in their order, then the
  center's own items in theirs. The center's items keep their numbers (what the hub's proof of
  play knows); the city's are numbered from CITY_ITEM_BASE and their files are named `city/...`,
  so a play report tells the two layers apart;
- with one layer only, that layer is shown as it is.

Asset names of the merged playlists resolve through `LayeredAssets`: `city/NAME` is the city
bundle's NAME, any other name the center bundle's. A center bundle's own `city/` folder is
therefore not reachable from a merged playlist: center bundles should not use that folder name.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from mfc_edge.catalog import Catalog, CatalogError, _parse
from mfc_edge.files import read_toml
from mfc_edge.playlist import Playlist

log = logging.getLogger(__name__)

CITY_PREFIX = "city/"
CITY_ITEM_BASE = 5000  # slide events number items below 10,000 (mfc_edge/protocol.py)
CATALOG_LISTS = ("categories", "situations", "services", "consultations")

PathOf = Callable[[str], "Path | None"]


def merge_catalog_data(city: dict[str, Any], local: dict[str, Any]) -> dict[str, Any]:
    """The city's catalog TOML data with the center's entries of ids the city does not use added."""
    merged = dict(city)
    for key in CATALOG_LISTS:
        base = city.get(key, [])
        extra = local.get(key, [])
        if not isinstance(base, list) or not isinstance(extra, list):
            continue  # the catalog's own checks name the problem
        taken = {t.get("id") for t in base if isinstance(t, dict)}
        clashing = sorted(str(t.get("id")) for t in extra if isinstance(t, dict) and t.get("id") in taken)
        if clashing:
            log.info("catalog: the center's %s %s keep the city's entries", key, ", ".join(clashing[:5]))
        merged[key] = base + [t for t in extra if not (isinstance(t, dict) and t.get("id") in taken)]
    return merged


def layered_catalog(city_file: Path | None, local_file: Path | None) -> Catalog | None:
    """The catalog of the two layers' catalog.toml files (either may be None); None when neither
    has a usable one. Each layer is checked on its own first, and the merge again: should it
    fail its checks all the same, the city's catalog is used alone."""
    layers = {}
    for name, path in (("city", city_file), ("center", local_file)):
        if path is None:
            continue
        try:
            data = read_toml(path, CatalogError)
            _parse(path, data)  # each layer must be a valid catalog on its own
            layers[name] = (path, data)
        except CatalogError as exc:
            log.error("the %s's catalog cannot be used: %s", name, exc)
    if not layers:
        return None
    if len(layers) == 1:
        path, data = next(iter(layers.values()))
        return _parse(path, data)
    city_path, city_data = layers["city"]
    try:
        return _parse(city_path, merge_catalog_data(city_data, layers["center"][1]))
    except CatalogError as exc:
        log.error("the center's catalog entries cannot be added to the city's, using the city's alone: %s", exc)
        return _parse(city_path, city_data)


def merge_playlists(city: dict[str, Playlist], local: dict[str, Playlist]) -> dict[str, Playlist]:
    """Each profile's playlist: the city's items first, then the center's (see the module's rule)."""
    merged = {}
    for name in sorted(set(city) | set(local)):
        city_items = [replace(item, index=CITY_ITEM_BASE + item.index,
                              asset=CITY_PREFIX + item.asset if item.asset else item.asset)
                      for item in city[name].items] if name in city else []
        local_items = list(local[name].items) if name in local else []
        # Playlist.next_after walks by (order, index): renumber the order so the layers stay apart.
        items = tuple(replace(item, order=position * 10) for position, item in enumerate(city_items + local_items))
        merged[name] = Playlist(name, items)
    return merged


class LayeredAssets:
    """Where a merged playlist's file is: `city/NAME` in the city's bundle, others in the center's."""

    def __init__(self, city: PathOf | None, local: PathOf | None):
        self.city, self.local = city, local

    def path_of(self, name: str) -> Path | None:
        if name.startswith(CITY_PREFIX):
            return self.city(name[len(CITY_PREFIX):]) if self.city else None
        return self.local(name) if self.local else None
