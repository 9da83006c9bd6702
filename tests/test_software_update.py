"""The device's software updater (issue 15): a signed release from a hub on 127.0.0.1 is
downloaded, installed into a real virtual environment in a scratch prefix, switched to
atomically, and kept only when it comes up healthy; otherwise the device rolls back by itself.

The project itself is stood in for by a tiny "mfc-edge" wheel built here, with one dependency
wheel for the kiosk extra; its `mfc-edge` command prints its version and, for `beat`, writes
the health file as the real app does after a heartbeat the hub accepted. systemctl is the
injected runner below: a restart runs the new `current`'s program, as systemd would.
"""
from __future__ import annotations

import base64
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import zipfile
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from requests import Response
from requests.adapters import BaseAdapter

from mfc_edge import bundle, protocol, release
from mfc_edge.bundle import canonical_json
from offline_cache.hub_client import HubClient
from offline_cache.software_update import SoftwareUpdater
from offline_cache.software_update_fetch import ReleaseSource
from offline_cache.software_update_state import Layout, read_state, running_release

TOKEN = "device-token-0123456789abcdef"
ROLE = "kiosk"
MACHINE = "aarch64"

APP = '''
import json, sys
from datetime import datetime, timezone
from pathlib import Path
{broken}
VERSION = {version!r}


def main():
    if sys.argv[1:] == ["--version"]:
        print(VERSION)
        return 0
    if sys.argv[1] == "beat" and {healthy}:
        health, state = Path(sys.argv[2]), json.loads(Path(sys.argv[3]).read_text())
        here = Path(sys.prefix).resolve()
        release = next((r["release"] for r in (state.get("current"), state.get("previous"))
                        if isinstance(r, dict) and r.get("path") == str(here)), None)
        health.parent.mkdir(parents=True, exist_ok=True)
        health.write_text(json.dumps({{"version": VERSION, "release": release,
                                       "at": datetime.now(timezone.utc).isoformat()}}))
    return 0
'''


def make_wheel(folder: Path, name: str, version: str, module: str, source: str,
               requires: str | None = None) -> Path:
    """A pure-Python wheel pip installs without building anything."""
    dist = name.replace("-", "_")
    path = folder / f"{dist}-{version}-py3-none-any.whl"
    info = f"{dist}-{version}.dist-info/"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    if requires:
        metadata += f"Provides-Extra: {ROLE}\nRequires-Dist: {requires}; extra == \"{ROLE}\"\n"
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr(f"{module}.py", source)
        wheel.writestr(info + "METADATA", metadata)
        wheel.writestr(info + "WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        if name == "mfc-edge":
            wheel.writestr(info + "entry_points.txt", f"[console_scripts]\nmfc-edge = {module}:main\n")
        wheel.writestr(info + "RECORD", "")
    return path


def app_wheel(folder: Path, version: str, dep: str = "1.0", *, broken: bool = False, healthy: bool = True) -> Path:
    source = APP.format(version=version, broken="import no_such_module_here" if broken else "",
                        healthy=healthy)
    return make_wheel(folder, "mfc-edge", version, "fake_mfc_edge", source, requires=f"mfc-edge-dep=={dep}")


def dep_wheel(folder: Path, version: str) -> Path:
    return make_wheel(folder, "mfc-edge-dep", version, "fake_mfc_edge_dep", f"VERSION = {version!r}\n")


class FakeHub:
    """The hub's two release routes on 127.0.0.1, counting what each wheel request was sent."""

    def __init__(self, key: Ed25519PrivateKey):
        self.key = key
        self.offer: bytes | None = None  # the reply body of GET /api/v1/release
        self.wheels: dict[str, bytes] = {}
        self.sent: list[tuple[str, int]] = []  # (sha256, bytes) per wheel request
        self.ranges: list[str] = []
        self.cut_after: int | None = None  # break the next wheel download off after this many bytes
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    return self._send(401, b"")
                if self.path == f"{protocol.API}/release?machine={MACHINE}":
                    return self._send(200, hub.offer) if hub.offer else self._send(204, b"")
                sha = self.path.removeprefix(f"{protocol.API}/wheels/")
                if sha not in hub.wheels:
                    return self._send(404, b"")
                data, start = hub.wheels[sha], 0
                if self.headers.get("Range"):
                    hub.ranges.append(self.headers["Range"])
                    start = int(self.headers["Range"].removeprefix("bytes=").rstrip("-"))
                body = data[start:]
                if hub.cut_after is not None:
                    body, hub.cut_after = body[:hub.cut_after], None
                    self.send_response(200 if not start else 206)
                    self.send_header("Content-Length", str(len(data) - start))
                    if start:
                        self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                    self.end_headers()
                    self.wfile.write(body)
                    hub.sent.append((sha, len(body)))
                    self.close_connection = True
                    return None
                headers = {"Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"} if start else {}
                hub.sent.append((sha, len(body)))
                return self._send(206 if start else 200, body, headers)

            def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def publish(self, number: int, version: str, wheels: list[Path], *, channel: str = "pilot",
                machine: str = MACHINE, roles: dict[str, list[str]] | None = None) -> release.Release:
        found = release.Release(
            number, version, machine, datetime.now(UTC).isoformat(),
            tuple(sorted((release.Wheel(w.name, bundle.hash_file(w).hexdigest(), w.stat().st_size) for w in wheels),
                         key=lambda w: w.name)),
            {role: tuple(sorted(names)) for role, names in (roles or {ROLE: [w.name for w in wheels]}).items()})
        for wheel in wheels:
            self.wheels[bundle.hash_file(wheel).hexdigest()] = wheel.read_bytes()
        envelope = release.sign(self.key, found)
        self.offer_envelope(json.loads(envelope.encode()), channel)
        return found

    def offer_envelope(self, envelope: Any, channel: str = "pilot") -> None:
        self.offer = canonical_json({"envelope": envelope, "channel": channel})

    def bytes_sent(self) -> int:
        return sum(n for _, n in self.sent)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class FakeSystemd:
    """systemctl for the role's unit: a restart starts the program `current` points at."""

    def __init__(self, layout: Layout):
        self.layout, self.commands, self.active = layout, [], "active"

    def __call__(self, command: list[str]) -> str:
        self.commands.append(command)
        if command[1] == "restart":
            done = subprocess.run([str(self.layout.current / "bin/mfc-edge"), "beat", str(self.layout.health_file),
                                   str(self.layout.state_file)], capture_output=True, timeout=60, check=False)
            self.active = "active" if done.returncode == 0 else "failed"
            return ""
        assert command[1] == "show"
        return self.active + "\n"

    @property
    def restarts(self) -> int:
        return sum(1 for c in self.commands if c[1] == "restart")


def install_first(prefix: Path, wheels: Path) -> Layout:
    """What provisioning leaves: opt/mfc-edge/venv with version 0.1.0, current -> venv."""
    layout = Layout(prefix)
    venv = layout.home / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin/python"), "install", "-q", "--no-index",
                    "--disable-pip-version-check", "--find-links", str(wheels), f"mfc-edge[{ROLE}]==0.1.0"],
                   check=True)
    os.symlink("venv", layout.current)
    return layout


def run_version(layout: Layout) -> str:
    return subprocess.run([str(layout.current / "bin/mfc-edge"), "--version"], capture_output=True, text=True,
                          check=True).stdout.strip()


@pytest.fixture(scope="module")
def first(tmp_path_factory) -> Path:
    """A provisioned prefix, made once and copied per test (a venv and pip take a second or two)."""
    folder = tmp_path_factory.mktemp("first")
    wheels = folder / "wheels"
    app_wheel(wheels, "0.1.0")
    dep_wheel(wheels, "1.0")
    install_first(folder / "prefix", wheels)
    return folder / "prefix"


@pytest.fixture
def device(tmp_path: Path, first: Path):
    prefix = tmp_path / "prefix"
    subprocess.run(["cp", "-a", str(first), str(prefix)], check=True)
    key = Ed25519PrivateKey.generate()
    hub = FakeHub(key)
    layout = Layout(prefix)
    systemd = FakeSystemd(layout)
    client = HubClient(hub.url, TOKEN)
    events: list[tuple[str, dict[str, Any]]] = []
    source = ReleaseSource(client, bundle.public_key_bytes(key), MACHINE, ROLE, layout)
    updater = SoftwareUpdater(source, layout, role=ROLE, report=lambda kind, body: events.append((kind, body)),
                              runner=systemd, health_timeout=5.0, poll_every=0.05)
    yield updater, hub, systemd, events, tmp_path / "wheels"
    client.close()
    hub.close()


@pytest.mark.slow
def test_a_device_takes_a_release_runs_it_and_keeps_only_the_previous_one(device) -> None:
    updater, hub, systemd, events, wheels = device
    layout = updater.layout
    assert run_version(layout) == "0.1.0"
    hub.publish(1, "0.2.0", [app_wheel(wheels, "0.2.0"), dep_wheel(wheels, "1.0")])

    outcome = updater.run_once()
    assert (outcome.status, outcome.release) == ("updated", 1)
    assert run_version(layout) == "0.2.0"
    # The release has its own pip: the next update runs from it.
    subprocess.run([str(layout.current / "bin/python"), "-m", "pip", "--version"], capture_output=True, check=True)
    assert layout.current.resolve() == layout.release_dir(1).resolve()
    assert os.readlink(layout.current) == "releases/1" and os.readlink(layout.previous) == "venv"
    assert events == [(protocol.SOFTWARE_UPDATED, {"from": "0.1.0", "to": "0.2.0", "release": 1})]
    assert running_release(layout.state_file, layout.release_dir(1)) == {"release": 1, "channel": "pilot"}
    assert systemd.restarts == 1
    assert {name for name in os.listdir(layout.wheels)} == {f"{sha}.whl" for sha in hub.wheels}

    hub.publish(2, "0.2.1", [app_wheel(wheels / "2", "0.2.1", dep="1.1"), dep_wheel(wheels / "2", "1.1")])
    assert updater.run_once().status == "updated" and run_version(layout) == "0.2.1"
    # Only the current and previous releases stay, with their wheels; provisioning's venv goes.
    assert sorted(os.listdir(layout.releases)) == ["1", "2"] and not (layout.home / "venv").exists()
    assert os.readlink(layout.previous) == "releases/1"
    assert len(os.listdir(layout.wheels)) == 4
    assert updater.run_once().status == "unchanged" and systemd.restarts == 2


@pytest.mark.slow
def test_a_release_changing_one_dependency_downloads_that_wheel_alone(device) -> None:
    updater, hub, _, _, wheels = device
    app = app_wheel(wheels, "0.3.0", dep="1.0")
    hub.publish(1, "0.3.0", [app, dep_wheel(wheels, "1.0")])
    assert updater.run_once().status == "updated"
    hub.sent.clear()
    # The same project wheel (its requirement allows any dependency version) and a new dependency.
    loose = make_wheel(wheels / "loose", "mfc-edge", "0.4.0", "fake_mfc_edge",
                       APP.format(version="0.4.0", broken="", healthy=True), requires="mfc-edge-dep")
    hub.publish(2, "0.4.0", [loose, dep_wheel(wheels, "1.0")])
    assert updater.run_once().status == "updated"
    hub.sent.clear()
    changed = dep_wheel(wheels / "new", "1.1")
    hub.publish(3, "0.4.0", [loose, changed])
    assert updater.run_once().status == "updated"
    assert hub.sent == [(bundle.hash_file(changed).hexdigest(), changed.stat().st_size)]


@pytest.mark.slow
@pytest.mark.parametrize(("broken", "reason"), [
    ({"broken": True}, "mfc-edge-kiosk.service is failed after the switch"),
    ({"healthy": False}, "no heartbeat accepted by the hub within 5 s of the switch"),
])
def test_an_unhealthy_release_rolls_back_by_itself_and_is_never_tried_again(device, broken, reason) -> None:
    updater, hub, systemd, events, wheels = device
    layout = updater.layout
    hub.publish(7, "0.9.0", [app_wheel(wheels, "0.9.0", **broken), dep_wheel(wheels, "1.0")])
    started = time.monotonic()
    outcome = updater.run_once()
    assert (outcome.status, outcome.release, outcome.detail) == ("rolled_back", 7, reason)
    assert time.monotonic() - started < 30
    assert run_version(layout) == "0.1.0" and os.readlink(layout.current) == "venv"
    assert events == [(protocol.SOFTWARE_ROLLED_BACK, {"release": 7, "version": "0.9.0", "reason": reason})]
    assert systemd.restarts == 2  # into the new release, and back
    assert not layout.release_dir(7).exists()
    state = read_state(layout.state_file)
    assert state["last_rollback"]["reason"] == reason and "switching" not in state

    assert updater.run_once().status == "unchanged" and systemd.restarts == 2  # not again
    hub.publish(8, "1.0.0", [app_wheel(wheels, "1.0.0"), dep_wheel(wheels, "1.0")])
    assert updater.run_once().status == "updated" and run_version(layout) == "1.0.0"


def _refusal(device, mutate) -> tuple[Any, str]:
    updater, hub, systemd, events, wheels = device
    found = hub.publish(5, "0.5.0", [app_wheel(wheels, "0.5.0"), dep_wheel(wheels, "1.0")])
    mutate(hub, found, wheels)
    outcome = updater.run_once()
    assert outcome.status == "refused"
    assert os.readlink(updater.layout.current) == "venv" and systemd.restarts == 0
    assert [kind for kind, _ in events] == [protocol.SOFTWARE_UPDATE_FAILED]
    assert "\n" not in events[0][1]["reason"]
    assert updater.run_once().status == "refused" and len(events) == 1  # reported once
    return outcome, events[0][1]["reason"]


def _tamper(hub, found, wheels) -> None:
    envelope = json.loads(hub.offer)["envelope"]
    manifest = base64.b64decode(envelope["manifest"]).replace(b'"0.5.0"', b'"0.5.1"')
    envelope["manifest"] = base64.b64encode(manifest).decode()
    hub.offer_envelope(envelope)


def _unsign(hub, found, wheels) -> None:
    envelope = json.loads(hub.offer)["envelope"]
    hub.offer_envelope({"manifest": envelope["manifest"], "signature": ""})


def _other_key(hub, found, wheels) -> None:
    hub.offer_envelope(json.loads(release.sign(Ed25519PrivateKey.generate(), found).encode()))


def _other_machine(hub, found, wheels) -> None:
    hub.publish(5, "0.5.0", [app_wheel(wheels, "0.5.0"), dep_wheel(wheels, "1.0")], machine="x86_64")


def _no_wheels_for_role(hub, found, wheels) -> None:
    names = [w.name for w in found.wheels]
    hub.publish(5, "0.5.0", [app_wheel(wheels, "0.5.0"), dep_wheel(wheels, "1.0")], roles={"signage": names})


def _wheel_bytes_changed(hub, found, wheels) -> None:
    sha = found.wheels[0].sha256
    data = bytearray(hub.wheels[sha])
    data[len(data) // 2] ^= 0xFF
    hub.wheels[sha] = bytes(data)


@pytest.mark.parametrize(("mutate", "said"), [
    (_tamper, "bad-signature"), (_unsign, "unsigned"), (_other_key, "bad-signature"),
    (_other_machine, "other-machine: release 5 is for x86_64, this is aarch64"),
    (_no_wheels_for_role, "no-wheels: release 5 has no wheels for a kiosk"),
    (_wheel_bytes_changed, "tampered"),
])
def test_bad_releases_are_refused_in_one_line_and_reported_once(device, mutate, said) -> None:
    _, reason = _refusal(device, mutate)
    assert reason.startswith(said)


@pytest.mark.slow
def test_an_older_release_is_refused_after_a_newer_one(device) -> None:
    updater, hub, _, events, wheels = device
    hub.publish(3, "0.3.0", [app_wheel(wheels, "0.3.0"), dep_wheel(wheels, "1.0")])
    assert updater.run_once().status == "updated"
    hub.publish(2, "0.2.5", [app_wheel(wheels, "0.2.5"), dep_wheel(wheels, "1.0")])
    outcome = updater.run_once()
    assert outcome.status == "refused" and run_version(updater.layout) == "0.3.0"
    assert events[-1] == (protocol.SOFTWARE_UPDATE_FAILED,
                          {"release": 2, "reason": "rollback: release 2 is not newer than release 3, installed "
                                                   "here before"})


@pytest.mark.slow
def test_a_broken_off_download_resumes_where_it_stopped(device) -> None:
    updater, hub, _, _, wheels = device
    app = app_wheel(wheels, "0.6.0")
    hub.publish(1, "0.6.0", [app, dep_wheel(wheels, "1.0")])
    hub.cut_after = 100
    assert updater.run_once().status == "failed"
    assert updater.run_once().status == "updated"
    assert hub.ranges == ["bytes=100-"]


@pytest.mark.slow
def test_the_pilot_channel_is_carried_and_follows_a_promotion(device) -> None:
    updater, hub, _, _, wheels = device
    found = hub.publish(1, "0.2.0", [app_wheel(wheels, "0.2.0"), dep_wheel(wheels, "1.0")])
    assert updater.run_once().status == "updated"
    hub.offer_envelope(json.loads(release.sign(hub.key, found).encode()), channel="stable")
    assert updater.run_once().status == "unchanged"
    assert running_release(updater.layout.state_file, updater.layout.release_dir(1)) == {"release": 1,
                                                                                         "channel": "stable"}


KILLED_UPDATER = """
import sys
from offline_cache.hub_client import HubClient
from offline_cache.software_update import SoftwareUpdater
from offline_cache.software_update_fetch import ReleaseSource
from offline_cache.software_update_state import Layout
from tests.test_software_update import FakeSystemd, MACHINE, ROLE, TOKEN
import base64

url, prefix, key = sys.argv[1], sys.argv[2], base64.b64decode(sys.argv[3])
layout = Layout(__import__("pathlib").Path(prefix))
source = ReleaseSource(HubClient(url, TOKEN), key, MACHINE, ROLE, layout)
updater = SoftwareUpdater(source, layout, role=ROLE, report=lambda kind, body: print(kind, flush=True),
                          runner=FakeSystemd(layout), health_timeout=10.0, poll_every=0.05)
outcome = updater.run_once()
print(outcome.detail, flush=True)
print(outcome.status, flush=True)
"""


@pytest.mark.slow
def test_an_updater_killed_at_random_moments_leaves_a_whole_release_and_finishes_later(device, tmp_path) -> None:
    updater, hub, _, _, wheels = device
    layout = updater.layout
    hub.publish(1, "0.2.0", [app_wheel(wheels, "0.2.0"), dep_wheel(wheels, "1.0")])
    pristine = tmp_path / "pristine"
    subprocess.run(["cp", "-a", str(layout.prefix), str(pristine)], check=True)
    key = base64.b64encode(updater.source.public_key).decode()
    command = [sys.executable, "-c", KILLED_UPDATER, hub.url, str(layout.prefix), key]
    cwd = Path(__file__).resolve().parent.parent

    started = time.monotonic()  # how long a whole pass takes: the kills fall anywhere in it
    subprocess.run(command, cwd=cwd, capture_output=True, timeout=120, check=True)
    whole_pass = time.monotonic() - started
    rng = random.Random(15)
    moments = sorted(rng.uniform(0.02, whole_pass) for _ in range(15))  # two kills each: 30 SIGKILLs
    for moment in moments:
        subprocess.run(["rm", "-rf", str(layout.prefix)], check=True)
        subprocess.run(["cp", "-a", str(pristine), str(layout.prefix)], check=True)
        for _ in range(2):  # killed once, then killed again while it settles what the first left
            proc = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                    start_new_session=True)
            time.sleep(moment)
            # With its pip and venv children, as systemd kills a service's whole cgroup (or a power cut does).
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            target = layout.current.resolve()
            assert target in (layout.home / "venv", layout.release_dir(1).resolve()), moment
            # A whole release: its program runs and says which it is.
            assert run_version(layout) == {"venv": "0.1.0", "1": "0.2.0"}[target.name], moment
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120, check=True)
        assert done.stdout.split()[-1] in ("updated", "unchanged"), (moment, done.stdout)
        assert run_version(layout) == "0.2.0" and os.readlink(layout.current) == "releases/1"
        assert "switching" not in read_state(layout.state_file)
        assert [p.name for p in layout.releases.iterdir() if not p.name.startswith(".")] == ["1"]


# ---- with a real hub: published by `hub release`'s code, events through the device's outbox ----

def release_folder(folder: Path, version: str, wheels: list[Path]) -> Path:
    """A built release folder as `mfc-edge release build` writes it, for the kiosk on aarch64."""
    from mfc_edge.release_build import DESCRIPTION, Description

    (folder / "wheels").mkdir(parents=True)
    described = []
    for wheel in wheels:
        (folder / "wheels" / wheel.name).write_bytes(wheel.read_bytes())
        described.append(release.Wheel(wheel.name, bundle.hash_file(wheel).hexdigest(), wheel.stat().st_size))
    description = Description(version, tuple(sorted(described, key=lambda w: w.name)),
                              {MACHINE: {ROLE: tuple(sorted(w.name for w in wheels))}})
    (folder / DESCRIPTION).write_bytes(description.encode())
    return folder


@pytest.mark.slow
def test_with_a_real_hub_the_device_updates_reports_and_fetches_only_a_changed_wheel(tmp_path, first) -> None:
    from hardware.clock import SystemClock
    from hub.api import Hub
    from hub.server import HubThread
    from offline_cache.outbox import DeviceStore

    prefix = tmp_path / "prefix"
    subprocess.run(["cp", "-a", str(first), str(prefix)], check=True)
    layout, wheels = Layout(prefix), tmp_path / "wheels"
    hub = Hub(tmp_path / "hub")
    store = DeviceStore(tmp_path / "kiosk.sqlite", center_id="strogino", device_id="k1", clock=SystemClock())
    try:
        with HubThread(hub) as server:
            code = hub.identity.create_code("strogino", ROLE)
            import requests

            token = requests.post(f"{server.url}{protocol.ENROLL_PATH}", json={"code": code, "device_id": "k1"},
                                  timeout=10).json()["token"]
            client = HubClient(server.url, token)
            asked: list[str] = []
            client.on_answer(lambda reply: asked.append(reply.url.rsplit("/", 1)[-1]))
            source = ReleaseSource(client, hub.bundles.public_key(), MACHINE, ROLE, layout)
            updater = SoftwareUpdater(source, layout, role=ROLE, report=store.record_event,
                                      runner=FakeSystemd(layout), health_timeout=5.0, poll_every=0.05)
            app = make_wheel(wheels, "mfc-edge", "0.2.0", "fake_mfc_edge",
                             APP.format(version="0.2.0", broken="", healthy=True), requires="mfc-edge-dep")
            hub.releases.publish(release_folder(tmp_path / "r1", "0.2.0", [app, dep_wheel(wheels, "1.0")]), "stable")
            assert updater.run_once().status == "updated" and run_version(layout) == "0.2.0"
            assert [e["type"] for e in store.outbox()] == [protocol.SOFTWARE_UPDATED]
            assert all(protocol.event_problem(e) is None for e in store.outbox())

            asked.clear()
            assert updater.run_once().status == "unchanged"  # the hub's ETag: a 304
            changed = dep_wheel(wheels / "new", "1.1")
            hub.releases.publish(release_folder(tmp_path / "r2", "0.2.0", [app, changed]), "stable")
            assert updater.run_once().status == "updated"
            assert [name for name in asked if len(name) == 64] == [bundle.hash_file(changed).hexdigest()]
            assert read_state(layout.state_file)["current"]["release"] == 2
            client.close()
    finally:
        store.close()
        hub.close()


def test_the_update_unit_runs_a_command_that_exists(tmp_path) -> None:
    from mfc_edge.cli import build_parser
    from mfc_edge.provision.render import system_files
    from mfc_edge.provision.roles import role_named

    files = {str(f.path): f.text for f in system_files(role_named("console"), None)}
    unit = files["etc/systemd/system/mfc-edge-update.service"]
    command = next(line for line in unit.splitlines() if line.startswith("ExecStart=")).split("=", 1)[1].split()
    args = build_parser().parse_args(command[1:])
    assert (args.config, args.once, args.prefix, args.health_timeout) == (Path("/etc/mfc-edge/console.toml"), True,
                                                                          "/", 180.0)
    assert "OnUnitActiveSec=15min" in files["etc/systemd/system/mfc-edge-update.timer"]
    assert "etc/systemd/system/mfc-edge-update.service" not in {str(f.path) for f in system_files(role_named("hub"),
                                                                                                    None)}


def test_bad_arguments_and_an_unenrolled_device_are_one_line(tmp_path, capsys) -> None:
    from mfc_edge.cli import main

    with pytest.raises(SystemExit):
        main(["update", "--config", "x.toml", "--health-timeout", "0"])
    assert "--health-timeout: '0': expected seconds from 1 to 3600" in capsys.readouterr().err
    config = tmp_path / "signage.toml"
    config.write_text('[center]\nid = "strogino"\nname = "Строгино"\n[device]\nid = "s1"\nrole = "signage"\n'
                      '[hub]\nurl = "http://127.0.0.1:9"\n')
    assert main(["update", "--config", str(config), "--once", "--prefix", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not enrolled with a hub" in err


class _Answers(BaseAdapter):
    """A transport answering every request with the next status in `statuses`."""

    def __init__(self, statuses: list[int]):
        super().__init__()
        self.statuses, self.bodies = statuses, []

    def send(self, request, **kwargs):
        self.bodies.append(json.loads(request.body))
        reply = Response()
        reply.status_code, reply._content, reply.request = self.statuses.pop(0), b"{}", request
        return reply

    def close(self) -> None:
        pass


def test_the_app_writes_the_health_file_after_a_beat_the_hub_accepted_only(tmp_path) -> None:
    from hardware.clock import SystemClock
    from mfc_edge.cli.status import software_lines
    from offline_cache.heartbeat import Heartbeat
    from offline_cache.outbox import DeviceStore
    from offline_cache.software_update_state import write_state

    here = Path(sys.prefix).resolve()  # the environment this app runs from is release 4
    state = tmp_path / "software.json"
    write_state(state, {"current": {"release": 4, "version": "0.4.0", "channel": "pilot", "path": str(here)},
                        "last_rollback": {"release": 5, "version": "0.5.0", "reason": "no heartbeat", "at": "x"}})
    store = DeviceStore(tmp_path / "kiosk.sqlite", center_id="strogino", device_id="k1", clock=SystemClock())
    transport = _Answers([500, 200])
    client = HubClient("http://127.0.0.1:9", TOKEN, transport=transport)
    beat = Heartbeat(store, client, tmp_path, software_state=state, runtime_dir=tmp_path / "run",
                     display=lambda: None)
    try:
        assert not beat.send_once() and not (tmp_path / "run/healthy").exists()
        assert beat.send_once()
    finally:
        client.close()
        store.close()
    health = json.loads((tmp_path / "run/healthy").read_text())
    assert (health["version"], health["release"]) == (beat.version, 4)
    assert datetime.fromisoformat(health["at"]) > datetime.now(UTC) - timedelta(minutes=1)
    assert (transport.bodies[1]["release"], transport.bodies[1]["channel"]) == (4, "pilot")
    lines = software_lines(state)
    assert lines[0].endswith(", release 4 (pilot)") and lines[1] == "rollback release 5 (0.5.0) at x: no heartbeat"


def test_a_release_the_card_cannot_hold_is_not_downloaded(device, monkeypatch) -> None:
    updater, hub, systemd, events, wheels = device
    hub.publish(1, "0.2.0", [app_wheel(wheels, "0.2.0"), dep_wheel(wheels, "1.0")])
    real = __import__("shutil").disk_usage
    monkeypatch.setattr("offline_cache.software_update_fetch.shutil.disk_usage",
                        lambda path: real(path)._replace(free=1000))
    outcome = updater.run_once()
    assert (outcome.status, outcome.detail) == ("refused", "no-room: release 1 needs about 1 MB free on the card, "
                                                           "and it has less")
    assert hub.sent == [] and systemd.restarts == 0 and events[0][0] == protocol.SOFTWARE_UPDATE_FAILED


@pytest.mark.parametrize(("offer", "said"), [
    (b"<html>", "malformed: the hub's release offer is not JSON"),
    (b'{"envelope": {}, "channel": "beta"}', "malformed: the hub's release offer is not an object with an envelope"),
    (b'{"channel": "stable"}', "unsigned: the hub's release offer carries no envelope"),
    (b'{"channel": "stable", "envelope": {"manifest": "AA=="}}', "unsigned: release envelope: the envelope is not"),
    (b" " * (release.MAX_ENVELOPE_BYTES + 2048), "oversized: the hub's release offer is larger than"),
])
def test_a_hostile_offer_is_one_line_and_changes_nothing(device, offer, said) -> None:
    updater, hub, systemd, events, _ = device
    hub.offer = offer
    outcome = updater.run_once()
    assert outcome.status == "refused" and outcome.detail.startswith(said) and "\n" not in outcome.detail
    assert os.readlink(updater.layout.current) == "venv" and systemd.restarts == 0 and len(events) == 1


@pytest.mark.skipif(os.geteuid() != 0, reason="the updater runs as root; only root can give files away")
def test_the_updaters_events_reach_the_apps_outbox_in_files_the_app_can_write(tmp_path) -> None:
    from hardware.clock import SystemClock
    from mfc_edge.cli.update import Outbox
    from offline_cache.outbox import DeviceStore

    data = tmp_path / "data"
    data.mkdir()
    os.chown(data, 4321, 4321)  # the app's user owns its data folder
    Outbox(data / "kiosk.sqlite", "strogino", "k1").record_event(
        protocol.SOFTWARE_UPDATED, {"from": "0.1.0", "to": "0.2.0", "release": 1})
    assert {p.name: p.stat().st_uid for p in data.iterdir()} == {"kiosk.sqlite": 4321}
    store = DeviceStore(data / "kiosk.sqlite", center_id="strogino", device_id="k1", clock=SystemClock())
    try:
        assert [(e["type"], e["body"]["release"]) for e in store.outbox()] == [(protocol.SOFTWARE_UPDATED, 1)]
    finally:
        store.close()
