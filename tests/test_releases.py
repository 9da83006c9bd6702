"""Software releases on the hub (hub/releases.py, hub/routes/releases.py) and their signed
manifest (mfc_edge/release.py): publishing a built release folder, wheels stored once by hash,
pilot and stable channels, halting, promotion by hand and after a soak, and the device routes,
against a hub serving on 127.0.0.1. A release built from the working tree: test_release_build.py."""
from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from hub.api import Hub
from hub.releases import ReleaseRefused, soak_releases
from hub.server import HubThread
from mfc_edge import bundle, protocol, release
from mfc_edge.cli import main
from mfc_edge.release import ReleaseError, Wheel
from mfc_edge.release_build import DESCRIPTION, Description
from offline_cache.hub_client import HubClient

COMMON = ("requests-2.34.2-py3-none-any.whl", "cryptography-50.0.2-cp311-abi3-manylinux_2_17_x86_64.whl")
ARM = "cryptography-50.0.2-cp311-abi3-manylinux_2_17_aarch64.whl"


def wheel_bytes(name: str, revision: int = 0) -> bytes:
    return f"{name} revision {revision}\n".encode() * 50


def make_release(folder: Path, version: str = "0.2.0", changed: str | None = None) -> Path:
    """A built release folder as `mfc-edge release build` writes it, with stand-in wheels; the
    project wheel's contents depend on `version`, and `changed` names one more wheel to alter."""
    project = f"mfc_edge-{version}-py3-none-any.whl"
    (folder / "wheels").mkdir(parents=True)
    wheels = []
    for name in (*COMMON, ARM, project):
        data = wheel_bytes(name, (name == changed) + (name == project) * int(version.replace(".", "")))
        (folder / "wheels" / name).write_bytes(data)
        wheels.append(Wheel(name, hashlib.sha256(data).hexdigest(), len(data)))
    x86 = tuple(sorted((*COMMON, project)))
    arm = tuple(sorted((COMMON[0], ARM, project)))
    description = Description(version, tuple(sorted(wheels, key=lambda w: w.name)),
                              {"x86_64": {"console": x86, "kiosk": x86}, "aarch64": {"console": arm, "kiosk": arm}})
    (folder / DESCRIPTION).write_bytes(description.encode())
    return folder


class Center:
    def __init__(self, hub: Hub, url: str, clock: Clock):
        self.hub, self.url, self.clock = hub, url, clock

    def device(self, device_id: str, role: str = "console", center: str = "strogino") -> HubClient:
        code = self.hub.identity.create_code(center, role, window="5" if role == "console" else None)
        reply = requests.post(f"{self.url}/api/v1/enroll", json={"code": code, "device_id": device_id}, timeout=10)
        assert reply.status_code == 200, reply.text
        return HubClient(self.url, reply.json()["token"])

    def key(self) -> bytes:
        return self.hub.bundles.public_key()


class Clock:
    """The real time, moved on by `later` (the soak time)."""
    def __init__(self) -> None:
        self.later = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.later


@pytest.fixture
def center(tmp_path):
    clock = Clock()
    hub = Hub(tmp_path / "hub", clock=clock)
    with HubThread(hub) as server:
        yield Center(hub, server.url, clock)
    hub.close()


def offered(center: Center, client: HubClient, machine: str = "x86_64") -> tuple[int, str] | None:
    """(release number, channel) the hub offers the device, checked as the device checks it."""
    reply = client.get(release.RELEASE_PATH, params={"machine": machine})
    if reply.status_code == 204:
        return None
    assert reply.status_code == 200, reply.text
    body = reply.json()
    envelope = json.dumps(body["envelope"]).encode()
    return release.verify_release(envelope, center.key(), machine).release, body["channel"]


def test_a_published_release_is_signed_per_machine_and_its_wheels_download_with_resume(center, tmp_path):
    number, machines, new = center.hub.releases.publish(make_release(tmp_path / "r"), "stable")
    assert (number, machines, new) == (1, ["aarch64", "x86_64"], 4)
    device = center.device("c1")
    reply = device.get(release.RELEASE_PATH, params={"machine": "aarch64"})
    assert reply.status_code == 200 and reply.json()["channel"] == "stable"
    got = release.verify_release(json.dumps(reply.json()["envelope"]).encode(), center.key(), "aarch64")
    assert got.version == "0.2.0" and [w.name for w in got.wheels_for("console")] == sorted(
        (COMMON[0], ARM, "mfc_edge-0.2.0-py3-none-any.whl"))
    again = device.get(release.RELEASE_PATH, params={"machine": "aarch64"},
                       headers={"If-None-Match": reply.headers["ETag"]})
    assert again.status_code == 304
    wheel = got.wheels_for("console")[0]
    whole = device.get(f"{release.WHEELS_PATH}/{wheel.sha256}")
    assert whole.status_code == 200 and hashlib.sha256(whole.content).hexdigest() == wheel.sha256
    cut = wheel.size // 3  # a download cut after a third goes on from there
    rest = device.get(f"{release.WHEELS_PATH}/{wheel.sha256}", headers={"Range": f"bytes={cut}-"})
    assert rest.status_code == 206 and whole.content[:cut] + rest.content == whole.content


def test_a_release_that_changes_one_wheel_stores_one_new_blob(center, tmp_path):
    center.hub.releases.publish(make_release(tmp_path / "a"), "stable")
    stored = set(center.hub.releases.wheels.folder.iterdir())
    number, _, new = center.hub.releases.publish(make_release(tmp_path / "b", changed=COMMON[0]), "stable")
    added = set(center.hub.releases.wheels.folder.iterdir()) - stored
    assert number == 2 and new == 1 and len(added) == 1


def test_wheels_only_releases_older_than_the_last_two_stable_ones_had_are_deleted(center, tmp_path):
    releases = center.hub.releases
    for number in (1, 2, 3):
        releases.publish(make_release(tmp_path / str(number), version=f"0.{number}.0"), "stable")
    gone = hashlib.sha256(wheel_bytes("mfc_edge-0.1.0-py3-none-any.whl", 10)).hexdigest()  # release 1's alone
    kept = hashlib.sha256(wheel_bytes("mfc_edge-0.2.0-py3-none-any.whl", 20)).hexdigest()
    assert not releases.wheels.path(gone).exists() and releases.wheels.path(kept).exists()
    device = center.device("c1")
    assert device.get(f"{release.WHEELS_PATH}/{gone}").status_code == 404
    assert device.get(f"{release.WHEELS_PATH}/{kept}").status_code == 200
    assert len(list(releases.wheels.folder.iterdir())) == 3 + 2  # the three shared wheels, two project wheels


def test_a_folder_whose_wheel_was_changed_after_the_build_is_refused_whole(center, tmp_path):
    folder = make_release(tmp_path / "r")
    (folder / "wheels" / COMMON[0]).write_bytes(b"something else")
    with pytest.raises(ReleaseRefused, match=f"{COMMON[0]}: its size or SHA-256"):
        center.hub.releases.publish(folder, "stable")
    assert center.hub.releases.rows() == [] and not list(center.hub.releases.wheels.folder.iterdir())


@pytest.mark.parametrize("change, message", [
    (lambda d: d["wheels"][0].update(name="../../evil-1.0-py3-none-any.whl"), "is not a wheel file name"),
    (lambda d: d["machines"]["x86_64"].update(console=[]), "roles.console must be a non-empty list"),
    (lambda d: d.update(version="0.2.0; rm -rf /"), "is not a version string"),
    (lambda d: d["machines"].update(riscv64={"console": []}), "machines must map some of"),
])
def test_a_hostile_release_description_is_refused_in_one_line_before_anything_is_stored(center, tmp_path, change,
                                                                                       message):
    folder = make_release(tmp_path / "r")
    described = json.loads((folder / DESCRIPTION).read_bytes())
    change(described)
    (folder / DESCRIPTION).write_text(json.dumps(described))
    with pytest.raises(ReleaseRefused, match=message) as refused:
        center.hub.releases.publish(folder, "stable")
    assert "\n" not in str(refused.value) and not list(center.hub.releases.wheels.folder.iterdir())


def test_pilot_releases_reach_pilots_only_until_promoted_and_halted_ones_nobody(center, tmp_path):
    releases = center.hub.releases
    pilot, other = center.device("c1"), center.device("c2")
    releases.publish(make_release(tmp_path / "1"), "stable")
    releases.set_pilots("strogino", devices=["c1"])
    releases.publish(make_release(tmp_path / "2", version="0.3.0"), "pilot")
    assert offered(center, pilot) == (2, "pilot") and offered(center, other) == (1, "stable")
    releases.promote(2)
    assert offered(center, other) == (2, "stable")
    releases.halt(2)
    assert offered(center, pilot) == (1, "stable") and offered(center, other) == (1, "stable")
    releases.halt(1)
    assert offered(center, pilot) is None
    with pytest.raises(ReleaseRefused, match="halted"):
        releases.promote(2)


def test_a_share_of_pilots_is_picked_per_role_by_hash_the_same_every_time(center):
    for n in range(10):
        center.device(f"c{n}")
    for n in range(5):
        center.device(f"k{n}", role="kiosk")
    releases = center.hub.releases
    releases.set_pilots("strogino", share=0.2)
    pilots = releases.pilots("strogino")
    assert len(pilots) == 3 and sum(p.startswith("k") for p in pilots) == 1
    releases.set_pilots("strogino", share=0.2)
    assert releases.pilots("strogino") == pilots
    with pytest.raises(ReleaseRefused, match="no device nobody"):
        releases.set_pilots("strogino", devices=["nobody"])


def test_a_device_of_another_center_cannot_fetch_a_wheel_not_offered_to_it(center, tmp_path):
    releases = center.hub.releases
    pilot, stranger = center.device("c1"), center.device("c1", center="tushino")
    releases.set_pilots("strogino", devices=["c1"])
    releases.publish(make_release(tmp_path / "r"), "pilot")
    sha = hashlib.sha256(wheel_bytes(COMMON[0])).hexdigest()
    assert pilot.get(f"{release.WHEELS_PATH}/{sha}").status_code == 200
    assert stranger.get(f"{release.WHEELS_PATH}/{sha}").status_code == 404
    assert stranger.get(release.RELEASE_PATH, params={"machine": "x86_64"}).status_code == 204
    assert stranger.get(f"{release.WHEELS_PATH}/{'0' * 64}").status_code == 404
    assert requests.get(f"{center.url}{release.WHEELS_PATH}/{sha}", timeout=10).status_code == 401


def software_event(kind: str, device: str, number: int, center: str = "strogino") -> dict:
    body = {protocol.SOFTWARE_ROLLED_BACK: {"release": number, "version": "0.3.0", "reason": "no READY in 180 s"},
            protocol.SOFTWARE_UPDATED: {"from": "0.2.0", "to": "0.3.0", "release": number}}[kind]
    return {"id": str(uuid.uuid4()), "v": protocol.PROTOCOL_VERSION, "type": kind, "center": center,
            "device": device, "at": datetime.now(UTC).isoformat(), "body": body}


def test_soak_promotes_a_healthy_pilot_release_only_and_progress_counts_devices(center, tmp_path):
    releases, clock = center.hub.releases, center.clock
    devices = {name: center.device(name) for name in ("c1", "c2", "c3")}
    releases.set_pilots("strogino", devices=["c1", "c2"])
    releases.publish(make_release(tmp_path / "1"), "pilot")
    releases.publish(make_release(tmp_path / "2", version="0.3.0"), "pilot")
    assert devices["c2"].post(protocol.EVENTS_PATH, json={"events": [
        software_event(protocol.SOFTWARE_ROLLED_BACK, "c2", 2)]}).json()["results"][0]["status"] == "stored"
    beat = {"center": "strogino", "device": "c1", "version": "0.3.0", "release": 2, "channel": "pilot", "outbox": 0}
    assert devices["c1"].post(protocol.HEARTBEAT_PATH, json=beat).status_code == 200
    progress = releases.progress(2, "strogino")
    assert (progress.updated, progress.rolled_back, progress.pending) == (["c1"], ["c2"], [])
    assert releases.progress(1, "strogino").pending == ["c2"]
    releases.set_soak_hours(2)
    assert releases.promote_soaked() == []  # not soaked yet
    clock.later = timedelta(hours=3)
    assert releases.promote_soaked() == [1]  # release 2 was rolled back by c2: it stays with the pilots
    assert offered(center, devices["c3"]) == (1, "stable")


def test_the_hub_s_periodic_soak_check_promotes_without_anyone_asking(center, tmp_path):
    releases = center.hub.releases
    releases.publish(make_release(tmp_path / "r"), "pilot")
    releases.set_soak_hours(1)
    center.clock.later = timedelta(hours=2)

    async def a_while() -> None:
        task = asyncio.create_task(soak_releases(releases, every=0.01))
        for _ in range(200):
            await asyncio.sleep(0.01)
            if releases.rows()[0]["channel"] == "stable":
                break
        task.cancel()

    asyncio.run(a_while())
    assert releases.rows()[0]["channel"] == "stable"


@pytest.mark.parametrize("tamper, reason", [
    (lambda m, s: (m.replace(b'"release":1', b'"release":9'), s), "bad-signature"),
    (lambda m, s: (m, b""), "unsigned"),
    (lambda m, s: (m, base64.b64encode(b"x" * 64)), "bad-signature"),
])
def test_tampered_and_unsigned_manifests_are_refused(center, tmp_path, tamper, reason):
    center.hub.releases.publish(make_release(tmp_path / "r"), "stable")
    reply = center.device("c1").get(release.RELEASE_PATH, params={"machine": "x86_64"}).json()
    manifest, signature = tamper(base64.b64decode(reply["envelope"]["manifest"]), reply["envelope"]["signature"])
    envelope = json.dumps({"manifest": base64.b64encode(manifest).decode(),
                           "signature": signature if isinstance(signature, str) else signature.decode()}).encode()
    with pytest.raises(ReleaseError) as refused:
        release.verify_release(envelope, center.key(), "x86_64")
    assert refused.value.reason == reason and "\n" not in str(refused.value)


def test_older_and_other_machine_releases_are_refused(center, tmp_path):
    center.hub.releases.publish(make_release(tmp_path / "r"), "stable")
    device = center.device("c1")
    envelope = json.dumps(device.get(release.RELEASE_PATH, params={"machine": "x86_64"}).json()["envelope"]).encode()
    with pytest.raises(ReleaseError, match="not newer than release 1") as older:
        release.verify_release(envelope, center.key(), "x86_64", newer_than=1)
    assert older.value.reason == "rollback"
    with pytest.raises(ReleaseError, match="is for x86_64, this is aarch64"):
        release.verify_release(envelope, center.key(), "aarch64")
    assert release.verify_release(envelope, center.key(), "x86_64", newer_than=0).release == 1


@pytest.mark.parametrize("change, message", [
    (lambda m: m.update(wheels=[{**m["wheels"][0], "name": "../../etc/passwd.whl"}]), "not a wheel file name"),
    (lambda m: m.update(wheels=[{**m["wheels"][0], "sha256": "AB" * 32}]), "64 lowercase hex"),
    (lambda m: m.update(wheels=[{**m["wheels"][0], "size": 10 ** 12}]), "size"),
    (lambda m: m["roles"].update(console=["other-1.0-py3-none-any.whl"]), "not among the wheels"),
    (lambda m: m.update(machine="riscv64"), "machine"),
    (lambda m: m.update(release=0), "positive integer"),
    (lambda m: m.update(kind="bundle"), "not a release manifest"),
])
def test_hostile_manifests_get_one_line(change, message):
    raw = {"format": 1, "kind": "release", "release": 3, "version": "0.2.0", "machine": "x86_64", "python": "cp311",
           "created_at": "2026-11-26T06:00:00+00:00",
           "wheels": [{"name": COMMON[0], "sha256": "a" * 64, "size": 10}], "roles": {"console": [COMMON[0]]}}
    assert release.parse_release(bundle.canonical_json(raw)).release == 3
    change(raw)
    with pytest.raises(ReleaseError, match=message) as refused:
        release.parse_release(bundle.canonical_json(raw))
    assert "\n" not in str(refused.value)


def test_the_release_commands(tmp_path, capsys):
    data = tmp_path / "cli-hub"
    assert main(["hub", "release", str(make_release(tmp_path / "r")), "--channel", "pilot", "--data", str(data)]) == 0
    assert "release 1" in capsys.readouterr().out
    assert main(["hub", "release", "promote", "1", "--data", str(data)]) == 0
    assert main(["hub", "release", "list", "--center", "strogino", "--data", str(data)]) == 0
    assert "stable" in capsys.readouterr().out.split("strogino: 0 on it, 0 pending, 0 rolled back")[0]
    assert main(["hub", "release", "pilots", "--center", "strogino", "--share", "1.5", "--data", str(data)]) == 2
    assert capsys.readouterr().err.strip() == "mfc-edge: error: share 1.5: expected 0 to 1 (0.2 makes a fifth of " \
                                              "the devices pilots)"
    assert main(["hub", "release", "soak", "--hours", "24", "--data", str(data)]) == 0
    assert main(["hub", "release", "halt", "7", "--data", str(data)]) == 2
    assert capsys.readouterr().err.strip() == "mfc-edge: error: there is no release 7"
    assert main(["hub", "release", "promote", "9" * 30, "--data", str(data)]) == 2
    assert "needs a release number" in capsys.readouterr().err
    assert main(["hub", "release", str(tmp_path / "nothing"), "--channel", "stable", "--data", str(data)]) == 2
    assert "cannot be read" in capsys.readouterr().err
