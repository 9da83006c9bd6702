"""Urgent notices on the real kiosk screens: the start screen shows every notice in force, a
service's page those that concern it, above the ticket buttons; each goes at its expiry."""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.helpers.day import MONDAY_10AM

ROSREESTR = "Росреестр: приём документов на регистрацию недвижимости приостановлен до 14:00"
ROSREESTR_EN = "Rosreestr: property registration documents are not accepted until 14:00"
WIFI = "Бесплатный Wi-Fi в зале временно не работает"


@pytest.fixture
def noticed(kiosk, clock):
    """The kiosk's screens with a board of two notices: one for a property service until 11:00,
    one for the whole center until 12:00 (English only for the first)."""
    from kiosk.app import KioskApp
    from kiosk.headless import HeadlessKiosk
    from offline_cache.notices import Notice, NoticeBoard

    property_service = next(s for s in kiosk.catalog.services if "property" in s.id)
    posted = MONDAY_10AM - timedelta(minutes=5)
    board = NoticeBoard.of([
        Notice("n-1", ROSREESTR, ROSREESTR_EN, (property_service.id,), posted, MONDAY_10AM + timedelta(hours=1)),
        Notice("n-2", WIFI, "", (), posted - timedelta(minutes=1), MONDAY_10AM + timedelta(hours=2))])
    app = KioskApp(kiosk.device, kiosk.catalog, kiosk.desk, clock, notices=board)
    with HeadlessKiosk(app, (1280, 800)) as k:
        yield k, property_service


def banner(k):
    return k.find(tag="notice-banner")


def open_service(k, service_id: str) -> None:
    k.app.show_service(service_id)
    k.frames(3)


def test_the_start_screen_shows_every_notice_in_the_visitors_language(noticed):
    k, _ = noticed
    assert banner(k).text == f"[b]Важное объявление[/b]\n{ROSREESTR}\n{WIFI}"  # newest first
    assert banner(k).height > 0
    assert k.find(tag="categories").height >= k.app.unit * 2.8  # the hints make room: the ways in stay big
    k.tap("lang-en")
    assert banner(k).text == f"[b]Important notice[/b]\n{ROSREESTR_EN}\n{WIFI}"  # no English: the Russian


def test_a_service_page_shows_the_notices_that_concern_it_above_the_ticket_buttons(noticed, kiosk):
    k, property_service = noticed
    open_service(k, property_service.id)
    shown = banner(k)
    assert shown.text == f"[b]Важное объявление[/b]\n{ROSREESTR}\n{WIFI}"
    take = k.find(tag="take-ticket")
    assert shown.to_window(*shown.pos)[1] > take.to_window(*take.pos)[1] + take.height - 1  # read first
    k.app.go_home()
    other = next(s for s in kiosk.catalog.services if "property" not in s.id)
    open_service(k, other.id)
    assert banner(k).text == f"[b]Важное объявление[/b]\n{WIFI}"


def test_each_notice_goes_at_its_expiry_without_a_restart(noticed, clock):
    k, _ = noticed
    clock.advance(hours=1)  # 11:00: the Rosreestr notice has expired
    k.app.tick()
    k.frames(2)
    assert banner(k).text == f"[b]Важное объявление[/b]\n{WIFI}"
    clock.advance(hours=1)
    k.app.tick()
    k.frames(2)
    assert banner(k).text == "" and banner(k).height == 0
