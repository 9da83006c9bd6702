"""The service catalog: services, their categories and life situations, as validated data.

The bundled catalog (data/catalog.toml) is used until the hub publishes another one.
`load_catalog` checks the whole file before anything uses it; a problem raises one
`CatalogError` naming the file, the entry, the key, the value and what is allowed.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mfc_edge.files import read_toml

BUNDLED_CATALOG = Path(__file__).parent / "data" / "catalog.toml"
TICKET_LETTERS = "АБВГДЕЖИКЛМНПРСТУФХЦЧШЭЮЯ"
LANGS = ("ru", "en")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,59}$")
_WORD = re.compile(r"[\w-]+")


class CatalogError(ValueError):
    """A catalog file that cannot be used; the message says why and where."""


@dataclass(frozen=True)
class Bilingual:
    """A visitor-facing text in Russian and English."""

    ru: str
    en: str

    def __call__(self, lang: str) -> str:
        return self.en if lang == "en" else self.ru


@dataclass(frozen=True)
class Category:
    id: str
    name: Bilingual


@dataclass(frozen=True)
class Situation:
    id: str
    name: Bilingual
    description: Bilingual
    services: tuple[str, ...]


@dataclass(frozen=True)
class Service:
    id: str
    category: str
    letter: str
    name: Bilingual
    description: Bilingual
    keywords: tuple[str, ...]
    avg_minutes: int
    documents: tuple[Bilingual, ...]


def fold(text: str) -> str:
    """Lower case with ё read as е: how people type on a kiosk keyboard."""
    return text.lower().replace("ё", "е")


@dataclass(frozen=True)
class Catalog:
    version: int
    categories: tuple[Category, ...]
    situations: tuple[Situation, ...]
    services: tuple[Service, ...]

    def service(self, service_id: str) -> Service:
        return next(s for s in self.services if s.id == service_id)

    def in_category(self, category_id: str) -> list[Service]:
        return [s for s in self.services if s.category == category_id]

    def in_situation(self, situation_id: str) -> list[Service]:
        situation = next(s for s in self.situations if s.id == situation_id)
        return [self.service(sid) for sid in situation.services]

    def search(self, query: str, limit: int = 12) -> list[Service]:
        """Services whose names or keywords, in either language, hold every word of the query.

        Words match by prefix ("пасп" finds passports); when nothing matches, close
        misspellings are accepted ("пастпорт").
        """
        words = _WORD.findall(fold(query))
        if not words:
            return []
        scored: list[tuple[int, int, Service]] = []
        for order, service in enumerate(self.services):
            name_words = _WORD.findall(fold(f"{service.name.ru} {service.name.en}"))
            other_words = _WORD.findall(fold(" ".join(service.keywords)))
            if all(any(w.startswith(q) for w in name_words) for q in words):
                scored.append((0, order, service))
            elif all(any(w.startswith(q) for w in name_words + other_words) for q in words):
                scored.append((1, order, service))
        typed = [q for q in words if len(q) > 3]  # short words carry no typo to forgive
        if not scored and typed:
            for order, service in enumerate(self.services):
                vocabulary = _WORD.findall(fold(f"{service.name.ru} {service.name.en} "
                                                + " ".join(service.keywords)))
                if all(difflib.get_close_matches(q, vocabulary, n=1, cutoff=0.75) for q in typed):
                    scored.append((2, order, service))
        return [s for _, _, s in sorted(scored, key=lambda x: x[:2])][:limit]


class _Entry:
    """Reads one catalog entry and turns every bad value into a CatalogError."""

    def __init__(self, path: Path, where: str, table: Any):
        self.path, self.where = path, where
        if not isinstance(table, dict):
            raise CatalogError(f"{path}: {where}: expected a table, got {table!r}")
        self.table = table

    def fail(self, key: str, allowed: str) -> CatalogError:
        value = self.table.get(key, "<missing>")
        return CatalogError(f"{self.path}: {self.where} {key} = {value!r}: expected {allowed}")

    def ident(self, key: str) -> str:
        value = self.table.get(key)
        if not isinstance(value, str) or not _ID.match(value):
            raise self.fail(key, "lowercase latin letters, digits and hyphens")
        return value

    def text2(self, key: str, value: Any = None) -> Bilingual:
        value = self.table.get(key) if value is None else value
        if (not isinstance(value, dict) or set(value) != set(LANGS)
                or not all(isinstance(value[lang], str) and value[lang].strip() for lang in LANGS)):
            raise self.fail(key, "a table with non-empty ru and en texts")
        return Bilingual(value["ru"].strip(), value["en"].strip())


def _parse(path: Path, data: dict[str, Any]) -> Catalog:
    top = _Entry(path, "top level", data)
    if data.get("version") != 1:
        raise top.fail("version", "1")
    for key in ("categories", "situations", "services"):
        if not isinstance(data.get(key), list) or not data[key]:
            raise top.fail(key, f"a non-empty list of [[{key}]] tables")

    categories = []
    for i, table in enumerate(data["categories"]):
        entry = _Entry(path, f"categories[{i}]", table)
        categories.append(Category(entry.ident("id"), entry.text2("name")))
    category_ids = [c.id for c in categories]

    services = []
    for i, table in enumerate(data["services"]):
        entry = _Entry(path, f"services[{i}]", table)
        sid = entry.ident("id")
        entry.where = f"services[{i}] ({sid})"
        if table.get("category") not in category_ids:
            raise entry.fail("category", "the id of one of the categories")
        letter = table.get("letter")
        if not isinstance(letter, str) or len(letter) != 1 or letter not in TICKET_LETTERS:
            raise entry.fail("letter", "one letter of " + " ".join(TICKET_LETTERS))
        minutes = table.get("avg_minutes")
        if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= 240:
            raise entry.fail("avg_minutes", "whole minutes from 1 to 240")
        keywords = table.get("keywords", {"ru": [], "en": []})
        if (not isinstance(keywords, dict) or set(keywords) - set(LANGS)
                or not all(isinstance(k, list) and all(isinstance(w, str) for w in k) for k in keywords.values())):
            raise entry.fail("keywords", "a table of ru and en lists of words")
        documents = table.get("documents")
        if not isinstance(documents, list) or not documents:
            raise entry.fail("documents", "a non-empty list of {ru, en} texts")
        services.append(Service(
            id=sid, category=table["category"], letter=letter, name=entry.text2("name"),
            description=entry.text2("description") if "description" in table else Bilingual("", ""),
            keywords=tuple(w for lang in LANGS for w in keywords.get(lang, [])),
            avg_minutes=minutes, documents=tuple(entry.text2("documents", d) for d in documents),
        ))

    situations = []
    service_ids = [s.id for s in services]
    for i, table in enumerate(data["situations"]):
        entry = _Entry(path, f"situations[{i}]", table)
        sid = entry.ident("id")
        entry.where = f"situations[{i}] ({sid})"
        listed = table.get("services")
        if not isinstance(listed, list) or not listed or any(s not in service_ids for s in listed):
            raise entry.fail("services", "a non-empty list of service ids from the catalog")
        situations.append(Situation(sid, entry.text2("name"), entry.text2("description"), tuple(listed)))

    for kind, ids in (("categories", category_ids), ("services", service_ids),
                      ("situations", [s.id for s in situations])):
        duplicates = sorted({x for x in ids if ids.count(x) > 1})
        if duplicates:
            raise CatalogError(f"{path}: {kind}: id {duplicates[0]!r} is used twice: expected unique ids")
    return Catalog(1, tuple(categories), tuple(situations), tuple(services))


def load_catalog(path: str | Path = BUNDLED_CATALOG) -> Catalog:
    path = Path(path)
    return _parse(path, read_toml(path, CatalogError))
