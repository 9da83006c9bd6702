"""The hub's end of the link to the city: the outbox its triggers fill, joining and leaving, and
the forwarder, against a small city in this process that keeps the wire's promises (each id
stored once, the snapshot of the highest seq kept, `last_seq`) and can fail as a network does."""
from __future__ import annotations

import json
import os
import stat
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from requests.adapters import BaseAdapter
from requests.models import PreparedRequest, Response
from requests.structures import CaseInsensitiveDict

from hub import city_link, city_outbox
from hub.city_forwarder import CityForwarder, ForwardError
from mfc_edge import city_protocol as cp
from mfc_edge.cli import main
from tests.helpers.center import CENTER, InProcessCenter
from tests.helpers.day import at

CODE = "ABCD-EFGH-JKLM-NPQR"


class FakeCity(BaseAdapter):
    """The city's two paths, in memory. `down`: unreachable; `lose_replies`: the city stores the
    batch and the answer is lost on the way back; `busy`: 429 with Retry-After; `refuse_type`:
    records of that type are rejected."""

    def __init__(self, centers: tuple[str, ...] = (CENTER,)):
        super().__init__()
        self.centers, self.token = list(centers), "city-token-0123456789abcdef"
        self.log: dict[tuple[str, str], dict[str, Any]] = {}
        self.order: list[str] = []  # ids in the order stored
        self.rows: dict[tuple[str, str, str], dict[str, Any]] = {}  # (type, center, key) -> newest snapshot
        self.last_seq, self.posts = 0, 0
        self.down = self.lose_replies = False
        self.busy: str | None = None
        self.refuse_type: str | None = None

    def send(self, request: PreparedRequest, **kwargs: Any) -> Response:  # type: ignore[override]
        if self.down:
            raise requests.ConnectionError("the city is out of reach")
        body = json.loads(request.body or b"{}")
        path = (request.url or "").split("://", 1)[1].split("/", 1)[1]
        if "/" + path == cp.CITY_ENROLL_PATH:
            if body.get("code") != CODE:
                return self._reply(request, 403, {"detail": "unknown or used code"})
            return self._reply(request, 200, {"token": self.token, "hub": body["hub"], "centers": self.centers,
                                              "bundle_key": None})
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return self._reply(request, 401, {"detail": "unknown token"})
        if self.busy is not None:
            return self._reply(request, 429, {"detail": "busy"}, {"Retry-After": self.busy})
        self.posts += 1
        results = [self._take(r) for r in body["records"]]
        if self.lose_replies and body["records"]:
            raise requests.ConnectionError("the connection dropped after the city answered")
        return self._reply(request, 200, {"results": results, "last_seq": self.last_seq})

    def _take(self, r: dict[str, Any]) -> dict[str, Any]:
        if r["center"] not in self.centers or r["type"] == self.refuse_type:
            return {"id": r["id"], "status": "rejected", "reason": f"not taken: {r['type']}"}
        if (r["center"], r["id"]) in self.log:
            return {"id": r["id"], "status": "duplicate"}
        self.log[r["center"], r["id"]] = r
        self.order.append(r["id"])
        self.last_seq = max(self.last_seq, r["seq"])
        key = {cp.HUB_TICKET: "number", cp.HUB_WINDOW: "window", cp.HUB_RATING: "event", cp.HUB_CENTER: None,
               cp.HUB_DEVICE: None}
        if r["type"] in key:
            k = (r["type"], r["center"], r["body"][key[r["type"]]] if key[r["type"]] else r["device"])
            if k not in self.rows or self.rows[k]["seq"] < r["seq"]:
                self.rows[k] = r
        return {"id": r["id"], "status": "stored"}

    @staticmethod
    def _reply(request: PreparedRequest, status: int, payload: dict[str, Any],
               headers: dict[str, str] | None = None) -> Response:
        reply = Response()
        reply.status_code, reply.request, reply.url = status, request, request.url or ""
        reply.headers = CaseInsensitiveDict({"Content-Type": "application/json", **(headers or {})})
        reply._content = json.dumps(payload).encode()
        return reply

    def close(self) -> None:
        pass

    def tickets(self) -> dict[str, dict[str, Any]]:
        return {k[2]: r["body"] for k, r in self.rows.items() if k[0] == cp.HUB_TICKET}


@pytest.fixture
def center(tmp_path: Path):
    c = InProcessCenter(tmp_path, at(10))
    yield c
    c.close()


def hub_folder(center: InProcessCenter) -> Path:
    return center.folder / "hub"


def outbox(center: InProcessCenter) -> list[dict[str, Any]]:
    return list(center.hub.db.db.query("SELECT * FROM city_outbox ORDER BY seq"))


def some_visits(center: InProcessCenter, count: int = 3) -> None:
    kiosk = center.kiosks[0] if center.kiosks else center.add_kiosk("kiosk-1", (1, 99))
    for _ in range(count):
        kiosk.issue()
    assert kiosk.sync_now()
    center.advance(minutes=5)
    center.call_all(["passport-rf"])


def joined(center: InProcessCenter, city: FakeCity) -> CityForwarder:
    city_link.join(center.hub.db, hub_folder(center), "https://city.test", CODE, "hub-1", transport=city)
    return CityForwarder(center.hub.db, hub_folder(center), transport=city)


def test_an_unlinked_hub_writes_nothing_for_the_city(center):
    some_visits(center)
    assert center.tickets() and outbox(center) == []


def test_joining_sends_what_the_hub_holds_and_every_change_after(center):
    some_visits(center)
    city = FakeCity()
    forwarder = joined(center, city)
    token_file = hub_folder(center) / city_link.TOKEN_FILE
    assert token_file.read_text() == city.token and stat.S_IMODE(os.stat(token_file).st_mode) == 0o600
    events = [r["id"] for r in center.hub.db.db.query("SELECT id FROM events ORDER BY received_at, rowid")]
    assert [r["id"] for r in outbox(center) if not r["type"].startswith("hub.")] == events

    forwarder.drain()
    assert outbox(center) == [] and [i for i in city.order if i in set(events)] == events
    kiosk = center.kiosks[0]
    kiosk.issue()
    assert kiosk.sync_now()
    center.advance(minutes=3)
    center.call_all(["passport-rf"], window="6")
    forwarder.drain()
    hub_tickets = {t["number"]: t for t in center.tickets()}
    assert city.tickets().keys() == hub_tickets.keys()
    for number, t in hub_tickets.items():
        sent = city.tickets()[number]
        assert (sent["state"], sent["called_at"], sent["finished_at"], sent["window"]) == (
            t["state"], t["called_at"], t["finished_at"], t["window"])
        assert sent["first_called_at"] == t["called_at"]  # each was called once
    seqs = [city.log[CENTER, i]["seq"] for i in city.order]
    assert seqs == sorted(seqs) and len(set(city.order)) == len(city.order)
    assert city_link.status(center.hub.db)["waiting"] == 0


def test_a_ticket_called_by_number_before_its_event_stays_one_ticket(center):
    kiosk = center.add_kiosk("kiosk-1", (1, 99))
    city = FakeCity()
    forwarder = joined(center, city)
    printed = kiosk.issue()  # its kiosk is cut off: the hub has not heard of it
    center.hub.queue.open_window(CENTER, "5", ["passport-rf"], "ivanova")
    called = center.hub.queue.call_number(CENTER, "5", printed.number, "passport-rf")
    forwarder.drain()
    assert city.tickets()[printed.number]["awaiting_event"] is True
    center.advance(minutes=2)
    assert kiosk.sync_now()  # the kiosk's event comes: the hub's row takes the kiosk's id
    forwarder.drain()
    sent = city.tickets()[printed.number]
    assert sent["replaces"] == called["id"] != printed.id and sent["awaiting_event"] is False
    assert sent["first_called_at"] == called["called_at"] and sent["state"] == "called"
    assert city.rows[cp.HUB_WINDOW, CENTER, "5"]["body"]["services"] == ["passport-rf"]


def test_the_triggers_look_rows_up_by_index(center):
    db = center.hub.db.db
    for select in (f"SELECT {city_outbox.ticket_body('t', 't.id, ?')} FROM tickets t WHERE t.id = ?",
                   f"SELECT {city_outbox.device_body('d')} FROM devices d WHERE d.center = ? AND d.id = ?",
                   "SELECT 1 FROM city_centers WHERE center = ? AND ? IS NOT NULL"):
        plan = " / ".join(row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {select}", ["a", "b"]))
        assert "SCAN" not in plan, plan


def test_refused_records_are_kept_aside_with_the_reason(center):
    some_visits(center, 1)
    city = FakeCity()
    city.refuse_type = cp.HUB_WINDOW
    forwarder = joined(center, city)
    forwarder.drain()
    assert outbox(center) == []
    aside = list(center.hub.db.db.query("SELECT type, reason FROM city_rejected"))
    assert aside and {r["type"] for r in aside} == {cp.HUB_WINDOW} and aside[0]["reason"] == "not taken: hub.window"


def test_a_busy_city_is_obeyed_and_an_outage_is_told(center):
    some_visits(center, 1)
    city = FakeCity()
    forwarder = joined(center, city)
    waiting = len(outbox(center))
    city.busy = "7"
    with pytest.raises(ForwardError) as busy:
        forwarder.push_once()
    assert busy.value.retry_after == 7.0 and len(outbox(center)) == waiting
    city.busy, city.down = None, True
    with pytest.raises(ForwardError, match="cannot be reached"):
        forwarder.push_once()
    found = city_link.status(center.hub.db)
    assert found["waiting"] == waiting and "cannot be reached" in found["last_error"]
    city.down = False
    assert forwarder.drain() == waiting and city_link.status(center.hub.db)["last_success_at"]


def test_a_reply_lost_after_storing_stores_nothing_twice(center):
    some_visits(center, 2)
    city = FakeCity()
    forwarder = joined(center, city)
    sent = {r["id"] for r in outbox(center)}
    city.lose_replies = True
    with pytest.raises(ForwardError):
        forwarder.drain()
    assert len(outbox(center)) == len(sent) and set(city.order) == sent  # stored, not yet forgotten by the hub
    city.lose_replies = False
    forwarder.drain()
    assert outbox(center) == [] and len(city.order) == len(sent)


def test_small_batches_keep_the_order(center):
    some_visits(center, 4)
    city = FakeCity()
    city_link.join(center.hub.db, hub_folder(center), "https://city.test", CODE, "hub-1", transport=city)
    forwarder = CityForwarder(center.hub.db, hub_folder(center), transport=city, max_records=3, max_bytes=2000)
    expected = [r["id"] for r in outbox(center)]
    forwarder.drain()
    assert city.order == expected and city.posts > len(expected) // 3


def test_a_hub_restored_from_a_backup_numbers_above_what_the_city_has_seen(center):
    some_visits(center, 2)
    city = FakeCity()
    forwarder = joined(center, city)
    city.last_seq = 10_000  # what the hub had sent before the backup it was restored from
    lowest = outbox(center)[0]["seq"]
    assert lowest < 10_000
    forwarder.drain()
    # Every ticket's snapshot in the city is the hub's present state, sent above the old numbers.
    hub_tickets = {t["number"]: t["state"] for t in center.tickets()}
    assert {n: b["state"] for n, b in city.tickets().items()} == hub_tickets
    assert all(r["seq"] > 10_000 for r in city.rows.values())
    center.advance(minutes=1)
    center.kiosks[0].issue()
    assert center.kiosks[0].sync_now()
    assert min(r["seq"] for r in outbox(center)) > 10_000


def test_joining_fails_in_one_line(center, tmp_path):
    city = FakeCity()
    folder = hub_folder(center)
    with pytest.raises(city_link.CityLinkError, match=r"refused the code \(403: unknown or used code\)"):
        city_link.join(center.hub.db, folder, "https://city.test", "WRONG", "hub-1", transport=city)
    city.down = True
    with pytest.raises(city_link.CityLinkError, match="cannot be reached"):
        city_link.join(center.hub.db, folder, "https://city.test", CODE, "hub-1", transport=city)
    bad_ca = tmp_path / "ca.pem"
    bad_ca.write_text("not a certificate")
    with pytest.raises(city_link.CityLinkError, match="CA file"):
        city_link.join(center.hub.db, folder, "https://city.test", CODE, "hub-1", bad_ca, transport=city)
    with pytest.raises(city_link.CityLinkError, match="http:// or https://"):
        city_link.join(center.hub.db, folder, "ftp://city.test", CODE, "hub-1", transport=city)
    assert city_link.link_of(center.hub.db) is None and not (folder / city_link.TOKEN_FILE).exists()
    city.down = False
    city_link.join(center.hub.db, folder, "https://city.test", CODE, "hub-1", transport=city)
    with pytest.raises(city_link.CityLinkError, match="already linked"):
        city_link.join(center.hub.db, folder, "https://city.test", CODE, "hub-1", transport=city)


def test_leaving_stops_the_records(center):
    city = FakeCity()
    joined(center, city)
    some_visits(center, 1)
    assert outbox(center)
    assert city_link.leave(center.hub.db, hub_folder(center)) > 0
    some_visits(center, 1)
    assert outbox(center) == [] and not (hub_folder(center) / city_link.TOKEN_FILE).exists()
    with pytest.raises(city_link.CityLinkError, match="not linked"):
        city_link.leave(center.hub.db, hub_folder(center))


def test_the_forwarder_beats_when_idle(center):
    city = FakeCity()
    forwarder = joined(center, city)
    forwarder.drain()
    posts = city.posts
    forwarder.beat()
    assert city.posts == posts + 1 and outbox(center) == []


def test_command_line(tmp_path, capsys):
    data = tmp_path / "hub"
    assert main(["hub", "city-status", "--data", str(data)]) == 0
    assert "not linked" in capsys.readouterr().out
    bad_ca = tmp_path / "ca.pem"
    bad_ca.write_text("nothing")
    for extra, said in ((["--ca-file", str(bad_ca)], "CA file"), ([], "cannot be reached")):
        assert main(["hub", "join-city", "--data", str(data), "--city", "http://127.0.0.1:9", "--code", CODE,
                     "--hub", "hub-1", *extra]) == 2
        err = capsys.readouterr().err
        assert said in err and err.count("\n") == 1 and "Traceback" not in err
    assert main(["hub", "leave-city", "--data", str(data)]) == 2
    assert "not linked" in capsys.readouterr().err


def test_status_lines_say_the_age_of_the_oldest():
    from mfc_edge.cli.hub_city_commands import status_lines

    now = at(12)
    found = {"url": "https://city.test", "hub": "hub-1", "centers": [CENTER], "joined_at": "2026-11-23T07:00:00",
             "waiting": 4, "oldest_at": (now - timedelta(hours=2, minutes=5)).isoformat(), "last_success_at": None,
             "last_error": "the city cannot be reached (ConnectionError)", "last_error_at": "2026-11-23T08:59:00",
             "rejected": 0}
    lines = status_lines(found, now)
    assert "4 records" in lines[1] and "2 h 5 min ago" in lines[1] and lines[2] == "last success: never"
    assert "cannot be reached" in lines[3]


def test_a_device_goes_offline_in_the_city_as_the_hub_s_alert_sweep_judged_it(center):
    city = FakeCity()
    forwarder = joined(center, city)
    kiosk = center.add_kiosk("kiosk-1", (1, 99))
    assert kiosk.sync_now()
    center.hub.alerts.sweep()
    forwarder.drain()
    device = city.rows[cp.HUB_DEVICE, CENTER, "kiosk-1"]["body"]
    assert (device["role"], device["online"], device["revoked"]) == ("kiosk", True, False)
    center.advance(minutes=10)  # not a word from it since
    center.hub.alerts.sweep()
    forwarder.drain()
    device = city.rows[cp.HUB_DEVICE, CENTER, "kiosk-1"]["body"]
    assert device["online"] is False and device["since"] <= center.hub.db.now().isoformat()


class WrongCity(FakeCity):
    """Answers the log with `reply` instead of a log reply."""

    reply: Any = None

    def send(self, request: PreparedRequest, **kwargs: Any) -> Response:  # type: ignore[override]
        if (request.url or "").endswith(cp.CITY_LOG_PATH):
            return self._reply(request, 200, self.reply)
        return super().send(request, **kwargs)


@pytest.mark.parametrize("reply", [[], {"results": []}, {"results": 3, "last_seq": 1},
                                   {"results": [], "last_seq": 10**30}, {"results": [], "last_seq": "7"},
                                   {"results": [], "last_seq": -1}])
def test_a_reply_that_is_not_a_log_reply_changes_nothing(center, reply):
    some_visits(center, 1)
    city = WrongCity()
    city.reply = reply
    forwarder = joined(center, city)
    before = outbox(center)
    with pytest.raises(ForwardError, match="not a log reply"):
        forwarder.push_once()
    assert outbox(center) == before and "not a log reply" in city_link.status(center.hub.db)["last_error"]


@pytest.mark.parametrize("answer", [{"token": "short", "hub": "hub-1", "centers": [CENTER]},
                                    {"token": "t" * 40, "hub": "../hub", "centers": [CENTER]},
                                    {"token": "t" * 40, "hub": "hub-1", "centers": []},
                                    {"token": "t" * 40, "hub": "hub-1", "centers": ["a/b"]}, []])
def test_an_answer_to_the_code_that_is_not_an_enrollment_links_nothing(center, answer):
    class OddCity(FakeCity):
        def send(self, request: PreparedRequest, **kwargs: Any) -> Response:  # type: ignore[override]
            return self._reply(request, 200, answer)

    with pytest.raises(city_link.CityLinkError, match="not an enrollment"):
        city_link.join(center.hub.db, hub_folder(center), "https://city.test", CODE, "hub-1", transport=OddCity())
    assert city_link.link_of(center.hub.db) is None and not (hub_folder(center) / city_link.TOKEN_FILE).exists()
