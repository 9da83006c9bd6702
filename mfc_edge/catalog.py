"""The service catalog: services, their categories and life situations, as validated data.

The bundled catalog (data/catalog.toml) is used until the hub publishes another one.
`load_catalog` checks the whole file before anything uses it; a problem raises one
`CatalogError` naming the file, the entry, the key, the value and what is allowed.

Video consultations are optional `[[consultations]]` entries: an agency's specialists answer
questions over video, from the visitor's phone (`url`, https only, shown as a QR code) or in the
center's video booth (`booth_service`, a catalog service whose ticket queues for the booth):

    [[consultations]]
    id = "rosreestr-video"
    agency = "Росреестр"
    agency_en = "Rosreestr"
    topics = "Регистрация недвижимости, выписки из ЕГРН"
    topics_en = "Property registration, EGRN extracts"
    hours = ["mon-fri 10:00-17:00"]          # center's local time: see mfc_edge/week_hours.py
    url = "https://example.org/video"
    booth_service = "video-booth"            # optional
    services = ["property-rights"]           # optional: their pages list this consultation
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mfc_edge.files import read_toml
from mfc_edge.week_hours import WEEK_HOURS_RULE, WeekHours, parse_week_hours

BUNDLED_CATALOG = Path(__file__).parent / "data" / "catalog.toml"
TICKET_LETTERS = "АБВГДЕЖИКЛМНПРСТУФХЦЧШЭЮЯ"
LANGS = ("ru", "en")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,59}$")
_WORD = re.compile(r"[\w-]+")
_URL = re.compile(r"^https://[A-Za-z0-9.-]+(:\d{1,5})?(/[!-~]*)?$")  # printable ASCII, no spaces
MAX_URL = 300  # a longer address makes a QR code too dense to read from a kiosk's screen
CONSULTATION_KEYS = {"id", "agency", "agency_en", "topics", "topics_en", "hours", "url", "booth_service", "services"}


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


@dataclass(frozen=True)
class Consultation:
    """An agency's video consultation: from the visitor's phone, or in the center's booth."""

    id: str
    agency: Bilingual
    topics: Bilingual
    hours: WeekHours  # when specialists are on line, in the center's local time
    url: str
    booth_service: str | None  # the service whose ticket queues for the center's video booth
    services: tuple[str, ...]  # services whose pages list it


def fold(text: str) -> str:
    """Lower case with ё read as е: how people type on a kiosk keyboard."""
    return text.lower().replace("ё", "е")


@dataclass(frozen=True)
class Catalog:
    version: int
    categories: tuple[Category, ...]
    situations: tuple[Situation, ...]
    services: tuple[Service, ...]
    consultations: tuple[Consultation, ...] = ()

    def service(self, service_id: str) -> Service:
        return next(s for s in self.services if s.id == service_id)

    def in_category(self, category_id: str) -> list[Service]:
        return [s for s in self.services if s.category == category_id]

    def in_situation(self, situation_id: str) -> list[Service]:
        situation = next(s for s in self.situations if s.id == situation_id)
        return [self.service(sid) for sid in situation.services]

    def consultation(self, consultation_id: str) -> Consultation:
        return next(c for c in self.consultations if c.id == consultation_id)

    def consultations_for(self, service_id: str) -> list[Consultation]:
        return [c for c in self.consultations if service_id in c.services]

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


class Entry:
    """Reads one entry of a data file and turns every bad value into `error` (a CatalogError here)."""

    error: type[ValueError] = CatalogError

    def __init__(self, path: Path, where: str, table: Any):
        self.path, self.where = path, where
        if not isinstance(table, dict):
            raise self.error(f"{path}: {where}: expected a table, got {table!r}")
        self.table = table

    def fail(self, key: str, allowed: str) -> ValueError:
        value = self.table.get(key, "<missing>")
        return self.error(f"{self.path}: {self.where} {key} = {value!r}: expected {allowed}")

    def text(self, key: str) -> str:
        value = self.table.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, "a non-empty text")
        return value.strip()

    def week_hours(self, key: str) -> WeekHours:
        try:
            return parse_week_hours(self.table.get(key))
        except ValueError:
            raise self.fail(key, WEEK_HOURS_RULE) from None

    def only_keys(self, allowed: set[str]) -> None:
        """A misspelt key silently ignored is a field that never shows."""
        unknown = sorted(set(self.table) - allowed)
        if unknown:
            raise self.fail(unknown[0], "none such: known keys are " + ", ".join(sorted(allowed)))

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
    top = Entry(path, "top level", data)
    if data.get("version") != 1:
        raise top.fail("version", "1")
    for key in ("categories", "situations", "services"):
        if not isinstance(data.get(key), list) or not data[key]:
            raise top.fail(key, f"a non-empty list of [[{key}]] tables")
    if not isinstance(data.get("consultations", []), list):
        raise top.fail("consultations", "a list of [[consultations]] tables")

    categories = []
    for i, table in enumerate(data["categories"]):
        entry = Entry(path, f"categories[{i}]", table)
        categories.append(Category(entry.ident("id"), entry.text2("name")))
    category_ids = [c.id for c in categories]

    services = []
    for i, table in enumerate(data["services"]):
        entry = Entry(path, f"services[{i}]", table)
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
        entry = Entry(path, f"situations[{i}]", table)
        sid = entry.ident("id")
        entry.where = f"situations[{i}] ({sid})"
        listed = table.get("services")
        if not isinstance(listed, list) or not listed or any(s not in service_ids for s in listed):
            raise entry.fail("services", "a non-empty list of service ids from the catalog")
        situations.append(Situation(sid, entry.text2("name"), entry.text2("description"), tuple(listed)))

    consultations = _consultations(path, data.get("consultations", []), service_ids)
    for kind, ids in (("categories", category_ids), ("services", service_ids),
                      ("situations", [s.id for s in situations]), ("consultations", [c.id for c in consultations])):
        duplicates = sorted({x for x in ids if ids.count(x) > 1})
        if duplicates:
            raise CatalogError(f"{path}: {kind}: id {duplicates[0]!r} is used twice: expected unique ids")
    return Catalog(1, tuple(categories), tuple(situations), tuple(services), tuple(consultations))


def _consultations(path: Path, tables: Any, service_ids: list[str]) -> list[Consultation]:
    found = []
    for i, table in enumerate(tables):
        entry = Entry(path, f"consultations[{i}]", table)
        cid = entry.ident("id")
        entry.where = f"consultations[{i}] ({cid})"
        entry.only_keys(CONSULTATION_KEYS)
        agency = Bilingual(entry.text("agency"), entry.text("agency_en"))
        topics = Bilingual(entry.text("topics"), entry.text("topics_en"))
        hours = entry.week_hours("hours")
        url = table.get("url")
        if not isinstance(url, str) or len(url) > MAX_URL or not _URL.match(url):
            raise entry.fail("url", f"an https:// address without spaces, up to {MAX_URL} characters")
        booth = table.get("booth_service")
        if booth is not None and booth not in service_ids:
            raise entry.fail("booth_service", "the id of a service from the catalog")
        listed = table.get("services", [])
        if not isinstance(listed, list) or any(s not in service_ids for s in listed):
            raise entry.fail("services", "a list of service ids from the catalog")
        found.append(Consultation(cid, agency, topics, hours, url, booth, tuple(listed)))
    return found


def load_catalog(path: str | Path = BUNDLED_CATALOG) -> Catalog:
    path = Path(path)
    return _parse(path, read_toml(path, CatalogError))
