"""The demo's software release: published on the hub as a pilot release, taken by the kiosk.

The release is cheap on purpose: the project's wheel built from this working tree, alone, for
this machine (a real one carries every dependency's wheel too, `mfc-edge release build`). The
kiosk is its pilot. Its updater is the real one (offer, signature, download by hash, switch,
health gate) on a scratch prefix in the demo's folder, with two stand-ins said here: installing
is taking the demo's own environment, which already holds this working tree's mfc-edge (pip
could not install the project from its wheel alone), and systemd's restart of the app is the
running kiosk sending its heartbeat at once, which now carries the release and writes the
health file the gate waits for. The supervisor then sees the
kiosk on the release in «Устройства» and the rollout in «Обновления».
"""
from __future__ import annotations

import platform
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PILOT = "kiosk-demo"


def build_tiny_release(folder: Path) -> str:
    """The project's wheel alone as a release folder for this machine's kiosks; its version."""
    from mfc_edge.bundle import hash_file
    from mfc_edge.files import atomic_write
    from mfc_edge.release import Wheel
    from mfc_edge.release_build import DESCRIPTION, WHEELS, Description, build_project_wheel

    wheels = folder / WHEELS
    wheels.mkdir(parents=True, exist_ok=True)
    name = build_project_wheel(ROOT, wheels)
    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    wheel = Wheel(name, hash_file(wheels / name).hexdigest(), (wheels / name).stat().st_size)
    atomic_write(folder / DESCRIPTION, Description(version, (wheel,), {platform.machine(): {"kiosk": (name,)}})
                 .encode())
    return version


class DemoSystemd:
    """systemd for the demo's kiosk: a restart is the running kiosk beating at once; it is active."""

    def __init__(self, heartbeat: Any):
        self.heartbeat = heartbeat

    def __call__(self, command: list[str]) -> str:
        if command[1] == "restart" and not self.heartbeat.send_once():
            raise RuntimeError("the kiosk's heartbeat did not reach the hub")
        return "" if command[1] == "restart" else "active\n"


def take_release(center: Any, out: Path) -> tuple[int, str]:
    """Publish the tiny release for the kiosk as its pilot and have the kiosk's updater take it:
    (release number, version)."""
    from offline_cache import software_update
    from offline_cache.heartbeat import Heartbeat
    from offline_cache.software_update import SoftwareUpdater
    from offline_cache.software_update_fetch import ReleaseSource
    from offline_cache.software_update_install import point
    from offline_cache.software_update_state import STATE_FILE, Layout

    version = build_tiny_release(out / "release")
    center.hub.releases.set_pilots("strogino", devices=[PILOT])
    number, _, _ = center.hub.releases.publish(out / "release", "pilot")
    layout = Layout(out / "kiosk-software")
    (layout.home / "venv").mkdir(parents=True, exist_ok=True)  # as provisioning left it: current -> venv
    point(layout.current, layout.home / "venv")
    heartbeat = next(w for w in center.kiosk.workers if isinstance(w, Heartbeat))
    heartbeat.software_state, heartbeat.runtime_dir = layout.prefix / STATE_FILE, layout.health_file.parent

    def stand_in_install(layout: Layout, found: Any, role: str, python: str = "") -> Path:
        return Path(sys.prefix).resolve()  # the demo's own environment holds this working tree's mfc-edge

    real_install, software_update.installer.install = software_update.installer.install, stand_in_install
    try:
        source = ReleaseSource(center.kiosk.hub, center.hub.bundles.public_key(), platform.machine(), "kiosk", layout)
        outcome = SoftwareUpdater(source, layout, role="kiosk", report=center.kiosk.store.record_event,
                                  runner=DemoSystemd(heartbeat), poll_every=0.05, health_timeout=20).run_once()
    finally:
        software_update.installer.install = real_install
    if outcome.status != "updated":
        raise RuntimeError(f"the kiosk did not take the demo's release: {outcome.status} {outcome.detail}")
    return number, version


def release_scene(center: Any, out: Path, shots: Path) -> str:
    """The kiosk takes a pilot release; the supervisor's console shows it (24-…png)."""
    from playwright.sync_api import sync_playwright

    from mfc_edge.cli.demo import _chromium, signed_in_console
    from mfc_edge.cli.demo_devices import SUPERVISOR

    number, version = take_release(center, out)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), args=["--no-sandbox", "--disable-gpu"])
        try:
            page = signed_in_console(browser, center.server.url, SUPERVISOR)
            page.wait_for_selector(f"#device-rows tr[data-device='{PILOT}']:has-text('выпуск № {number}')")
            page.wait_for_selector(f"#release-rows tr:has-text('№ {number}')")
            page.locator("#releases").scroll_into_view_if_needed()
            page.screenshot(path=str(shots / "24-console-release-taken.png"))
        finally:
            browser.close()
    return (f"Release {number} (mfc-edge {version}, the project's wheel alone) was published as a pilot release; "
            f"the pilot {PILOT} took it and the supervisor's «Обновления» shows it updated.")
