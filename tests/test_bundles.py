"""Signed content bundles end to end: publishing on a real hub, devices applying them over HTTP,
refusals of what was tampered with on the hub's disk, and the `hub publish` command's errors."""
from __future__ import annotations

import json
import re
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.bundle_folder import PublishError, collect_assets
from hub.bundles import load_or_create_key
from hub.db import HubDB
from mfc_edge import bundle, protocol
from mfc_edge.bundle import Asset, Manifest
from offline_cache.content import load_bundle_key
from tests.helpers.bundles import (
    device,
    enroll_device,
    publish,
    random_files,
    record_requests,
    run_cli,
    sha,
    tree,
    write_files,
)
from tests.helpers.day import TEST_DAY
from tests.helpers.devices import write_config
from tests.helpers.hubprocess import HubProcess

CATALOG = (Path(__file__).resolve().parent.parent / "mfc_edge" / "data" / "catalog.toml").read_bytes()


@pytest.fixture
def hub(tmp_path):
    with HubProcess(tmp_path / "hub") as running:
        yield running


def kiosk_folder(tmp_path: Path, media: dict[str, bytes]) -> Path:
    return write_files(tmp_path / "publish", {"catalog.toml": CATALOG, "kiosk.toml": b"[kiosk]\n", **media})


@pytest.mark.slow
def test_publish_apply_unchanged_then_only_the_changed_asset_travels(hub, tmp_path):
    media = random_files(6, 150_000)
    folder = kiosk_folder(tmp_path, media)
    (folder / ".DS_Store").write_bytes(b"hidden: not published")
    token, key = enroll_device(hub)
    assert publish(hub.data_dir, folder, cli=True) == 1
    store, updater, events = device(tmp_path / "content", hub.url, token, key)
    seen = record_requests(updater)

    first = updater.check()
    assert (first.status, first.version) == ("applied", 1)
    assert first.downloaded == sum(map(len, media.values())) + len(CATALOG) + len(b"[kiosk]\n")
    active = store.current()
    assert active.path_of("catalog.toml").read_bytes() == CATALOG
    assert all(active.path_of(name).read_bytes() == data for name, data in media.items())
    assert active.path_of(".DS_Store") is None and active.path_of("missing.png") is None
    assert events == [("bundle.applied", {"version": 1})]

    seen.clear()
    again = updater.check()
    assert (again.status, again.version, again.downloaded) == ("unchanged", 1, 0)
    assert seen == [(304, "/api/v1/bundle", None)]  # an unchanged bundle costs one 304

    changed = "media/clip-003.bin"
    media[changed] = b"new clip" * 20_000
    (folder / changed).write_bytes(media[changed])
    assert publish(hub.data_dir, folder) == 2
    seen.clear()
    second = updater.check()
    assert (second.status, second.version, second.downloaded) == ("applied", 2, len(media[changed]))
    assert [path for _, path, _ in seen] == ["/api/v1/bundle", f"/api/v1/assets/{sha(media[changed])}"]
    active = store.current()
    assert active.version == 2 and active.path_of(changed).read_bytes() == media[changed]
    assert store._load(store.previous_file).version == 1  # the last good one stays as the fallback
    assert events[-1] == ("bundle.applied", {"version": 2})
    # The hub accepts what the device reports.
    now = datetime.now(UTC)
    reply = requests.post(f"{hub.url}/api/v1/events", headers={"Authorization": f"Bearer {token}"}, timeout=10,
                          json={"events": [protocol.make_event(t, "strogino", "kiosk-1", now, body)
                                           for t, body in events]})
    assert [r["status"] for r in reply.json()["results"]] == ["stored", "stored"]


@pytest.mark.slow
def test_a_device_gets_the_bundle_of_its_own_center_and_role_only(hub, tmp_path):
    kiosk_token, key = enroll_device(hub)
    signage_token, _ = enroll_device(hub, "screen-1", role="signage")
    other_token, _ = enroll_device(hub, "kiosk-9", center="khimki")
    auth = lambda token: {"Authorization": f"Bearer {token}"}  # noqa: E731
    nothing = requests.get(f"{hub.url}/api/v1/bundle", headers=auth(kiosk_token), timeout=5)
    assert nothing.status_code == 404 and "no bundle has been published for kiosk devices" in nothing.text
    publish(hub.data_dir, kiosk_folder(tmp_path, {"secret.bin": b"strogino only"}))
    reply = requests.get(f"{hub.url}/api/v1/bundle", headers=auth(kiosk_token), timeout=5)
    assert reply.status_code == 200 and reply.headers["ETag"] == '"strogino-kiosk-1"'
    _, manifest = bundle.verify_envelope(reply.content, key)
    assert (manifest.center, manifest.role, manifest.version) == ("strogino", "kiosk", 1)
    assert requests.get(f"{hub.url}/api/v1/bundle", headers=auth(signage_token), timeout=5).status_code == 404
    assert requests.get(f"{hub.url}/api/v1/bundle", headers=auth(other_token), timeout=5).status_code == 404
    blob = f"{hub.url}/api/v1/assets/{sha(b'strogino only')}"
    assert requests.get(blob, headers=auth(kiosk_token), timeout=5).content == b"strogino only"
    assert requests.get(blob, headers=auth(other_token), timeout=5).status_code == 404  # another center's asset
    assert requests.get(blob, timeout=5).status_code == 401
    part = requests.get(blob, headers={**auth(kiosk_token), "Range": "bytes=9-"}, timeout=5)
    assert part.status_code == 206 and part.content == b"only" and part.headers["Content-Range"] == "bytes 9-12/13"
    assert requests.get(blob, headers={**auth(kiosk_token), "Range": "bytes=13-"}, timeout=5).status_code == 416
    for bad in ("xyz", "A" * 64, "0" * 63, "../../hub.sqlite"):
        assert requests.get(f"{hub.url}/api/v1/assets/{bad}", headers=auth(kiosk_token), timeout=5).status_code in (
            404, 422)


@pytest.mark.slow
def test_publishing_deletes_the_assets_no_recent_bundle_has(hub, tmp_path):
    token, key = enroll_device(hub)
    other_token, _ = enroll_device(hub, "kiosk-9", center="khimki")
    auth = {"Authorization": f"Bearer {token}"}
    shared, old, newer, newest = b"in every version", b"only in version 1", b"from version 2 on", b"version 3"
    folder = kiosk_folder(tmp_path, {"media/shared.bin": shared, "media/clip.bin": old})
    assert publish(hub.data_dir, folder) == 1
    publish(hub.data_dir, kiosk_folder(tmp_path / "khimki", {"media/clip.bin": old}), center="khimki")
    (folder / "media/clip.bin").write_bytes(newer)
    assert publish(hub.data_dir, folder) == 2
    blobs = hub.data_dir / "blobs"
    assert (blobs / sha(old)).exists()  # version 1 is still the one before the latest
    (folder / "media/clip.bin").write_bytes(newest)
    out = run_cli("hub", "publish", str(folder), "--data", str(hub.data_dir), "--center", "strogino",
                  "--role", "kiosk")
    assert out.returncode == 0 and "published version 3" in out.stdout
    # Version 1's clip is gone from Strogino's reach, but Khimki's latest bundle still has it.
    assert (blobs / sha(old)).exists()
    assert requests.get(f"{hub.url}/api/v1/assets/{sha(old)}", headers=auth, timeout=5).status_code == 404
    assert requests.get(f"{hub.url}/api/v1/assets/{sha(old)}", timeout=5,
                        headers={"Authorization": f"Bearer {other_token}"}).content == old
    for kept in (shared, newer, newest):
        assert requests.get(f"{hub.url}/api/v1/assets/{sha(kept)}", headers=auth, timeout=5).content == kept
    # Once Khimki moves on twice too, nobody has the old clip: its file is deleted.
    khimki = kiosk_folder(tmp_path / "khimki", {"media/clip.bin": newest})
    publish(hub.data_dir, khimki, center="khimki")
    assert (blobs / sha(old)).exists()
    out = run_cli("hub", "publish", str(khimki), "--data", str(hub.data_dir), "--center", "khimki",
                  "--role", "kiosk")
    assert f"deleted 1 assets no recent bundle uses ({len(old)} bytes)" in out.stdout
    assert not (blobs / sha(old)).exists()
    assert sorted(p.name for p in blobs.iterdir() if not p.name.startswith(".")) == sorted(
        sha(data) for data in {shared, newer, newest, CATALOG, b"[kiosk]\n"})
    # A device on the latest bundle is not disturbed by any of this.
    store, updater, _ = device(tmp_path / "content", hub.url, token, key)
    assert updater.check().version == 3 and store.current().path_of("media/clip.bin").read_bytes() == newest


@pytest.mark.slow
def test_enroll_pins_the_hubs_bundle_key(hub, tmp_path):
    config = write_config(tmp_path)
    out = run_cli("enroll", "--config", str(config), "--hub", hub.url, "--code", hub.enroll_code())
    assert out.returncode == 0, out.stderr
    assert "bundle-signing key pinned" in out.stdout
    signing_key = hub.data_dir / "bundle-signing.key"
    assert stat.S_IMODE(signing_key.stat().st_mode) == 0o600
    assert load_bundle_key(tmp_path / "data") == bundle.public_key_bytes(load_or_create_key(signing_key))


@pytest.mark.slow
@pytest.mark.parametrize("damage, reason", [
    (lambda blob: blob.write_bytes(b"X" + blob.read_bytes()[1:]), "tampered"),
    (lambda blob: blob.write_bytes(blob.read_bytes()[:1000]), "truncated"),
    (lambda blob: blob.write_bytes(blob.read_bytes() + b"more"), "oversized"),
], ids=["tampered", "truncated", "grown"])
def test_an_asset_damaged_on_the_hub_is_refused_and_the_last_good_bundle_stays(hub, tmp_path, damage, reason):
    folder = kiosk_folder(tmp_path, random_files(3, 50_000))
    token, key = enroll_device(hub)
    publish(hub.data_dir, folder)
    store, updater, events = device(tmp_path / "content", hub.url, token, key)
    assert updater.check().status == "applied"
    new = b"the new clip" * 10_000
    (folder / "media/new.bin").write_bytes(new)
    publish(hub.data_dir, folder)
    damage(hub.data_dir / "blobs" / sha(new))

    refused = updater.check()
    assert (refused.status, refused.version) == ("refused", 2) and refused.reason.startswith(reason)
    assert events.of("bundle.refused") == [{"version": 2, "reason": reason, "detail": refused.reason.split(": ", 1)[1]}]
    assert store.current().version == 1 and store.current().path_of("media/new.bin") is None
    assert list(store.staging.iterdir()) == []  # the refused bytes are gone
    assert updater.check().status == "refused" and len(events.of("bundle.refused")) == 1  # judged and told once


@pytest.mark.slow
def test_a_bundle_over_the_quota_is_refused_before_any_download(hub, tmp_path):
    folder = kiosk_folder(tmp_path, random_files(2, 10_000))
    token, key = enroll_device(hub)
    publish(hub.data_dir, folder)
    store, updater, events = device(tmp_path / "content", hub.url, token, key, quota=200_000)
    assert updater.check().status == "applied"
    (folder / "media/huge.bin").write_bytes(b"\0" * 200_000)
    publish(hub.data_dir, folder)
    seen = record_requests(updater)
    result = updater.check()
    assert result.status == "refused" and result.reason.startswith("oversized: the bundle needs")
    assert [path for _, path, _ in seen] == ["/api/v1/bundle"]
    assert store.current().version == 1 and events.of("bundle.refused")[0]["reason"] == "oversized"


# ---- publishing errors ----

def publish_cli(tmp_path: Path, folder: Path, role: str = "kiosk"):
    return run_cli("hub", "publish", str(folder), "--data", str(tmp_path / "hub"), "--center", "strogino",
                   "--role", role)


def test_publish_refuses_what_devices_could_not_use(tmp_path):
    missing = publish_cli(tmp_path, tmp_path / "nope")
    assert missing.returncode == 2 and f"mfc-edge: error: {tmp_path / 'nope'}: no such folder" in missing.stderr
    empty = write_files(tmp_path / "empty", {"media/a.png": b"png"})
    out = publish_cli(tmp_path, empty)
    assert out.returncode == 2 and "a kiosk bundle needs catalog.toml or kiosk.toml" in out.stderr
    out = publish_cli(tmp_path, empty, role="signage")
    assert out.returncode == 2 and "a signage bundle needs playlist.toml" in out.stderr
    bad = write_files(tmp_path / "bad", {"catalog.toml": b"version = 1\n[[categories]]\nid = 'X Y'\n"})
    out = publish_cli(tmp_path, bad)
    assert out.returncode == 2 and out.stderr.startswith(f"mfc-edge: error: {bad / 'catalog.toml'}: ")
    assert not (tmp_path / "hub" / "hub.sqlite").exists() or _bundle_count(tmp_path / "hub") == 0
    settings = write_files(tmp_path / "settings", {"kiosk.toml": b"[printer]\nuri = 'tcp://10.0.0.9:9100'\n"})
    out = publish_cli(tmp_path, settings)
    assert out.returncode == 2 and "[printer] cannot be set by a bundle: expected one of [center], [kiosk]" in out.stderr
    hours = write_files(tmp_path / "hours", {"kiosk.toml": b"[hours]\nmon = '20:00-08:00'\n"})
    out = publish_cli(tmp_path, hours)
    assert out.returncode == 2 and "[hours] mon = '20:00-08:00': expected HH:MM-HH:MM" in out.stderr
    playlist = write_files(tmp_path / "playlist", {"playlist.toml": b"[playlists.main]\nitems = 3\n"})
    out = publish_cli(tmp_path, playlist, role="signage")
    assert out.returncode == 2 and "[playlists.main] items = 3: expected a list" in out.stderr
    odd = write_files(tmp_path / "odd", {"kiosk.toml": b"", "реклама 1.png": b"png"})
    with pytest.raises(PublishError, match="each part between slashes must be ASCII letters"):
        collect_assets(odd, "kiosk")
    twins = write_files(tmp_path / "twins", {"kiosk.toml": b"", "Logo.png": b"1", "logo.png": b"2"})
    with pytest.raises(PublishError, match="only in letter case"):
        collect_assets(twins, "kiosk")


def _bundle_count(hub_data: Path) -> int:
    db = HubDB(hub_data)
    try:
        return db.db["bundles"].count if db.db["bundles"].exists() else 0
    finally:
        db.close()


def test_publish_follows_links_inside_the_folder_and_refuses_links_out(tmp_path):
    playlist = b'[playlists.main]\n[[playlists.main.items]]\ntype = "image"\nasset = "media/a.png"\n'
    folder = write_files(tmp_path / "signage", {"playlist.toml": playlist, "media/a.png": b"png",
                                                ".git/config": b"hidden folder"})
    (folder / "alias.png").symlink_to(folder / "media" / "a.png")
    out = publish_cli(tmp_path, folder, role="signage")
    assert out.returncode == 0, out.stderr
    assert "published version 1 for signage devices of center strogino: 3 assets" in out.stdout
    outside = write_files(tmp_path / "elsewhere", {"secret.txt": b"hub secret"})
    (folder / "leak.txt").symlink_to(outside / "secret.txt")
    out = publish_cli(tmp_path, folder, role="signage")
    assert out.returncode == 2
    assert f"{folder / 'leak.txt'}: a symbolic link to {outside / 'secret.txt'}, outside {folder}" in out.stderr
    (folder / "leak.txt").unlink()
    (folder / "loop").symlink_to(folder)  # a link back into the folder: walked once, never forever
    out = publish_cli(tmp_path, folder, role="signage")
    assert out.returncode == 0 and "published version 2" in out.stdout and "3 assets" in out.stdout
    assert tree(tmp_path / "hub" / "blobs").keys() == {sha(playlist), sha(b"png")}


# ---- the manifest parser: any input gives a Manifest or a ManifestError ----

SEGMENT = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,20}", fullmatch=True)
NAMES = st.lists(SEGMENT, min_size=1, max_size=4).map("/".join).filter(lambda n: len(n) <= bundle.MAX_NAME_LENGTH)
ASSETS = st.lists(st.tuples(NAMES, st.binary(min_size=32, max_size=32).map(bytes.hex),
                            st.integers(0, bundle.MAX_ASSET_SIZE)),
                  max_size=20, unique_by=lambda a: a[0].casefold())
MANIFESTS = st.builds(
    lambda center, role, version, assets: Manifest(center, role, version, f"{TEST_DAY}T07:00:00.123456+00:00",
                                                   tuple(sorted((Asset(*a) for a in assets), key=lambda a: a.name))),
    st.from_regex(r"[a-z0-9][a-z0-9-]{0,39}", fullmatch=True), st.sampled_from(bundle.ROLES),
    st.integers(1, bundle.MAX_VERSION), ASSETS)
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
                    max_leaves=12)


def parses_or_refuses(data: bytes) -> Manifest | None:
    try:
        return bundle.parse_manifest(data)
    except bundle.ManifestError as exc:
        assert str(exc)  # a message a technician can read
        return None


@pytest.mark.fuzz
@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_any_bytes_are_a_manifest_or_a_manifest_error(data):
    parses_or_refuses(data)
    try:
        bundle.parse_envelope(data)
    except bundle.ManifestError:
        pass


@pytest.mark.fuzz
@settings(max_examples=100, deadline=None)
@given(MANIFESTS)
def test_valid_manifests_round_trip(manifest):
    assert bundle.parse_manifest(manifest.encode()) == manifest
    key = Ed25519PrivateKey.generate()
    envelope = bundle.sign(key, manifest).encode()
    assert bundle.verify_envelope(envelope, bundle.public_key_bytes(key))[1] == manifest


@pytest.mark.fuzz
@settings(max_examples=150, deadline=None)
@given(MANIFESTS, st.sampled_from(sorted(bundle._MANIFEST_KEYS)), JSON, st.data())
def test_any_field_replaced_by_any_json_is_still_judged_cleanly(manifest, field, value, data):
    raw = json.loads(manifest.encode())
    raw[field] = value
    if isinstance(raw["assets"], list) and raw["assets"] and isinstance(raw["assets"][0], dict) and data.draw(
            st.booleans()):
        raw["assets"][0][data.draw(st.sampled_from(["name", "sha256", "size", "extra"]))] = data.draw(JSON)
    encoded = bundle.canonical_json(raw)
    parsed = parses_or_refuses(encoded)
    assert parsed is None or parsed.encode() == encoded


@pytest.mark.fuzz
@settings(max_examples=150, deadline=None)
@given(MANIFESTS.filter(lambda m: m.assets), st.data())
def test_damaged_bytes_of_a_valid_manifest_are_judged_cleanly(manifest, data):
    encoded = bytearray(manifest.encode())
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(encoded) - 1))
        encoded[at:at + data.draw(st.integers(0, 3))] = data.draw(st.binary(max_size=3))
    parsed = parses_or_refuses(bytes(encoded))
    assert parsed is None or parsed.encode() == bytes(encoded)


@pytest.mark.parametrize("change, message", [
    (lambda m: m.replace(b'"version":3', b'"version":0'), "version = 0: expected a positive integer"),
    (lambda m: m.replace(b'"role":"kiosk"', b'"role":"console"'), "role = 'console': expected one of kiosk, signage"),
    (lambda m: m.replace(b'"format":1', b'"format":2'), "format = 2: this device reads bundle format 1"),
    (lambda m: m.replace(b"+00:00", b"+03:00"), "expected an ISO 8601 time in UTC"),
    (lambda m: m.replace(b'"b.png"', b'"a.png"'), "assets must be sorted by name, each name once"),
    (lambda m: m.replace(b'"a.png"', b'"A.png"').replace(b'"b.png"', b'"a.png"'), "same name in other letter case"),
    (lambda m: m.replace(b"a" * 64, b"A" * 64), "sha256 must be 64 lowercase hex digits"),
    (lambda m: m.replace(b'"version":3', b'"version":3,"version":4'), "the same key twice"),
    (lambda m: m.replace(b',"', b', "'), "not in canonical form"),
    (lambda m: m + b"\xff", "not UTF-8"),
    (lambda m: b" " * (bundle.MAX_MANIFEST_BYTES + 1), "larger than"),
    (lambda m: m[:-1], "not JSON"),
    (lambda m: b"[" * 100_000, "nested too deeply"),
])
def test_bad_manifests_are_refused_with_a_clear_message(change, message):
    good = Manifest("strogino", "kiosk", 3, f"{TEST_DAY}T07:00:00+00:00",
                    (Asset("a.png", "a" * 64, 1), Asset("b.png", "b" * 64, 2))).encode()
    assert bundle.parse_manifest(good).version == 3
    with pytest.raises(bundle.ManifestError, match=re.escape(message)):
        bundle.parse_manifest(change(good))


def test_too_many_assets_are_refused():
    assets = tuple(Asset(f"a{i:05d}", "0" * 64, 0) for i in range(bundle.MAX_ASSETS + 1))
    with pytest.raises(bundle.ManifestError, match="assets must be a list of at most 5000"):
        bundle.parse_manifest(Manifest("strogino", "kiosk", 1, f"{TEST_DAY}T07:00:00+00:00", assets).encode())
    assert len(bundle.parse_manifest(Manifest("strogino", "kiosk", 1, f"{TEST_DAY}T07:00:00+00:00",
                                              assets[:-1]).encode()).assets) == bundle.MAX_ASSETS
