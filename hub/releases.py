"""Software releases on the hub: publishing, channels, pilot devices, promotion and rollout.

`mfc-edge hub release DIR --channel pilot|stable` takes a folder made by `mfc-edge release build`
(mfc_edge/release_build.py): every wheel is checked against its description, stored once by its
hash (a wheel an earlier release had is not stored again, and devices that have it do not fetch
it again), and one manifest per machine is signed with the hub's bundle key, all under the
next release number: numbers only go up, so devices can refuse an older release. Wheels no
device will fetch again are deleted then (`collect_garbage`), or a hub publishing a release a
month would fill its disk with a couple of hundred megabytes each time.

A device is offered the newest release it should run: pilot devices the newest pilot or stable
one, others the newest stable one, a halted release nobody. Pilots are named devices, or a share
of each center's devices of each role picked by the hash of their ids (the same devices every
time, and a new device does not reshuffle the others much). A pilot release is promoted to
stable by a supervisor, or by the soak check after a set number of hours with no rollback.
"""
from __future__ import annotations

import asyncio
import base64
import fcntl
import hashlib
import logging
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool

from hub.bundles import BlobStore, Bundles
from hub.db import HubDB, iso
from hub.heartbeats import Heartbeats
from hub.identity import Device
from mfc_edge import protocol, release
from mfc_edge.bundle import Envelope, hash_file
from mfc_edge.release import Release, Wheel
from mfc_edge.release_build import Description, DescriptionError, read_description

CHANNELS = ("pilot", "stable")
# The newest stable release and the one before it keep their wheels: a device still fetching the
# older one when the newer is promoted can finish it.
KEEP_STABLE = 2
SOAK_CHECK_EVERY_S = 60.0
_SOAK_HOURS = "soak_hours"
_SHARE = "pilot_share."  # + center

log = logging.getLogger(__name__)


class ReleaseRefused(ValueError):
    """A release folder or a command the hub will not act on; the message is one line."""


@dataclass(frozen=True)
class Offer:
    number: int
    channel: str
    envelope: bytes

    @property
    def etag(self) -> str:
        return f'"release-{self.number}-{self.channel}"'


@dataclass(frozen=True)
class Progress:
    """A release in one center: devices running it (or a newer one already), devices that rolled
    it back, and devices it is offered to that have not taken it yet."""
    updated: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    rolled_back: list[str] = field(default_factory=list)


def pilot_rank(device: str) -> str:
    """The order pilots are picked in by share: by hash, so it is stable and not alphabetical."""
    return hashlib.sha256(device.encode()).hexdigest()


class Releases:
    def __init__(self, db: HubDB, data_dir: str | Path, bundles: Bundles, heartbeats: Heartbeats):
        self.db = db
        self.bundles = bundles  # its key signs releases: devices pin one key for both
        self.heartbeats = heartbeats
        # Apart from the bundles' blobs, whose garbage collection keeps only what bundles have.
        self.wheels = BlobStore(Path(data_dir) / "wheels")
        self.lock_path = Path(data_dir) / "release.lock"

    # --- publishing -------------------------------------------------------------

    def publish(self, folder: Path, channel: str) -> tuple[int, list[str], int]:
        """Publish the built release in `folder`: (its number, its machines, wheels newly stored).
        A folder devices would refuse, or whose wheels are not the ones described, is refused
        before anything is stored."""
        if channel not in CHANNELS:
            raise ReleaseRefused(f"channel {channel!r}: expected one of {', '.join(CHANNELS)}")
        try:
            described = read_description(folder)
        except DescriptionError as exc:
            raise ReleaseRefused(str(exc)) from None
        now = iso(self.db.now())
        for machine in described.machines:  # as devices would parse it, numbered 1 until it has its number
            try:
                release.parse_release(self._manifest(described, machine, 1, now).encode())
            except release.ReleaseError as exc:
                raise ReleaseRefused(f"{folder}: cannot publish this release for {machine}: {exc}") from None
        files = {wheel.name: self._checked(folder, wheel) for wheel in described.wheels}
        with self._one_publisher():
            missing = [w for w in described.wheels if not self.wheels.path(w.sha256).exists()]
            for wheel in missing:  # the others, stored by an earlier release, are not copied again
                self.wheels.put(files[wheel.name])
            number = self._record(described, channel, now)
            self.collect_garbage()
        return number, sorted(described.machines), len({w.sha256 for w in missing})

    @contextmanager
    def _one_publisher(self) -> Iterator[None]:
        """Wheels one publisher has stored but not yet recorded must not be collected by another."""
        with open(self.lock_path, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def _record(self, described: Description, channel: str, now: str) -> int:
        with self.db.transaction() as tx:
            number = (tx.execute("SELECT MAX(number) FROM releases").fetchone()[0] or 0) + 1
            for machine in described.machines:
                envelope = release.sign(self.bundles.key, self._manifest(described, machine, number, now))
                tx.table("release_manifests").insert({
                    "number": number, "machine": machine,
                    "manifest": base64.b64encode(envelope.manifest_bytes).decode(),
                    "signature": base64.b64encode(envelope.signature).decode()})
            tx.table("release_wheels").insert_all(({"number": number, "sha256": w.sha256} for w in described.wheels),
                                                  ignore=True)
            tx.table("releases").insert({"number": number, "version": described.version, "channel": channel,
                                         "published_at": now, "promoted_at": now if channel == "stable" else None,
                                         "halted_at": None})
        return number

    def collect_garbage(self) -> tuple[int, int]:
        """Delete the wheels no device will fetch again: those of no release from the stable one
        before the newest stable on (a device may be fetching it still), halted ones left out.
        (wheels deleted, bytes freed)"""
        rows = list(self.db.db.query("SELECT number, channel FROM releases WHERE halted_at IS NULL "
                                     "ORDER BY number DESC"))
        stable = [r["number"] for r in rows if r["channel"] == "stable"][:KEEP_STABLE]
        floor = stable[-1] if stable else 0
        kept = [r["number"] for r in rows if r["number"] >= floor]
        with self.db.transaction() as tx:
            tx.execute(f"DELETE FROM release_wheels WHERE number NOT IN ({', '.join('?' * len(kept))})", kept)
            needed = {r[0] for r in tx.execute("SELECT DISTINCT sha256 FROM release_wheels")}
        return self.wheels.remove_all_but(needed)

    @staticmethod
    def _manifest(described: Description, machine: str, number: int, now: str) -> Release:
        roles = described.machines[machine]
        names = {name for listed in roles.values() for name in listed}
        return Release(number, described.version, machine, now, tuple(w for w in described.wheels if w.name in names),
                       {role: tuple(sorted(listed)) for role, listed in roles.items()})

    @staticmethod
    def _checked(folder: Path, wheel: Wheel) -> Path:
        path = folder / "wheels" / wheel.name
        if path.is_symlink() or not path.is_file():
            raise ReleaseRefused(f"{wheel.name}: not a file in {folder / 'wheels'}")
        if path.stat().st_size != wheel.size or hash_file(path).hexdigest() != wheel.sha256:
            raise ReleaseRefused(f"{wheel.name}: its size or SHA-256 is not the one release.json describes; "
                                 "build the release again")
        return path

    # --- channels -------------------------------------------------------------------

    def _release(self, number: int) -> dict[str, Any]:
        rows = list(self.db.db.query("SELECT * FROM releases WHERE number = ?", [number]))
        if not rows:
            raise ReleaseRefused(f"there is no release {number}")
        return rows[0]

    def promote(self, number: int) -> None:
        """Offer release `number` to every device."""
        found = self._release(number)
        if found["halted_at"]:
            raise ReleaseRefused(f"release {number} was halted at {found['halted_at']}; publish a new one")
        with self.db.transaction() as tx:
            tx.execute("UPDATE releases SET channel = 'stable', promoted_at = ? "
                       "WHERE number = ? AND promoted_at IS NULL", [iso(self.db.now()), number])

    def halt(self, number: int) -> None:
        """Offer release `number` to no device any more; devices running it stay on it until a newer one."""
        self._release(number)
        with self.db.transaction() as tx:
            tx.execute("UPDATE releases SET halted_at = ? WHERE number = ? AND halted_at IS NULL",
                       [iso(self.db.now()), number])

    def rows(self) -> list[dict[str, Any]]:
        rows = list(self.db.db.query(
            "SELECT r.*, group_concat(m.machine, ',') AS machines FROM releases AS r "
            "LEFT JOIN release_manifests AS m USING (number) GROUP BY r.number ORDER BY r.number"))
        for row in rows:
            row["machines"] = sorted((row["machines"] or "").split(","))
        return rows

    # --- pilots -----------------------------------------------------------------------

    def _setting(self, name: str) -> str | None:
        row = self.db.db.execute("SELECT value FROM release_settings WHERE name = ?", [name]).fetchone()
        return row[0] if row else None

    def _set(self, tx: Any, name: str, value: str | None) -> None:
        tx.execute("DELETE FROM release_settings WHERE name = ?", [name])
        if value is not None:
            tx.execute("INSERT INTO release_settings (name, value) VALUES (?, ?)", [name, value])

    def set_pilots(self, center: str, devices: list[str] | None = None, share: float | None = None) -> None:
        """The center's pilots: these devices by name, or this share (0 to 1) of its devices of each role."""
        if (devices is None) == (share is None):
            raise ReleaseRefused("name the pilot devices or give a share, not both")
        if share is not None and not 0 <= share <= 1:
            raise ReleaseRefused(f"share {share}: expected 0 to 1 (0.2 makes a fifth of the devices pilots)")
        known = {d["id"] for d in self.db.db.query("SELECT id FROM devices WHERE center = ? AND revoked_at IS NULL",
                                                   [center])}
        unknown = sorted(set(devices or ()) - known)
        if unknown:
            raise ReleaseRefused(f"center {center} has no device {', '.join(unknown)}")
        with self.db.transaction() as tx:
            tx.execute("DELETE FROM release_pilots WHERE center = ?", [center])
            tx.table("release_pilots").insert_all({"center": center, "device": d} for d in devices or ())
            self._set(tx, _SHARE + center, None if share is None else repr(share))

    def pilots(self, center: str) -> set[str]:
        """The center's pilot devices now: those named, and its share of each role."""
        named = {r[0] for r in self.db.db.execute("SELECT device FROM release_pilots WHERE center = ?", [center])}
        share = float(self._setting(_SHARE + center) or 0)
        by_role: dict[str, list[str]] = {}
        for row in self.db.db.query("SELECT id, role FROM devices WHERE center = ? AND revoked_at IS NULL", [center]):
            by_role.setdefault(row["role"], []).append(row["id"])
        for ids in by_role.values():
            named.update(sorted(ids, key=pilot_rank)[:math.ceil(share * len(ids))])
        return named

    # --- what devices get -------------------------------------------------------------

    def _offered(self, who: Device) -> list[dict[str, Any]]:
        """The releases offered to this device, newest first."""
        channels = CHANNELS if who.id in self.pilots(who.center) else ("stable",)
        return list(self.db.db.query(
            f"SELECT number, channel FROM releases WHERE halted_at IS NULL AND channel IN "
            f"({', '.join('?' * len(channels))}) ORDER BY number DESC", list(channels)))

    def offer(self, who: Device, machine: str) -> Offer | None:
        """The newest release this device should run on `machine` that has its role, or None."""
        for row in self._offered(who):
            found = self.db.db.execute("SELECT manifest, signature FROM release_manifests WHERE number = ? AND "
                                       "machine = ?", [row["number"], machine]).fetchone()
            if found is None:
                continue
            envelope = Envelope(base64.b64decode(found[0]), base64.b64decode(found[1]))
            if who.role in release.parse_release(envelope.manifest_bytes).roles:
                return Offer(row["number"], row["channel"], envelope.encode())
        return None

    def wheel_for(self, who: Device, sha256: str) -> Path | None:
        """The wheel's file, if a release offered to this device has it."""
        numbers = [row["number"] for row in self._offered(who)]
        if not numbers:
            return None
        known = self.db.db.execute(f"SELECT 1 FROM release_wheels WHERE sha256 = ? AND number IN "
                                   f"({', '.join('?' * len(numbers))}) LIMIT 1", [sha256, *numbers]).fetchone()
        path = self.wheels.path(sha256)
        return path if known and path.is_file() else None

    # --- soak and rollout ---------------------------------------------------------------

    def set_soak_hours(self, hours: float | None) -> None:
        """Promote a healthy pilot release after `hours`; None or 0: only by hand."""
        if hours is not None and not 0 <= hours <= 24 * 365:
            raise ReleaseRefused(f"--hours {hours}: expected 0 to {24 * 365}")
        with self.db.transaction() as tx:
            self._set(tx, _SOAK_HOURS, repr(hours) if hours else None)

    def soak_hours(self) -> float | None:
        value = self._setting(_SOAK_HOURS)
        return float(value) if value else None

    def rolled_back(self, number: int) -> dict[str, set[str]]:
        """center -> the devices that reported rolling release `number` back."""
        found: dict[str, set[str]] = {}
        for row in self.db.db.query("SELECT center, device FROM events WHERE type = ? AND "
                                    "json_extract(body, '$.release') = ?", [protocol.SOFTWARE_ROLLED_BACK, number]):
            found.setdefault(row["center"], set()).add(row["device"])
        return found

    def promote_soaked(self) -> list[int]:
        """Promote the pilot releases published over the soak time ago that no device rolled back."""
        hours = self.soak_hours()
        if not hours:
            return []
        due = iso(self.db.now() - timedelta(hours=hours))
        promoted = []
        for row in self.db.db.query("SELECT number FROM releases WHERE channel = 'pilot' AND halted_at IS NULL "
                                    "AND published_at <= ? ORDER BY number", [due]):
            if not self.rolled_back(row["number"]):
                self.promote(row["number"])
                promoted.append(row["number"])
        return promoted

    def progress(self, number: int, center: str) -> Progress:
        """Release `number` in `center`, by the devices' heartbeats' release and their software.* events."""
        self._release(number)
        beats = self.heartbeats.latest(center)
        backs = self.rolled_back(number).get(center, set())
        result = Progress()
        for row in self.db.db.query("SELECT id, role, window FROM devices WHERE center = ? AND revoked_at IS NULL "
                                    "ORDER BY id", [center]):
            beat = beats.get(row["id"])
            running = beat.body.get("release") if beat else None
            if isinstance(running, int) and running >= number:
                result.updated.append(row["id"])
            elif row["id"] in backs:
                result.rolled_back.append(row["id"])
            elif any(o["number"] == number for o in self._offered(Device(center, row["id"], row["role"],
                                                                         row["window"]))):
                result.pending.append(row["id"])
        return result


async def soak_releases(releases: Releases, every: float = SOAK_CHECK_EVERY_S) -> None:
    """Promote soaked pilot releases now and then every `every` seconds, for as long as the hub serves."""
    while True:
        try:
            for number in await run_in_threadpool(releases.promote_soaked):
                log.info("release %d soaked with no rollback: promoted to stable", number)
        except Exception:  # a locked disk now must not stop promotions for good
            log.exception("the release soak check failed; trying again in %.0f s", every)
        await asyncio.sleep(every)


def describe(row: dict[str, Any]) -> str:
    """One line of `hub release list`."""
    state = f"halted {row['halted_at']}" if row["halted_at"] else row["channel"]
    return f"{row['number']:>5}  {row['version']:<12} {state:<30} {','.join(row['machines']):<16} {row['published_at']}"

