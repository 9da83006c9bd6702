"""Urgent notices on the hub: a supervisor posts and withdraws them, the center's devices read
those in force (ETag), other centers' devices never see them, expired ones are never served."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests

from hardware.clock import ManualClock
from hub.api import Hub
from hub.server import HubThread
from mfc_edge.protocol import MAX_NOTICE_CHARS, NOTICES_PATH
from offline_cache.hub_client import HubClient
from offline_cache.notices import NoticeBoard
from tests.helpers.screenshots import PASSWORD

# 10:00 in Moscow, where a center without settings is.
START = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
TEXT = "Росреестр: приём документов на регистрацию недвижимости приостановлен до 14:00"


class Center:
    def __init__(self, hub: Hub, url: str, clock: ManualClock):
        self.hub, self.url, self.clock = hub, url, clock

    def signed_in(self, login: str, center: str = "strogino") -> requests.Session:
        session = requests.Session()
        reply = session.post(f"{self.url}/console/api/sign-in",
                             json={"center": center, "login": login, "password": PASSWORD}, timeout=10)
        assert reply.status_code == 200, reply.text
        return session

    def device_token(self, center: str, role: str, device: str) -> str:
        code = self.hub.identity.create_code(center, role)
        reply = requests.post(f"{self.url}/api/v1/enroll", json={"code": code, "device_id": device}, timeout=10)
        return reply.json()["token"]

    def device_get(self, token: str, etag: str | None = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}", **({"If-None-Match": etag} if etag else {})}
        return requests.get(f"{self.url}{NOTICES_PATH}", headers=headers, timeout=10)


@pytest.fixture
def center(tmp_path):
    clock = ManualClock(START)
    hub = Hub(tmp_path / "hub", clock=clock)
    hub.operators.add("strogino", "smirnova", "Смирнова Анна", PASSWORD, "supervisor")
    hub.operators.add("strogino", "ivanov", "Иванов Пётр", PASSWORD, "operator")
    hub.operators.add("tushino", "petrova", "Петрова Ольга", PASSWORD, "supervisor")
    with HubThread(hub) as server:
        yield Center(hub, server.url, clock)
    hub.close()


def post(session: requests.Session, url: str, **body) -> requests.Response:
    return session.post(f"{url}/console/api/notices", json=body, timeout=10)


def test_posted_notice_reaches_the_centers_devices_until_withdrawn(center):
    supervisor = center.signed_in("smirnova")
    kiosk = center.device_token("strogino", "kiosk", "kiosk-1")
    first = center.device_get(kiosk)
    assert first.status_code == 200 and first.json() == {"notices": []}
    assert center.device_get(kiosk, first.headers["ETag"]).status_code == 304

    reply = post(supervisor, center.url, text_ru=f"  {TEXT}\n", text_en="Rosreestr: no property filings until 14:00",
                 services=["property-rights"], expires_in_minutes=120)
    assert reply.status_code == 201, reply.text
    posted = reply.json()
    assert posted["text_ru"] == TEXT
    assert (posted["posted_by"], posted["posted_by_name"]) == ("smirnova", "Смирнова Анна")
    assert posted["expires_at"] == (START + timedelta(hours=2)).isoformat(timespec="microseconds")

    seen = center.device_get(kiosk, first.headers["ETag"])  # the list changed: the old tag is no good
    assert seen.status_code == 200 and seen.headers["ETag"] != first.headers["ETag"]
    [notice] = seen.json()["notices"]
    assert notice == {k: posted[k] for k in ("id", "text_ru", "text_en", "services", "posted_at", "expires_at")}
    assert notice["services"] == ["property-rights"]

    listed = supervisor.get(f"{center.url}/console/api/notices", timeout=10).json()
    assert [(n["id"], n["posted_by_name"]) for n in listed["current"]] == [(posted["id"], "Смирнова Анна")]
    assert listed["ended"] == []

    withdrawn = supervisor.post(f"{center.url}/console/api/notices/{posted['id']}/withdraw", timeout=10)
    assert withdrawn.status_code == 200 and withdrawn.json()["withdrawn_by_name"] == "Смирнова Анна"
    assert center.device_get(kiosk).json() == {"notices": []}
    again = supervisor.post(f"{center.url}/console/api/notices/{posted['id']}/withdraw", timeout=10)
    assert again.status_code == 404
    listed = supervisor.get(f"{center.url}/console/api/notices", timeout=10).json()
    assert listed["current"] == [] and [n["withdrawn_by"] for n in listed["ended"]] == ["smirnova"]


def test_expired_notices_are_never_served(center):
    supervisor = center.signed_in("smirnova")
    screen = center.device_token("strogino", "signage", "screen-1")
    short = post(supervisor, center.url, text_ru="Короткое", expires_in_minutes=5).json()
    long = post(supervisor, center.url, text_ru="Длинное", until="12:00").json()  # Moscow time
    assert long["expires_at"] == "2026-11-26T09:00:00.000000+00:00"
    assert [n["id"] for n in center.device_get(screen).json()["notices"]] == [long["id"], short["id"]]
    center.clock.advance(minutes=5)
    assert [n["id"] for n in center.device_get(screen).json()["notices"]] == [long["id"]]
    center.clock.advance(hours=2)
    assert center.device_get(screen).json() == {"notices": []}
    assert supervisor.post(f"{center.url}/console/api/notices/{long['id']}/withdraw", timeout=10).status_code == 404


def test_only_supervisors_post_and_only_their_centers_devices_see_it(center):
    operator = center.signed_in("ivanov")
    assert post(operator, center.url, text_ru=TEXT, expires_in_minutes=30).status_code == 403
    assert operator.get(f"{center.url}/console/api/notices", timeout=10).status_code == 403
    assert requests.post(f"{center.url}/console/api/notices", json={"text_ru": TEXT, "expires_in_minutes": 30},
                         timeout=10).status_code == 401
    ours = post(center.signed_in("smirnova"), center.url, text_ru=TEXT, expires_in_minutes=30).json()
    theirs = center.signed_in("petrova", "tushino")
    assert theirs.post(f"{center.url}/console/api/notices/{ours['id']}/withdraw", timeout=10).status_code == 404
    other_kiosk = center.device_token("tushino", "kiosk", "kiosk-9")
    assert center.device_get(other_kiosk).json() == {"notices": []}
    assert center.device_get("not-a-token-at-all-000").status_code == 401
    assert [n["id"] for n in center.device_get(center.device_token("strogino", "kiosk", "k-2")).json()["notices"]] \
        == [ours["id"]]


BAD = [  # (the form as sent, the field the refusal names)
    ({"text_ru": "   ", "expires_in_minutes": 30}, "text_ru"),
    ({"text_ru": "я" * (MAX_NOTICE_CHARS + 1), "expires_in_minutes": 30}, "text_ru"),
    ({"text_ru": TEXT, "text_en": "x" * (MAX_NOTICE_CHARS + 1), "expires_in_minutes": 30}, "text_en"),
    ({"text_ru": TEXT, "services": ["no-such-service"], "expires_in_minutes": 30}, "services"),
    ({"text_ru": TEXT}, "expires"),
    ({"text_ru": TEXT, "expires_in_minutes": 30, "until": "12:00"}, "expires"),
    ({"text_ru": TEXT, "until": "09:00"}, "until"),  # 10:00 in Moscow now: passed
    ({"text_ru": TEXT, "until": "14 часов"}, "until"),
    ({"text_ru": TEXT, "expires_at": "2026-11-26T12:00:00"}, "expires_at"),  # no time zone
    ({"text_ru": TEXT, "expires_at": "2026-12-10T12:00:00+03:00"}, "expires"),  # over 7 days
    ({"text_ru": TEXT, "expires_at": "2026-11-26T06:00:00+00:00"}, "expires"),  # in the past
]


def test_a_bad_field_is_a_422_naming_it(center):
    supervisor = center.signed_in("smirnova")
    for body, field in BAD:
        reply = post(supervisor, center.url, **body)
        assert reply.status_code == 422 and reply.json()["detail"].startswith(f"{field}: "), (body, reply.text)
    assert center.hub.notices.current("strogino") == []


def test_at_most_five_in_force_at_once(center):
    supervisor = center.signed_in("smirnova")
    posted = [post(supervisor, center.url, text_ru=f"Объявление {n}", expires_in_minutes=30) for n in range(6)]
    assert [r.status_code for r in posted] == [201] * 5 + [409]
    assert "снимите ненужные" in posted[5].json()["detail"]
    supervisor.post(f"{center.url}/console/api/notices/{posted[0].json()['id']}/withdraw", timeout=10)
    assert post(supervisor, center.url, text_ru="Объявление 6", expires_in_minutes=30).status_code == 201


def test_the_pydantic_limits_name_the_field_too(center):
    reply = post(center.signed_in("smirnova"), center.url, text_ru=TEXT, expires_in_minutes=0)
    assert reply.status_code == 422 and reply.json()["detail"][0]["loc"] == ["body", "expires_in_minutes"]


def test_a_board_follows_the_hub_and_keeps_the_list_for_a_restart(center, tmp_path):
    token = center.device_token("strogino", "kiosk", "kiosk-1")
    cache = tmp_path / "kiosk" / "notices.json"
    board = NoticeBoard.polling(HubClient(center.url, token), cache_file=cache)
    assert board.poller.poll_once() and board.current(START) == []
    posted = post(center.signed_in("smirnova"), center.url, text_ru=TEXT, services=["property-rights"],
                  expires_in_minutes=60).json()
    assert board.poller.poll_once() and board.poller.last_status == 200
    assert [n.id for n in board.current(START, "property-rights")] == [posted["id"]]
    assert board.current(START, "passport-rf") == []
    assert board.poller.poll_once() and board.poller.last_status == 304
    restarted = NoticeBoard.polling(HubClient("http://127.0.0.1:9", token), cache_file=cache, timeout=0.5)
    assert [n.text("en") for n in restarted.current(START)] == [TEXT]  # no English: the Russian text
    assert restarted.current(START + timedelta(minutes=60)) == []
