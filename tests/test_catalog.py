"""The bundled service catalog, its search, and exact errors for bad catalog files."""
from __future__ import annotations

import pytest

from mfc_edge.catalog import BUNDLED_CATALOG, TICKET_LETTERS, CatalogError, load_catalog

CATALOG = load_catalog()

MINIMAL = """\
version = 1

[[categories]]
id = "passports"
name = { ru = "Паспорта", en = "Passports" }

[[situations]]
id = "moving"
name = { ru = "Переезд", en = "Moving house" }
description = { ru = "Всё для переезда", en = "All you need when moving" }
services = ["passport"]

[[services]]
id = "passport"
category = "passports"
letter = "П"
name = { ru = "Паспорт гражданина РФ", en = "Russian passport" }
avg_minutes = 15
documents = [{ ru = "Заявление", en = "Application" }]
"""


def test_bundled_catalog_is_big_and_complete():
    assert len(CATALOG.services) >= 40
    assert len(CATALOG.categories) >= 8
    assert len(CATALOG.situations) >= 5
    used = {s.category for s in CATALOG.services}
    assert used == {c.id for c in CATALOG.categories}
    for service in CATALOG.services:
        assert service.letter in TICKET_LETTERS
        assert service.documents, service.id
        assert all(d.ru and d.en for d in service.documents)
        assert service.name.ru and service.name.en


@pytest.mark.parametrize("fragment", [
    "паспорт", "заграничн", "регистрац", "рождени", "брак", "снилс", "пенси", "материнск",
    "егрн", "водительск", "патент", "инн", "справк",
])
def test_bundled_catalog_has_the_services_people_come_for(fragment):
    assert any(fragment in s.name.ru.lower() or fragment in " ".join(s.keywords).lower()
               for s in CATALOG.services), fragment


@pytest.mark.parametrize("fragment", ["ребён", "наслед", "переезд", "пенси"])
def test_bundled_catalog_has_life_situations(fragment):
    assert any(fragment in s.name.ru.lower() for s in CATALOG.situations), fragment


def test_search_by_prefix_case_and_yo():
    assert CATALOG.search("пасп")
    assert all("асп" in s.name.ru.lower() or "асп" in " ".join(s.keywords) for s in CATALOG.search("пасп")[:2])
    assert CATALOG.search("ПАСП") == CATALOG.search("пасп")
    assert CATALOG.search("ребенок") == CATALOG.search("ребёнок")
    assert CATALOG.search("passport")
    assert CATALOG.search("  ") == []
    assert CATALOG.search("щщщщщщщ") == []


def test_search_finds_colloquial_words_and_forgives_typos():
    registration = CATALOG.search("прописка")
    assert registration and any("регистрац" in s.name.ru.lower() for s in registration)
    assert CATALOG.search("пастпорт")  # a typo still finds passports
    assert any("паспорт" in s.name.ru.lower() for s in CATALOG.search("пастпорт"))


def write(tmp_path, text: str):
    path = tmp_path / "catalog.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_for(tmp_path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(CatalogError) as caught:
        load_catalog(path)
    return str(caught.value).replace(str(path), "FILE")


def test_minimal_catalog_loads(tmp_path):
    catalog = load_catalog(write(tmp_path, MINIMAL))
    assert catalog.service("passport").name("en") == "Russian passport"
    assert [s.id for s in catalog.in_situation("moving")] == ["passport"]


@pytest.mark.parametrize("change, message", [
    (('letter = "П"', 'letter = "Q"'),
     "FILE: services[0] (passport) letter = 'Q': expected one letter of "
     "А Б В Г Д Е Ж И К Л М Н П Р С Т У Ф Х Ц Ч Ш Э Ю Я"),
    (('category = "passports"', 'category = "cars"'),
     "FILE: services[0] (passport) category = 'cars': expected the id of one of the categories"),
    (('avg_minutes = 15', 'avg_minutes = 0'),
     "FILE: services[0] (passport) avg_minutes = 0: expected whole minutes from 1 to 240"),
    (('documents = [{ ru = "Заявление", en = "Application" }]', 'documents = []'),
     "FILE: services[0] (passport) documents = []: expected a non-empty list of {ru, en} texts"),
    (('name = { ru = "Паспорт гражданина РФ", en = "Russian passport" }',
      'name = { ru = "Паспорт гражданина РФ" }'),
     "FILE: services[0] (passport) name = {'ru': 'Паспорт гражданина РФ'}: "
     "expected a table with non-empty ru and en texts"),
    (('services = ["passport"]', 'services = ["passport", "visa"]'),
     "FILE: situations[0] (moving) services = ['passport', 'visa']: "
     "expected a non-empty list of service ids from the catalog"),
    (('id = "passports"', 'id = "Паспорта"'),
     "FILE: categories[0] id = 'Паспорта': expected lowercase latin letters, digits and hyphens"),
    (("version = 1", "version = 2"), "FILE: top level version = 2: expected 1"),
])
def test_bad_catalogs_are_named_exactly(tmp_path, change, message):
    assert change[0] in MINIMAL
    assert error_for(tmp_path, MINIMAL.replace(change[0], change[1], 1)) == message


def test_duplicate_ids_are_refused(tmp_path):
    text = MINIMAL + MINIMAL[MINIMAL.index("[[services]]"):]
    assert error_for(tmp_path, text) == "FILE: services: id 'passport' is used twice: expected unique ids"


def test_unreadable_catalogs(tmp_path):
    assert error_for(tmp_path, "version = [").startswith("FILE: not valid TOML: ")
    path = tmp_path / "latin1.toml"
    path.write_bytes("name = 'Паспорт'".encode("cp1251"))
    with pytest.raises(CatalogError, match="not UTF-8 text"):
        load_catalog(path)
    with pytest.raises(CatalogError, match="file not found"):
        load_catalog(tmp_path / "missing.toml")


def test_bundled_catalog_path_is_inside_the_package():
    assert BUNDLED_CATALOG.name == "catalog.toml" and BUNDLED_CATALOG.exists()
