"""What the city calls services and their groups: the one place that says which catalog names
them — the built-in one (mfc_edge/data/catalog.toml) until the city publishes its own."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from mfc_edge.catalog import BUNDLED_CATALOG, Catalog, load_catalog


@dataclass(frozen=True)
class Groups:
    """The catalog's categories, in its order, and the category of each service."""

    order: tuple[dict[str, str], ...]
    of_service: dict[str, str] = field(default_factory=dict)


@lru_cache(maxsize=1)
def _catalog() -> Catalog:
    return load_catalog(BUNDLED_CATALOG)


@lru_cache(maxsize=1)
def service_groups() -> Groups:
    """The service groups residents see on the public page."""
    catalog = _catalog()
    order = tuple({"id": c.id, "name_ru": c.name.ru, "name_en": c.name.en} for c in catalog.categories)
    return Groups(order, {s.id: s.category for s in catalog.services})


def service_name(service: str) -> tuple[str, str]:
    """(Russian, English) name of a service; its id for both when the catalog does not know it
    (a service a center's own bundle added)."""
    names = _names()
    return names.get(service, (service, service))


@lru_cache(maxsize=1)
def _names() -> dict[str, tuple[str, str]]:
    return {s.id: (s.name.ru, s.name.en) for s in _catalog().services}
