"""Bundles under attack and under faults: forged or replayed envelopes, hostile names and sizes,
misbehaving servers, connections cut mid-download, and updaters killed at random moments."""
from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mfc_edge import bundle
from mfc_edge.bundle import Asset, Manifest
from offline_cache.content import ContentStore
from tests.helpers.bundles import (
    CraftedHub,
    device,
    enroll_device,
    envelope_of,
    make_bundle,
    publish,
    random_files,
    record_requests,
    sha,
    tree,
    write_files,
)
from tests.helpers.faultproxy import FaultProxy
from tests.helpers.hubprocess import HubProcess

KEY = Ed25519PrivateKey.generate()
PUBLIC = bundle.public_key_bytes(KEY)
FILES = {"catalog.toml": b"version = 1\n", "media/intro.png": b"\x89PNG intro" * 500}
NEW_FILES = {**FILES, "media/intro.png": b"\x89PNG other" * 700}


@pytest.fixture
def crafted():
    with CraftedHub() as server:
        yield server


def applied(crafted: CraftedHub, folder: Path, version: int = 5, files: dict = FILES, **kwargs):
    """A device whose active bundle is `version`, fetched from the crafted hub."""
    crafted.serve(*make_bundle(KEY, files, version))
    store, updater, events = device(folder, crafted.url, "token", PUBLIC, **kwargs)
    assert updater.check().status == "applied"
    events.clear()
    return store, updater, events


def _signed(manifest: Manifest, key: Ed25519PrivateKey = KEY) -> bytes:
    data = manifest.encode()
    return envelope_of(data, key.sign(data))


def _manifest(version: int, center: str = "strogino", role: str = "kiosk", files: dict = NEW_FILES) -> Manifest:
    assets = tuple(sorted((Asset(n, sha(d), len(d)) for n, d in files.items()), key=lambda a: a.name))
    return Manifest(center, role, version, "2026-11-24T07:00:00+00:00", assets)


ATTACKS = {
    "unsigned": (lambda: envelope_of(_manifest(6).encode(), None), "unsigned"),
    "empty signature": (lambda: envelope_of(_manifest(6).encode(), b""), "unsigned"),
    "short signature": (lambda: envelope_of(_manifest(6).encode(), b"\1" * 32), "bad-signature"),
    "another key": (lambda: _signed(_manifest(6), Ed25519PrivateKey.generate()), "bad-signature"),
    "manifest changed after signing": (
        lambda: envelope_of(_manifest(9).encode(), KEY.sign(_manifest(6).encode())), "bad-signature"),
    "older version replayed": (lambda: make_bundle(KEY, FILES, 4)[0], "replay"),
    "same version, other contents": (lambda: _signed(_manifest(5)), "replay"),
    "another center": (lambda: _signed(_manifest(6, center="khimki")), "wrong-device"),
    "another role": (lambda: _signed(_manifest(6, role="signage")), "wrong-device"),
    "signed nonsense": (lambda: envelope_of(b'{"format":1}', KEY.sign(b'{"format":1}')), "malformed"),
    "not json": (lambda: b"<html>502 Bad Gateway</html>", "malformed"),
    "huge envelope": (lambda: b'{"manifest":"' + b"A" * (bundle.MAX_ENVELOPE_BYTES + 10) + b'"}', "oversized"),
}


@pytest.mark.parametrize("attack", ATTACKS)
def test_forged_and_replayed_envelopes_are_refused_and_the_active_bundle_stays(crafted, tmp_path, attack):
    store, updater, events = applied(crafted, tmp_path / "content")
    before = tree(tmp_path)
    make, reason = ATTACKS[attack]
    crafted.blobs.update({sha(d): d for d in NEW_FILES.values()})
    crafted.envelope = make()
    crafted.requests.clear()
    result = updater.check()
    assert result.status == "refused" and result.reason.startswith(reason + ": ")
    assert [body["reason"] for _, body in events] == [reason] and events[0][0] == "bundle.refused"
    assert store.current().version == 5 and store.current().path_of("media/intro.png").read_bytes() == FILES[
        "media/intro.png"]
    assert [path for path, _ in crafted.requests] == ["/api/v1/bundle"]  # not one asset fetched
    assert tree(tmp_path) == before


BAD_NAMES = ["../escape.txt", "/etc/passwd", "a/../../b", "a//b", "a\\b", "./a", "a/.", "", "x" * 201, "a/",
             ".hidden", "media/-rf", "caf\u00e9.png", "nul\0.png", "C:/win.ini"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_hostile_names_are_refused_even_when_signed(crafted, tmp_path, name):
    store, updater, events = applied(crafted, tmp_path / "content")
    before = tree(tmp_path)
    crafted.serve(_signed(Manifest("strogino", "kiosk", 6, "2026-11-24T07:00:00+00:00",
                                   (Asset(name, sha(b"evil"), 4),))), {sha(b"evil"): b"evil"})
    result = updater.check()
    assert result.status == "refused" and result.reason.startswith("malformed: assets[0]")
    assert tree(tmp_path) == before and store.current().version == 5


@pytest.mark.parametrize("size", [-1, bundle.MAX_ASSET_SIZE + 1, 10 ** 30, True, 1.5, "4"])
def test_absurd_sizes_are_refused(size):
    data = Manifest("strogino", "kiosk", 1, "2026-11-24T07:00:00+00:00", (Asset("a.bin", "0" * 64, 0),)).encode()
    with pytest.raises(bundle.ManifestError, match=r"assets\[0\] 'a.bin': size = "):
        bundle.parse_manifest(data.replace(b'"size":0', b'"size":' + bundle.canonical_json(size)))


def test_tricky_but_valid_names_stay_labels(crafted, tmp_path):
    """Names that look like the store's own files or another asset's hash are only labels."""
    logo, other = b"logo bytes", b"other bytes"
    files = {"catalog.toml": b"version = 1\n", "logo.png": logo, "copy-of-logo.png": logo, sha(other): logo,
             "current.json": other, "staging/x.part": other, "assets/" + sha(logo): other}
    store, _, _ = applied(crafted, tmp_path / "content", files=files)
    active = store.current()
    assert {n: active.path_of(n).read_bytes() for n in files} == files
    assert sorted(tree(tmp_path / "content")) == sorted(["current.json", f"assets/{sha(logo)}",
                                                         f"assets/{sha(other)}", f"assets/{sha(files['catalog.toml'])}"])
    assert (tmp_path / "content" / "current.json").read_bytes() == crafted.envelope


def test_a_bundle_as_large_as_allowed_is_refused_by_the_quota_without_downloading(crafted, tmp_path):
    store, updater, events = applied(crafted, tmp_path / "content", quota=1_000_000)
    crafted.serve(_signed(Manifest("strogino", "kiosk", 6, "2026-11-24T07:00:00+00:00",
                                   (Asset("huge.bin", "f" * 64, bundle.MAX_ASSET_SIZE),))), {})
    crafted.requests.clear()
    assert updater.check().reason.startswith("oversized: the bundle needs 2147483648 bytes")
    assert len(crafted.requests) == 1 and store.current().version == 5


# ---- servers that misbehave with ranges and sizes ----

def _staged(store: ContentStore, data: bytes, prefix: bytes) -> Path:
    part = store.part_path(sha(data))
    part.write_bytes(prefix)
    return part


@pytest.mark.parametrize("mode, ranges", [("normal", ["bytes=3000-"]), ("ignore-range", ["bytes=3000-"]),
                                          ("refuse-range", ["bytes=3000-", None])])
def test_a_partial_download_resumes_or_restarts_as_the_server_allows(crafted, tmp_path, mode, ranges):
    store, updater, events = applied(crafted, tmp_path / "content")
    new = NEW_FILES["media/intro.png"]
    _staged(store, new, new[:3000])
    crafted.mode = mode
    crafted.serve(*make_bundle(KEY, NEW_FILES, 6))
    crafted.requests.clear()
    result = updater.check()
    assert (result.status, result.version) == ("applied", 6)
    assert result.downloaded == (len(new) - 3000 if mode == "normal" else len(new))
    assert [r for path, r in crafted.requests if "/assets/" in path] == ranges
    assert store.verify_all(store.current()) == [] and list(store.staging.iterdir()) == []


def test_a_damaged_partial_file_is_fetched_again_whole_not_refused(crafted, tmp_path):
    store, updater, events = applied(crafted, tmp_path / "content")
    new = NEW_FILES["media/intro.png"]
    _staged(store, new, b"garbage" * 100)
    crafted.serve(*make_bundle(KEY, NEW_FILES, 6))
    assert updater.check().status == "applied" and events == [("bundle.applied", {"version": 6})]
    assert store.current().path_of("media/intro.png").read_bytes() == new


def test_a_server_sending_more_than_the_manifest_says_is_refused(crafted, tmp_path):
    store, updater, events = applied(crafted, tmp_path / "content")
    crafted.mode = "extra-bytes"  # no Content-Length: only the cap while streaming can tell
    crafted.serve(*make_bundle(KEY, NEW_FILES, 6))
    result = updater.check()
    assert result.status == "refused" and result.reason.startswith("oversized: asset 'media/intro.png'")
    assert store.current().version == 5 and list(store.staging.iterdir()) == []


def test_a_refused_bundle_is_judged_again_after_a_back_off_and_applies_once_the_hub_mends_it(crafted, tmp_path):
    store, updater, events = applied(crafted, tmp_path / "content")
    now = [1000.0]
    updater.monotonic = lambda: now[0]
    envelope, blobs = make_bundle(KEY, NEW_FILES, 6)
    new = NEW_FILES["media/intro.png"]
    crafted.serve(envelope, {**blobs, sha(new): b"X" + new[1:]})  # damaged on the hub's disk
    assert updater.check().reason.startswith("tampered: ")
    crafted.blobs[sha(new)] = new  # mended

    def check_after(seconds: float) -> tuple[str, list[str]]:
        now[0] += seconds
        crafted.requests.clear()
        return updater.check().status, [path for path, _ in crafted.requests if "/assets/" in path]

    assert check_after(updater.retry_refused_after - 1) == ("refused", [])  # within the back-off: not fetched
    assert check_after(1) == ("applied", [f"/api/v1/assets/{sha(new)}"])
    assert store.current().version == 6
    assert [t for t, _ in events] == ["bundle.refused", "bundle.applied"]


def test_a_bundle_refused_again_waits_twice_as_long_each_time_up_to_the_cap(crafted, tmp_path):
    store, updater, events = applied(crafted, tmp_path / "content")
    now = [1000.0]
    updater.monotonic = lambda: now[0]
    updater.retry_refused_after, updater.retry_refused_cap = 60.0, 200.0
    crafted.serve(_signed(_manifest(6, center="khimki")), {})
    assert updater.check().status == "refused" and len(events) == 1
    for reported, wait in enumerate([60.0, 120.0, 200.0, 200.0], start=2):
        now[0] += wait - 1
        assert updater.check().status == "refused" and len(events) == reported - 1  # the verdict stands
        now[0] += 1
        assert updater.check().status == "refused" and len(events) == reported  # judged and reported again
    assert [body["reason"] for _, body in events] == ["wrong-device"] * 5


# ---- real hub: cut connections, hub down, killed updaters ----

@pytest.mark.slow
def test_downloads_cut_at_random_offsets_resume_until_applied(tmp_path):
    media = random_files(8, 400_000)
    total = sum(map(len, media.values())) + len(b"[kiosk]\n")
    with HubProcess(tmp_path / "hub") as hub, FaultProxy(upstream=("127.0.0.1", hub.port)) as proxy:
        token, key = enroll_device(hub)
        publish(hub.data_dir, write_files(tmp_path / "publish", {"kiosk.toml": b"[kiosk]\n", **media}))
        store, updater, events = device(tmp_path / "content", proxy.url(), token, key)
        seen = record_requests(updater)
        proxy.set(refuse=True)  # the hub is unreachable: a failure, not a refusal
        assert updater.check().status == "failed" and events == []
        proxy.reset()
        rng, attempts = random.Random(20261123), 0
        while True:
            proxy.set(close_after_bytes_down=rng.randint(20_000, 700_000))
            result = updater.check()
            attempts += 1
            if result.status == "applied":
                break
            assert result.status == "failed" and events == [] and attempts < 80
            assert store.current() is None
        assert attempts >= 4 and events == [("bundle.applied", {"version": 1})]
        assert store.verify_all(store.current()) == []
        resumed = [r for _, path, r in seen if "/assets/" in path and r]
        assert len(resumed) >= 3  # Range was used ...
        # ... so each byte crossed once: restarting would have sent every cut asset's first part again.
        assert proxy.stats["bytes_down"] < total + attempts * 4096


WORKER = """
import sys
from offline_cache.bundle_sync import BundleUpdater
from offline_cache.content import ContentStore
from offline_cache.hub_client import HubClient
root, url, token, key = sys.argv[1:5]
updater = BundleUpdater(ContentStore(root, 10 ** 9, bytes.fromhex(key)), HubClient(url, token), center="strogino",
                        role="kiosk")
print("ready", flush=True)
print(updater.check().status, flush=True)
"""


@pytest.mark.slow
def test_updaters_killed_at_random_moments_leave_one_whole_bundle(tmp_path):
    rng = random.Random(42)
    media = random_files(30, 40_000)
    folder = write_files(tmp_path / "publish", {"kiosk.toml": b"[kiosk]\n", **media})
    root = tmp_path / "content"
    with HubProcess(tmp_path / "hub") as hub:
        token, key = enroll_device(hub)
        latest = publish(hub.data_dir, folder)
        outcomes: list[int] = []
        killed = 0
        window = 0.25  # adjusted so that about half the workers die before they finish
        began = time.monotonic()
        for _ in range(40):
            worker = subprocess.Popen([sys.executable, "-c", WORKER, str(root), hub.url, token, key.hex()],
                                      stdout=subprocess.PIPE, text=True)
            assert worker.stdout.readline() == "ready\n"
            time.sleep(rng.uniform(0, window))
            finished = worker.poll() is not None
            killed += not finished
            window *= 0.7 if finished else 1.15
            worker.kill()
            worker.wait()
            worker.stdout.close()
            store = ContentStore(root, 10 ** 9, key)
            active = store.current()
            assert active is None or (active.version in range(1, latest + 1) and store.verify_all(active) == [])
            outcomes.append(active.version if active else 0)
            if active and active.version == latest:  # caught up: give the next workers a new update to die in
                for name in rng.sample(sorted(media), 15):
                    (folder / name).write_bytes(rng.randbytes(40_000))
                latest = publish(hub.data_dir, folder)
        assert time.monotonic() - began < 60
        assert killed >= 10 and len(set(outcomes)) >= 5  # kills landed in many updates
        store, updater, events = device(root, hub.url, token, key)
        assert updater.check().status == "applied" and store.current().version == latest
        assert store.verify_all(store.current()) == []
        current_hashes = {a.sha256 for a in store.current().manifest.assets}
        previous = store._load(store.previous_file)
        kept = current_hashes | ({a.sha256 for a in previous.manifest.assets} if previous else set())
        assert {p.name for p in store.assets.iterdir()} == kept and list(store.staging.iterdir()) == []
