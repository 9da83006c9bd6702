"""City-wide publishing: one catalog or signage campaign signed once for many centers.

The city's publishing key is an Ed25519 key in a file the content office keeps (made by
`mfc-edge city publishing-key`); its public half is registered in the database, handed to hubs
when they enroll, and relayed by each hub to its devices. Signing happens where the editor
publishes: city web processes never hold the private key, they only hand out what was signed.

A publish reads a folder (city/publishing_folder.py), stores its assets once by SHA-256, and
stores for every target center an envelope in the hubs' bundle format (mfc_edge/bundle.py)
whose manifest names that center: a device checks a city bundle exactly as it checks its hub's.
Targets are resolved when publishing: a center added to a district later gets the district's
next publish. A role's version goes up city-wide, so a center's city layer only moves forward.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any

import psycopg
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from psycopg.rows import dict_row

from city.city import City
from mfc_edge import bundle
from mfc_edge.bundle import Asset, Manifest
from mfc_edge.bundle_folder import FolderError, FolderFile, check_role_files, read_folder


class PublishingError(ValueError):
    """What the editor asked cannot be published; the message says why in one line."""


CHUNK_BYTES = 1024 * 1024  # one row of city_bundle_chunks
PUBLISH_LOCK = 7_130_023  # advisory lock: one publish at a time takes the next version number
# Each center keeps its latest city bundle and the one before it: a hub still fetching the older
# one when the new one is published can finish it (as hub/bundles.py keeps for devices).
KEEP_VERSIONS = 2

__all__ = ["PublishingError", "Published", "make_key", "load_key", "publish", "public_key"]


@dataclass(frozen=True)
class Published:
    role: str
    version: int
    centers: tuple[str, ...]
    assets: int
    total_size: int
    removed_assets: int = 0  # assets no kept publish has any more, deleted after this one


@dataclass(frozen=True)
class Target:
    """What the editor named: every center, some districts, or some centers."""
    all_centers: bool = False
    districts: tuple[str, ...] = ()
    centers: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.all_centers:
            return "all"
        return " ".join([f"district:{d}" for d in self.districts] + [f"center:{c}" for c in self.centers])


def _one(conn: psycopg.Connection, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(sql.encode(), params).fetchone()


def _all(conn: psycopg.Connection, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(sql.encode(), params).fetchall()


# ---- the key ----

def make_key(city: City, out: Path) -> bytes:
    """Make the city's publishing key in `out` (mode 0600, never overwriting) and register its
    public half; the public key. Refused when the city already has one."""
    if public_key(city) is not None:
        raise PublishingError("the city already has a publishing key; publish with that key file")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise PublishingError(f"{out}: already exists; choose another file") from None
    except OSError as exc:
        raise PublishingError(f"{out}: cannot write it: {exc.strerror}") from None
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
        f.flush()
        os.fsync(f.fileno())
    raw = bundle.public_key_bytes(key)
    try:
        with city.db.connection() as conn:
            conn.execute("INSERT INTO city_publishing_key (public_key) VALUES (%s)", [raw])
    except psycopg.errors.UniqueViolation:  # another editor made one at the same moment
        out.unlink()
        raise PublishingError("the city already has a publishing key; publish with that key file") from None
    return raw


def load_key(path: Path) -> Ed25519PrivateKey:
    try:
        mode, data = path.stat().st_mode, path.read_bytes()
    except OSError as exc:
        raise PublishingError(f"{path}: cannot read it: {exc.strerror}") from None
    if mode & 0o077:
        raise PublishingError(f"{path}: others may read this key; chmod 600 {path.name}")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, Ed25519PrivateKey):
        raise PublishingError(f"{path}: not an Ed25519 private key made by mfc-edge city publishing-key")
    return key


def public_key(city: City) -> bytes | None:
    """The city's registered publishing key (raw, 32 bytes): the enroll reply's bundle_key."""
    with city.db.connection() as conn:
        row = _one(conn, "SELECT public_key FROM city_publishing_key")
    return bytes(row["public_key"]) if row else None


# ---- publishing ----

def publish(city: City, key: Ed25519PrivateKey, role: str, folder: Path, target: Target) -> Published:
    """Sign the folder's files as the next `role` bundle of every target center and store it;
    PublishingError, with nothing stored, for anything devices would refuse."""
    registered = public_key(city)
    if registered is None:
        raise PublishingError("the city has no publishing key yet: mfc-edge city publishing-key --out FILE")
    if bundle.public_key_bytes(key) != registered:
        raise PublishingError("this key is not the city's publishing key: devices would refuse what it signs")
    try:
        files = read_folder(folder, role, links_inside=False)
        check_role_files(folder, {f.name for f in files}, role)
    except FolderError as exc:
        raise PublishingError(str(exc)) from None
    with city.db.connection() as conn:
        centers = _resolve(conn, target)
        conn.execute("SELECT pg_advisory_xact_lock(%s)", [PUBLISH_LOCK])
        assets = tuple(_store_asset(conn, f) for f in files)
        row = _one(conn, "SELECT COALESCE(MAX(version), 0) + 1 AS v FROM city_bundles WHERE role = %s", [role])
        version, now = int(row["v"]) if row else 1, city.now()
        conn.execute("INSERT INTO city_bundles (role, version, published_at, target) VALUES (%s, %s, %s, %s)",
                     [role, version, now, target.describe()])
        published_at = now.astimezone(UTC).isoformat(timespec="seconds")
        for center in centers:
            manifest = Manifest(center, role, version, published_at, assets)
            try:  # what devices would refuse, the city does not publish
                bundle.parse_manifest(manifest.encode())
            except bundle.ManifestError as exc:
                raise PublishingError(f"cannot publish this bundle for {center}: {exc}") from None
            conn.execute("INSERT INTO city_bundle_targets (role, version, center, envelope) VALUES (%s, %s, %s, %s)",
                         [role, version, center, bundle.sign(key, manifest).encode()])
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO city_bundle_contents (role, version, sha256) VALUES (%s, %s, %s) "
                            "ON CONFLICT DO NOTHING", [(role, version, a.sha256) for a in assets])
        removed = _collect_garbage(conn)
    return Published(role, version, tuple(centers), len(assets), sum(a.size for a in assets), removed)


def _collect_garbage(conn: psycopg.Connection) -> int:
    """Forget the publishes that are no longer among the latest KEEP_VERSIONS of any center and
    role, and the assets no kept publish has; how many assets went. Under the publishing lock, so
    no publish is storing assets meanwhile."""
    conn.execute("WITH ranked AS (SELECT role, version, row_number() OVER "
                 "(PARTITION BY center, role ORDER BY version DESC) AS n FROM city_bundle_targets) "
                 "DELETE FROM city_bundles b WHERE NOT EXISTS "
                 "(SELECT 1 FROM ranked r WHERE (r.role, r.version) = (b.role, b.version) AND r.n <= %s)",
                 [KEEP_VERSIONS])
    gone = _all(conn, "DELETE FROM city_bundle_assets a WHERE NOT EXISTS "
                      "(SELECT 1 FROM city_bundle_contents c WHERE c.sha256 = a.sha256) RETURNING sha256")
    return len(gone)


def _resolve(conn: psycopg.Connection, target: Target) -> list[str]:
    if target.all_centers:
        rows = _all(conn, "SELECT id FROM centers ORDER BY id")
        if not rows:
            raise PublishingError("the city has no centers yet: enroll a hub first")
        return [r["id"] for r in rows]
    found: set[str] = set()
    for district in target.districts:
        rows = _all(conn, "SELECT id FROM centers WHERE district = %s", [district])
        if not rows:
            raise PublishingError(f"district {district!r} has no centers")
        found |= {r["id"] for r in rows}
    if target.centers:
        rows = _all(conn, "SELECT id FROM centers WHERE id = ANY(%s)", [list(target.centers)])
        unknown = sorted(set(target.centers) - {r["id"] for r in rows})
        if unknown:
            raise PublishingError(f"no such center: {', '.join(unknown)}")
        found |= set(target.centers)
    if not found:
        raise PublishingError("name the centers: --all, --district D or --center C")
    return sorted(found)


def _store_asset(conn: psycopg.Connection, f: FolderFile) -> Asset:
    """Store the file's contents once by hash (a transaction's savepoint, so a file changed while
    it was read leaves nothing behind); the asset."""
    digest = bundle.hash_file(f.path)
    sha = digest.hexdigest()
    with conn.transaction():
        inserted = _one(conn, "INSERT INTO city_bundle_assets (sha256, size) VALUES (%s, %s) "
                              "ON CONFLICT DO NOTHING RETURNING sha256", [sha, f.size])
        if inserted:
            check, size = hashlib.sha256(), 0
            with open(f.path, "rb") as src:
                for part, chunk in enumerate(iter(lambda: src.read(CHUNK_BYTES), b"")):
                    check.update(chunk)
                    size += len(chunk)
                    conn.execute("INSERT INTO city_bundle_chunks (sha256, part, data) VALUES (%s, %s, %s)",
                                 [sha, part, chunk])
            if check.hexdigest() != sha or size != f.size:
                raise PublishingError(f"{f.path}: changed while it was being published; publish again")
    return Asset(f.name, sha, f.size)


def published(city: City, limit: int = 20) -> list[dict[str, Any]]:
    """The latest publishes, newest first: role, version, when, what the editor named, how many
    centers have it as their newest, how many files and bytes."""
    with city.db.connection() as conn:
        return _all(conn, """
            SELECT b.role, b.version, b.published_at, b.target,
                   (SELECT count(*) FROM city_bundle_targets t WHERE (t.role, t.version) = (b.role, b.version)
                      AND NOT EXISTS (SELECT 1 FROM city_bundle_targets n WHERE n.center = t.center
                                      AND n.role = t.role AND n.version > t.version)) AS current_in,
                   (SELECT count(*) FROM city_bundle_contents c
                      WHERE (c.role, c.version) = (b.role, b.version)) AS files,
                   (SELECT COALESCE(sum(a.size), 0) FROM city_bundle_contents c JOIN city_bundle_assets a USING (sha256)
                      WHERE (c.role, c.version) = (b.role, b.version)) AS bytes
            FROM city_bundles b ORDER BY b.published_at DESC, b.role, b.version DESC LIMIT %s""", [limit])


# ---- what hubs fetch ----

def latest_envelope(city: City, center: str, role: str) -> tuple[int, bytes] | None:
    """(version, envelope) of the newest city bundle for (center, role), or None."""
    with city.db.connection() as conn:
        row = _one(conn, "SELECT version, envelope FROM city_bundle_targets WHERE center = %s AND role = %s "
                         "ORDER BY version DESC LIMIT 1", [center, role])
    return (row["version"], bytes(row["envelope"])) if row else None


def asset_size_for_hub(city: City, hub: str, sha256: str) -> int | None:
    """The asset's size if it is in a city bundle for one of `hub`'s centers, else None."""
    with city.db.connection() as conn:
        row = _one(
            conn, "SELECT a.size FROM city_bundle_assets a WHERE a.sha256 = %s AND EXISTS ("
            " SELECT 1 FROM city_bundle_contents c"
            " JOIN city_bundle_targets t ON (t.role, t.version) = (c.role, c.version)"
            " JOIN centers ce ON ce.id = t.center"
            " WHERE c.sha256 = a.sha256 AND ce.hub = %s)", [sha256, hub])
    return row["size"] if row else None


def asset_bytes(city: City, sha256: str, start: int = 0) -> Iterator[bytes]:
    """The asset's bytes from `start` on, a stored piece at a time (one short query each)."""
    part, skip = divmod(start, CHUNK_BYTES)
    while True:
        with city.db.connection() as conn:
            row = _one(conn, "SELECT data FROM city_bundle_chunks WHERE sha256 = %s AND part = %s",
                       [sha256, part])
        if row is None:
            return
        data = bytes(row["data"])
        yield data[skip:] if skip else data
        part, skip = part + 1, 0


def centers_of_hub(city: City, hub: str) -> set[str]:
    with city.db.connection() as conn:
        return {r["id"] for r in _all(conn, "SELECT id FROM centers WHERE hub = %s", [hub])}


def targets(districts: Sequence[str] = (), centers: Sequence[str] = (), all_centers: bool = False) -> Target:
    return Target(all_centers, tuple(districts), tuple(centers))
