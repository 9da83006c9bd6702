"""`mfc-edge update`: take the software release the hub offers this device (issue 15).

Run as root by mfc-edge-update.service every quarter hour (mfc-edge-update.timer) with
`--once`; offline_cache/software_update.py does the work. `--prefix` moves opt/mfc-edge,
var/cache/mfc-edge, var/lib/mfc-edge and run/mfc-edge under another folder (tests).
"""
from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

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


def cmd_update(args: argparse.Namespace) -> int:
    import platform

    from hardware.clock import SystemClock
    from mfc_edge.config import load_config
    from offline_cache.content import load_bundle_key
    from offline_cache.hub_client import HubClient, load_token
    from offline_cache.outbox import DeviceStore
    from offline_cache.software_update import SoftwareUpdater
    from offline_cache.software_update_fetch import ReleaseSource
    from offline_cache.software_update_state import Layout

    device = load_config(args.config)
    key, token = load_bundle_key(device.data_dir), load_token(device.data_dir)
    if not device.hub_url or key is None or token is None:
        raise CommandError(f"{device.path}: the device is not enrolled with a hub (mfc-edge enroll)")
    layout = Layout(Path(args.prefix))
    hub = HubClient(device.hub_url, token, ca_file=device.hub_ca_file)
    store = DeviceStore(device.data_dir / f"{device.role}.sqlite", center_id=device.center_id,
                        device_id=device.device_id, clock=SystemClock())
    try:
        source = ReleaseSource(hub, key, platform.machine(), device.role, layout)
        updater = SoftwareUpdater(source, layout, role=device.role, report=store.record_event,
                                  health_timeout=args.health_timeout)
        while True:
            outcome = updater.run_once()
            detail = f"; {outcome.detail}" if outcome.detail else ""
            print(f"{outcome.status}: release {outcome.release or '—'}{detail}")
            if args.once:
                return 0 if outcome.status in ("unchanged", "updated") else 1
            time.sleep(EVERY_S)
    finally:
        store.close()
        hub.close()


def register(add: AddCommand) -> None:
    p = add("update", cmd_update, "take the software release the hub offers this device (run as root)")
    p.add_argument("--config", type=Path, required=True, help="the device's file, e.g. /etc/mfc-edge/kiosk.toml")
    p.add_argument("--once", action="store_true", help="one pass, then exit (the timer's way)")
    p.add_argument("--prefix", default="/", help="where opt/mfc-edge, var/cache and var/lib live (default /)")
    p.add_argument("--health-timeout", type=_health_timeout, default=180.0,
                   help="seconds the new release has to report READY and a heartbeat (default 180)")
