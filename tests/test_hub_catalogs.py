"""The hub takes each center's service catalog from its latest kiosk bundle, as the kiosks do:
a service only a bundle has is issued, opened at a window, called, transferred to, counted in
the hall and named on the visitor's phone; a center without a bundle keeps the built-in one."""
from __future__ import annotations

import uuid
from datetime import UTC, timedelta
from pathlib import Path

import pytest
import requests

from hardware.clock import ManualClock
from hub.api import Hub
from hub.bundle_folder import PublishError
from hub.server import HubThread
from mfc_edge import protocol
from mfc_edge.bundle import Asset
from mfc_edge.catalog import BUNDLED_CATALOG
from tests.helpers.day import TEST_DAY, at

NOW = at(7, tz=UTC)  # 10:00 in Moscow
PASSWORD = "correct horse 42"
FISHING = "fishing-license"
FISHING_RU, FISHING_EN = "Лицензия на любительское рыболовство", "Recreational fishing licence"


def catalog_with_fishing(name_ru: str = FISHING_RU) -> str:
    return BUNDLED_CATALOG.read_text(encoding="utf-8") + f"""
[[services]]
id = "{FISHING}"
category = "certificates"
letter = "Р"
name = {{ ru = "{name_ru}", en = "{FISHING_EN}" }}
avg_minutes = 10
documents = [{{ ru = "Паспорт", en = "Passport" }}]
"""


def publish_catalog(hub: Hub, folder: Path, center: str, catalog: str | None) -> int:
    folder.mkdir(parents=True)
    if catalog is None:
        (folder / "kiosk.toml").write_text("[kiosk]\n", encoding="utf-8")
    else:
        (folder / "catalog.toml").write_text(catalog, encoding="utf-8")
    return hub.bundles.publish_folder(folder, center, "kiosk").version


class Center:
    """A hub on 127.0.0.1 with a kiosk and an operator for each of two centers."""

    def __init__(self, folder: Path):
        self.hub = Hub(folder / "hub", clock=ManualClock(NOW))
        self.server = HubThread(self.hub).start()
        self.url = self.server.url
        self.kiosks: dict[str, str] = {}
        self.consoles: dict[str, requests.Session] = {}
        for center in ("strogino", "tushino"):
            _, token = self.hub.identity.enroll(self.hub.identity.create_code(center, "kiosk"), f"kiosk-{center}")
            self.kiosks[center] = token
            self.hub.operators.add(center, "ivanova", "Иванова Мария", PASSWORD, "supervisor")
            session = requests.Session()
            reply = session.post(f"{self.url}/console/api/sign-in", json={
                "center": center, "login": "ivanova", "password": PASSWORD}, timeout=10)
            assert reply.status_code == 200, reply.text
            self.consoles[center] = session

    def issue(self, center: str, service: str, number: str, minute: int = 0) -> str:
        """A ticket issued at the center's kiosk `minute` minutes after 10:00 and synced as its
        event; its status token."""
        token, at = uuid.uuid4().hex, NOW + timedelta(minutes=minute)
        event = protocol.make_event(protocol.TICKET_ISSUED, center, f"kiosk-{center}", at, {
            "ticket": uuid.uuid4().hex, "number": number, "service": service, "day": TEST_DAY.isoformat(),
            "priority": False, "issued_at": at.isoformat(), "lang": "ru", "status_token": token})
        reply = requests.post(f"{self.url}/api/v1/events", json={"events": [event]}, timeout=10,
                              headers={"Authorization": f"Bearer {self.kiosks[center]}"})
        assert reply.json()["results"][0]["status"] == "stored", reply.text
        return token

    def act(self, center: str, action: str, **body: object) -> requests.Response:
        return self.consoles[center].post(f"{self.url}/console/api/{action}", json=body, timeout=10)

    def get(self, center: str, path: str) -> dict:
        reply = self.consoles[center].get(f"{self.url}{path}", timeout=10)
        assert reply.status_code == 200, reply.text
        return reply.json()

    def feed(self, center: str) -> dict:
        return requests.get(f"{self.url}/api/v1/feed", headers={"Authorization": f"Bearer {self.kiosks[center]}"},
                            timeout=10).json()

    def phone(self, token: str, lang: str = "ru") -> str:
        reply = requests.get(f"{self.url}/t/{token}", params={"lang": lang}, timeout=10)
        assert reply.status_code == 200
        return reply.text

    def close(self) -> None:
        self.server.stop()
        self.hub.close()


@pytest.fixture
def center(tmp_path):
    found = Center(tmp_path)
    yield found
    found.close()


def test_a_service_only_the_bundle_has_goes_from_kiosk_to_window_to_phone(center, tmp_path):
    publish_catalog(center.hub, tmp_path / "bundle", "strogino", catalog_with_fishing())
    center.issue("strogino", "passport-rf", "П001")
    token = center.issue("strogino", FISHING, "Р001", minute=1)

    assert FISHING_RU in center.phone(token) and FISHING_EN in center.phone(token, "en")
    state = center.get("strogino", "/console/api/state?window=5")
    assert {"id": FISHING, "name": FISHING_RU} in state["services"]
    assert center.feed("strogino")["estimates"][FISHING] == {"ahead": 1, "minutes": 10}

    assert center.act("strogino", "open-window", window="5", services=[FISHING]).status_code == 200
    called = center.act("strogino", "call-next", window="5").json()["ticket"]
    assert called == {"number": "Р001", "state": "called", "service": FISHING}
    page = center.phone(token)
    assert FISHING_RU in page and "5" in page and FISHING not in page

    hall = center.get("strogino", "/console/api/hall")
    assert hall["today"]["services"][FISHING]["issued"] == 1
    assert hall["service_names"][FISHING] == FISHING_RU

    # The visitor needs a passport too, and back: transfers both ways within the center's catalog.
    assert center.act("strogino", "transfer", window="5", to_service="passport-rf").status_code == 200
    assert center.act("strogino", "open-window", window="6", services=["passport-rf"]).status_code == 200
    assert center.act("strogino", "call-next", window="6").json()["ticket"]["number"] == "П001"
    assert center.act("strogino", "transfer", window="6", to_service=FISHING).json()["ticket"] == {
        "number": "П001", "state": "waiting", "service": FISHING}


def test_a_center_without_a_bundle_keeps_the_built_in_catalog(center, tmp_path):
    publish_catalog(center.hub, tmp_path / "bundle", "strogino", catalog_with_fishing())
    refused = center.act("tushino", "open-window", window="1", services=[FISHING])
    assert refused.status_code == 422 and FISHING in refused.json()["detail"]
    assert center.act("tushino", "open-window", window="1", services=["passport-rf"]).status_code == 200
    services = [s["id"] for s in center.get("tushino", "/console/api/state")["services"]]
    assert FISHING not in services and "passport-rf" in services
    assert FISHING not in center.feed("tushino")["estimates"]
    assert center.act("tushino", "call-next", window="1").json()["ticket"] is None
    with pytest.raises(AssertionError, match="is not a service of center tushino's catalog"):
        center.issue("tushino", FISHING, "Р001")  # a kiosk there cannot offer it; a ticket for it is refused


def test_each_new_bundle_brings_its_catalog_and_the_feed_changes_with_it(center, tmp_path):
    before = center.feed("strogino")
    assert FISHING not in before["estimates"]
    publish_catalog(center.hub, tmp_path / "v1", "strogino", catalog_with_fishing())
    after = center.feed("strogino")
    assert after["version"] > before["version"] and after["estimates"][FISHING] == {"ahead": 0, "minutes": 0}
    token = center.issue("strogino", FISHING, "Р001")

    publish_catalog(center.hub, tmp_path / "v2", "strogino", catalog_with_fishing("Рыболовный билет"))
    assert "Рыболовный билет" in center.phone(token)

    # A bundle without a catalog brings the kiosks' built-in catalog back, so the hub's too.
    publish_catalog(center.hub, tmp_path / "v3", "strogino", None)
    assert center.act("strogino", "open-window", window="5", services=[FISHING]).status_code == 422
    assert FISHING in center.phone(token)  # still waiting, under its id


def test_a_signed_but_unusable_catalog_leaves_the_built_in_one(center, tmp_path, caplog):
    publish_catalog(center.hub, tmp_path / "good", "strogino", catalog_with_fishing())
    bad = tmp_path / "bad.toml"
    bad.write_text("version = 1\n[[categories]]\nid = 'X Y'\n", encoding="utf-8")
    with pytest.raises(PublishError):
        publish_catalog(center.hub, tmp_path / "refused", "strogino", bad.read_text())
    stored = center.hub.bundles.blobs.put(bad)  # as if published by a hub that did not check
    center.hub.bundles.publish([Asset("catalog.toml", stored.sha256, stored.size)], "strogino", "kiosk")
    assert center.act("strogino", "open-window", window="5", services=[FISHING]).status_code == 422
    assert center.act("strogino", "open-window", window="5", services=["passport-rf"]).status_code == 200
    assert "its catalog cannot be used" in caplog.text
