"""«У меня запись» and «Готовность документов» on the real kiosk screens, offscreen, driven by
touches and by a simulated USB scanner (synthetic key events through Kivy's window)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from kivy.core.window import Window

from hardware.escpos_decode import decode_escpos, receipt_text
from kiosk.booking_screens import COLLECTION_SERVICE
from offline_cache.bookings import ApplicationBook, Booking, BookingBook
from tests.helpers.day import MONDAY_10AM

READY, NOT_READY, COLLECTED = "77-0012/34", "77-0099/01", "77-0050/10"


def booking(code: str, id: str, minutes: int, state: str = "active", initial: str = "А",
            checked_in: bool = False) -> Booking:
    """A passport booking whose slot starts `minutes` after the test's 10:00."""
    start = MONDAY_10AM + timedelta(minutes=minutes)
    return Booking(id=id, code=code, service="passport-rf", slot_start=start, slot_end=start + timedelta(minutes=15),
                   initial=initial, state=state, checked_in=checked_in)


BOOKINGS = [booking("KD-4821", "p-1", 10), booking("QR7305", "p-2", 15, initial=""),
            booking("ER-1150", "p-3", 120), booking("LT-0900", "p-4", -40),
            booking("CX-2044", "p-5", 20, state="cancelled"), booking("AT-7777", "p-6", 0, checked_in=True),
            booking("NW-0950", "p-7", -10)]


class FakeMonotonic:
    """The scanner's clock, moved by the test: key timing never depends on the machine's speed."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def keys():
    return FakeMonotonic()


@pytest.fixture
def booking_screens(kiosk, clock, keys):
    from kiosk.app import KioskApp
    from kiosk.headless import HeadlessKiosk

    app = KioskApp(kiosk.device, kiosk.catalog, kiosk.desk, clock, bookings=BookingBook.of(BOOKINGS),
                   applications=ApplicationBook.of({READY: "ready", NOT_READY: "not-ready", COLLECTED: "collected"}))
    app.checkin.monotonic = keys
    with HeadlessKiosk(app, (1280, 800)) as k:
        yield k


def scan(k, keys: FakeMonotonic, text: str, gap: float = 0.01) -> None:
    """A scanner reads `text`: a key every `gap` seconds, then Enter."""
    for char in text:
        keys.now += gap
        Window.dispatch("on_key_down", ord(char.lower()) if char.isascii() else 0, 0, char, [])
        Window.dispatch("on_textinput", char)
        Window.dispatch("on_key_up", ord(char.lower()) if char.isascii() else 0, 0)
    keys.now += gap
    Window.dispatch("on_key_down", 13, 40, None, [])
    Window.dispatch("on_key_up", 13, 40)
    k.frames(2)


def type_code(k, code: str) -> None:
    for char in code:
        k.tap(tag=f"key:{char}")
    k.tap("check")


def printed_text(printer, count: int) -> str:
    return receipt_text(decode_escpos(printer.wait_for_jobs(count)[-1].data))


def issued_events(kiosk) -> list[dict]:
    return [e["body"] for e in kiosk.store.outbox() if e["type"] == "ticket.issued"]


def test_on_time_by_keypad_gives_a_booked_ticket_printed_with_its_slot(booking_screens, kiosk, printer):
    k = booking_screens
    k.tap("booking")
    assert k.screen == "booking"
    assert k.find(tag="check").disabled
    for char in "KD48223":
        k.tap(tag=f"key:{char}")
    k.tap("key:backspace")
    assert k.find(tag="code").text == "KD4822"
    k.tap("check")
    assert k.screen == "booking-outcome"  # a typo: unknown, with a hint
    assert k.find(tag="outcome").text == "Записи с таким кодом сегодня нет. Возможно, вы имели в виду KD-4821?"
    k.tap("use-suggestion")
    assert k.find(tag="greeting").text == "Добро пожаловать, А."
    assert k.find(tag="outcome").text == "Ваша запись найдена: 10:10. Получите талон."
    k.tap("take-booked")
    assert k.screen == "result"
    assert {"По записи на 10:10", "Вас пригласят ко времени записи."} <= set(k.texts())
    printed = printed_text(printer, 1)
    assert "По записи на 10:10" in printed and "Вас пригласят ко времени записи." in printed
    assert "Перед вами" not in printed  # called by its slot, not after the line ahead
    [event] = issued_events(kiosk)
    assert event["booking"] == {"id": "p-1", "code": "KD-4821", "slot_start": "2026-11-23T07:10:00.000000+00:00"}
    assert event["service"] == "passport-rf"
    assert kiosk.store.checked_in() == {"p-1"}
    k.tap("done")
    k.tap("booking")
    type_code(k, "KD4821")
    assert k.find(tag="outcome").text.startswith("По этой записи уже получен талон")
    with pytest.raises(LookupError):
        k.find(tag="take-booked")
    assert len(kiosk.store.tickets()) == 1


@pytest.mark.slow
def test_early_late_cancelled_used_and_unknown_by_touch(booking_screens, kiosk, printer):
    k = booking_screens
    k.tap("booking")
    type_code(k, "ER1150")
    assert k.find(tag="outcome").text == ("Вы пришли раньше: ваша запись на 12:00. Приходите к 11:30 за талоном "
                                          "по записи или возьмите обычный талон сейчас.")
    k.tap("take-normal")  # a walk-in ticket of the booked service, not marked
    assert k.screen == "result" and "По записи" not in " ".join(k.texts())
    assert "booking" not in issued_events(kiosk)[-1] and kiosk.store.checked_in() == set()
    assert "П001" in printed_text(printer, 1)
    k.tap("done")
    for code, start in (("LT0900", "Ваша запись была на 09:20"), ("CX2044", "Эта запись отменена."),
                        ("AT7777", "По этой записи уже получен талон"),
                        ("ZZ9999", "Записи с таким кодом сегодня нет. Проверьте код")):
        if k.screen == "home":
            k.tap("booking")
        type_code(k, code)
        assert k.find(tag="outcome").text.startswith(start), code
        with pytest.raises(LookupError):
            k.find(tag="take-booked")
        k.tap("try-again")
    k.app.go_home()
    k.frames(2)
    k.tap("lang-en")
    k.tap("booking")
    type_code(k, "LT0900")
    assert k.find(tag="outcome").text == ("Your booking was for 09:20, more than 15 minutes ago, so it has "
                                          "expired. You can take a normal ticket.")
    assert k.find(tag="take-normal").text == "Take a normal ticket"


def test_a_scan_on_any_screen_checks_in_and_slow_typing_is_no_scan(booking_screens, kiosk, keys):
    k = booking_screens
    k.tap("when")
    scan(k, keys, "QR7305")
    assert k.screen == "booking-outcome"
    assert k.find(tag="outcome").text == "Ваша запись найдена: 10:15. Получите талон."
    assert k.find(tag="greeting").text == ""  # no initial, no name
    k.tap("take-booked")
    assert issued_events(kiosk)[-1]["booking"]["id"] == "p-2"
    k.tap("done")
    scan(k, keys, "KD4821", gap=0.25)  # a person at a keyboard: not a scan
    scan(k, keys, "KD48", gap=0.01)  # too short
    assert k.screen == "home"
    keys.now += 1
    # Two stray keys, a pause, then a scanner's burst: only the burst is the code.
    for gap, char in zip((1.0, 0.3, 1.0, 0.01, 0.01, 0.01, 0.01, 0.01), "xxKD4821", strict=True):
        keys.now += gap
        Window.dispatch("on_textinput", char)
    keys.now += 0.01
    Window.dispatch("on_key_down", 13, 40, None, [])
    k.frames(2)
    assert k.screen == "booking-outcome", k.screen
    assert k.find(tag="outcome").text == "Ваша запись найдена: 10:10. Получите талон."


def test_a_scan_ends_the_attract_loop(kiosk, clock, keys):
    from kiosk.app import KioskApp
    from kiosk.headless import HeadlessKiosk
    from mfc_edge.cli.kiosk_attract import attract_loop

    app = KioskApp(kiosk.device, kiosk.catalog, kiosk.desk, clock, attract=attract_loop(kiosk, clock),
                   bookings=BookingBook.of(BOOKINGS))
    app.checkin.monotonic = keys
    with HeadlessKiosk(app, (1280, 800)) as k:
        clock.advance(seconds=121)
        app.tick()
        assert k.wait_until(lambda: k.screen == "attract", timeout=5)
        scan(k, keys, "KD-4821")
        assert k.screen == "booking-outcome" and k.find(tag="take-booked")
        k.tap("back")
        assert k.screen == "home"  # not back into the loop
        assert app._idle_s() == 0


def test_readiness_by_keypad_and_scan_and_the_collection_ticket(booking_screens, kiosk, printer, keys):
    k = booking_screens
    k.tap("documents")
    assert k.screen == "documents"
    type_code(k, "770099/01")
    assert k.find(tag="document-state").text == "Ещё не готовы"
    assert "77-0099/01" not in k.find(tag="document-message").text  # as typed
    with pytest.raises(LookupError):
        k.find(tag="take-collection")
    k.tap("other-number")
    type_code(k, "12345/6")
    assert k.find(tag="document-state").text == "Не найдено"
    assert k.find(tag="document-message").text.startswith("Заявление 12345/6 не найдено.")
    scan(k, keys, COLLECTED)
    assert k.find(tag="document-state").text == "Уже выданы"
    scan(k, keys, READY)
    assert k.screen == "document-status" and k.find(tag="document-state").text == "Готовы"
    k.tap("take-collection")
    assert k.screen == "result" and "Выдача готовых документов" in k.texts()
    ticket = kiosk.store.tickets()[-1]
    assert ticket.service_id == COLLECTION_SERVICE and ticket.number == "Г001"
    text = printed_text(printer, 1)
    assert "Г001" in text and "Выдача готовых документов" in text


@pytest.mark.parametrize("size", [(800, 480), (480, 800), (1080, 1920)])
def test_the_start_screen_keeps_every_way_in_on_small_and_upright_panels(booking_screens, size):
    k = booking_screens
    k.resize(size)
    width, height = size
    for large in (False, True):  # large text too: the hints then give their room to the buttons
        k.app.large = large
        k.frames(3)
        unit = k.app.unit
        for tag in ("categories", "situations", "search", "booking", "when", "consultations", "kids-room",
                    "documents", "lang-ru"):
            button = k.find(tag=tag)
            x, y = button.to_window(button.x, button.y)
            assert 0 <= x and x + button.width <= width + 1 and 0 <= y and y + button.height <= height + 1, tag
            assert button.height >= unit * 1.5 and button.width >= unit * 3, (tag, large)  # a fingertip at least
        assert k.find(tag="booking").height >= unit * 2.8, large  # a main way in: a full tile
    k.app.large = False
    k.frames(3)
    unit = k.app.unit
    k.tap("booking")
    for key in ("key:0", "key:Z", "key:-", "check", "key:backspace"):
        button = k.find(tag=key)
        x, y = button.to_window(button.x, button.y)
        assert 0 <= y and y + button.height <= height + 1, key
        assert button.height >= unit * 1.5, key


def test_another_centers_code_by_the_prefixes_the_kiosk_is_given(booking_screens, tmp_path):
    from dataclasses import replace

    from mfc_edge.config import ConfigError, load_config
    from tests.helpers.devices import BASE_CONFIG

    text = BASE_CONFIG.format(printer_uri="tcp://127.0.0.1:9").replace(
        "idle_timeout = 60", 'idle_timeout = 60\nother_centers = { MR = "Центр госуслуг района Марьино" }')
    (tmp_path / "other.toml").write_text(text, encoding="utf-8")
    device = load_config(tmp_path / "other.toml")
    assert device.other_centers == (("MR", "Центр госуслуг района Марьино"),)
    k = booking_screens
    k.app.device = replace(k.app.device, other_centers=device.other_centers)
    k.tap("booking")
    type_code(k, "MR5511")
    assert k.find(tag="outcome").text == "Эта запись в другой центр: Центр госуслуг района Марьино."
    (tmp_path / "bad.toml").write_text(text.replace("MR =", '"M R" ='), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[kiosk\] other_centers = .*expected a table of booking code prefixes"):
        load_config(tmp_path / "bad.toml")


def test_the_kiosk_forgets_check_ins_older_than_any_copy_it_may_hold(kiosk, clock):
    """A booked ticket prunes the check-ins of three days ago and more: the table stays a few days long."""
    old = booking("OLD-0001", "old", 0)
    kiosk.desk.issue("passport-rf", booking=old)
    assert kiosk.store.checked_in() == {"old"}
    clock.advance(days=3, minutes=1)
    kiosk.desk.issue("passport-rf", booking=booking("NEW-0001", "new", 0))
    assert kiosk.store.checked_in() == {"new"}


def test_checked_in_after_the_slot_the_visitor_is_called_within_minutes(booking_screens, printer, keys):
    k = booking_screens
    scan(k, keys, "NW-0950")  # its slot began 10 minutes ago: still on time
    assert k.find(tag="outcome").text == "Ваша запись найдена: 09:50. Получите талон."
    k.tap("take-booked")
    assert {"По записи на 09:50", "Вас пригласят в ближайшие минуты."} <= set(k.texts())
    assert "Вас пригласят в ближайшие минуты." in printed_text(printer, 1)
