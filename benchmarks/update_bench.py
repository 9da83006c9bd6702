"""Software updates from a real hub process to 100 devices over loopback (issue 15). Writes its
section of benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/update_bench.py [--devices 100] [--runs 3]

The fleet: a real hub process (`mfc-edge hub`) on 127.0.0.1 and `--devices` kiosks enrolled with
it, each the real updater (offline_cache/software_update.py: offer, signature, anti-rollback,
resumable hash-checked downloads into its wheel cache, switch, health gate, pruning) with a
scratch prefix of its own and its own HubClient, all updating at once. Release 1 is a kiosk's
aarch64 release as `mfc-edge release build` makes it: the 35 wheels with the names and sizes of
the real ones (42 MB), published with `mfc-edge hub release DIR --channel stable`; release 2
changes only the project wheel. The bytes in the wheels are stand-ins, and so, in this benchmark
only, are two steps: making the environment (`python -m venv` and `pip install --no-index`,
a minute on a Pi) is replaced by making the release's folder, and systemd by a runner that, on
`systemctl restart`, has the device send its heartbeat with the new release to the hub and writes
the health file, as the app does after a beat the hub accepted. Counted on the devices' side of
loopback: the body bytes of every answer, and each wheel's downloads per device.

The health gate: the real updater with a real tiny release (a real wheel of a stand-in `mfc-edge`
installed with the updater's own venv and pip into a scratch prefix; software_update_install.py
is not replaced) whose app is a real process: it posts a heartbeat to the hub and writes the
health file. Measured: from the switch to a healthy verdict, and, for a release whose app fails
at import, from the switch to the old release running again.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from results import write_section  # noqa: E402

from hub.api import Hub  # noqa: E402
from mfc_edge import protocol, release  # noqa: E402
from mfc_edge.release_build import DESCRIPTION, Description  # noqa: E402
from offline_cache import software_update  # noqa: E402
from offline_cache.hub_client import HubClient  # noqa: E402
from offline_cache.software_update import SoftwareUpdater  # noqa: E402
from offline_cache.software_update_fetch import ReleaseSource  # noqa: E402
from offline_cache.software_update_install import point  # noqa: E402
from offline_cache.software_update_state import Layout  # noqa: E402
from tests.helpers.hubprocess import HubProcess  # noqa: E402

SECTION = "## Software updates to 100 devices (issue 15)"
CENTER = "bench"
MACHINE = "aarch64"
# A kiosk's aarch64 wheels as `mfc-edge release build` collected them (benchmarks/arm64_wheels.py),
# by size in bytes; the project's own wheel is added per release.
KIOSK_WHEELS = (
    ("Kivy-2.3.1-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl", 22792626),
    ("pillow-13.0.0-cp311-cp311-manylinux_2_27_aarch64.manylinux_2_28_aarch64.whl", 6517304),
    ("cryptography-50.0.2-cp311-abi3-manylinux2014_aarch64.manylinux_2_17_aarch64.whl", 4731146),
    ("pip-26.3-py3-none-any.whl", 1950951), ("pygments-2.21.0-py3-none-any.whl", 1250147),
    ("setuptools-84.2.1-py3-none-any.whl", 876263),
    ("pyyaml-6.0.4-cp311-cp311-manylinux2014_aarch64.manylinux_2_17_aarch64.manylinux_2_28_aarch64.whl", 810905),
    ("docutils-0.23-py3-none-any.whl", 634701), ("tzdata-2026.6-py2.py3-none-any.whl", 348210),
    ("charset_normalizer-3.5.3-cp311-cp311-manylinux2014_aarch64.manylinux_2_17_aarch64.manylinux_2_28_aarch64.whl",
     245172),
    ("python_barcode-0.16.1-py3-none-any.whl", 228046),
    ("cffi-2.1.1-cp311-cp311-manylinux2014_aarch64.manylinux_2_17_aarch64.whl", 218716),
    ("urllib3-2.8.0-py3-none-any.whl", 135717), ("certifi-2026.10.19.post1-py3-none-any.whl", 134047),
    ("click-8.5.1-py3-none-any.whl", 126163), ("sqlite_utils-4.2.1-py3-none-any.whl", 99482),
    ("python_dateutil-4.0.0-py3-none-any.whl", 92853), ("pyserial-3.5-py2.py3-none-any.whl", 90585),
    ("requests-2.34.2-py3-none-any.whl", 73075), ("idna-3.20-py3-none-any.whl", 69583),
    ("python_escpos-3.1-py3-none-any.whl", 69350), ("pycparser-3.12-py3-none-any.whl", 62600),
    ("pyusb-1.3.1-py3-none-any.whl", 58465), ("qrcode-8.2-py3-none-any.whl", 45986),
    ("argcomplete-3.7.2-py3-none-any.whl", 43294), ("tabulate-0.10.0-py3-none-any.whl", 39814),
    ("importlib_resources-7.1.0-py3-none-any.whl", 37232), ("pluggy-1.7.0-py3-none-any.whl", 27082),
    ("filetype-1.2.0-py2.py3-none-any.whl", 19970), ("six-1.17.0-py2.py3-none-any.whl", 11050),
    ("sqlite_fts4-1.0.3-py3-none-any.whl", 9972), ("appdirs-1.4.4-py2.py3-none-any.whl", 9566),
    ("Kivy_Garden-0.1.5-py3-none-any.whl", 4623), ("click_default_group-1.2.4-py2.py3-none-any.whl", 4123),
)
PROJECT_WHEEL_BYTES = 387372  # mfc_edge-0.1.0-py3-none-any.whl


def stand_in(name: str, size: int) -> bytes:
    """`size` bytes that differ per wheel name (and project version): no two wheels share a hash."""
    seed = hashlib.sha256(name.encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


def built_release(folder: Path, version: str) -> Path:
    """A release folder as `mfc-edge release build --machine aarch64 --role kiosk` writes one."""
    wheels = []
    (folder / "wheels").mkdir(parents=True)
    for name, size in (*KIOSK_WHEELS, (f"mfc_edge-{version}-py3-none-any.whl", PROJECT_WHEEL_BYTES)):
        data = stand_in(name, size)
        (folder / "wheels" / name).write_bytes(data)
        wheels.append(release.Wheel(name, hashlib.sha256(data).hexdigest(), size))
    names = tuple(sorted(w.name for w in wheels))
    described = Description(version, tuple(sorted(wheels, key=lambda w: w.name)), {MACHINE: {"kiosk": names}})
    (folder / DESCRIPTION).write_bytes(described.encode())
    return folder


def publish(hub: HubProcess, folder: Path) -> None:
    subprocess.run([sys.executable, "-m", "mfc_edge.cli", "hub", "release", str(folder), "--channel", "stable",
                    "--data", str(hub.data_dir)], check=True, capture_output=True, text=True)


class Counted:
    """What one device received over loopback: body bytes, and downloads per wheel hash."""

    def __init__(self) -> None:
        self.bytes = 0
        self.wheels: Counter[str] = Counter()
        self.lock = threading.Lock()

    def answer(self, reply: requests.Response) -> None:
        if "/wheels/" in reply.url and reply.status_code in (200, 206):
            with self.lock:
                self.wheels[reply.url.rsplit("/", 1)[1]] += 1
        # Streamed bodies are read after the hook: the count is of Content-Length, what the hub sends.
        with self.lock:
            self.bytes += int(reply.headers.get("Content-Length") or len(reply.content or b""))


class SimulatedKiosk:
    """One kiosk's updater on a scratch prefix, as provisioning leaves it (current -> venv)."""

    def __init__(self, root: Path, url: str, device: str, token: str, key: bytes):
        self.device, self.layout = device, Layout(root / device)
        (self.layout.home / "venv").mkdir(parents=True)
        point(self.layout.current, self.layout.home / "venv")
        self.counted = Counted()
        self.client = HubClient(url, token)
        self.client.on_answer(self.counted.answer)
        self.updater = SoftwareUpdater(ReleaseSource(self.client, key, MACHINE, "kiosk", self.layout), self.layout,
                                       role="kiosk", report=lambda kind, body: None, runner=self.systemctl,
                                       poll_every=0.05, health_timeout=30)

    def systemctl(self, command: list[str]) -> str:
        """systemd for this device: a restart is the app coming up and beating with its release."""
        if command[1] == "restart":
            found = software_update.read_state(self.layout.state_file)["current"]
            reply = self.client.post(protocol.HEARTBEAT_PATH, json={
                "center": CENTER, "device": self.device, "version": found["version"], "outbox": 0,
                "release": found["release"], "channel": found["channel"]})
            if reply.status_code == 200:
                self.layout.health_file.parent.mkdir(parents=True, exist_ok=True)
                software_update.write_state(self.layout.health_file, {
                    "version": found["version"], "release": found["release"],
                    "at": datetime.now().astimezone().isoformat()})
            return ""
        return "active\n"

    def close(self) -> None:
        self.client.close()


def stand_in_install(layout: Layout, found: release.Release, role: str, python: str = sys.executable) -> Path:
    """The benchmark's stand-in for venv + pip: the release's folder, complete."""
    final = layout.release_dir(found.release)
    final.mkdir(parents=True, exist_ok=True)
    return final


def enrolled(data: Path, count: int, prefix: str = "kiosk") -> tuple[dict[str, str], bytes]:
    """device id -> token, enrolled in the hub's file before it starts; and the hub's bundle key."""
    hub = Hub(data)
    try:
        return {f"{prefix}-{n:03d}": hub.identity.enroll(hub.identity.create_code(CENTER, "kiosk"),
                                                         f"{prefix}-{n:03d}")[1] for n in range(count)}, \
            hub.bundles.public_key()
    finally:
        hub.close()


def fleet_round(hub: HubProcess, kiosks: list[SimulatedKiosk], number: int) -> float:
    """Every kiosk updates at once; seconds until the last is healthy on release `number`."""
    began = time.monotonic()
    with ThreadPoolExecutor(len(kiosks)) as pool:
        outcomes = list(pool.map(lambda k: k.updater.run_once(), kiosks))
    took = time.monotonic() - began
    wrong = [(k.device, o) for k, o in zip(kiosks, outcomes, strict=True)
             if (o.status, o.release) != ("updated", number)]
    if wrong:
        raise RuntimeError(f"{len(wrong)} devices did not take release {number}: {wrong[:3]}")
    return took


def fleet_run(devices: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="update-bench-") as scratch:
        root = Path(scratch)
        tokens, key = enrolled(root / "hub", devices)
        real_install, software_update.installer.install = software_update.installer.install, stand_in_install
        with HubProcess(root / "hub") as hub:
            kiosks = [SimulatedKiosk(root / "devices", hub.url, d, t, key) for d, t in tokens.items()]
            try:
                publish(hub, built_release(root / "r1", "0.2.0"))
                first = fleet_round(hub, kiosks, 1)
                first_bytes = sum(k.counted.bytes for k in kiosks)
                publish(hub, built_release(root / "r2", "0.2.1"))
                second = fleet_round(hub, kiosks, 2)
                second_bytes = sum(k.counted.bytes for k in kiosks) - first_bytes
                most = max(max(k.counted.wheels.values()) for k in kiosks)
                wheels_per_device = [sum(k.counted.wheels.values()) for k in kiosks]
                cached = [len(list(k.layout.wheels.iterdir())) for k in kiosks]
            finally:
                software_update.installer.install = real_install
                for k in kiosks:
                    k.close()
    release_bytes = sum(size for _, size in KIOSK_WHEELS) + PROJECT_WHEEL_BYTES
    return {"first_s": first, "second_s": second, "first_bytes": first_bytes, "second_bytes": second_bytes,
            "release_bytes": release_bytes, "most_downloads": most, "wheels_per_device": wheels_per_device,
            "cached": cached}


# --- the health gate with a real tiny release ----------------------------------------------------------

APP = '''"""A stand-in app: READY, then a heartbeat the hub accepts, then the health file."""
import json, os, time, urllib.request
from datetime import datetime, timezone
{broken}
VERSION = {version!r}
os.makedirs(os.path.dirname(os.environ["BENCH_READY"]), exist_ok=True)
open(os.environ["BENCH_READY"], "w").close()
with open(os.environ["BENCH_STATE"]) as f:
    number = json.load(f)["current"]["release"]
beat = json.dumps({{"center": os.environ["BENCH_CENTER"], "device": os.environ["BENCH_DEVICE"],
                   "version": VERSION, "release": number, "outbox": 0}}).encode()
request = urllib.request.Request(os.environ["BENCH_HUB"] + "/api/v1/heartbeat", beat, method="POST",
                                 headers={{"Content-Type": "application/json",
                                           "Authorization": "Bearer " + os.environ["BENCH_TOKEN"]}})
urllib.request.urlopen(request, timeout=10).read()
with open(os.environ["BENCH_HEALTH"], "w") as f:
    json.dump({{"version": VERSION, "release": number, "at": datetime.now(timezone.utc).isoformat()}}, f)
while True:
    time.sleep(60)
'''


def tiny_wheel(folder: Path, version: str, broken: bool) -> Path:
    """A real wheel of a stand-in `mfc-edge` (with a kiosk extra) whose module bench_app is the app."""
    name = f"mfc_edge-{version}-py3-none-any.whl"
    info = f"mfc_edge-{version}.dist-info"
    files = {"bench_app.py": APP.format(version=version, broken="import no_such_module" if broken else ""),
             f"{info}/METADATA": f"Metadata-Version: 2.1\nName: mfc-edge\nVersion: {version}\nProvides-Extra: kiosk\n",
             f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: update_bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    record = [f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b'=').decode()},"
              f"{len(text.encode())}" for path, text in files.items()]
    files[f"{info}/RECORD"] = "\n".join([*record, f"{info}/RECORD,,"]) + "\n"
    path = folder / "wheels" / name
    path.parent.mkdir(parents=True)
    with zipfile.ZipFile(path, "w") as wheel:
        for member, text in files.items():
            wheel.writestr(member, text)
    data = path.read_bytes()
    found = release.Wheel(name, hashlib.sha256(data).hexdigest(), len(data))
    (folder / DESCRIPTION).write_bytes(Description(version, (found,), {platform.machine(): {"kiosk": (name,)}})
                                       .encode())
    return folder


class AppSystemd:
    """systemd for one Type=notify unit: restart starts `current`'s app, ActiveState is activating
    until it says READY, active after, failed once it has exited."""

    def __init__(self, layout: Layout, env: dict[str, str]):
        self.layout, self.ready = layout, layout.prefix / "run/ready"
        self.env = {**env, "BENCH_READY": str(self.ready), "BENCH_STATE": str(layout.state_file),
                    "BENCH_HEALTH": str(layout.health_file)}
        self.proc: subprocess.Popen[bytes] | None = None
        self.restarts: list[float] = []

    def __call__(self, command: list[str]) -> str:
        if command[1] == "restart":
            self.restarts.append(time.monotonic())
            self.stop()
            self.ready.unlink(missing_ok=True)
            self.proc = subprocess.Popen([str(self.layout.current / "bin/python"), "-m", "bench_app"],
                                         cwd=self.layout.prefix, env=self.env, stderr=subprocess.DEVNULL)
            return ""
        if self.proc is None or self.proc.poll() is not None:
            return "failed\n"
        return "active\n" if self.ready.exists() else "activating\n"

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=10)


def gate_run(hub: HubProcess, root: Path, run: int, token: str, key: bytes) -> tuple[float, float, float]:
    """(switch to healthy, switch to rolled back, switch to the old release READY again) in seconds."""
    device = f"gate-{run:03d}"
    layout = Layout(root / device)
    (layout.home / "venv").mkdir(parents=True)
    point(layout.current, layout.home / "venv")
    layout.health_file.parent.mkdir(parents=True, exist_ok=True)
    systemd = AppSystemd(layout, {"BENCH_HUB": hub.url, "BENCH_TOKEN": token, "BENCH_CENTER": CENTER,
                                  "BENCH_DEVICE": device, "PATH": os.environ.get("PATH", "")})
    client = HubClient(hub.url, token)
    updater = SoftwareUpdater(ReleaseSource(client, key, platform.machine(), "kiosk", layout), layout, role="kiosk",
                              report=lambda kind, body: None, runner=systemd, health_timeout=30)
    try:
        publish(hub, tiny_wheel(root / f"good-{run}", f"0.3.{run}", broken=False))
        good = updater.run_once()
        healthy = time.monotonic() - systemd.restarts[-1]
        if good.status != "updated":
            raise RuntimeError(f"the good tiny release did not come up: {good}")
        publish(hub, tiny_wheel(root / f"broken-{run}", f"0.4.{run}", broken=True))
        restarts = len(systemd.restarts)
        bad = updater.run_once()
        switched = systemd.restarts[restarts]
        rolled_back = time.monotonic() - switched
        if bad.status != "rolled_back":
            raise RuntimeError(f"the broken tiny release did not roll back: {bad}")
        while systemd("show".split() + ["x"]) != "active\n":
            time.sleep(0.01)
        return healthy, rolled_back, time.monotonic() - switched
    finally:
        systemd.stop()
        client.close()


def gate_runs(runs: int) -> list[tuple[float, float, float]]:
    with tempfile.TemporaryDirectory(prefix="update-gate-") as scratch:
        root = Path(scratch)
        tokens, key = enrolled(root / "hub", runs, prefix="gate")
        with HubProcess(root / "hub") as hub:
            return [gate_run(hub, root / "devices", n, tokens[f"gate-{n:03d}"], key) for n in range(runs)]


def spread(values: list[float], unit: str = "s") -> str:
    return f"{statistics.median(values):.2f} {unit} ({min(values):.2f}–{max(values):.2f})"


def fleet_rows(devices: int, fleets: list[dict[str, Any]]) -> list[str]:
    mb, first = 1e6, fleets[0]

    def each(key: str, scale: float = 1, unit: str = "s") -> str:
        return spread([r[key] / scale for r in fleets], unit)

    def extent(key: str) -> str:
        return f"{min(min(r[key]) for r in fleets)}–{max(max(r[key]) for r in fleets)}"

    whole = f"{devices} × {first['release_bytes'] / mb:.1f} MB"
    project = f"{devices} × {PROJECT_WHEEL_BYTES / mb:.2f} MB"
    return [f"| release 1 to {devices} devices: time until the last is healthy on it | a few minutes "
            f"| {each('first_s')} |",
            f"| bytes the hub sent for it (answers' bodies: offers and wheels) | {whole} "
            f"| {each('first_bytes', mb, 'MB')} |",
            f"| release 2 (one wheel changed) to {devices} devices | | {each('second_s')} |",
            f"| bytes the hub sent for release 2 | {project} | {each('second_bytes', mb, 'MB')} |",
            "| most downloads of one wheel by one device, over both releases | 1 | "
            f"{max(r['most_downloads'] for r in fleets)} |",
            f"| wheel downloads per device, over both releases | 36 | {extent('wheels_per_device')} |",
            f"| wheels in a device's cache after release 2 (current and previous release) | 36 | {extent('cached')} |"]


def report(args: argparse.Namespace, fleets: list[dict[str, Any]], gates: list[tuple[float, float, float]]) -> str:
    rows = "\n".join(fleet_rows(args.devices, fleets))
    return f"""{SECTION}

`.venv/bin/python benchmarks/update_bench.py --devices {args.devices} --runs {args.runs}` on {platform.machine()},
{os.cpu_count()} cores, Python {platform.python_version()}: a real hub process on 127.0.0.1 and {args.devices} kiosks,
each the real updater on a scratch prefix with a client of its own, all updating at once (see the script's
docstring for what is a stand-in: the wheels' bytes, venv + pip, systemd). Release 1 is a kiosk's aarch64 release
(35 wheels, {fleets[0]['release_bytes'] / 1e6:.1f} MB); release 2 changes only the project wheel
({PROJECT_WHEEL_BYTES / 1e6:.2f} MB). Medians and ranges over {args.runs} runs, a fresh hub and fleet each.

| measure | goal | result |
| --- | --- | --- |
{rows}

The health gate, with a real tiny release (a real wheel installed by the updater's own `venv` and `pip --no-index`;
its app a real process that says READY, posts a heartbeat to the hub and writes the health file), the updater
checking every second as on a device; {args.runs} runs:

| measure | result |
| --- | --- |
| from the switch to the updater's healthy verdict | {spread([g[0] for g in gates])} |
| a release whose app fails at import: from the switch to the updater's rollback | {spread([g[1] for g in gates])} |
| the same, until the old release is READY again | {spread([g[2] for g in gates])} |

The stand-in app is up and has beaten within a fraction of a second: these times are the updater's one-second
checks of systemd and the health file. A release that starts but never says READY, or never gets a heartbeat
accepted, rolls back when `--health-timeout` runs out (180 s by default), plus the same second or so.
Not measured here: venv + pip of a real release on a Pi
(Kivy's wheel alone is 23 MB to unpack and byte-compile), the real app's start (a kiosk's first picture on the panel),
a real SD card, and a LAN slower than loopback.
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3, help="fleet updates, and health-gate runs")
    parser.add_argument("--no-write", action="store_true", help="print, do not write RESULTS.md")
    args = parser.parse_args()
    fleets = [fleet_run(args.devices) for _ in range(args.runs)]
    gates = gate_runs(args.runs)
    section = report(args, fleets, gates)
    print(section)
    if not args.no_write:
        write_section(SECTION, section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
