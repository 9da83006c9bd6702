"""The load chart: visitors by weekday and hour in the center's local time, from tickets that
went through the hub's real ingest path into its SQLite file, and served at /api/v1/load."""
from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests

from hardware.clock import ManualClock
from hub.api import Hub
from hub.centers import CenterError
from hub.identity import Device
from hub.load import load_figures
from hub.server import HubThread
from mfc_edge import protocol
from tests.helpers.day import MONDAY_10AM, TEST_DAY

MSK, YEKT, BERLIN = ZoneInfo("Europe/Moscow"), ZoneInfo("Asia/Yekaterinburg"), ZoneInfo("Europe/Berlin")
TODAY = TEST_DAY  # a Monday; the window is the 8 weeks of days before it
NOW = MONDAY_10AM
MONDAYS = [TODAY - timedelta(weeks=w) for w in range(8, 0, -1)]  # 2026-09-28 .. 2026-11-16
CLOSED = {date(2026, 10, 12), date(2026, 11, 2)}


def issue(hub: Hub, center: str, moments: list[datetime]) -> None:
    """Tickets issued at the given aware moments, through the hub's ingest of device events."""
    events = []
    for n, at in enumerate(moments):
        body = {"ticket": uuid.uuid4().hex, "number": f"П{n % 1000:03d}", "service": "passport-rf",
                "day": at.date().isoformat(), "priority": False, "issued_at": at.isoformat(),
                "status_token": uuid.uuid4().hex}
        events.append(protocol.make_event(protocol.TICKET_ISSUED, center, "kiosk-1", at, body))
    for start in range(0, len(events), protocol.MAX_BATCH_EVENTS):
        batch = events[start:start + protocol.MAX_BATCH_EVENTS]
        outcomes = hub.events.ingest(Device(center, "kiosk-1", "kiosk"), batch)
        assert {o.status for o in outcomes} == {"stored"}, outcomes[:3]


def at(day: date, hour: int, minute: int = 30, zone: ZoneInfo = MSK, n: int = 1) -> list[datetime]:
    return [datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)] * n


@pytest.fixture
def hub(tmp_path):
    found = Hub(tmp_path / "hub", clock=ManualClock(NOW))
    yield found
    found.close()


def monday_history(hub: Hub, center: str = "strogino", zone: ZoneInfo = MSK) -> None:
    open_mondays = [d for d in MONDAYS if d not in CLOSED]
    moments = []
    for i, day in enumerate(open_mondays):
        moments += at(day, 9, zone=zone) + at(day, 10, zone=zone, n=4) + at(day, 11, zone=zone, n=2)
        moments += at(day, 12, zone=zone, n=3)
        if i < 3:
            moments += at(day, 14, zone=zone, n=3)  # 9 tickets over 6 days: 1.5 an hour
    moments += at(open_mondays[0], 21, zone=zone)  # one stray late ticket, on one day only
    moments += at(TODAY, 8, zone=zone, n=5)  # today: not a whole day yet
    moments += at(TODAY - timedelta(weeks=9), 10, zone=zone, n=7)  # before the window
    moments += at(date(2026, 11, 17), 13, zone=zone, n=5)  # one Tuesday
    issue(hub, center, moments)


def test_averages_count_only_days_the_center_worked(hub):
    monday_history(hub)
    issue(hub, "other-center", at(MONDAYS[0], 10, n=50))
    figures = load_figures(hub.db.db, "strogino", MSK, TODAY)
    assert figures["days"] == {"mon": 6, "tue": 1, "wed": 0, "thu": 0, "fri": 0, "sat": 0, "sun": 0}
    mon = figures["hours"]["mon"]
    assert (mon[9], mon[10], mon[11], mon[12], mon[14]) == (1.0, 4.0, 2.0, 3.0, 1.5)
    assert mon[21] == round(1 / 6, 2)
    assert mon[8] == 0.0 and sum(mon) == pytest.approx(1 + 4 + 2 + 3 + 1.5 + round(1 / 6, 2))
    assert figures["busiest"]["mon"] == 10
    # 21:00 is quieter still, but the center did not work then: one ticket on one day.
    assert figures["quietest"]["mon"] == [9, 11, 14]
    assert figures["hours"]["tue"][13] == 5.0 and figures["busiest"]["tue"] == 13
    assert figures["quietest"]["tue"] == []  # the only working hour is the busiest
    assert figures["busiest"]["wed"] is None and figures["quietest"]["wed"] == [] and sum(figures["hours"]["wed"]) == 0
    assert (figures["since"], figures["until"]) == ("2026-09-28", "2026-11-22")


def test_fewer_weeks_count_fewer_days(hub):
    monday_history(hub)
    figures = load_figures(hub.db.db, "strogino", MSK, TODAY, weeks=2)  # 2026-11-09 and 2026-11-16
    assert figures["days"]["mon"] == 2 and figures["hours"]["mon"][14] == 0.0 and figures["hours"]["mon"][10] == 4.0


def test_local_time_of_the_center_decides_day_and_hour(hub):
    # 23:30 in Moscow on a Sunday is 01:30 on Monday in Yekaterinburg, and 20:30 in UTC.
    issue(hub, "strogino", at(date(2026, 11, 15), 23, zone=MSK, n=2) + at(date(2026, 11, 16), 0, minute=10, n=3))
    moscow = load_figures(hub.db.db, "strogino", MSK, TODAY)
    assert moscow["hours"]["sun"][23] == 2.0 and moscow["hours"]["mon"][0] == 3.0
    yekaterinburg = load_figures(hub.db.db, "strogino", YEKT, TODAY)
    assert yekaterinburg["hours"]["sun"] == [0.0] * 24
    assert yekaterinburg["hours"]["mon"][1] == 2.0 and yekaterinburg["hours"]["mon"][2] == 3.0
    utc = load_figures(hub.db.db, "strogino", ZoneInfo("UTC"), TODAY)
    assert utc["hours"]["sun"][20] == 2.0 and utc["hours"]["sun"][21] == 3.0 and utc["timezone"] == "UTC"


def test_summer_time_change_keeps_the_local_hour(hub):
    # Berlin leaves summer time on 2026-10-25: UTC hours of a 10:30 ticket differ, the local hour does not.
    monday_history(hub, "berlin", BERLIN)
    figures = load_figures(hub.db.db, "berlin", BERLIN, TODAY)
    assert figures["days"]["mon"] == 6 and figures["hours"]["mon"][10] == 4.0 and figures["busiest"]["mon"] == 10


def test_set_center_validates_the_zone_and_the_chart_follows_it(hub):
    assert hub.centers.timezone_name("strogino") == "Europe/Moscow"  # never set
    with pytest.raises(CenterError, match="'Europe/Mosco' is unknown"):
        hub.centers.set("strogino", "Europe/Mosco")
    with pytest.raises(CenterError, match="unknown"):
        hub.centers.set("strogino", "../../etc/passwd")
    assert hub.centers.get("strogino") is None  # nothing half-set
    issue(hub, "strogino", at(date(2026, 11, 16), 10, n=2))
    assert hub.load.get("strogino")[1]["hours"]["mon"][10] == 2.0
    hub.centers.set("strogino", "Asia/Yekaterinburg", "Строгино")
    hub.load.forget("strogino")
    _, figures = hub.load.get("strogino")
    assert figures["timezone"] == "Asia/Yekaterinburg" and figures["hours"]["mon"][12] == 2.0
    hub.centers.set("strogino", "UTC")
    assert hub.centers.get("strogino")["name"] == "Строгино"  # kept when not given


def test_set_center_command(tmp_path):
    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "mfc_edge.cli", "hub", "set-center", "--data", str(tmp_path),
                               "--center", "strogino", *args], capture_output=True, text=True)

    bad = run("--timezone", "Moscow")
    assert bad.returncode == 2 and "time zone 'Moscow' is unknown" in bad.stderr
    good = run("--timezone", "Asia/Yekaterinburg", "--name", "Строгино")
    assert good.returncode == 0, good.stderr
    assert "Asia/Yekaterinburg" in good.stdout
    hub = Hub(tmp_path)
    try:
        assert hub.centers.timezone_name("strogino") == "Asia/Yekaterinburg"
    finally:
        hub.close()
    helped = subprocess.run([sys.executable, "-m", "mfc_edge.cli", "hub", "set-center", "--help"],
                            capture_output=True, text=True)
    assert "Europe/Moscow" in helped.stdout


def test_load_endpoint_with_etag_and_cache(hub):
    monday_history(hub)
    code = hub.identity.create_code("strogino", "signage")
    with HubThread(hub) as server:
        token = requests.post(f"{server.url}/api/v1/enroll", json={"code": code, "device_id": "screen-1"},
                              timeout=10).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        assert requests.get(f"{server.url}/api/v1/load", timeout=10).status_code == 401
        first = requests.get(f"{server.url}/api/v1/load", headers=auth, timeout=10)
        assert first.status_code == 200
        body, etag = first.json(), first.headers["ETag"]
        assert body["center"] == "strogino" and body["weeks"] == 8 and body["busiest"]["mon"] == 10
        assert body["quietest"]["mon"] == [9, 11, 14] and len(body["hours"]["sun"]) == 24
        assert body["computed_at"].startswith(f"{TEST_DAY}T07:00")
        same = requests.get(f"{server.url}/api/v1/load", headers={**auth, "If-None-Match": etag}, timeout=10)
        assert same.status_code == 304 and same.content == b""
        # A ticket of last week arrives late. Within the cache's age the answer stands...
        issue(hub, "strogino", at(date(2026, 11, 16), 18, n=6))
        assert requests.get(f"{server.url}/api/v1/load", headers={**auth, "If-None-Match": etag},
                            timeout=10).status_code == 304
        # ...and once computed again it changes.
        hub.load.max_age = 0
        changed = requests.get(f"{server.url}/api/v1/load", headers={**auth, "If-None-Match": etag}, timeout=10)
        assert changed.status_code == 200 and changed.headers["ETag"] != etag
        assert changed.json()["hours"]["mon"][18] == 1.0
        # Computed again with nothing new: the same figures keep their tag, whatever computed_at says.
        hub.db._clock.set(NOW + timedelta(minutes=7))
        again = requests.get(f"{server.url}/api/v1/load", headers={**auth, "If-None-Match": changed.headers["ETag"]},
                             timeout=10)
        assert again.status_code == 304
        assert requests.get(f"{server.url}/api/v1/load?weeks=0", headers=auth, timeout=10).status_code == 422
        four = requests.get(f"{server.url}/api/v1/load?weeks=2", headers=auth, timeout=10).json()
        assert four["weeks"] == 2 and four["days"]["mon"] == 2
        documented = requests.get(f"{server.url}/openapi.json", timeout=10).json()
        schema = documented["paths"]["/api/v1/load"]["get"]["responses"]["200"]["content"]["application/json"]
        assert schema["schema"]["$ref"].endswith("/Load")
