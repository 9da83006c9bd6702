"""`mfc-edge status`: what a device runs and whether it is up to date, in a few lines.

The hub is asked the way the device's own updater asks it (the active bundle's ETag: an
up-to-date device gets a 304), so the answer is the one the device itself would get.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import requests

from mfc_edge import bundle, protocol
from mfc_edge.config import DeviceConfig
from offline_cache.content import ContentStore, load_bundle_key
from offline_cache.heartbeat import software_version
from offline_cache.hub_client import CredentialError, HubClient, load_token
from offline_cache.software_update_state import STATE_FILE, read_state, running_release

READ_ONLY_QUOTA = 1 << 40  # status only reads the content folder; the quota is the updater's business


@dataclass(frozen=True)
class BundleStatus:
    active: int | None       # the version in use; None before the first bundle
    on_hub: int | None       # the hub's latest for this device; None if unknown (offline, nothing published)
    note: str = ""

    @property
    def up_to_date(self) -> bool | None:
        """None when the hub cannot say: offline, or nothing published for this device."""
        return None if self.on_hub is None else self.active == self.on_hub


def bundle_status(device: DeviceConfig, timeout: float = 10.0) -> BundleStatus:
    try:
        key, token = load_bundle_key(device.data_dir), load_token(device.data_dir)
    except CredentialError as exc:
        return BundleStatus(None, None, str(exc))
    if key is None or token is None or not device.hub_url:
        return BundleStatus(None, None, "not enrolled with a hub (mfc-edge enroll)")
    active = ContentStore(device.data_dir / "content", READ_ONLY_QUOTA, key).current()
    headers = {"If-None-Match": active.manifest.etag} if active else {}
    hub = HubClient(device.hub_url, token, ca_file=device.hub_ca_file, timeout=timeout)
    try:
        reply = hub.get(protocol.BUNDLE_PATH, headers=headers)
    except requests.RequestException as exc:
        return BundleStatus(active and active.version, None, f"hub unreachable ({exc.__class__.__name__})")
    finally:
        hub.close()
    if reply.status_code == 304:
        return BundleStatus(active.version, active.version)
    if reply.status_code == 404:
        return BundleStatus(active and active.version, None)
    if reply.status_code != 200:
        return BundleStatus(active and active.version, None, f"the hub answered {reply.status_code}")
    try:
        _, manifest = bundle.verify_envelope(reply.content, key)
    except bundle.ManifestError as exc:
        return BundleStatus(active and active.version, None, f"the hub's bundle would be refused: {exc}")
    return BundleStatus(active and active.version, manifest.version)


def software_lines(state_file: Path) -> list[str]:
    """The software this program runs (version, release, channel) and the last rollback, if any."""
    running = running_release(state_file)
    release = f"release {running['release']} ({running['channel']})" if running["release"] else "no release yet"
    lines = [f"software {software_version() or 'unknown version'}, {release}"]
    rollback = read_state(state_file).get("last_rollback")
    if isinstance(rollback, dict):
        lines.append(f"rollback release {rollback.get('release')} ({rollback.get('version')}) at "
                     f"{rollback.get('at')}: {rollback.get('reason')}")
    return lines


def status_lines(device: DeviceConfig, software_state: Path = Path("/") / STATE_FILE) -> list[str]:
    found = bundle_status(device)
    if found.up_to_date is True:
        state = "up to date"
    elif found.up_to_date is False:
        state = f"update pending: the hub has version {found.on_hub}"
    else:
        state = found.note or "nothing published for this device yet"
    lines = [f"device   {device.device_id} ({device.role}) of center {device.center_id}",
             f"hub      {device.hub_url or '—'}",
             *software_lines(software_state),
             f"bundle   {'version ' + str(found.active) if found.active else 'none (built-in content)'}; {state}"]
    return lines
