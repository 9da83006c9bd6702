"""The service catalog of each center, as its kiosks have it.

A center's kiosks take their catalog from the latest kiosk bundle published for the center
(kiosk/content.py): its `catalog.toml`, or the built-in catalog when the bundle has none or
one that cannot be read, and when nothing has been published. The hub follows the same rule,
so that a service a bundle adds can be opened at a window, transferred to, counted in the
hall and named on the phone page as soon as kiosks can issue tickets for it.

Each center's catalog is read once per bundle version: a look-up costs one query for the
latest version, and the bundle is read again only when a newer one has been published
(by this process or by `mfc-edge hub publish` in another).
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from hub.bundles import CATALOG_ROLE, Bundles
from mfc_edge import bundle
from mfc_edge.catalog import Catalog, CatalogError, Service, load_catalog

CATALOG_ASSET = "catalog.toml"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CenterCatalog:
    catalog: Catalog
    bundle_version: int | None = None  # the kiosk bundle it came from; None: the built-in catalog
    by_id: dict[str, Service] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_id", {s.id: s for s in self.catalog.services})

    @property
    def services(self) -> tuple[Service, ...]:
        return self.catalog.services

    def __contains__(self, service_id: object) -> bool:
        return service_id in self.by_id

    def name(self, service_id: str, lang: str = "ru") -> str:
        """The service's name for visitors; its id when the catalog no longer has it (a ticket
        issued before a new bundle dropped its service)."""
        found = self.by_id.get(service_id)
        return found.name(lang) if found else service_id


class Catalogs:
    def __init__(self, bundles: Bundles, built_in: Catalog | None = None):
        self.bundles = bundles
        self.built_in = CenterCatalog(built_in or load_catalog())
        self._by_center: dict[str, CenterCatalog] = {}
        self._lock = threading.Lock()

    def for_center(self, center: str) -> CenterCatalog:
        version = self.bundles.latest_version(center, CATALOG_ROLE)
        if version is None:
            return self.built_in
        with self._lock:  # one reading per new bundle, however many requests ask at once
            cached = self._by_center.get(center)
            if cached is None or cached.bundle_version != version:
                manifest = self.bundles.latest_manifest(center, CATALOG_ROLE)
                if manifest is None:
                    return self.built_in
                cached = self._by_center[center] = self._read(manifest)
            return cached

    def _read(self, manifest: bundle.Manifest) -> CenterCatalog:
        asset = manifest.asset(CATALOG_ASSET)
        if asset is None:  # kiosks go back to the built-in catalog with such a bundle
            return CenterCatalog(self.built_in.catalog, manifest.version)
        path = self.bundles.blobs.path(asset.sha256)
        try:
            if bundle.hash_file(path).hexdigest() != asset.sha256:
                raise CatalogError(f"{path}: its contents differ from the bundle's catalog.toml")
            catalog = load_catalog(path)
        except (CatalogError, OSError) as exc:  # signed but unusable: kiosks refuse it too
            log.error("center %s, kiosk bundle %d: its catalog cannot be used, the built-in one stands: %s",
                      manifest.center, manifest.version, exc)
            return CenterCatalog(self.built_in.catalog, manifest.version)
        log.info("center %s: service catalog from kiosk bundle %d", manifest.center, manifest.version)
        return CenterCatalog(catalog, manifest.version)
