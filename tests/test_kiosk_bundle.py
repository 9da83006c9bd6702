"""The kiosk takes its service catalog from the center's signed bundle, between visitors.

A real hub on 127.0.0.1 (in this process, sharing the kiosk's clock), a kiosk enrolled with
it, bundles published the way a content editor publishes them.
"""
from __future__ import annotations

import base64
import shutil

import pytest
import requests

from hub.api import Hub
from hub.server import HubThread
from kiosk.content import CatalogUpdates
from kiosk.wiring import open_kiosk
from mfc_edge.bundle import Asset
from mfc_edge.catalog import BUNDLED_CATALOG, load_catalog
from mfc_edge.config import load_config
from offline_cache.content import save_bundle_key
from offline_cache.hub_client import save_token
from tests.helpers.devices import write_config
from tests.helpers.hubprocess import free_port

RENAMED = ("Паспорт гражданина РФ", "Паспорт гражданина РФ — новое")


@pytest.fixture
def hub(tmp_path, clock):
    hub = Hub(tmp_path / "hub", clock=clock)
    with HubThread(hub) as server:
        yield hub, server.url
    hub.close()


@pytest.fixture
def enrolled(tmp_path, hub, printer):
    """A kiosk configuration enrolled with the hub: its token and the pinned bundle key."""
    hub_obj, url = hub
    config = write_config(tmp_path, printer_uri=printer.uri)
    device = load_config(write_config(tmp_path, config.read_text().replace("https://hub.example.org", url)))
    reply = requests.post(f"{url}/api/v1/enroll", json={"code": hub_obj.identity.create_code(device.center_id, "kiosk"),
                                                          "device_id": device.device_id}, timeout=10).json()
    save_token(device.data_dir, reply["token"])
    save_bundle_key(device.data_dir, base64.b64decode(reply["bundle_key"]))
    return device


def publish(hub_obj: Hub, folder, center: str, catalog_text: str | None = None):
    folder.mkdir(parents=True, exist_ok=True)
    if catalog_text is None:
        shutil.copyfile(BUNDLED_CATALOG, folder / "catalog.toml")
    else:
        (folder / "catalog.toml").write_text(catalog_text, encoding="utf-8")
    return hub_obj.bundles.publish_folder(folder, center, "kiosk")


def renamed_catalog() -> str:
    return BUNDLED_CATALOG.read_text(encoding="utf-8").replace(f'ru = "{RENAMED[0]}"', f'ru = "{RENAMED[1]}"', 1)


def wait_applied(kiosk) -> None:
    """The kiosk checks at start in the background; checking again here waits for that one."""
    result = kiosk.bundles.check()
    assert result.status in ("applied", "unchanged") and kiosk.bundles.content.current() is not None, result


def test_without_a_bundle_the_built_in_catalog(enrolled, clock):
    kiosk = open_kiosk(enrolled, clock)
    try:
        assert kiosk.catalog.service("passport-rf").name.ru == RENAMED[0]
    finally:
        kiosk.close()


def test_the_catalog_comes_from_the_bundle_after_a_restart_and_offline(enrolled, hub, clock, tmp_path):
    hub_obj, _ = hub
    publish(hub_obj, tmp_path / "bundle", enrolled.center_id, renamed_catalog())
    kiosk = open_kiosk(enrolled, clock)
    wait_applied(kiosk)
    assert kiosk.catalog_updates.take().service("passport-rf").name.ru == RENAMED[1]
    kiosk.close()

    offline = open_kiosk(enrolled, clock, connect=False)  # restarted with no hub: the last good bundle
    try:
        assert offline.bundles is None
        assert offline.catalog.service("passport-rf").name.ru == RENAMED[1]
    finally:
        offline.close()


def test_a_signed_but_unusable_catalog_leaves_the_built_in_one(enrolled, hub, clock, tmp_path, caplog):
    hub_obj, _ = hub
    bad = _write(tmp_path / "bad.toml", "[[categories]]\nid = 1\n")
    stored = hub_obj.bundles.blobs.put(bad)  # past the publisher's own check: the kiosk must not trust it
    hub_obj.bundles.publish([Asset("catalog.toml", stored.sha256, stored.size)], enrolled.center_id, "kiosk")
    kiosk = open_kiosk(enrolled, clock)
    try:
        wait_applied(kiosk)
        assert kiosk.catalog_updates.take().service("passport-rf").name.ru == RENAMED[0]
        assert "its catalog cannot be used" in caplog.text
    finally:
        kiosk.close()


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_a_new_catalog_is_taken_between_visitors(enrolled, clock):
    from kiosk.app import KioskApp
    from kiosk.headless import HeadlessKiosk

    kiosk = open_kiosk(enrolled, clock, connect=False)
    updates = CatalogUpdates()
    app = KioskApp(kiosk.device, kiosk.catalog, kiosk.desk, clock, updates)
    try:
        with HeadlessKiosk(app, (1280, 800)) as k:
            k.tap("categories")
            k.tap(f"category:{kiosk.catalog.categories[0].id}")
            k.tap("service:passport-rf")
            newer = load_catalog(_write(enrolled.data_dir / "newer.toml", renamed_catalog()))
            updates.offer(newer)
            app.tick()
            assert app.catalog is kiosk.catalog  # a visitor is choosing: nothing changes under them
            k.tap("home")
            app.tick()
            assert app.catalog is newer and kiosk.desk.catalog is newer
            issued = app.take_ticket("passport-rf", priority=False)
            assert issued.service.name.ru == RENAMED[1]
    finally:
        kiosk.close()


def test_status_says_which_bundle_runs_and_whether_it_is_current(enrolled, hub, clock, tmp_path, printer):
    from mfc_edge.cli.status import status_lines

    def bundle_line(device) -> str:
        return next(line for line in status_lines(device) if line.startswith("bundle"))

    hub_obj, _ = hub
    assert bundle_line(enrolled).endswith("none (built-in content); nothing published for this device yet")
    publish(hub_obj, tmp_path / "v1", enrolled.center_id)
    assert bundle_line(enrolled).endswith("none (built-in content); update pending: the hub has version 1")
    kiosk = open_kiosk(enrolled, clock)
    try:
        wait_applied(kiosk)
    finally:
        kiosk.close()
    assert bundle_line(enrolled).endswith("version 1; up to date")
    publish(hub_obj, tmp_path / "v2", enrolled.center_id, renamed_catalog())
    assert bundle_line(enrolled).endswith("version 1; update pending: the hub has version 2")

    (tmp_path / "alone").mkdir()
    alone = load_config(write_config(tmp_path / "alone", printer_uri=printer.uri))
    assert "not enrolled with a hub" in bundle_line(alone)


def test_status_when_the_hub_is_out_of_reach(enrolled, hub):
    from mfc_edge.cli.status import status_lines

    _, url = hub
    config = enrolled.data_dir.parent / "kiosk.toml"
    closed_port = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    unreachable = load_config(write_config(config.parent, config.read_text().replace(url, closed_port)))
    assert "hub unreachable" in status_lines(unreachable)[-1]


def test_center_wide_settings_from_the_bundle_apply_at_the_next_start(enrolled, hub, clock, tmp_path, caplog):
    hub_obj, _ = hub
    folder = tmp_path / "settings"
    folder.mkdir()
    _write(folder / "kiosk.toml", '[kiosk]\nlanguages = ["ru"]\nidle_timeout = 90\n[hours]\nmon = "closed"\n')
    publish(hub_obj, folder, enrolled.center_id)
    first = open_kiosk(enrolled, clock)
    try:
        assert first.device.languages == ("ru", "en")  # not applied yet: the bundle arrives after start
        wait_applied(first)
    finally:
        first.close()
    restarted = open_kiosk(enrolled, clock, connect=False)
    try:
        assert restarted.device.languages == ("ru",) and restarted.device.idle_timeout == 90
        assert not restarted.device.hours.is_open(clock.now().date(), clock.now().time())  # a Monday
        assert restarted.device.printer == enrolled.printer and restarted.device.device_id == enrolled.device_id
    finally:
        restarted.close()

    bad = _write(tmp_path / "bad.toml", "[printer]\nuri = 'tcp://10.0.0.9:9100'\n")
    stored = hub_obj.bundles.blobs.put(bad)  # signed, but settings a bundle may not give
    hub_obj.bundles.publish([Asset("kiosk.toml", stored.sha256, stored.size)], enrolled.center_id, "kiosk")
    second = open_kiosk(enrolled, clock)
    try:
        wait_applied(second)
    finally:
        second.close()
    again = open_kiosk(enrolled, clock, connect=False)
    try:
        assert again.device.languages == ("ru", "en")  # the device's own file, not half a bundle
        assert "its kiosk.toml cannot be used" in caplog.text
    finally:
        again.close()


def test_the_hub_shows_which_bundle_each_device_runs(enrolled, hub, clock, tmp_path, capsys):
    from mfc_edge.cli import main

    hub_obj, _ = hub
    publish(hub_obj, tmp_path / "v1", enrolled.center_id)
    kiosk = open_kiosk(enrolled, clock)
    try:
        wait_applied(kiosk)
        kiosk.sync.drain()  # the bundle.applied event reaches the hub
    finally:
        kiosk.close()
    (mine,) = hub_obj.device_health.devices(enrolled.center_id)
    assert mine["bundle"] == {"running": 1, "latest": 1, "up_to_date": True}
    publish(hub_obj, tmp_path / "v2", enrolled.center_id, renamed_catalog())
    (mine,) = hub_obj.device_health.devices(enrolled.center_id)
    assert mine["bundle"] == {"running": 1, "latest": 2, "up_to_date": False}

    assert main(["hub", "devices", "--data", str(tmp_path / "hub"), "--center", enrolled.center_id]) == 0
    assert "bundle 1 (hub has 2)" in capsys.readouterr().out
    assert main(["status", "--config", str(enrolled.path)]) == 0
    assert "bundle   version 1; update pending: the hub has version 2" in capsys.readouterr().out
