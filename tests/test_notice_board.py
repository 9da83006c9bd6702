"""The device side of urgent notices: what a kiosk's or screen's NoticeBoard shows, by the
device's own clock, from the hub's last answer kept on disk."""
from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from mfc_edge.protocol import NOTICES_PATH
from offline_cache.hub_client import HubClient
from offline_cache.notices import Notice, NoticeBoard, parse_notices
from tests.helpers.hubprocess import free_port

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
NOWHERE = f"http://127.0.0.1:{free_port()}"  # nothing listens there


def wire(id_: str, *, posted_min: int, expires_min: int, services=(), en="") -> dict:
    return {"id": id_, "text_ru": f"Объявление {id_}", "text_en": en, "services": list(services),
            "posted_at": (NOW + timedelta(minutes=posted_min)).isoformat(),
            "expires_at": (NOW + timedelta(minutes=expires_min)).isoformat()}


def saved_answer(path, notices: list) -> None:
    """A cache file as the board's poller writes it after a hub answer."""
    path.write_text(json.dumps({"path": NOTICES_PATH, "etag": '"x"', "saved_at": time.time(),
                                "data": {"notices": notices}}, ensure_ascii=False), encoding="utf-8")


def test_text_falls_back_to_russian_and_services_narrow_who_sees_it():
    center = Notice.from_wire(wire("a", posted_min=-5, expires_min=60, en="Notice a"))
    assert center.text("ru") == "Объявление a" and center.text("en") == "Notice a"
    assert center.concerns("passport") and center.concerns("anything")
    russian_only = Notice.from_wire(wire("b", posted_min=-5, expires_min=60, services=["passport"]))
    assert russian_only.text("en") == "Объявление b"
    assert russian_only.concerns("passport") and not russian_only.concerns("property-registration")


def test_current_is_newest_first_by_the_devices_clock_and_per_service():
    board = NoticeBoard.of(parse_notices({"notices": [
        wire("old", posted_min=-30, expires_min=30),
        wire("new", posted_min=-1, expires_min=5, services=["passport"]),
        wire("gone", posted_min=-60, expires_min=-1),
    ]}))
    assert [n.id for n in board.current(NOW)] == ["new", "old"]
    assert [n.id for n in board.current(NOW, "passport")] == ["new", "old"]
    assert [n.id for n in board.current(NOW, "snils")] == ["old"]
    # Five minutes on, by the clock alone (no new answer): the short notice is gone.
    assert [n.id for n in board.current(NOW + timedelta(minutes=5))] == ["old"]
    assert board.current(NOW + timedelta(minutes=30)) == []


def test_a_spoiled_entry_is_left_out_not_the_whole_list():
    good = wire("good", posted_min=-1, expires_min=10)
    spoiled = [{"id": "x"}, "text", {**good, "id": "naive", "expires_at": "2026-11-26T11:00:00"},
               {**good, "id": "long", "text_ru": "я" * 281}, {**good, "id": "svc", "services": "passport"}]
    assert [n.id for n in parse_notices({"notices": [*spoiled, good]})] == ["good"]
    assert parse_notices({"notices": "none"}) == () and parse_notices(None) == ()


def test_an_offline_device_restarted_shows_saved_notices_only_while_valid(tmp_path):
    cache = tmp_path / "notices.json"
    saved_answer(cache, [wire("valid", posted_min=-10, expires_min=20), wire("expired", posted_min=-90, expires_min=-30)])
    board = NoticeBoard.polling(HubClient(NOWHERE, "t" * 32), cache_file=cache, timeout=0.5)
    assert not board.poller.poll_once()  # the hub is away
    assert [n.id for n in board.current(NOW)] == ["valid"]
    assert board.current(NOW + timedelta(minutes=20)) == []  # its own expiry, hub or no hub
    assert [n.id for n in board.all_known()] == ["valid", "expired"]
    board.stop()


def test_a_naive_time_is_refused():
    with pytest.raises(ValueError, match="aware"):
        NoticeBoard.of([]).current(datetime(2026, 11, 26, 10, 0))
