"""Video consultations in the catalog and their weekly hours: the bundled entries, and an exact
error for each bad field."""
from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from mfc_edge.catalog import load_catalog
from mfc_edge.i18n import translator
from mfc_edge.week_hours import WEEK_HOURS_RULE, parse_week_hours
from tests.test_catalog import MINIMAL, error_for, write

MOSCOW = ZoneInfo("Europe/Moscow")
CONSULTATION = """
[[consultations]]
id = "rosreestr-video"
agency = "Росреестр"
agency_en = "Rosreestr"
topics = "Регистрация недвижимости"
topics_en = "Property registration"
hours = ["mon-fri 10:00-17:00"]
url = "https://example.org/video"
booth_service = "passport"
services = ["passport"]
"""


def test_bundled_catalog_has_consultations_with_a_booth():
    catalog = load_catalog()
    assert len(catalog.consultations) >= 3
    booth = catalog.service("video-booth")
    assert booth.letter == "К" and booth.category == "consultations"
    assert any(c.booth_service == "video-booth" for c in catalog.consultations)
    for consultation in catalog.consultations:
        assert consultation.url.startswith("https://")
        assert consultation.agency.ru and consultation.agency.en and consultation.topics.en
        assert consultation.services and all(catalog.service(s) for s in consultation.services)
    assert [c.id for c in catalog.consultations_for("property-rights")] == ["rosreestr-video"]
    assert catalog.consultations_for("passport-rf") == []


def test_a_catalog_without_consultations_still_loads(tmp_path):
    assert load_catalog(write(tmp_path, MINIMAL)).consultations == ()


def test_consultation_loads(tmp_path):
    catalog = load_catalog(write(tmp_path, MINIMAL + CONSULTATION))
    found = catalog.consultation("rosreestr-video")
    assert found.agency("en") == "Rosreestr" and found.topics("ru") == "Регистрация недвижимости"
    assert found.booth_service == "passport" and found.services == ("passport",)
    assert catalog.consultations_for("passport") == [found]
    assert found.hours.is_on(datetime(2026, 11, 27, 16, 59, tzinfo=MOSCOW))  # a Friday
    assert not found.hours.is_on(datetime(2026, 11, 28, 12, 0, tzinfo=MOSCOW))  # a Saturday


def test_booth_and_services_are_optional(tmp_path):
    text = CONSULTATION.replace('booth_service = "passport"\n', "").replace('services = ["passport"]\n', "")
    found = load_catalog(write(tmp_path, MINIMAL + text)).consultation("rosreestr-video")
    assert found.booth_service is None and found.services == ()


WHERE = "FILE: consultations[0] (rosreestr-video)"


@pytest.mark.parametrize("change, message", [
    (('id = "rosreestr-video"', 'id = "Росреестр"'),
     "FILE: consultations[0] id = 'Росреестр': expected lowercase latin letters, digits and hyphens"),
    (('agency = "Росреестр"\n', ""), f"{WHERE} agency = '<missing>': expected a non-empty text"),
    (('agency_en = "Rosreestr"', 'agency_en = "  "'), f"{WHERE} agency_en = '  ': expected a non-empty text"),
    (('topics = "Регистрация недвижимости"', "topics = 5"), f"{WHERE} topics = 5: expected a non-empty text"),
    (('topics_en = "Property registration"\n', ""), f"{WHERE} topics_en = '<missing>': expected a non-empty text"),
    (('hours = ["mon-fri 10:00-17:00"]', 'hours = ["пн-пт 10:00-17:00"]'),
     f"{WHERE} hours = ['пн-пт 10:00-17:00']: expected {WEEK_HOURS_RULE}"),
    (('hours = ["mon-fri 10:00-17:00"]', 'hours = "mon-fri 10:00-17:00"'),
     f"{WHERE} hours = 'mon-fri 10:00-17:00': expected {WEEK_HOURS_RULE}"),
    (('url = "https://example.org/video"', 'url = "http://example.org/video"'),
     f"{WHERE} url = 'http://example.org/video': expected an https:// address without spaces, up to 300 characters"),
    (('url = "https://example.org/video"', 'url = "https://example.org/a b"'),
     f"{WHERE} url = 'https://example.org/a b': expected an https:// address without spaces, up to 300 characters"),
    (('booth_service = "passport"', 'booth_service = "booth"'),
     f"{WHERE} booth_service = 'booth': expected the id of a service from the catalog"),
    (('services = ["passport"]', 'services = ["passport", "visa"]'),
     f"{WHERE} services = ['passport', 'visa']: expected a list of service ids from the catalog"),
    (('services = ["passport"]', 'services = "passport"'),
     f"{WHERE} services = 'passport': expected a list of service ids from the catalog"),
    (('booth_service = "passport"', 'booth_servise = "passport"'),
     f"{WHERE} booth_servise = 'passport': expected none such: known keys are agency, agency_en, "
     "booth_service, hours, id, services, topics, topics_en, url"),
])
def test_bad_consultations_are_named_exactly(tmp_path, change, message):
    assert change[0] in CONSULTATION
    assert error_for(tmp_path, MINIMAL + CONSULTATION.replace(change[0], change[1], 1)) == message


def test_long_urls_and_duplicate_ids_are_refused(tmp_path):
    long_url = "https://example.org/" + "a" * 290
    message = error_for(tmp_path, MINIMAL + CONSULTATION.replace("https://example.org/video", long_url))
    assert message.startswith(f"{WHERE} url = ") and message.endswith("up to 300 characters")
    assert error_for(tmp_path, MINIMAL + CONSULTATION + CONSULTATION) == \
        "FILE: consultations: id 'rosreestr-video' is used twice: expected unique ids"
    assert error_for(tmp_path, MINIMAL.replace("version = 1", 'version = 1\nconsultations = "none"')) == \
        "FILE: top level consultations = 'none': expected a list of [[consultations]] tables"


def test_week_hours_lines():
    hours = parse_week_hours(["mon-fri 10:00-13:00", "mon-fri 14:00-17:00", "sat,sun 11:00-15:00"])
    assert hours.by_weekday[0] == ((time(10), time(13)), (time(14), time(17)))
    assert hours.by_weekday[6] == ((time(11), time(15)),)
    monday = datetime(2026, 11, 23, 13, 30, tzinfo=MOSCOW)
    assert not hours.is_on(monday) and hours.until(monday) is None
    assert hours.next_start(monday) == datetime(2026, 11, 23, 14, 0, tzinfo=MOSCOW)
    friday_evening = datetime(2026, 11, 27, 17, 0, tzinfo=MOSCOW)
    assert not hours.is_on(friday_evening)  # the end is not inside
    assert hours.next_start(friday_evening) == datetime(2026, 11, 28, 11, 0, tzinfo=MOSCOW)
    assert hours.until(datetime(2026, 11, 28, 12, 0, tzinfo=MOSCOW)) == time(15)
    assert hours.describe(translator("ru")) == ["Пн–Пт 10:00–13:00", "Пн–Пт 14:00–17:00", "Сб, Вс 11:00–15:00"]
    assert hours.describe(translator("en"))[2] == "Sat, Sun 11:00–15:00"
    assert parse_week_hours(["mon-wed,fri 09:00-10:00"]).by_weekday[3] == ()


@pytest.mark.parametrize("bad", [
    [], ["mon-fri"], ["mon-fri 10:00"], ["mon-fri 17:00-10:00"], ["mon-fri 10:00-10:00"], ["fri-mon 10:00-12:00"],
    ["mon 25:00-26:00"], ["mon  10:00-12:00"], ["mon-tue-wed 10:00-12:00"], ["monday 10:00-12:00"],
    ["mon 10:00-13:00", "mon-fri 12:00-14:00"], [5], "mon 10:00-12:00",
])
def test_week_hours_refuse_what_they_cannot_read(bad):
    with pytest.raises(ValueError):
        parse_week_hours(bad)

