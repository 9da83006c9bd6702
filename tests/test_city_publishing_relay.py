"""City-wide publishing end to end: the city signs a campaign once, each linked hub fetches it for
its centers and relays it, devices pin the city's key through their hub's endorsement and take
the city's layer through the real bundle updater. Real city on a private PostgreSQL, real hubs."""
from __future__ import annotations

import base64
import hashlib
import os
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from city import publishing
from city.city import City
from city.hubs import Hubs
from city.server import CityThread
from hub import city_link
from hub.bundles import Latest
from hub.city_bundles import CityBundlePuller, city_getter
from hub.hub import Hub
from hub.server import HubThread
from kiosk.content import CatalogUpdates, bundled_catalog, catalog_offer
from mfc_edge import bundle, protocol
from mfc_edge.city_protocol import CITY_ENROLL_PATH
from mfc_edge.cli.city_publish_commands import publish_demo_campaign
from mfc_edge.config import load_config
from offline_cache.bundle_sync import APPLIED, REFUSED, RETRY_REFUSED_AFTER_S, UNCHANGED, BundleUpdater
from offline_cache.city_layer import CityLayer, city_content
from offline_cache.content import CITY_KEY_FILE, ContentStore, load_bundle_key, save_bundle_key
from offline_cache.enrollment import enroll
from offline_cache.hub_client import HubClient, save_token
from signage.content import ScreenContent
from tests.helpers.bundles import Events, make_bundle
from tests.helpers.center import InProcessCenter
from tests.helpers.city import hub_folder
from tests.helpers.devices import BASE_CONFIG, write_config
from tests.helpers.faultproxy import FaultProxy
from tests.test_city_publishing import PLAYLIST, TOKENS, add_hubs, write_files
from tests.test_city_publishing_layers import CITY as CATALOG
from tests.test_city_publishing_layers import OWN_SERVICE

pytestmark = pytest.mark.slow
HUB_CENTERS = {"hub-north": ["mitino", "strogino"], "hub-center": ["arbat"]}


@dataclass
class CityClientStub:
    """What the hub's city link hands the relay: the city's address, the hub's token, a session."""
    url: str
    token: str
    timeout: float = 10.0

    def session(self) -> requests.Session:
        session = requests.Session()
        session.trust_env = False
        session.headers["Authorization"] = f"Bearer {self.token}"
        return session


@dataclass
class Town:
    city: City
    key: Ed25519PrivateKey
    server: CityThread
    hubs: dict[str, tuple[Hub, str]]  # hub id -> (hub, its URL)
    folder: Path
    city_url: str = ""

    def __post_init__(self) -> None:
        self.city_url = self.server.url  # kept: a stopped server no longer knows its address

    def pull(self, hub_id: str) -> dict[tuple[str, str], str]:
        hub, _ = self.hubs[hub_id]
        client = CityClientStub(self.city_url, TOKENS[hub_id])
        return {(p.center, p.role): p.status for p in hub.city_bundles.pull(city_getter(client), HUB_CENTERS[hub_id])}

    def device(self, hub_id: str, center: str, name: str, role: str = "signage") -> tuple[CityLayer, Events]:
        """A device enrolled with the hub: its token and the hub's key pinned, as enrollment leaves them."""
        hub, url = self.hubs[hub_id]
        reply = requests.post(f"{url}{protocol.ENROLL_PATH}", timeout=10,
                              json={"code": hub.identity.create_code(center, role), "device_id": name}).json()
        data = self.folder / name
        save_token(data, reply["token"])
        save_bundle_key(data, base64.b64decode(reply["bundle_key"]))
        events = Events()
        return CityLayer(data, HubClient(url, reply["token"]), center=center, role=role, quota_bytes=10 ** 8,
                         report=events, timeout=10), events

    def publish(self, files: dict[str, bytes], **target: object) -> int:
        folder = write_files(self.folder / f"campaign-{len(list(self.folder.glob('campaign-*')))}", files)
        return publishing.publish(self.city, self.key, "signage", folder, publishing.Target(**target)).version  # type: ignore[arg-type]


@pytest.fixture
def town(city_dsn: str, tmp_path: Path) -> Iterator[Town]:
    city = City(city_dsn, pool_size=4)
    add_hubs(city)
    publishing.make_key(city, tmp_path / "city.key")
    hubs = {hub_id: Hub(tmp_path / hub_id) for hub_id in HUB_CENTERS}
    with CityThread(city) as server, HubThread(hubs["hub-north"]) as north, HubThread(hubs["hub-center"]) as center:
        yield Town(city, publishing.load_key(tmp_path / "city.key"), server,
                   {"hub-north": (hubs["hub-north"], north.url), "hub-center": (hubs["hub-center"], center.url)},
                   tmp_path)
    for hub in hubs.values():
        hub.close()
    city.close()


def shown(layer: CityLayer, name: str) -> bytes | None:
    active = layer.content.current() if layer.content else None
    path = active.path_of(name) if active else None
    return path.read_bytes() if path else None


def test_a_city_campaign_reaches_devices_of_both_centers_through_their_hubs(town: Town) -> None:
    early, _ = town.device("hub-north", "strogino", "screen-early")  # enrolled before its hub knew the city key
    assert early.check().status == UNCHANGED and early.content is None  # nothing relayed yet
    town.publish({"playlist.toml": PLAYLIST, "media/a.png": b"campaign image"}, all_centers=True)
    assert town.pull("hub-north") == {("mitino", "kiosk"): "none", ("mitino", "signage"): "applied",
                                      ("strogino", "kiosk"): "none", ("strogino", "signage"): "applied"}
    assert town.pull("hub-center")[("arbat", "signage")] == "applied"
    assert town.pull("hub-north")[("strogino", "signage")] == "unchanged"  # a 304 from the city
    arbat, _ = town.device("hub-center", "arbat", "screen-arbat")
    for layer in (early, arbat):
        result = layer.check()
        assert result.status == APPLIED and result.version == 1
        assert shown(layer, "media/a.png") == b"campaign image"
    # The city's key was pinned through the hub's endorsement, and is the city's own.
    assert load_bundle_key(town.folder / "screen-early", CITY_KEY_FILE) == publishing.public_key(town.city)
    assert early.check().status == UNCHANGED


def test_a_district_campaign_reaches_only_that_districts_centers(town: Town) -> None:
    town.publish({"playlist.toml": PLAYLIST, "media/a.png": b"north only"}, districts=("north",))
    assert town.pull("hub-center")[("arbat", "signage")] == "none"
    assert town.pull("hub-north")[("mitino", "signage")] == "applied"
    arbat, _ = town.device("hub-center", "arbat", "screen-arbat")
    assert arbat.check().status == UNCHANGED and shown(arbat, "media/a.png") is None
    mitino, _ = town.device("hub-north", "mitino", "screen-mitino")
    assert mitino.check().status == APPLIED and shown(mitino, "media/a.png") == b"north only"


def test_a_bundle_signed_by_an_unknown_key_is_refused_by_the_hub_and_by_the_device(town: Town) -> None:
    town.publish({"playlist.toml": PLAYLIST, "media/a.png": b"genuine"}, all_centers=True)
    town.pull("hub-center")
    screen, events = town.device("hub-center", "arbat", "screen-arbat")
    assert screen.check().status == APPLIED
    # Someone with database access but not the key puts a bundle of their own in the city.
    stranger = Ed25519PrivateKey.generate()
    envelope, _ = make_bundle(stranger, {"playlist.toml": PLAYLIST}, version=7, center="arbat", role="signage")
    with town.city.db.connection() as conn:
        conn.execute("INSERT INTO city_bundles (role, version, published_at, target) VALUES ('signage', 7, now(), 'x')")
        conn.execute("INSERT INTO city_bundle_targets VALUES ('signage', 7, 'arbat', %s)", [envelope])
    assert town.pull("hub-center")[("arbat", "signage")] == "refused"
    hub, _ = town.hubs["hub-center"]
    assert hub.city_bundles.latest("arbat", "signage").version == 1  # type: ignore[union-attr]
    # A hub that relays it all the same (while endorsing the city's key): the device refuses it.
    hub.city_bundles.latest = lambda center, role: Latest(7, envelope)  # type: ignore[method-assign]
    result = screen.check()
    assert result.status == REFUSED and result.reason.startswith("bad-signature")
    assert events.of(protocol.BUNDLE_REFUSED)[0]["reason"] == "city-bad-signature"
    assert shown(screen, "media/a.png") == b"genuine"


def test_an_endorsement_made_with_another_key_is_refused(town: Town) -> None:
    town.publish({"playlist.toml": PLAYLIST, "media/a.png": b"genuine"}, all_centers=True)
    town.pull("hub-north")
    hub, _ = town.hubs["hub-north"]
    impostor = Ed25519PrivateKey.generate()
    hub.city_bundles.hub_key = lambda: impostor  # endorses with a key the device never pinned
    screen, events = town.device("hub-north", "strogino", "screen")
    result = screen.check()
    assert result.status == REFUSED and result.reason.startswith("bad-endorsement")
    assert events.of(protocol.BUNDLE_REFUSED)[0]["reason"] == "city-bad-endorsement"
    assert load_bundle_key(town.folder / "screen", CITY_KEY_FILE) is None and screen.content is None
    assert screen.check().status == REFUSED and len(events.of(protocol.BUNDLE_REFUSED)) == 1  # told once
    screen.monotonic = lambda: time.monotonic() + RETRY_REFUSED_AFTER_S  # later, the hub is asked again
    hub.city_bundles.hub_key = lambda: hub.bundles.key  # mended
    assert screen.check().status == APPLIED and shown(screen, "media/a.png") == b"genuine"


def test_a_city_key_the_hub_endorses_anew_replaces_the_pinned_one(town: Town) -> None:
    town.publish({"playlist.toml": PLAYLIST, "media/a.png": b"first city"}, all_centers=True)
    town.pull("hub-north")
    screen, events = town.device("hub-north", "strogino", "screen")
    assert screen.check().status == APPLIED
    # The hub leaves this city and joins one with another key, which relays its own campaign.
    hub, _ = town.hubs["hub-north"]
    hub.city_bundles.forget()
    assert hub.city_bundles.latest("strogino", "signage") is None and hub.city_bundles.endorsement() is None
    other_city = Ed25519PrivateKey.generate()
    hub.city_bundles.pin_city_key(bundle.public_key_bytes(other_city))
    envelope, blobs = make_bundle(other_city, {"playlist.toml": PLAYLIST, "media/a.png": b"second city"},
                                  center="strogino", role="signage")
    for sha256, data in blobs.items():
        hub.city_bundles.blobs.path(sha256).write_bytes(data)
    (town.folder / "hub-north" / "city-bundles" / "strogino.signage.json").write_bytes(envelope)
    result = screen.check()
    assert result.status == APPLIED and shown(screen, "media/a.png") == b"second city"
    assert load_bundle_key(town.folder / "screen", CITY_KEY_FILE) == bundle.public_key_bytes(other_city)
    assert events.of(protocol.BUNDLE_REFUSED) == []


def test_a_hub_cut_off_from_the_city_keeps_serving_the_last_city_layer(town: Town) -> None:
    image = b"served while the city is away"
    town.publish({"playlist.toml": PLAYLIST, "media/a.png": image}, all_centers=True)
    town.pull("hub-north")
    town.server.stop()
    assert set(town.pull("hub-north").values()) == {"failed"}
    screen, _ = town.device("hub-north", "mitino", "screen")
    assert screen.check().status == APPLIED and shown(screen, "media/a.png") == image
    hub, _ = town.hubs["hub-north"]
    assert hub.city_bundles.blob_for("mitino", hashlib.sha256(image).hexdigest()) is not None


LOCAL_PLAYLIST = ('[playlists.waiting-area]\n[[playlists.waiting-area.items]]\ntype = "image"\nasset = "media/a.png"\n'
                  '[[playlists.waiting-area.items]]\ntype = "text"\ntitle = "Наш центр"\ntext = "local"\n'
                  'duration = 5\n').encode()


def test_a_centers_own_items_are_added_on_top_of_the_city_campaign(town: Town) -> None:
    town.publish({"playlist.toml": PLAYLIST, "media/a.png": b"city image"}, all_centers=True)
    town.pull("hub-north")
    hub, url = town.hubs["hub-north"]
    local_folder = write_files(town.folder / "local", {"playlist.toml": LOCAL_PLAYLIST, "media/a.png": b"local image"})
    hub.bundles.publish_folder(local_folder, "strogino", "signage")
    city_layer, _ = town.device("hub-north", "strogino", "screen")
    assert city_layer.check().status == APPLIED
    data = town.folder / "screen"
    local = ContentStore(data / "content", 10 ** 8, load_bundle_key(data) or b"")
    updater = BundleUpdater(local, city_layer.hub, center="strogino", role="signage", timeout=10)
    assert updater.check().status == APPLIED

    # The screen plays the city campaign's image, then the center's own image and text.
    screen = ScreenContent(local, "waiting-area", city=city_layer)
    playlist, version = screen.current()
    assert playlist is not None and version == 1
    items = playlist.items
    assert [(i.type, i.asset) for i in items] == [("image", "city/media/a.png"), ("image", "media/a.png"),
                                                  ("text", None)]
    assert [screen.asset_path(i.asset).read_bytes() for i in items if i.asset] == [  # type: ignore[union-attr]
        b"city image", b"local image"]
    # A newer campaign replaces the city's items; the center's stay.
    town.publish({"playlist.toml": PLAYLIST, "media/a.png": b"new campaign"}, all_centers=True)
    town.pull("hub-north")
    assert city_layer.check().status == APPLIED
    screen.refresh()
    playlist, _ = screen.current()
    assert [screen.asset_path(i.asset).read_bytes() for i in playlist.items if i.asset] == [  # type: ignore[union-attr]
        b"new campaign", b"local image"]

def test_a_joined_hub_pulls_through_its_city_link_and_hubs_joining_later_get_the_key(
        linked_center: InProcessCenter, city_server: CityThread, tmp_path: Path) -> None:
    hub = linked_center.hub
    puller = CityBundlePuller(hub.city_bundles, hub.db, hub_folder(hub))
    assert {p.status for p in puller.pull_now()} == {"failed"}  # the city has no publishing key yet
    city = city_server.city
    raw = publishing.make_key(city, tmp_path / "city.key")
    folder = write_files(tmp_path / "campaign", {"playlist.toml": PLAYLIST, "media/a.png": b"through the link"})
    publishing.publish(city, publishing.load_key(tmp_path / "city.key"), "signage", folder,
                       publishing.targets(all_centers=True))
    assert {(p.center, p.role): p.status for p in puller.pull_now()} == {
        ("strogino", "kiosk"): "none", ("strogino", "signage"): "applied"}
    assert hub.city_bundles.city_key() == raw
    code = Hubs(city).make_code("hub-2", ["arbat"])
    reply = requests.post(city_server.url + CITY_ENROLL_PATH, json={"code": code, "hub": "hub-2"}, timeout=10)
    assert base64.b64decode(reply.json()["bundle_key"]) == raw
    city_link.leave(hub.db, hub_folder(hub))  # mfc-edge hub leave-city: the city's layer goes with it
    assert puller.pull_now() == [] and hub.city_bundles.latest("strogino", "signage") is None
    assert hub.city_bundles.city_key() is None and list(hub.city_bundles.blobs.folder.iterdir()) == []


def test_a_kiosk_takes_the_city_catalog_with_its_centers_own_service_added(town: Town) -> None:
    city_catalog = CATALOG.replace('ru = "Паспорта и регистрация"', 'ru = "Паспорта (город)"', 1)
    folder = write_files(town.folder / "city-catalog", {"catalog.toml": city_catalog.encode()})
    publishing.publish(town.city, town.key, "kiosk", folder, publishing.targets(centers=["strogino"]))
    town.pull("hub-north")
    hub, _ = town.hubs["hub-north"]
    local_folder = write_files(town.folder / "local-catalog", {"catalog.toml": (CATALOG + OWN_SERVICE).encode()})
    hub.bundles.publish_folder(local_folder, "strogino", "kiosk")
    city_layer, _ = town.device("hub-north", "strogino", "kiosk-1", role="kiosk")
    assert city_layer.check().status == APPLIED
    data = town.folder / "kiosk-1"
    local = ContentStore(data / "content", 10 ** 8, load_bundle_key(data) or b"")
    assert BundleUpdater(local, city_layer.hub, center="strogino", role="kiosk", timeout=10).check().status == APPLIED
    updates = CatalogUpdates()
    catalog_offer(local, city_layer, updates)()  # what the kiosk does when either layer applied a bundle
    catalog = updates.take()
    assert catalog is not None and catalog.categories[0].name.ru == "Паспорта (город)"
    assert catalog.service("notary-room").name.ru == "Нотариус в центре"
    assert bundled_catalog(local, city_content(data, 10 ** 8)) == catalog  # a kiosk starting without its hub


def test_the_demos_campaign_is_published_once_and_relayed(linked_center: InProcessCenter, city_server: CityThread,
                                                          tmp_path: Path) -> None:
    hub = linked_center.hub
    line = publish_demo_campaign(city_server.city, tmp_path / "office", [(hub, hub_folder(hub))])
    assert line == "the city published campaign 1 once for 1 centers (strogino); 1 of them relayed it to their screens"
    latest = hub.city_bundles.latest("strogino", "signage")
    assert latest is not None and latest.version == 1
    # Run again, the demo reuses its key and publishes the next version.
    assert "campaign 2" in publish_demo_campaign(city_server.city, tmp_path / "office", [(hub, hub_folder(hub))])


def test_downloads_from_the_city_cut_at_random_offsets_end_applied_and_never_half(town: Town) -> None:
    media = {f"media/clip-{i}.bin": os.urandom(300_000) for i in range(4)}
    town.publish({"playlist.toml": PLAYLIST, "media/a.png": b"before"}, centers=("mitino",))
    assert town.pull("hub-north")[("mitino", "signage")] == "applied"
    town.publish({"playlist.toml": PLAYLIST, "media/a.png": b"after", **media}, centers=("mitino",))
    hub, _ = town.hubs["hub-north"]
    host, port = town.city_url.removeprefix("http://").split(":")
    with FaultProxy(upstream=(host, int(port))) as proxy:
        getter = city_getter(CityClientStub(proxy.url(), TOKENS["hub-north"]))
        rng, statuses = random.Random(20261126), []
        while not statuses or statuses[-1] != "applied":
            proxy.set(close_after_bytes_down=rng.randint(50_000, 400_000))
            pulled = {(p.center, p.role): p for p in hub.city_bundles.pull(getter, ["mitino"])}
            statuses.append(pulled[("mitino", "signage")].status)
            if statuses[-1] != "applied":  # the last good layer is what the hub serves meanwhile
                assert statuses[-1] == "failed" and hub.city_bundles.latest("mitino", "signage").version == 1  # type: ignore[union-attr]
            assert len(statuses) < 40
        # Each pull went on from where the last one broke off: every asset byte crossed about once.
        assert proxy.stats["bytes_down"] < sum(map(len, media.values())) + len(statuses) * 16_384
    assert len(statuses) >= 3 and hub.city_bundles.latest("mitino", "signage").version == 2  # type: ignore[union-attr]
    assert list(hub.city_bundles.blobs.folder.glob(".part-*")) == []
    for data in media.values():
        assert hub.city_bundles.blob_for("mitino", hashlib.sha256(data).hexdigest()).read_bytes() == data  # type: ignore[union-attr]


def test_a_device_enrolled_after_its_hub_relays_city_content_pins_both_keys_at_enrollment(town: Town) -> None:
    town.publish({"playlist.toml": PLAYLIST, "media/a.png": b"x"}, all_centers=True)
    town.pull("hub-north")
    hub, url = town.hubs["hub-north"]
    folder = town.folder / "kiosk"
    folder.mkdir()
    device = load_config(write_config(folder, BASE_CONFIG.format(printer_uri="tcp://127.0.0.1:9")
                                      .replace("https://hub.example.org", url)))
    enrolled = enroll(device, hub.identity.create_code("strogino", "kiosk"))
    assert enrolled.bundle_key_file is not None
    assert load_bundle_key(device.data_dir, CITY_KEY_FILE) == publishing.public_key(town.city)
    # A hub relaying nothing from a city: the device enrolls all the same, with no city key.
    other, other_url = town.hubs["hub-center"]
    other.city_bundles.forget()
    second = load_config(write_config(town.folder, BASE_CONFIG.format(printer_uri="tcp://127.0.0.1:9")
                                      .replace("https://hub.example.org", other_url).replace("strogino", "arbat")))
    assert enroll(second, other.identity.create_code("arbat", "kiosk")).bundle_key_file is not None
    assert load_bundle_key(second.data_dir, CITY_KEY_FILE) is None
