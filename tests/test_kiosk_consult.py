"""The kiosk's video consultation pages and kids' room page, offscreen, driven by touches."""
from __future__ import annotations

import pytest
import zxingcpp
from PIL import Image

from hardware.escpos_decode import decode_escpos, receipt_text
from mfc_edge.kids_room import load_kids_room
from tests.helpers.day import at
from tests.test_kids_room import KIDS
from tests.test_kiosk_bundle import enrolled, hub, wait_applied  # noqa: F401  (fixtures)


@pytest.fixture
def kids_file(tmp_path):
    path = tmp_path / "kids.toml"
    path.write_text(KIDS, encoding="utf-8")
    return path


@pytest.fixture
def room(kiosk, clock, kids_file):
    """The kiosk's screens with a kids' room file, as a bundle would bring it."""
    from kiosk.app import KioskApp
    from kiosk.headless import HeadlessKiosk

    app = KioskApp(kiosk.device, kiosk.catalog, kiosk.desk, clock,
                   kids_room=lambda: load_kids_room(kids_file) if kids_file.exists() else None)
    with HeadlessKiosk(app, (1280, 800)) as k:
        yield k


def tile_text(screens, tag: str) -> str:
    return screens.find(tag=tag).text


def test_the_list_says_who_is_on_line_now_and_when_next(screens, clock):
    screens.tap("consultations")
    assert screens.screen == "consultations"
    catalog = screens.app.catalog
    for consultation in catalog.consultations:
        assert consultation.agency.ru in tile_text(screens, f"consultation:{consultation.id}")
    # Monday 10:00: Rosreestr is on line until 18:00, the Social Fund until its lunch break
    assert "На связи сейчас, до 18:00" in tile_text(screens, "consultation:rosreestr-video")
    assert "На связи сейчас, до 13:00" in tile_text(screens, "consultation:sfr-video")
    screens.tap("home")
    clock.set(at(13, 30))
    screens.tap("consultations")
    assert "Следующий приём: сегодня, с 14:00" in tile_text(screens, "consultation:sfr-video")
    screens.tap("home")
    clock.set(at(18, 30, days=4))  # Friday evening: the tax service is back on Monday
    screens.tap("consultations")
    assert "Следующий приём: понедельник, с 10:00" in tile_text(screens, "consultation:fns-video")
    assert "Следующий приём: завтра, с 10:00" in tile_text(screens, "consultation:sfr-video")


def test_the_consultation_page_shows_topics_hours_and_a_qr_that_reads_back(screens, tmp_path):
    consultation = screens.app.catalog.consultation("rosreestr-video")
    screens.tap("consultations")
    screens.tap("consultation:rosreestr-video")
    assert screens.screen == "consultation"
    assert screens.find(tag="topics").text == consultation.topics.ru
    assert screens.find(tag="hours").text == "Пн–Чт 09:00–18:00\nПт 09:00–16:45"
    assert screens.find(tag="on-line").text == "На связи сейчас, до 18:00"
    shot = screens.screenshot(tmp_path / "consultation.png")
    assert [r.text for r in zxingcpp.read_barcodes(Image.open(shot))] == [consultation.url]
    screens.tap("home")
    screens.tap("lang-en")
    screens.tap("consultations")
    screens.tap("consultation:rosreestr-video")
    assert screens.find(tag="topics").text == consultation.topics.en
    assert screens.find(tag="hours").text == "Mon–Thu 09:00–18:00\nFri 09:00–16:45"
    assert screens.find(tag="booth-ticket").text == "Ticket for the video booth"


def test_a_booth_ticket_is_a_normal_ticket_and_is_printed(screens, kiosk, printer):
    screens.tap("consultations")
    screens.tap("consultation:sfr-video")
    assert screens.find(tag="booth-ticket").text == "Талон в кабинку видеосвязи"
    screens.tap("booth-ticket")
    assert screens.screen == "result"
    ticket = kiosk.store.tickets()[-1]
    assert ticket.service_id == "video-booth" and ticket.number == "К001" and not ticket.priority
    job = printer.wait_for_jobs(1)[0]
    assert "К001" in receipt_text(decode_escpos(job.data))
    assert screens.wait_until(lambda: kiosk.store.ticket(ticket.id).print_status == "printed")


def test_without_a_booth_there_is_no_booth_ticket(screens, kiosk):
    screens.tap("consultations")
    screens.tap("consultation:fns-video")
    button = screens.find(tag="booth-ticket")
    assert button.disabled and button.height == 0 and button.opacity == 0
    screens.app.manager.get_screen("consultation").take_booth_ticket()
    assert screens.screen == "consultation" and kiosk.store.tickets() == []


def test_a_service_page_links_the_consultations_that_concern_it(screens):
    screens.tap("categories")
    screens.tap("category:real-estate")
    screens.tap("service:property-rights")
    link = screens.find(tag="service-consultation:rosreestr-video")
    assert link.text == "Видеоконсультация: Росреестр"
    screens.tap("service-consultation:rosreestr-video")
    assert screens.screen == "consultation"
    assert screens.find(tag="agency").text == "Росреестр"
    screens.tap("back")
    assert screens.screen == "service"
    screens.tap("back")
    screens.tap("service:egrn-extract")
    assert screens.find(tag="service-consultation:rosreestr-video")
    screens.tap("home")
    screens.tap("categories")
    screens.tap("category:passports")
    screens.tap("service:passport-rf")
    assert not [w for w in screens.widgets() if str(getattr(w, "tag", "")).startswith("service-consultation:")]


def test_kids_room_shows_hours_and_todays_activities_in_order(room, clock):
    room.tap("kids-room")
    assert room.screen == "kids-room"
    assert room.find(tag="kids-today").text == "Сегодня открыто: 09:00–20:00"
    assert room.find(tag="kids-note").text == "Дети от 3 до 10 лет"
    assert room.find(tag="kids-week").text == "Пн–Пт 09:00–20:00\nСб 10:00–17:00"
    assert room.find(tag="activity:0").text == "[b]10:00–10:40[/b]   Рисуем осень"
    assert room.find(tag="activity:1").text == "[b]11:00–11:45[/b]   Лепим из пластилина  ·  4–7 лет"
    assert room.find(tag="kids-none-today").text == ""
    room.tap("home")
    clock.set(at(12, days=1))  # Tuesday
    room.tap("lang-en")
    room.tap("kids-room")
    assert room.find(tag="activity:0").text == "[b]12:00–12:30[/b]   Origami"
    assert room.find(tag="kids-note").text.startswith("Children aged 3 to 10")
    room.tap("home")
    clock.set(at(12, days=6))  # Sunday: closed, nothing on
    room.tap("kids-room")
    assert room.find(tag="kids-today").text == "Closed today"
    assert room.find(tag="kids-none-today").text == "No classes today: the room is open for free play."


def test_kids_room_without_a_file_keeps_the_centers_hours(room, kids_file):
    kids_file.unlink()
    room.tap("kids-room")
    assert room.find(tag="kids-today").text == "Сегодня открыто: 08:00–20:00"
    assert "спросите консультанта в зале" in room.find(tag="kids-note").text
    assert room.find(tag="kids-week").text == ""
    assert not [w for w in room.widgets() if str(getattr(w, "tag", "")).startswith("activity:")]


def test_kids_room_page_from_the_centers_signed_bundle(enrolled, hub, clock, tmp_path):  # noqa: F811
    """kids.toml published on a real hub reaches the kiosk's page; a bad one the hub refuses."""
    from hub.bundle_folder import PublishError
    from kiosk.app import KioskApp
    from kiosk.headless import HeadlessKiosk
    from kiosk.wiring import open_kiosk

    hub_obj, _ = hub
    folder = tmp_path / "bundle"
    folder.mkdir()
    (folder / "kids.toml").write_text(KIDS.replace('time = "10:00-10:40"', 'time = "10:00"'), encoding="utf-8")
    with pytest.raises(PublishError, match="time = '10:00'"):
        hub_obj.bundles.publish_folder(folder, enrolled.center_id, "kiosk")
    (folder / "kids.toml").write_text(KIDS, encoding="utf-8")
    hub_obj.bundles.publish_folder(folder, enrolled.center_id, "kiosk")
    kiosk = open_kiosk(enrolled, clock)
    try:
        wait_applied(kiosk)
        app = KioskApp(kiosk.device, kiosk.catalog, kiosk.desk, clock, kids_room=kiosk.kids_room)
        with HeadlessKiosk(app, (1280, 800)) as k:
            k.tap("kids-room")
            assert k.find(tag="activity:0").text == "[b]10:00–10:40[/b]   Рисуем осень"
    finally:
        kiosk.close()


@pytest.mark.parametrize("size", [(800, 480), (480, 800), (1080, 1920)])
def test_small_and_upright_panels_keep_the_code_readable_and_the_booth_ticket_reachable(screens, kiosk, tmp_path,
                                                                                       size):
    screens.resize(size)
    screens.tap("large-text")
    screens.tap("consultations")
    screens.tap("consultation:sfr-video")
    shot = screens.screenshot(tmp_path / "consultation.png")
    assert [r.text for r in zxingcpp.read_barcodes(Image.open(shot))] == [screens.app.catalog.consultation("sfr-video").url]
    screens.tap("booth-ticket")
    assert screens.screen == "result" and kiosk.store.tickets()[-1].service_id == "video-booth"
