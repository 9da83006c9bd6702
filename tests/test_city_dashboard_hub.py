"""The dashboard's figures of a center equal what its own hub shows at the same moment: a real
hub's morning forwarded to a real city, read through the dashboard's drill-down."""
from __future__ import annotations

from datetime import date, datetime

from city.dashboard import drill_down, overview
from hub.reports import Reports
from tests.helpers.center import CENTER, InProcessCenter
from tests.helpers.city import forward_now


def a_morning(center: InProcessCenter) -> None:
    kiosk = center.add_kiosk("kiosk-1", (1, 99))
    queue = center.hub.queue
    queue.open_window(CENTER, "5", ["passport-rf"], "ivanova")
    queue.open_window(CENTER, "6", ["passport-rf"], "petrov")
    for _ in range(6):
        kiosk.issue()
        center.advance(minutes=4)
    assert kiosk.sync_now()
    queue.call_next(CENTER, "5", ["passport-rf"])  # waited 24 minutes
    center.advance(minutes=1)
    queue.start(CENTER, "5")
    center.advance(minutes=8)
    queue.finish(CENTER, "5")
    queue.call_next(CENTER, "6", ["passport-rf"])
    center.advance(minutes=3)


def test_the_dashboard_shows_what_the_hub_shows(linked_center: InProcessCenter, city_server, city_clock) -> None:
    a_morning(linked_center)
    hub = linked_center.hub
    now = hub.db.now()
    city_clock.now = now  # the city hears from the hub now
    forward_now(hub)
    found = drill_down(city_server.city, CENTER)
    assert found is not None and found["silent"] is False
    figures = found["center"]
    hall = hub.hall.today(CENTER)["total"]
    day = date.fromisoformat(hub.hall.service_day(CENTER))
    report = Reports(hub.db, hub.centers).report(CENTER, day, day, "service")["total"]
    waiting = [t for t in linked_center.tickets() if t["state"] == "waiting"]

    assert figures["today"] == day
    assert figures["waiting"] == hall["waiting"] == len(waiting) == 4
    oldest = min(datetime.fromisoformat(t["issued_at"]) for t in waiting)
    assert figures["longest_wait_s"] == int((now - oldest).total_seconds())
    assert figures["issued_today"] == hall["issued"] == 6
    assert figures["within_15_share"] == round(1 - report["over_15_share"], 3)
    assert figures["windows_open"] == len(hub.hall.windows(CENTER)) == 2
    assert [w["window"] for w in found["windows"]] == ["5", "6"]
    assert found["windows"][0]["service_names"] == ["Паспорт гражданина РФ"]
    assert found["waiting_by_service"] == [{"service": "passport-rf", "name_ru": "Паспорт гражданина РФ",
                                            "name_en": "Russian internal passport", "waiting": 4,
                                            "longest_wait_s": figures["longest_wait_s"]}]
    assert sum(h["issued"] for h in found["hours"]) == 6 and sum(h["served"] for h in found["hours"]) == 1
    assert overview(city_server.city)["total"]["waiting"] == 4
