"""«Когда лучше прийти» on the real kiosk screens, offscreen, reached by a touch from the start."""
from __future__ import annotations

WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def load_figures() -> dict:
    """Open 08:00-20:00; Monday (the test day) busiest at noon and quietest at 09:00 and 15:00."""
    hours = {wd: [0.0] * 8 + [4.0] * 12 + [0.0] * 4 for wd in WEEK}
    hours["mon"] = [0.0] * 8 + [3.0, 1.0, 6.0, 8.0, 12.0, 7.0, 5.0, 1.5, 4.0, 6.0, 5.0, 3.0] + [0.0] * 4
    return {"hours": hours, "busiest": {wd: 12 for wd in WEEK},
            "quietest": {wd: ([15, 9] if wd == "mon" else [8]) for wd in WEEK}}


def cell_rows(screens) -> list[list]:
    grid = screens.find(tag="load-grid")
    cells = list(reversed(grid.children))  # Kivy keeps children newest first
    return [cells[i:i + grid.cols] for i in range(0, len(cells), grid.cols)]


def test_the_week_by_hour_with_today_marked_and_its_quietest_hours_named(screens, kiosk):
    screens.app.load_figures = load_figures
    first = kiosk.catalog.categories[0]
    service = kiosk.catalog.in_category(first.id)[0]
    estimates = {s.id: {"ahead": 0, "minutes": 0} for s in kiosk.catalog.services}
    estimates[service.id] = {"ahead": 4, "minutes": 18}
    kiosk.desk.estimator.feed = lambda: {"estimates": estimates}  # the hub's live feed
    screens.tap("when")
    assert screens.screen == "when"
    rows = cell_rows(screens)
    assert [c.text for c in rows[0]] == ["", *[f"{h:02d}" for h in range(8, 20)]]
    assert [r[0].text for r in rows[1:]] == ["Пн", "Вт", "Ср", "Чт", "Пт", "Сб", "Вс"]
    monday = rows[1]
    assert [c.text for c in monday[1:]] == ["3", "1", "6", "8", "12", "7", "5", "2", "4", "6", "5", "3"]
    assert all(c.today for c in monday) and not any(c.today for row in rows[2:] for c in row)
    assert monday[5].level == 1.0 and monday[2].level == 1 / 12  # shaded by the week's busiest hour
    assert [c.quiet for c in monday[1:]].count(True) == 2
    assert screens.find(tag="quietest").text == "Меньше всего посетителей сегодня: 09:00–10:00, 15:00–16:00"
    assert screens.find(tag=f"wait:{first.id}").wait == "до 18 мин"
    others = [c for c in kiosk.catalog.categories if service not in kiosk.catalog.in_category(c.id)]
    assert screens.find(tag=f"wait:{others[0].id}").wait == "Без ожидания"
    assert screens.find(tag="waits-note").text == ""
    screens.tap("back")
    assert screens.screen == "home"
    screens.tap("lang-en")
    screens.tap("when")
    assert "When to come" in screens.texts()
    assert screens.find(tag="quietest").text == "Fewest visitors today: 09:00–10:00, 15:00–16:00"
    assert [r[0].text for r in cell_rows(screens)[1:3]] == ["Mon", "Tue"]


def test_offline_the_waits_are_the_kiosks_own_and_marked_approximate(screens, kiosk):
    """No hub: no feed and no load figures yet; the kiosk's own tickets make its guess."""
    first = kiosk.catalog.categories[0]
    service = kiosk.catalog.in_category(first.id)[0]
    for _ in range(3):
        kiosk.desk.issue(service.id)
    screens.tap("when")
    assert screens.find(tag="no-figures").text == "Данные о загрузке центра ещё не получены."
    assert screens.find(tag="quietest").text == ""
    assert len(screens.find(tag="load-grid").children) == 0
    wait = screens.find(tag=f"wait:{first.id}").wait
    assert wait.startswith("до ") and wait.endswith("мин\n(приблизительно)")
    assert screens.find(tag="waits-note").text == "Нет связи с очередью: время ожидания примерное."
