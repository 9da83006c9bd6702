"""`mfc-edge update`: take the software release the hub offers this device (issue 15).

Run as root by mfc-edge-update.service every quarter hour (mfc-edge-update.timer) with
`--once`; offline_cache/software_update.py does the work. `--prefix` moves opt/mfc-edge,
var/cache/mfc-edge, var/lib/mfc-edge and run/mfc-edge under another folder (tests).
"""
from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mfc_edge.cli.arguments import CommandError

AddCommand = Callable[[str, Callable[[argparse.Namespace], int], str], argparse.ArgumentParser]
EVERY_S = 15 * 60.0  # without --once, as often as the timer would start it


def _health_timeout(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 1 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"{text!r}: expected seconds from 1 to 3600")
    return value


class Outbox:
    """The app's outbox, opened for each event only: the updater runs as root and restarts the
    app meanwhile. Files SQLite makes for root (the database of a device that never ran, its
    -wal and -shm while the app is down) are given to the data folder's owner, the app's user,
    or the app could no longer write them."""

    def __init__(self, path: Path, center: str, device: str):
        self.path, self.center, self.device = path, center, device

    def record_event(self, event_type: str, body: dict[str, Any]) -> None:
        from hardware.clock import SystemClock
        from offline_cache.outbox import DeviceStore

        store = DeviceStore(self.path, center_id=self.center, device_id=self.device, clock=SystemClock())
        try:
            store.record_event(event_type, body)
        finally:
            store.close()
            self._give_back()

    def _give_back(self) -> None:
        if os.geteuid() != 0:
            return
        owner = self.path.parent.stat()
        for path in (self.path, *(self.path.with_name(self.path.name + end) for end in ("-wal", "-shm"))):
            try:
                if path.stat().st_uid != owner.st_uid:
                    os.chown(path, owner.st_uid, owner.st_gid)
            except FileNotFoundError:
                pass


def cmd_update(args: argparse.Namespace) -> int:
    import platform

    from mfc_edge.config import load_config
    from offline_cache.content import load_bundle_key
    from offline_cache.hub_client import HubClient, load_token
    from offline_cache.software_update import SoftwareUpdater
    from offline_cache.software_update_fetch import ReleaseSource
    from offline_cache.software_update_state import Layout

    device = load_config(args.config)
    key, token = load_bundle_key(device.data_dir), load_token(device.data_dir)
    if not device.hub_url or key is None or token is None:
        raise CommandError(f"{device.path}: the device is not enrolled with a hub (mfc-edge enroll)")
    layout = Layout(Path(args.prefix))
    hub = HubClient(device.hub_url, token, ca_file=device.hub_ca_file)
    outbox = Outbox(device.data_dir / f"{device.role}.sqlite", device.center_id, device.device_id)
    try:
        source = ReleaseSource(hub, key, platform.machine(), device.role, layout)
        updater = SoftwareUpdater(source, layout, role=device.role, report=outbox.record_event,
                                  health_timeout=args.health_timeout)
        while True:
            outcome = updater.run_once()
            detail = f"; {outcome.detail}" if outcome.detail else ""
            print(f"{outcome.status}: release {outcome.release or '—'}{detail}")
            if args.once:
                return 0 if outcome.status in ("unchanged", "updated") else 1
            time.sleep(EVERY_S)
    finally:
        hub.close()


def register(add: AddCommand) -> None:
    p = add("update", cmd_update, "take the software release the hub offers this device (run as root)")
    p.add_argument("--config", type=Path, required=True, help="the device's file, e.g. /etc/mfc-edge/kiosk.toml")
    p.add_argument("--once", action="store_true", help="one pass, then exit (the timer's way)")
    p.add_argument("--prefix", default="/", help="where opt/mfc-edge, var/cache and var/lib live (default /)")
    p.add_argument("--health-timeout", type=_health_timeout, default=180.0,
                   help="seconds the new release has to report READY and a heartbeat (default 180)")
