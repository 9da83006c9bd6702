"""Signed content bundles: the manifest format shared by the hub (which signs) and devices (which verify).

A bundle is a list of assets, each a name, a SHA-256 and a size. The manifest is canonical JSON
(sorted keys, no spaces, UTF-8), signed with the hub's Ed25519 key; the signature covers the
exact manifest bytes. On the wire both travel in an envelope:

    {"manifest": base64(manifest bytes), "signature": base64(64-byte signature)}

Everything a device receives is hostile until proven otherwise, so the parsers here turn any
input into either a valid value or a `ManifestError` with a message saying what is wrong.
Asset names are labels only: devices store assets by their hash and never use a name as a path.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

FORMAT = 1
ROLES = ("kiosk", "signage")
MAX_ASSETS = 5_000
MAX_ASSET_SIZE = 2 * 1024 ** 3
MAX_NAME_LENGTH = 200
MAX_VERSION = 2 ** 63 - 1  # what SQLite stores as an integer
# 5,000 assets with 200-character names make about 1.5 MB of manifest; anything larger is not ours.
MAX_MANIFEST_BYTES = 2 * 1024 * 1024
MAX_ENVELOPE_BYTES = MAX_MANIFEST_BYTES * 4 // 3 + 1024
SIGNATURE_BYTES = 64
PUBLIC_KEY_BYTES = 32
HASH_CHUNK = 1024 * 1024

_SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")  # no leading dot: no ".", "..", hidden files
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CENTER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_MANIFEST_KEYS = {"format", "center", "role", "version", "published_at", "assets"}
_ASSET_KEYS = {"name", "sha256", "size"}


class ManifestError(ValueError):
    """A manifest or envelope that cannot be used. `reason` is a short code devices report."""

    def __init__(self, message: str, reason: str = "malformed"):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Asset:
    name: str
    sha256: str
    size: int


@dataclass(frozen=True)
class Manifest:
    center: str
    role: str
    version: int
    published_at: str
    assets: tuple[Asset, ...]

    @property
    def total_size(self) -> int:
        return sum(a.size for a in self.assets)

    @property
    def etag(self) -> str:
        """The hub's ETag for this bundle, so a device can ask "anything newer?" after a restart."""
        return f'"{self.center}-{self.role}-{self.version}"'

    def asset(self, name: str) -> Asset | None:
        return next((a for a in self.assets if a.name == name), None)

    def encode(self) -> bytes:
        return canonical_json({
            "format": FORMAT, "center": self.center, "role": self.role, "version": self.version,
            "published_at": self.published_at,
            "assets": [{"name": a.name, "sha256": a.sha256, "size": a.size}
                       for a in sorted(self.assets, key=lambda a: a.name)],
        })


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def name_problem(name: Any) -> str | None:
    """Why `name` cannot be an asset name, or None. Used by the hub when publishing, too."""
    if not isinstance(name, str):
        return "an asset name must be a string"
    if not 1 <= len(name) <= MAX_NAME_LENGTH:
        return f"asset name {name[:60]!r}: expected 1 to {MAX_NAME_LENGTH} characters"
    for segment in name.split("/"):
        if not _SEGMENT.match(segment):
            return (f"asset name {name!r}: each part between slashes must be ASCII letters, digits, '.', '_' "
                    f"or '-', not start with '.' or '-', and not be empty")
    return None


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ManifestError(message)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_time(value: Any) -> None:
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) and len(value) <= 40 else None
    except ValueError:
        moment = None
    _require(moment is not None and moment.utcoffset() == timedelta(0),
             f"published_at = {str(value)[:60]!r}: expected an ISO 8601 time in UTC")


def _parse_asset(item: Any, index: int) -> Asset:
    _require(isinstance(item, dict) and set(item) == _ASSET_KEYS,
             f"assets[{index}]: expected an object with exactly the keys name, sha256, size")
    problem = name_problem(item["name"])
    _require(problem is None, f"assets[{index}]: {problem}")
    _require(isinstance(item["sha256"], str) and bool(_SHA256.match(item["sha256"])),
             f"assets[{index}] {item['name']!r}: sha256 must be 64 lowercase hex digits")
    size = item["size"]
    _require(_is_int(size) and 0 <= size <= MAX_ASSET_SIZE,
             f"assets[{index}] {item['name']!r}: size = {str(size)[:30]}: expected 0 to {MAX_ASSET_SIZE} bytes")
    return Asset(item["name"], item["sha256"], size)


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ManifestError("a JSON object has the same key twice")
    return dict(pairs)


def _refuse_constant(name: str) -> None:
    raise ManifestError(f"{name} is not valid JSON")


def load_json(data: Any, what: str, limit: int) -> Any:
    """Strict JSON (no duplicate keys, NaN or Infinity) of at most `limit` bytes, or ManifestError."""
    _require(isinstance(data, (bytes, bytearray)), f"the {what} must be bytes")
    _require(len(data) <= limit, f"the {what} is larger than {limit} bytes")
    try:
        return json.loads(bytes(data).decode("utf-8"), object_pairs_hook=_no_duplicate_keys,
                          parse_constant=_refuse_constant)
    except UnicodeDecodeError:
        raise ManifestError(f"the {what} is not UTF-8") from None
    except RecursionError:
        raise ManifestError(f"the {what} is nested too deeply") from None
    except ValueError as exc:  # json.JSONDecodeError, and ManifestError itself
        raise ManifestError(str(exc) if isinstance(exc, ManifestError) else f"the {what} is not JSON: {exc}") from None


def parse_manifest(data: bytes) -> Manifest:
    """The manifest in `data`, or ManifestError saying what is wrong with it (for any input at all)."""
    raw = load_json(data, "manifest", MAX_MANIFEST_BYTES)
    _require(isinstance(raw, dict) and set(raw) == _MANIFEST_KEYS,
             "the manifest must be an object with exactly the keys " + ", ".join(sorted(_MANIFEST_KEYS)))
    _require(_is_int(raw["format"]) and raw["format"] == FORMAT,
             f"format = {str(raw['format'])[:30]}: this device reads bundle format {FORMAT}")
    _require(isinstance(raw["center"], str) and bool(_CENTER.match(raw["center"])),
             f"center = {str(raw['center'])[:70]!r} is not a center id")
    _require(raw["role"] in ROLES, f"role = {str(raw['role'])[:30]!r}: expected one of {', '.join(ROLES)}")
    version = raw["version"]
    _require(_is_int(version) and 1 <= version <= MAX_VERSION,
             f"version = {str(version)[:30]}: expected a positive integer")
    _check_time(raw["published_at"])
    items = raw["assets"]
    _require(isinstance(items, list) and len(items) <= MAX_ASSETS, f"assets must be a list of at most {MAX_ASSETS}")
    assets = tuple(_parse_asset(item, i) for i, item in enumerate(items))
    folded: set[str] = set()
    for before, asset in zip((None, *assets), assets, strict=False):
        _require(before is None or before.name < asset.name,
                 f"asset {asset.name!r}: assets must be sorted by name, each name once")
        _require(asset.name.casefold() not in folded,
                 f"asset {asset.name!r}: another asset has the same name in other letter case")
        folded.add(asset.name.casefold())
    manifest = Manifest(raw["center"], raw["role"], version, raw["published_at"], assets)
    _require(manifest.encode() == bytes(data), "the manifest is not in canonical form (sorted keys, no spaces, UTF-8)")
    return manifest


# ---- envelopes and signatures ----

@dataclass(frozen=True)
class Envelope:
    manifest_bytes: bytes
    signature: bytes

    def encode(self) -> bytes:
        return canonical_json({"manifest": base64.b64encode(self.manifest_bytes).decode(),
                               "signature": base64.b64encode(self.signature).decode()})


def _b64(value: Any, what: str) -> bytes:
    try:
        if isinstance(value, str):
            return base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        pass
    raise ManifestError(f"the envelope's {what} is not a base64 string")


def parse_envelope(data: bytes, limit: int = MAX_ENVELOPE_BYTES) -> Envelope:
    raw = load_json(data, "envelope", limit)
    _require(isinstance(raw, dict), "the envelope must be a JSON object")
    if not raw.get("signature"):
        raise ManifestError("the envelope is not signed", "unsigned")
    _require(set(raw) == {"manifest", "signature"}, "the envelope must have exactly the keys manifest, signature")
    signature = _b64(raw["signature"], "signature")
    if len(signature) != SIGNATURE_BYTES:
        raise ManifestError(f"the signature is {len(signature)} bytes, not {SIGNATURE_BYTES}", "bad-signature")
    return Envelope(_b64(raw["manifest"], "manifest"), signature)


def sign(private_key: Ed25519PrivateKey, manifest: Manifest) -> Envelope:
    data = manifest.encode()
    return Envelope(data, private_key.sign(data))


def public_key_bytes(private_key: Ed25519PrivateKey) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def verify_envelope(data: bytes, public_key: bytes) -> tuple[Envelope, Manifest]:
    """The signed manifest in an envelope, checked against the pinned key; ManifestError otherwise.

    The signature is checked before the manifest is parsed, so nothing unsigned is ever interpreted.
    """
    envelope = verified_envelope(data, public_key)
    return envelope, parse_manifest(envelope.manifest_bytes)


def verified_envelope(data: bytes, public_key: bytes, limit: int = MAX_ENVELOPE_BYTES) -> Envelope:
    """The envelope in `data` whose signature the pinned key made, or ManifestError. Releases
    (mfc_edge/release.py) travel in the same envelope."""
    envelope = parse_envelope(data, limit)
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(envelope.signature, envelope.manifest_bytes)
    except InvalidSignature:
        raise ManifestError("the signature does not match the hub's pinned key", "bad-signature") from None
    return envelope


def hash_file(path: Path, length: int | None = None, digest: Any = None) -> Any:
    """SHA-256 of a file, or of its first `length` bytes; `digest` to go on from (hashlib object)."""
    digest = digest or hashlib.sha256()
    left = length
    with open(path, "rb", buffering=0) as f:
        while left is None or left > 0:
            chunk = f.read(HASH_CHUNK if left is None else min(HASH_CHUNK, left))
            if not chunk:
                break
            digest.update(chunk)
            left = None if left is None else left - len(chunk)
    return digest


# ---- the city's layer and the key chain ----
# A hub linked to its city relays the city's bundles to its devices beside its own, under these
# paths of the hub's API. A device trusts its hub's key, pinned at enrollment, and through it the
# city's: the hub signs the city's key with its own (an endorsement) and the device pins the city
# key once that signature checks out (offline_cache/city_layer.py).
CITY_BUNDLE_PATH = "city-bundle"  # GET: the city's envelope for this device's center and role
CITY_ASSETS_PATH = "city-assets"  # GET /<sha256>: an asset of it
CITY_KEY_PATH = "city-key"  # GET: {"key": base64, "endorsement": base64}
_ENDORSING = b"mfc-edge: this hub trusts the city's bundle key\n"


def endorsement_message(city_key: bytes) -> bytes:
    """What a hub signs to vouch for the city's key: a fixed context first, so the signature can
    never be mistaken for one over a manifest."""
    return _ENDORSING + city_key


def verify_endorsement(city_key: bytes, signature: bytes, hub_key: bytes) -> None:
    """ManifestError unless `signature` is the hub's over `city_key`."""
    if len(city_key) != PUBLIC_KEY_BYTES or len(signature) != SIGNATURE_BYTES:
        raise ManifestError("the city key or its endorsement has the wrong length", "bad-endorsement")
    try:
        Ed25519PublicKey.from_public_bytes(hub_key).verify(signature, endorsement_message(city_key))
    except InvalidSignature:
        raise ManifestError("the city key's endorsement is not signed by this device's hub",
                            "bad-endorsement") from None
