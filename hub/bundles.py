"""Content bundles on the hub: the signing key, the published bundles and their asset blobs.

`mfc-edge hub publish DIR` turns a folder into a bundle: each file becomes an asset stored once
under `blobs/<sha256>` (shared by every bundle that has it), and a manifest listing them is signed
with the hub's Ed25519 key and kept in the `bundles` table. Versions only go up, per center and
role, so a device can refuse an old bundle replayed to it.

Each publish then deletes the blobs that no recent bundle has: the latest `KEEP_VERSIONS` of
every center and role. Without that, a hub whose editors publish new videos every week would
fill its disk within months.
"""
from __future__ import annotations

import base64
import fcntl
import hashlib
import os
import re
import secrets
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.bundle_folder import PublishError, collect_assets
from hub.db import PRIVATE_FILE, HubDB, iso, private_folder, tighten
from hub.video_check import SCREENS
from mfc_edge import bundle
from mfc_edge.bundle import Asset, Envelope, Manifest

KEY_FILE = "bundle-signing.key"
# The role whose bundles carry the center's service catalog (hub/catalogs.py).
CATALOG_ROLE = "kiosk"
COPY_CHUNK = 1024 * 1024
# The latest bundle and the one before it: a device still fetching the older one when the new
# one is published can finish it, then moves on to the new one at its next check.
KEEP_VERSIONS = 2
_BLOB_NAME = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Published:
    center: str
    role: str
    version: int
    assets: int
    total_size: int
    removed_blobs: int = 0  # blobs no recent bundle has, deleted after this publish
    freed_bytes: int = 0
    warnings: tuple[str, ...] = ()  # videos some of the target screens cannot play smoothly


@dataclass(frozen=True)
class Latest:
    version: int
    envelope: bytes


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """The hub's signing key, made on first need and readable by its owner only.

    The hub process and a `hub publish` command may both get here first; linking a finished
    temporary file into place succeeds for one of them, and the other reads the winner's key.
    """
    if not path.exists():
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    tighten(path, PRIVATE_FILE)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path}: not an Ed25519 private key")
    return key


class BlobStore:
    """Asset contents by SHA-256. A blob is written to a temporary file and renamed into place,
    so a reader never sees half of one, and it is never changed afterwards."""

    def __init__(self, folder: Path):
        self.folder = private_folder(folder)

    def path(self, sha256: str) -> Path:
        return self.folder / sha256

    def remove_all_but(self, needed: set[str]) -> tuple[int, int]:
        """Delete every blob not in `needed`; (how many, bytes freed). A device downloading one
        at this moment still gets it whole: the open file outlives its name."""
        removed = freed = 0
        for path in self.folder.iterdir():
            if _BLOB_NAME.fullmatch(path.name) and path.name not in needed:
                freed += path.stat().st_size
                path.unlink()
                removed += 1
        return removed, freed

    def put(self, source: Path) -> Asset:
        """Copy `source` in, hashing as it goes; the returned asset has no name yet."""
        digest, size = hashlib.sha256(), 0
        temporary = self.folder / f".incoming-{secrets.token_hex(8)}"
        try:
            with open(source, "rb") as src, open(temporary, "wb") as dst:
                while chunk := src.read(COPY_CHUNK):
                    digest.update(chunk)
                    dst.write(chunk)
                    size += len(chunk)
                dst.flush()
                os.fsync(dst.fileno())
            sha = digest.hexdigest()
            if not self.path(sha).exists():
                os.replace(temporary, self.path(sha))
        finally:
            temporary.unlink(missing_ok=True)
        return Asset("", sha, size)


class Bundles:
    def __init__(self, db: HubDB, data_dir: str | Path):
        self.db = db
        self.key_path = Path(data_dir) / KEY_FILE
        self.lock_path = Path(data_dir) / "publish.lock"
        self.blobs = BlobStore(Path(data_dir) / "blobs")
        self._key: Ed25519PrivateKey | None = None
        self._key_lock = threading.Lock()

    @property
    def key(self) -> Ed25519PrivateKey:
        with self._key_lock:
            if self._key is None:
                self._key = load_or_create_key(self.key_path)
            return self._key

    def public_key(self) -> bytes:
        """The raw 32-byte public key devices pin when they enroll."""
        return bundle.public_key_bytes(self.key)

    def publish_folder(self, folder: Path, center: str, role: str,
                       screens: Sequence[str] = tuple(SCREENS)) -> Published:
        """Publish every file of `folder` as the next bundle for (center, role), then delete the
        blobs no recent bundle has. Raises PublishError, before storing anything, for a folder
        devices would refuse or videos none of the `screens` models plays smoothly."""
        with self._one_publisher():
            contents = collect_assets(folder, role, screens)
            stored = [(name, self.blobs.put(path)) for name, path in contents.files]
            published = self.publish([Asset(name, a.sha256, a.size) for name, a in stored], center, role)
            removed, freed = self.collect_garbage()
        return replace(published, removed_blobs=removed, freed_bytes=freed, warnings=tuple(contents.warnings))

    @contextmanager
    def _one_publisher(self) -> Iterator[None]:
        """Blobs one publisher has stored but not yet recorded in a bundle must not be collected
        by another: two `hub publish` commands may run at once."""
        with open(self.lock_path, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def collect_garbage(self) -> tuple[int, int]:
        """Forget the assets of bundles older than the latest KEEP_VERSIONS of their center and
        role (devices may no longer fetch them), and delete the blobs no kept bundle has."""
        with self.db.transaction() as tx:
            kept_bundles = tx.query(
                "SELECT center, manifest FROM bundles AS b WHERE version > "
                "(SELECT MAX(version) FROM bundles WHERE center = b.center AND role = b.role) - ?", [KEEP_VERSIONS])
            kept = {(row["center"], asset.sha256) for row in kept_bundles
                    for asset in bundle.parse_manifest(base64.b64decode(row["manifest"])).assets}
            for center, sha256 in tx.execute("SELECT center, sha256 FROM bundle_assets").fetchall():
                if (center, sha256) not in kept:
                    tx.execute("DELETE FROM bundle_assets WHERE center = ? AND sha256 = ?", [center, sha256])
        return self.blobs.remove_all_but({sha256 for _, sha256 in kept})

    def publish(self, assets: list[Asset], center: str, role: str) -> Published:
        """Sign and record a bundle of assets whose blobs are already stored."""
        with self.db.transaction() as tx:
            row = tx.execute("SELECT MAX(version) FROM bundles WHERE center = ? AND role = ?",
                             [center, role]).fetchone()
            manifest = Manifest(center, role, (row[0] or 0) + 1, iso(self.db.now()),
                                tuple(sorted(assets, key=lambda a: a.name)))
            try:  # what devices would refuse, the hub does not publish
                bundle.parse_manifest(manifest.encode())
            except bundle.ManifestError as exc:
                raise PublishError(f"cannot publish this bundle: {exc}") from None
            envelope = bundle.sign(self.key, manifest)
            tx.table("bundles").insert({
                "center": center, "role": role, "version": manifest.version,
                "manifest": base64.b64encode(envelope.manifest_bytes).decode(),
                "signature": base64.b64encode(envelope.signature).decode(), "published_at": manifest.published_at,
            })
            tx.table("bundle_assets").insert_all(({"center": center, "sha256": a.sha256} for a in assets), ignore=True)
            if role == CATALOG_ROLE:  # the queue feed's estimates cover the catalog's services
                self.db.bump_feed(tx, center)
        return Published(center, role, manifest.version, len(assets), manifest.total_size)

    def latest_version(self, center: str, role: str) -> int | None:
        return self.db.db.execute("SELECT MAX(version) FROM bundles WHERE center = ? AND role = ?",
                                  [center, role]).fetchone()[0]

    def latest_manifest(self, center: str, role: str) -> Manifest | None:
        rows = self.db.db.execute("SELECT manifest FROM bundles WHERE center = ? AND role = ? "
                                  "ORDER BY version DESC LIMIT 1", [center, role]).fetchall()
        return bundle.parse_manifest(base64.b64decode(rows[0][0])) if rows else None

    def latest(self, center: str, role: str) -> Latest | None:
        rows = list(self.db.db.query(
            "SELECT version, manifest, signature FROM bundles WHERE center = ? AND role = ? "
            "ORDER BY version DESC LIMIT 1", [center, role]))
        if not rows:
            return None
        row = rows[0]
        envelope = Envelope(base64.b64decode(row["manifest"]), base64.b64decode(row["signature"]))
        return Latest(row["version"], envelope.encode())

    def blob_for(self, center: str, sha256: str) -> Path | None:
        """The blob's file, if it belongs to a bundle of this center and is on disk."""
        known = self.db.db.execute("SELECT 1 FROM bundle_assets WHERE center = ? AND sha256 = ?",
                                   [center, sha256]).fetchone()
        path = self.blobs.path(sha256)
        return path if known and path.is_file() else None
