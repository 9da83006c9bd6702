"""A real release of this working tree (mfc_edge/release_build.py): built for x86_64 with pip (its
wheels from pip's cache), published into a temporary hub with the command line, its manifest and
wheels fetched over HTTP from a hub process on 127.0.0.1, a cut download resumed."""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from hub.api import Hub
from mfc_edge import release
from mfc_edge.cli import main
from mfc_edge.release_build import for_machine, foreign, platform_args, read_description
from tests.helpers.hubprocess import HubProcess

ROOT = Path(__file__).resolve().parent.parent


def test_markers_are_judged_for_the_target_machine_not_this_one():
    lgpio = "lgpio>=0.2.2; platform_machine == 'aarch64'"
    assert for_machine(lgpio, "aarch64") == "lgpio>=0.2.2" and for_machine(lgpio, "x86_64") is None
    assert "manylinux_2_34_aarch64" in platform_args("aarch64") and "manylinux2014_x86_64" in platform_args("x86_64")
    assert foreign(["a-1-py3-none-any.whl", "b-1-cp311-cp311-manylinux_2_17_x86_64.whl",
                    "c-1-cp311-cp311-manylinux_2_17_aarch64.whl"], "aarch64") == [
        "b-1-cp311-cp311-manylinux_2_17_x86_64.whl"]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("release")
    assert main(["release", "build", "--out", str(out), "--machine", "x86_64", "--role", "console",
                 "--root", str(ROOT)]) == 0
    return out


@pytest.mark.slow
def test_the_console_s_wheels_are_exactly_what_pip_installs_it_from_without_an_index(built, tmp_path):
    described = read_description(built)
    names = described.machines["x86_64"]["console"]
    assert any(n.startswith("mfc_edge-") for n in names) and not foreign(list(names), "x86_64")
    only = tmp_path / "only-these"
    only.mkdir()
    for name in names:
        shutil.copy(built / "wheels" / name, only / name)
    # A dry run resolves as a device would install, and installs nothing on this machine.
    resolved = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed",
                               "--no-index", "--find-links", str(only), "--disable-pip-version-check",
                               "mfc-edge[console]"], capture_output=True, text=True)
    assert resolved.returncode == 0, resolved.stderr


@pytest.mark.slow
def test_a_built_release_is_published_and_fetched_from_a_hub_process_with_resume(built, tmp_path, capsys):
    data = tmp_path / "hub"
    assert main(["hub", "release", str(built), "--channel", "stable", "--data", str(data)]) == 0
    assert "release 1 (stable) for x86_64" in capsys.readouterr().out
    hub = Hub(data)
    key, code = hub.bundles.public_key(), hub.identity.create_code("strogino", "console", window="1")
    hub.close()
    running = HubProcess(data).start()
    try:
        token = requests.post(f"{running.url}/api/v1/enroll", json={"code": code, "device_id": "w1"},
                              timeout=10).json()["token"]
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        reply = session.get(f"{running.url}{release.RELEASE_PATH}", params={"machine": "x86_64"}, timeout=10)
        assert reply.status_code == 200
        got = release.verify_release(json.dumps(reply.json()["envelope"]).encode(), key, "x86_64", newer_than=0)
        assert session.get(f"{running.url}{release.RELEASE_PATH}", params={"machine": "aarch64"},
                           timeout=10).status_code == 204
        wheel = max(got.wheels_for("console"), key=lambda w: w.size)
        url = f"{running.url}{release.WHEELS_PATH}/{wheel.sha256}"
        with session.get(url, stream=True, timeout=10) as cut:  # the network goes after the first chunk
            first = next(cut.iter_content(64 * 1024))
        rest = session.get(url, headers={"Range": f"bytes={len(first)}-"}, timeout=30)
        assert rest.status_code == 206
        assert hashlib.sha256(first + rest.content).hexdigest() == wheel.sha256
        assert len(first) + len(rest.content) == wheel.size
    finally:
        running.stop()


# What the new release's own app does once systemd starts it: a heartbeat the hub accepts, which
# writes the health file the updater's gate waits for. It runs in the release's environment.
APP_BEATS = """
import sys
from pathlib import Path
from hardware.clock import SystemClock
from offline_cache.heartbeat import Heartbeat
from offline_cache.hub_client import HubClient
from offline_cache.outbox import DeviceStore
url, token, data, state, runtime = sys.argv[1:6]
store = DeviceStore(Path(data) / "console.sqlite", center_id="strogino", device_id="w1", clock=SystemClock())
client = HubClient(url, token)
try:
    beat = Heartbeat(store, client, Path(data), software_state=Path(state), runtime_dir=Path(runtime))
    sys.exit(0 if beat.send_once() else 1)
finally:
    client.close()
    store.close()
"""


class StartsTheRelease:
    """systemctl for the console's unit: a restart runs the app's heartbeat from `current`."""

    def __init__(self, layout, url: str, token: str, data: Path):
        self.layout, self.url, self.token, self.data = layout, url, token, data
        self.state, self.runs = "inactive", []

    def __call__(self, command: list[str]) -> str:
        if command[1] == "restart":
            done = subprocess.run([str(self.layout.current / "bin/python"), "-c", APP_BEATS, self.url, self.token,
                                   str(self.data), str(self.layout.state_file), str(self.layout.health_file.parent)],
                                  capture_output=True, text=True, timeout=120, check=False)
            self.runs.append(done)
            self.state = "active" if done.returncode == 0 else "failed"
            return ""
        return self.state + "\n"


@pytest.mark.slow
def test_a_device_installs_the_real_release_and_runs_it(built, tmp_path):
    """The release built from this tree, published, taken by the updater into a scratch prefix: a
    new environment from the release's wheels alone, switched to, started, and healthy."""
    from hub.server import HubThread
    from offline_cache.hub_client import HubClient
    from offline_cache.software_update import SoftwareUpdater
    from offline_cache.software_update_fetch import ReleaseSource
    from offline_cache.software_update_state import Layout

    hub = Hub(tmp_path / "hub")
    layout = Layout(tmp_path / "device")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(layout.home / "venv")], check=True)
    layout.current.symlink_to("venv")  # what provisioning left: the card's first environment
    layout.health_file.parent.mkdir(parents=True)
    (tmp_path / "data").mkdir()
    events: list[tuple[str, dict]] = []
    try:
        assert hub.releases.publish(built, "stable") is not None
        code = hub.identity.create_code("strogino", "console", window="1")
        with HubThread(hub) as server:
            token = requests.post(f"{server.url}/api/v1/enroll", json={"code": code, "device_id": "w1"},
                                  timeout=10).json()["token"]
            client = HubClient(server.url, token)
            systemd = StartsTheRelease(layout, server.url, token, tmp_path / "data")
            updater = SoftwareUpdater(ReleaseSource(client, hub.bundles.public_key(), "x86_64", "console", layout),
                                      layout, role="console", report=lambda kind, body: events.append((kind, body)),
                                      runner=systemd, health_timeout=120, poll_every=0.2)
            try:
                outcome = updater.run_once()
            finally:
                client.close()
        assert outcome.status == "updated", (outcome, [r.stderr[-2000:] for r in systemd.runs])
        assert layout.current.resolve() == (layout.releases / "1").resolve()
        assert [kind for kind, _ in events] == ["software.updated"]
        new = layout.current / "bin/python"
        imports = "import mfc_edge.cli, gpiozero, offline_cache.heartbeat; print('ok')"
        assert subprocess.run([new, "-c", imports], capture_output=True, text=True).stdout == "ok\n"
        # the console's environment holds its role's packages, not the screens'
        assert subprocess.run([new, "-c", "import kivy"], capture_output=True).returncode != 0
        assert subprocess.run([layout.current / "bin/mfc-edge", "--help"], capture_output=True).returncode == 0
        [device] = hub.device_health.devices("strogino")
        assert device["beat"]["release"] == 1 and device["beat"]["channel"] == "stable"
    finally:
        hub.close()
