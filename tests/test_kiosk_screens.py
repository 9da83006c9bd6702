"""The real kiosk screens, offscreen, driven by touches like a visitor's finger."""
from __future__ import annotations

import pytest
from kivy.core.text import Label as CoreLabel
from kivy.core.window import Window
from kivy.uix.label import Label
from PIL import Image, ImageStat

from hardware.escpos_decode import decode_escpos, receipt_text


def first_category(screens):
    return screens.app.catalog.categories[0]


def result_printed(screens) -> bool:
    return screens.app.manager.get_screen("result").print_outcome is not None


def take_from_first_category(screens, button="take-ticket"):
    catalog = screens.app.catalog
    screens.tap("categories")
    assert screens.screen == "categories"
    category = first_category(screens)
    screens.tap(f"category:{category.id}")
    assert screens.screen == "services"
    service = catalog.in_category(category.id)[0]
    screens.tap(f"service:{service.id}")
    assert screens.screen == "service"
    screens.tap(button)
    assert screens.screen == "result"
    return service


def test_find_by_category_and_take_a_ticket(screens, kiosk, printer):
    service = take_from_first_category(screens)
    assert screens.wait_until(lambda: result_printed(screens))
    ticket = kiosk.store.tickets()[-1]
    assert ticket.service_id == service.id and not ticket.priority
    assert ticket.number == f"{service.letter}001"
    assert screens.find(tag="ticket-number").text == ticket.number
    assert screens.find(tag="print-state").text == "Возьмите талон из принтера ниже."
    assert screens.find(tag="qr").texture is not None
    assert kiosk.store.ticket(ticket.id).print_status == "printed"
    job = printer.wait_for_jobs(1)[0]
    assert ticket.number in receipt_text(decode_escpos(job.data))
    screens.tap("done")
    assert screens.screen == "home"


def test_service_screen_lists_documents(screens):
    catalog = screens.app.catalog
    service = catalog.in_category(first_category(screens).id)[0]
    screens.tap("categories")
    screens.tap(f"category:{first_category(screens).id}")
    screens.tap(f"service:{service.id}")
    shown = "\n".join(screens.texts())
    for document in service.documents:
        assert document.ru in shown


def test_find_by_life_situation(screens, kiosk):
    situation = screens.app.catalog.situations[0]
    screens.tap("situations")
    screens.tap(f"situation:{situation.id}")
    assert screens.screen == "services"
    screens.tap(f"service:{situation.services[-1]}")
    screens.tap("take-ticket")
    assert kiosk.store.tickets()[-1].service_id == situation.services[-1]


def test_find_by_search_with_the_russian_keyboard(screens, kiosk):
    screens.tap("search")
    screens.type("пасп")
    assert screens.find(tag="query").text == "пасп_"
    results = [w for w in screens.widgets() if getattr(w, "tag", "").startswith("service:")]
    assert results, "typing 'пасп' should list passport services"
    assert all("асп" in w.text.lower() or "passport" in w.text.lower() for w in results[:1])
    screens.tap("key:backspace")
    assert screens.find(tag="query").text == "пас_"
    screens.tap(results[0].tag)
    assert screens.screen == "service"
    screens.tap("take-ticket")
    assert kiosk.store.tickets()[-1].service_id == results[0].tag.split(":", 1)[1]


def test_search_with_the_english_layout(screens):
    screens.tap("lang-en")
    screens.tap("search")
    screens.type("passport")
    assert any(getattr(w, "tag", "").startswith("service:") for w in screens.widgets())
    screens.tap("key:layout")
    assert any(getattr(w, "tag", "") == "key:й" for w in screens.widgets())


def test_priority_ticket(screens, kiosk, printer):
    take_from_first_category(screens, "take-priority")
    ticket = kiosk.store.tickets()[-1]
    assert ticket.priority
    assert "Талон вне очереди" in screens.texts()
    assert "Талон вне очереди" in receipt_text(decode_escpos(printer.wait_for_jobs(1)[0].data))


def test_double_tap_issues_one_ticket(screens, kiosk):
    from kivy.tests.common import UnitTestTouch

    catalog = screens.app.catalog
    service = catalog.in_category(first_category(screens).id)[0]
    screens.tap("categories")
    screens.tap(f"category:{first_category(screens).id}")
    screens.tap(f"service:{service.id}")
    button = screens.find(tag="take-ticket")
    x, y = button.to_window(*button.center)
    for _ in range(2):  # two taps within one frame: the finger bounced
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        touch.touch_up()
    screens.frames(3)
    assert len(kiosk.store.tickets()) == 1
    assert kiosk.desk.issue(service.id).ticket.id == kiosk.store.tickets()[0].id  # a third, programmatic one


def test_language_switch(screens):
    assert "Возьмите талон электронной очереди" in screens.texts()
    screens.tap("lang-en")
    assert "Take a queue ticket" in screens.texts()
    assert "Strogino public services center" in screens.texts()
    screens.tap("categories")
    assert first_category(screens).name.en in screens.texts()
    screens.tap("back")
    screens.tap("lang-ru")
    screens.tap("categories")
    assert first_category(screens).name.ru in screens.texts()


def test_idle_timeout_returns_home_and_resets_for_the_next_visitor(screens, clock):
    screens.tap("lang-en")
    screens.tap("large-text")
    screens.tap("categories")
    clock.advance(seconds=30)
    screens.app.tick()
    assert screens.screen == "categories"
    clock.advance(seconds=31)
    screens.app.tick()
    assert screens.screen == "home"
    assert screens.app.lang == "ru" and not screens.app.large


def test_closed_outside_working_hours(screens, clock):
    clock.set(clock.now().replace(hour=17, minute=30))  # 20:30 in Moscow
    screens.app.tick()
    assert screens.screen == "closed"
    assert "Центр закрыт" in screens.texts()
    assert "Мы откроемся завтра в 08:00." in screens.texts()
    clock.set(clock.now().replace(hour=3, minute=0))
    clock.advance(days=1)  # Tuesday 06:00 in Moscow
    screens.app.tick()
    assert "Мы откроемся сегодня в 08:00." in screens.texts()
    clock.advance(hours=2)  # 08:00
    screens.app.tick()
    assert screens.screen == "home"


def load_figures(quietest_tuesday):
    hours = {wd: [0.0] * 8 + [5.0] * 12 + [0.0] * 4 for wd in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    return {"hours": hours, "busiest": {wd: 12 for wd in hours},
            "quietest": {wd: (quietest_tuesday if wd == "tue" else [19]) for wd in hours}}


def test_the_closed_screen_names_the_quietest_hours_of_the_day_it_opens(screens, clock):
    figures = {"answer": load_figures([15, 9])}
    screens.app.load_figures = lambda: figures["answer"]
    clock.set(clock.now().replace(hour=17, minute=30))  # Monday 20:30 in Moscow: open again on Tuesday
    screens.app.tick()
    assert screens.find(tag="best-time").text == "Меньше всего посетителей завтра: 09:00–10:00, 15:00–16:00"
    screens.frames(2)  # laid out, so the tap lands on the button
    screens.tap(text="English")
    assert screens.find(tag="best-time").text == "Fewest visitors tomorrow: 09:00–10:00, 15:00–16:00"
    for nothing in (None, {"hours": "garbled"}, load_figures([])):  # no hub yet, a bad reply, no quiet hours
        figures["answer"] = nothing
        screens.app.manager.current_screen.refresh()
        assert screens.find(tag="best-time").text == ""


def test_printer_out_of_paper_gives_an_on_screen_ticket_and_a_staff_banner(screens, kiosk, printer):
    printer.state.paper = "out"
    take_from_first_category(screens)
    assert screens.wait_until(lambda: result_printed(screens))
    assert "Сфотографируйте этот экран" in screens.find(tag="print-state").text
    ticket = kiosk.store.tickets()[-1]
    assert kiosk.store.ticket(ticket.id).print_status == "failed"
    events = [e for e in kiosk.store.outbox() if e["type"] == "printer.status"]
    # "ok" before, or "no_status" when the kiosk's first look at start missed the answer (a busy machine)
    assert events[-1]["body"]["status"] == "paper_out" and events[-1]["body"]["previous"] in ("ok", "no_status")
    screens.tap("done")
    assert "Принтер: нет бумаги" in screens.texts()
    # The next visitor, still without paper, sees the on-screen ticket at once.
    take_from_first_category(screens)
    assert "Сфотографируйте этот экран" in screens.find(tag="print-state").text
    printer.state.paper = "ok"


def test_large_text_high_contrast(screens):
    normal_unit = screens.app.unit
    screens.tap("large-text")
    assert screens.app.unit > normal_unit
    assert tuple(screens.app.theme.bg) == (0, 0, 0, 1)
    assert tuple(screens.app.theme.fg) == (1, 1, 0, 1)


def inside_window(widget) -> bool:
    x, y = widget.to_window(widget.x, widget.y)
    return x >= -1 and y >= -1 and x + widget.width <= Window.width + 1 and y + widget.height <= Window.height + 1


@pytest.mark.parametrize("size", [(1280, 800), (800, 480), (800, 1280), (480, 800)])
def test_layouts_fit_every_panel(screens, tmp_path, size):
    screens.resize(size)
    for tag in ("categories", "situations", "search", "lang-ru", "lang-en", "large-text"):
        assert inside_window(screens.find(tag=tag)), (size, tag)
    take_from_first_category(screens)
    for tag in ("ticket-number", "qr", "done", "people-ahead", "wait"):
        widget = screens.find(tag=tag)
        assert inside_window(widget), (size, tag)
    number = screens.find(tag="ticket-number")
    assert number.texture_size[0] <= Window.width
    shot = screens.screenshot(tmp_path / f"result-{size[0]}x{size[1]}.png")
    image = Image.open(shot)
    assert image.size == size
    assert ImageStat.Stat(image.convert("L")).stddev[0] > 20  # not a blank screen


@pytest.mark.parametrize("size", [(1280, 800), (800, 480), (800, 1280), (480, 800), (1080, 1920)])
def test_the_header_keeps_its_buttons_on_screen_and_its_title_readable_in_large_text(screens, size):
    screens.resize(size)
    screens.tap("large-text")
    screens.tap("categories")
    category = first_category(screens)
    screens.tap(f"category:{category.id}")
    for tag in ("back", "home", "large-text"):
        button = screens.find(tag=tag)
        assert inside_window(button), (size, tag)
        assert button.texture_size[0] <= button.width, (size, tag)  # its words fit its frame
    header = next(w for w in screens.app.root.walk() if type(w).__name__ == "Header" and w.get_root_window())
    assert header.title
    shown = [w for w in header.walk() if isinstance(w, Label) and w.text == header.title
             and w.parent.opacity > 0 and w.parent.height > 0]
    assert len(shown) == 1, (size, "the title is not in the header")
    whole = CoreLabel(text=header.title, font_size=shown[0].font_size, bold=shown[0].bold)
    whole.refresh()
    assert whole.texture.size[0] <= shown[0].width, (size, "the title is cut short")
