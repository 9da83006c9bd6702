"""Signed software releases: the manifest the hub signs and devices verify before updating.

A release is the project's wheel and its dependencies' wheels for one machine architecture and
CPython 3.11, and for each device role the wheels `pip install --no-index mfc-edge[ROLE]`
needs. The manifest is canonical JSON signed with the hub's bundle key and travels in the
bundles' envelope (mfc_edge/bundle.py):

    {"format": 1, "kind": "release", "release": N, "version": "0.2.0", "machine": "aarch64",
     "python": "cp311", "created_at": "<ISO time, UTC>",
     "wheels": [{"name": "<wheel file name>", "sha256": "<hex>", "size": <bytes>}, ...],
     "roles": {"kiosk": ["<wheel file name>", ...], "signage": [...], "console": [...], "hub": [...]}}

`release` goes up with every publish on the hub: a device refuses any release not newer than
the one it runs, so an old (vulnerable) release replayed to it is never installed again.
Everything received is hostile until checked: any input gives a `Release` or a `ReleaseError`
with one line saying what is wrong. Wheel names are labels that must look like wheel file
names; devices store wheels by hash and never use a name as a path.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mfc_edge import bundle, protocol
from mfc_edge.bundle import Envelope, ManifestError, canonical_json

# The device routes (hub/routes/releases.py): the release to run (?machine=...), and wheels by hash.
RELEASE_PATH = f"{protocol.API}/release"
WHEELS_PATH = f"{protocol.API}/wheels"
FORMAT = 1
KIND = "release"
PYTHON = "cp311"
MACHINES = ("aarch64", "x86_64")
ROLES = ("kiosk", "signage", "console", "hub")
MAX_WHEELS = 1_000
MAX_WHEEL_SIZE = 512 * 1024 ** 2  # the largest wheels of the fleet (Kivy, numpy) are tens of MB
MAX_RELEASE = bundle.MAX_VERSION
MAX_MANIFEST_BYTES = 512 * 1024
MAX_ENVELOPE_BYTES = MAX_MANIFEST_BYTES * 4 // 3 + 1024
# PEP 427: {distribution}-{version}(-{build})?-{python}-{abi}-{platform}.whl, ASCII only.
_WHEEL = re.compile(r"^[A-Za-z0-9_.]+-[A-Za-z0-9_.!+]+(-[0-9][A-Za-z0-9_.]*)?-[A-Za-z0-9_.]+-[A-Za-z0-9_.]+"
                    r"-[A-Za-z0-9_.]+\.whl$")
_VERSION = re.compile(r"^[0-9][A-Za-z0-9.+!_-]{0,63}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_KEYS = {"format", "kind", "release", "version", "machine", "python", "created_at", "wheels", "roles"}
_WHEEL_KEYS = {"name", "sha256", "size"}


class ReleaseError(ValueError):
    """A release manifest or envelope that cannot be used; `reason` is a short code devices report."""

    def __init__(self, message: str, reason: str = "malformed"):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Wheel:
    name: str
    sha256: str
    size: int


@dataclass(frozen=True)
class Release:
    release: int
    version: str
    machine: str
    created_at: str
    wheels: tuple[Wheel, ...]  # sorted by name
    roles: dict[str, tuple[str, ...]]  # role -> wheel names, sorted

    def wheels_for(self, role: str) -> tuple[Wheel, ...]:
        """The wheels a device of `role` downloads and installs; none for a role not in the release."""
        names = set(self.roles.get(role, ()))
        return tuple(w for w in self.wheels if w.name in names)

    def encode(self) -> bytes:
        return canonical_json({
            "format": FORMAT, "kind": KIND, "release": self.release, "version": self.version,
            "machine": self.machine, "python": PYTHON, "created_at": self.created_at,
            "wheels": [{"name": w.name, "sha256": w.sha256, "size": w.size}
                       for w in sorted(self.wheels, key=lambda w: w.name)],
            "roles": {role: sorted(names) for role, names in self.roles.items()},
        })


def _require(condition: bool, message: str, reason: str = "malformed") -> None:
    if not condition:
        raise ReleaseError(message, reason)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def wheel_name_problem(name: Any) -> str | None:
    """Why `name` cannot be a wheel's name in a release, or None. The hub checks it when publishing."""
    if not isinstance(name, str) or not 1 <= len(name) <= bundle.MAX_NAME_LENGTH:
        return f"wheel name {str(name)[:60]!r}: expected a string of 1 to {bundle.MAX_NAME_LENGTH} characters"
    if not _WHEEL.match(name):
        return f"wheel name {name[:60]!r} is not a wheel file name (NAME-VERSION-PY-ABI-PLATFORM.whl)"
    return None


def _parse_wheel(item: Any, index: int) -> Wheel:
    _require(isinstance(item, dict) and set(item) == _WHEEL_KEYS,
             f"wheels[{index}]: expected an object with exactly the keys name, sha256, size")
    problem = wheel_name_problem(item["name"])
    _require(problem is None, f"wheels[{index}]: {problem}")
    _require(isinstance(item["sha256"], str) and bool(_SHA256.match(item["sha256"])),
             f"wheels[{index}] {item['name']}: sha256 must be 64 lowercase hex digits")
    size = item["size"]
    _require(_is_int(size) and 1 <= size <= MAX_WHEEL_SIZE,
             f"wheels[{index}] {item['name']}: size = {str(size)[:30]}: expected 1 to {MAX_WHEEL_SIZE} bytes")
    return Wheel(item["name"], item["sha256"], size)


def _parse_roles(raw: Any, names: set[str]) -> dict[str, tuple[str, ...]]:
    _require(isinstance(raw, dict) and bool(raw) and set(raw) <= set(ROLES),
             f"roles must be an object whose keys are some of {', '.join(ROLES)}")
    roles: dict[str, tuple[str, ...]] = {}
    for role, listed in raw.items():
        _require(isinstance(listed, list) and bool(listed) and all(isinstance(n, str) for n in listed),
                 f"roles.{role} must be a non-empty list of wheel names")
        unknown = [n for n in listed if n not in names]
        _require(not unknown, f"roles.{role} names {str(unknown[:1])[1:-1][:80]}, which is not among the wheels")
        _require(len(set(listed)) == len(listed), f"roles.{role} names a wheel twice")
        roles[role] = tuple(sorted(listed))
    return roles


def _check_time(value: Any) -> None:
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) and len(value) <= 40 else None
    except ValueError:
        moment = None
    _require(moment is not None and moment.utcoffset() == timedelta(0),
             f"created_at = {str(value)[:60]!r}: expected an ISO 8601 time in UTC")


def parse_release(data: bytes) -> Release:
    """The release manifest in `data`, or ReleaseError saying what is wrong (for any input at all)."""
    try:
        raw = bundle.load_json(data, "release manifest", MAX_MANIFEST_BYTES)
    except ManifestError as exc:
        raise ReleaseError(str(exc)) from None
    _require(isinstance(raw, dict) and set(raw) == _KEYS,
             "the release manifest must be an object with exactly the keys " + ", ".join(sorted(_KEYS)))
    _require(raw["kind"] == KIND, f"kind = {str(raw['kind'])[:30]!r}: this is not a release manifest")
    _require(_is_int(raw["format"]) and raw["format"] == FORMAT,
             f"format = {str(raw['format'])[:30]}: this device reads release format {FORMAT}", "unsupported")
    number = raw["release"]
    _require(_is_int(number) and 1 <= number <= MAX_RELEASE,
             f"release = {str(number)[:30]}: expected a positive integer")
    _require(isinstance(raw["version"], str) and bool(_VERSION.match(raw["version"])),
             f"version = {str(raw['version'])[:70]!r} is not a version string")
    _require(raw["machine"] in MACHINES,
             f"machine = {str(raw['machine'])[:30]!r}: expected one of {', '.join(MACHINES)}")
    _require(raw["python"] == PYTHON, f"python = {str(raw['python'])[:30]!r}: this fleet runs {PYTHON}", "unsupported")
    _check_time(raw["created_at"])
    items = raw["wheels"]
    _require(isinstance(items, list) and 1 <= len(items) <= MAX_WHEELS, f"wheels must be a list of 1 to {MAX_WHEELS}")
    wheels = tuple(_parse_wheel(item, i) for i, item in enumerate(items))
    for before, wheel in zip(wheels, wheels[1:], strict=False):
        _require(before.name < wheel.name, f"wheel {wheel.name}: wheels must be sorted by name, each name once")
    release = Release(number, raw["version"], raw["machine"], raw["created_at"], wheels,
                      _parse_roles(raw["roles"], {w.name for w in wheels}))
    _require(release.encode() == bytes(data),
             "the release manifest is not in canonical form (sorted keys, no spaces, UTF-8)")
    return release


def sign(private_key: Ed25519PrivateKey, release: Release) -> Envelope:
    """The envelope devices receive; the hub checks the manifest as a device would first."""
    data = release.encode()
    parse_release(data)
    return Envelope(data, private_key.sign(data))


def verify_release(data: bytes, public_key: bytes, machine: str, newer_than: int | None = None) -> Release:
    """The release in the envelope `data`, signed by the pinned key, for this `machine`, and newer
    than release `newer_than` (the one the device runs); ReleaseError otherwise. The signature is
    checked before the manifest is parsed, so nothing unsigned is ever interpreted."""
    try:
        envelope = bundle.verified_envelope(data, public_key, MAX_ENVELOPE_BYTES)
    except ManifestError as exc:
        raise ReleaseError(f"release envelope: {exc}", exc.reason) from None
    release = parse_release(envelope.manifest_bytes)
    _require(release.machine == machine, f"release {release.release} is for {release.machine}, this is {machine}",
             "other-machine")
    _require(newer_than is None or release.release > newer_than,
             f"release {release.release} is not newer than release {newer_than}, which this device runs", "rollback")
    return release
