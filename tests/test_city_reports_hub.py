"""The city's SLA report of a center equals the center's own report (hub/reports.py) for the same
history: a real hub's queue worked through a day, its records forwarded to a real city."""
from __future__ import annotations

from datetime import date, datetime

from city.reports import FIGURES, make_report
from hub.reports import Reports
from tests.helpers.center import CENTER, InProcessCenter
from tests.helpers.city import forward_now


def a_day(center: InProcessCenter) -> None:
    """Eight visitors: served, a no-show, one at the window when the day ends, the rest never
    called (expired by the hub after midnight)."""
    kiosk = center.add_kiosk("kiosk-1", (1, 99))
    queue = center.hub.queue
    queue.open_window(CENTER, "5", ["passport-rf"], "ivanova")
    for minutes in (6, 21):  # the first called within 15 minutes, the next not
        for _ in range(4):
            kiosk.issue()
            center.advance(minutes=3)
        assert kiosk.sync_now()
        queue.call_next(CENTER, "5", ["passport-rf"])
        center.advance(minutes=1)
        queue.start(CENTER, "5")
        center.advance(minutes=minutes)
        queue.finish(CENTER, "5")
    queue.call_next(CENTER, "5", ["passport-rf"])
    center.advance(minutes=4)
    queue.no_show(CENTER, "5")
    center.advance(minutes=9)
    queue.call_next(CENTER, "5", ["passport-rf"])  # called, still at the window at the day's end


def test_a_centers_report_in_the_city_is_the_hubs(linked_center: InProcessCenter, city_server, city_clock) -> None:
    a_day(linked_center)
    hub = linked_center.hub
    day = date.fromisoformat(linked_center.tickets()[0]["day"])
    linked_center.advance(hours=14)  # past midnight: the hub closes the day's line
    assert hub.queue.close_past_days(CENTER) == 4
    forward_now(hub)
    city_clock.now = hub.db.now()  # both made at the same moment
    own = Reports(hub.db, hub.centers).report(CENTER, day, day, "service")
    city = make_report(city_server.city, day, day, "service")

    assert own["total"]["issued"] == 8 and own["total"]["expired"] == 4 and own["total"]["no_show"] == 1
    assert 0 < own["total"]["over_15_share"] < 1 and own["total"]["mean_service_minutes"] > 0
    assert {k: v for k, v in own["total"].items() if k in FIGURES} == {k: city["total"][k] for k in FIGURES}
    assert [r["service"] for r in city["rows"]] == [r["service"] for r in own["rows"]] == ["passport-rf"]
    assert {k: city["rows"][0][k] for k in FIGURES} == {k: v for k, v in own["rows"][0].items() if k in FIGURES}
    by_center = make_report(city_server.city, day, day, "center")
    assert [r["center"] for r in by_center["rows"]] == [CENTER]
    assert by_center["total"] == city["total"]
    assert isinstance(datetime.fromisoformat(city["made_at"]), datetime)
