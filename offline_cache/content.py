"""The device's content folder: verified assets of signed bundles, and which bundle is active.

Layout under the folder:

    assets/<sha256>          complete, verified assets, never changed once here
    staging/<sha256>.part    downloads in progress, resumed after a restart
    current.json             the envelope of the active bundle
    previous.json            the envelope of the bundle before it (the fallback)

A bundle becomes active by renaming its envelope onto current.json after all its assets are
in assets/, so after a crash at any moment the folder holds the old bundle or the new one,
complete, never a mix. Assets are found by hash: a name from the hub is never used as a path.
"""
from __future__ import annotations

import base64
import binascii
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mfc_edge import bundle
from mfc_edge.bundle import Asset, Manifest
from mfc_edge.files import atomic_write, fsync_dir, make_folder
from offline_cache.hub_client import CredentialError

log = logging.getLogger(__name__)

BUNDLE_KEY_FILE = "bundle-key"
CITY_KEY_FILE = "city-bundle-key"  # the city's key, pinned once the hub endorsed it (offline_cache/city_layer.py)


def save_bundle_key(data_dir: Path, public_key: bytes, name: str = BUNDLE_KEY_FILE) -> Path:
    """Pin the hub's bundle-signing key (raw Ed25519, 32 bytes), kept as base64 text."""
    if len(public_key) != bundle.PUBLIC_KEY_BYTES:
        raise ValueError(f"a bundle key has {bundle.PUBLIC_KEY_BYTES} bytes, not {len(public_key)}")
    make_folder(data_dir)
    path = data_dir / name
    atomic_write(path, base64.b64encode(public_key) + b"\n")
    return path


def load_bundle_key(data_dir: Path, name: str = BUNDLE_KEY_FILE) -> bytes | None:
    path = data_dir / name
    try:
        key = base64.b64decode(path.read_bytes().strip(), validate=True)
    except FileNotFoundError:
        return None
    except (binascii.Error, ValueError, OSError):
        key = b""
    if len(key) != bundle.PUBLIC_KEY_BYTES:
        raise CredentialError(f"{path}: not a bundle key: enroll the device again (mfc-edge enroll)")
    return key


class ActiveBundle:
    """A bundle whose signature and asset files were checked when it was loaded."""

    def __init__(self, manifest: Manifest, envelope: bytes, assets_dir: Path):
        self.manifest, self.envelope, self._assets_dir = manifest, envelope, assets_dir
        self._by_name = {a.name: a for a in manifest.assets}

    @property
    def version(self) -> int:
        return self.manifest.version

    def path_of(self, name: str) -> Path | None:
        """The file holding the asset called `name` in the manifest, or None if there is none."""
        asset = self._by_name.get(name)
        return self._assets_dir / asset.sha256 if asset else None


class ContentStore:
    """`public_key` is the hub's key pinned at enrollment: every load re-checks the signature.
    `quota_bytes` caps the size of one bundle; the folder may hold the current, the previous
    and one bundle being downloaded, less what they share, so leave room for up to three."""

    def __init__(self, root: str | Path, quota_bytes: int, public_key: bytes):
        self.root = Path(root)
        self.quota_bytes, self.public_key = quota_bytes, public_key
        self.assets, self.staging = self.root / "assets", self.root / "staging"
        self.current_file, self.previous_file = self.root / "current.json", self.root / "previous.json"
        for folder in (self.assets, self.staging):
            make_folder(folder)
        self._in_progress: set[str] = set()  # hashes of an update under way: garbage collection spares them

    # ---- reading ----

    def current(self) -> ActiveBundle | None:
        """The active bundle; the previous one if the active one is damaged; None before the first."""
        return self._load(self.current_file) or self._load(self.previous_file)

    def _load(self, path: Path) -> ActiveBundle | None:
        try:
            data = path.read_bytes()
            _, manifest = bundle.verify_envelope(data, self.public_key)
        except FileNotFoundError:
            return None
        except (OSError, bundle.ManifestError) as exc:
            log.warning("content: %s is unusable: %s", path, exc)
            return None
        missing = [a.name for a in manifest.assets if not self.has(a)]
        if missing:
            log.warning("content: %s: asset %r is missing or damaged", path, missing[0])
            return None
        return ActiveBundle(manifest, data, self.assets)

    def has(self, asset: Asset) -> bool:
        try:
            return self.asset_path(asset.sha256).stat().st_size == asset.size
        except FileNotFoundError:
            return False

    def asset_path(self, sha256: str) -> Path:
        return self.assets / sha256

    def part_path(self, sha256: str) -> Path:
        return self.staging / f"{sha256}.part"

    def fits(self, manifest: Manifest) -> bool:
        return manifest.total_size <= self.quota_bytes

    # ---- changing ----

    @contextmanager
    def updating(self, manifest: Manifest) -> Iterator[None]:
        self._in_progress = {a.sha256 for a in manifest.assets}
        try:
            yield
        finally:
            self._in_progress = set()

    def add_verified(self, sha256: str) -> None:
        """Move a downloaded and verified .part into assets/, durably."""
        part = self.part_path(sha256)
        with open(part, "rb") as f:
            os.fsync(f.fileno())
        os.replace(part, self.asset_path(sha256))

    def swap_in(self, envelope: bytes) -> None:
        """Make the bundle of `envelope` (all its assets already added) the active one."""
        fsync_dir(self.assets)  # the assets are durable before the manifest that names them
        if self._load(self.current_file) is not None:  # a damaged current never replaces a good previous
            os.replace(self.current_file, self.previous_file)
        atomic_write(self.current_file, envelope)  # a crash before it ends leaves previous.json: the old bundle

    def collect_garbage(self) -> int:
        """Delete assets and partial downloads that neither the current, the previous nor an
        update in progress needs. Returns how many files went."""
        keep = set(self._in_progress)
        for path in (self.current_file, self.previous_file):
            try:
                keep |= {a.sha256 for a in bundle.verify_envelope(path.read_bytes(), self.public_key)[1].assets}
            except (OSError, bundle.ManifestError):
                pass
        removed = 0
        for folder, suffix in ((self.assets, ""), (self.staging, ".part")):
            for path in folder.iterdir():
                if path.name.removesuffix(suffix) not in keep:
                    path.unlink(missing_ok=True)
                    removed += 1
        return removed

    def verify_all(self, active: ActiveBundle) -> list[str]:
        """Names of the active bundle's assets whose contents no longer match their hash (slow: reads all)."""
        return [a.name for a in active.manifest.assets
                if bundle.hash_file(self.asset_path(a.sha256)).hexdigest() != a.sha256]
