"""Keeping a device's content bundle up to date with its hub, trusting nothing the hub sends.

`BundleUpdater.check()` asks the hub for its latest bundle (an unchanged one costs one 304),
checks the envelope's signature against the key pinned at enrollment, that it is for this
device's center and role and newer than the active bundle, then downloads only the assets the
device does not have yet, resuming partial downloads with Range requests. Each asset is
size-capped while streaming and hashed as it is written; only when every asset is verified is
the bundle swapped in. Anything wrong with what the hub sent is a refusal, reported to the hub
as a `bundle.refused` event, and the active bundle stays as it was; a network failure only
means "try again later" and keeps the partial downloads.
"""
from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import urllib3

from mfc_edge import bundle, protocol
from mfc_edge.bundle import Asset, Manifest
from offline_cache.content import ActiveBundle, ContentStore
from offline_cache.hub_client import HubClient

log = logging.getLogger(__name__)

CHUNK = 1024 * 1024
UNCHANGED, APPLIED, REFUSED, FAILED = "unchanged", "applied", "refused", "failed"
# A refused bundle is judged again after this long, then after twice as long each time it is
# refused again, up to the cap: the hub's copy may be mended (an asset damaged on its disk),
# and a device must not wait for a restart to notice, nor fetch a bad bundle every minute.
RETRY_REFUSED_AFTER_S = 5 * 60.0
RETRY_REFUSED_CAP_S = 6 * 3600.0


@dataclass(frozen=True)
class UpdateResult:
    status: str  # one of UNCHANGED, APPLIED, REFUSED, FAILED
    version: int | None  # the active version; for a refusal, the refused one (None if unreadable)
    reason: str = ""
    downloaded: int = 0  # asset bytes received in this check


class Refusal(Exception):
    """What the hub sent cannot be used. `reason` is a short code for the bundle.refused event."""

    def __init__(self, reason: str, detail: str, version: int | None = None):
        super().__init__(detail)
        self.reason, self.version = reason, version


class Failure(Exception):
    """Nothing wrong with the bundle, but the check could not finish: try again later."""


@dataclass(frozen=True)
class _Verdict:
    result: UpdateResult
    until: float  # monotonic time after which the bundle is judged again
    wait: float  # how long this verdict stands; the next refusal of the same bundle stands twice as long


class BundleUpdater:
    def __init__(self, store: ContentStore, hub: HubClient, *, center: str, role: str,
                 report: Callable[[str, dict[str, Any]], Any] | None = None, timeout: float = 30.0,
                 retry_refused_after: float = RETRY_REFUSED_AFTER_S, retry_refused_cap: float = RETRY_REFUSED_CAP_S,
                 monotonic: Callable[[], float] = time.monotonic, paths: tuple[str, str] = ("bundle", "assets"),
                 reasons: str = ""):
        """`report(event_type, body)` records an event for the hub, e.g. `DeviceStore.record_event`.
        A refused bundle is judged again after `retry_refused_after` seconds, doubling up to the cap.
        `paths` (the envelope's and the assets' under the hub's API) and `reasons` (a prefix of the
        refusals' reasons) differ for the city's layer (offline_cache/city_layer.py)."""
        self.store, self.hub, self.center, self.role = store, hub, center, role
        self.paths, self.reasons = paths, reasons
        self.timeout = timeout
        self.report = report if report is not None else (lambda event_type, body: None)
        self.retry_refused_after, self.retry_refused_cap = retry_refused_after, retry_refused_cap
        self.monotonic = monotonic
        self._etag: str | None = None
        # The last refused envelope's hash -> its verdict: that bundle is not fetched or reported
        # again until the verdict expires (the hub serves one bundle, so one verdict is enough).
        self._refused: dict[str, _Verdict] = {}

    def check(self) -> UpdateResult:
        try:
            return self._check()
        except Refusal as refusal:
            log.warning("bundle %s refused: %s: %s", refusal.version, refusal.reason, refusal)
            self.report(protocol.BUNDLE_REFUSED, {"version": refusal.version, "reason": self.reasons + refusal.reason,
                                                  "detail": str(refusal)[:1000]})
            return UpdateResult(REFUSED, refusal.version, f"{refusal.reason}: {refusal}")
        except (Failure, OSError) as exc:  # requests' errors are OSErrors too
            log.info("bundle check failed, will retry: %s", exc)
            active = self.store.current()
            return UpdateResult(FAILED, active.version if active else None, f"{exc.__class__.__name__}: {exc}")

    # ---- the steps of a check ----

    def _check(self) -> UpdateResult:
        active = self.store.current()
        etag = self._etag or (active.manifest.etag if active else None)
        with self._get(self.paths[0], {"If-None-Match": etag} if etag else {}) as reply:
            if reply.status_code == 304:
                return UpdateResult(UNCHANGED, active.version if active else None)
            if reply.status_code == 404:
                return UpdateResult(UNCHANGED, active.version if active else None, "nothing published yet")
            if reply.status_code != 200:
                raise Failure(f"the hub answered {reply.status_code} for the bundle")
            data = self._read_envelope(reply)
            new_etag = reply.headers.get("ETag")
        fingerprint = hashlib.sha256(data).hexdigest()
        earlier = self._refused.get(fingerprint)
        if earlier is not None and self.monotonic() < earlier.until:
            return earlier.result
        try:
            manifest = self._accept(data, active)
            if manifest is None:  # the active bundle itself, e.g. after a restart without an ETag
                self._etag = new_etag
                return UpdateResult(UNCHANGED, active.version if active else None)
            downloaded = self._apply(data, manifest)
        except Refusal as refusal:
            wait = self.retry_refused_after if earlier is None else min(earlier.wait * 2, self.retry_refused_cap)
            self._refused = {fingerprint: _Verdict(UpdateResult(REFUSED, refusal.version,
                                                                f"{refusal.reason}: {refusal}"),
                                                   self.monotonic() + wait, wait)}
            raise
        self._refused.clear()
        self._etag = new_etag
        log.info("bundle %d applied (%d bytes downloaded)", manifest.version, downloaded)
        self.report(protocol.BUNDLE_APPLIED, {"version": manifest.version})
        return UpdateResult(APPLIED, manifest.version, downloaded=downloaded)

    def _get(self, path: str, headers: dict[str, str]) -> requests.Response:
        return self.hub.get(f"{protocol.API}/{path}", headers=headers, stream=True, timeout=self.timeout)

    @staticmethod
    def _read_envelope(reply: requests.Response) -> bytes:
        data = bytearray()
        for chunk in _body(reply):
            data += chunk
            if len(data) > bundle.MAX_ENVELOPE_BYTES:
                raise Refusal("oversized", f"the bundle envelope is larger than {bundle.MAX_ENVELOPE_BYTES} bytes")
        return bytes(data)

    def _accept(self, data: bytes, active: ActiveBundle | None) -> Manifest | None:
        """The new bundle's manifest if this device should apply it; None if it is the active one."""
        try:
            _, manifest = bundle.verify_envelope(data, self.store.public_key)
        except bundle.ManifestError as exc:
            raise Refusal(exc.reason, str(exc)) from None
        if (manifest.center, manifest.role) != (self.center, self.role):
            raise Refusal("wrong-device", f"the bundle is for {manifest.role} devices of center {manifest.center}, "
                                          f"this is a {self.role} of center {self.center}", manifest.version)
        if active is not None and manifest.version <= active.version:
            if data == active.envelope:
                return None
            raise Refusal("replay", f"version {manifest.version} is not newer than the active version "
                                    f"{active.version}", manifest.version)
        if not self.store.fits(manifest):
            raise Refusal("oversized", f"the bundle needs {manifest.total_size} bytes; the content quota is "
                                       f"{self.store.quota_bytes}", manifest.version)
        return manifest

    def _apply(self, data: bytes, manifest: Manifest) -> int:
        downloaded, moved = 0, []
        # Flushing each asset to disk waits for the disk; a second thread does it while the next downloads.
        with self.store.updating(manifest), ThreadPoolExecutor(1, thread_name_prefix="bundle-fsync") as mover:
            wanted = {a.sha256: a for a in manifest.assets if not self.store.has(a)}  # one download per hash
            for asset in wanted.values():
                downloaded += self._download(asset, manifest.version)
                moved.append(mover.submit(self.store.add_verified, asset.sha256))
            for done in moved:
                done.result()  # an error moving any asset stops the swap
            self.store.swap_in(data)
        self.store.collect_garbage()
        return downloaded

    # ---- one asset ----

    def _download(self, asset: Asset, version: int, resume: bool = True) -> int:
        """Fetch one asset into its .part file and verify it. Returns bytes received."""
        try:
            return self._fetch(asset, version, resume)
        except Refusal:
            self.store.part_path(asset.sha256).unlink(missing_ok=True)  # bytes of a refused asset are worthless
            raise

    def _fetch(self, asset: Asset, version: int, resume: bool) -> int:
        return fetch_resumable(self._get, f"{self.paths[1]}/{asset.sha256}", self.store.part_path(asset.sha256),
                               asset, version, resume)

    @staticmethod
    def _start_of(reply: requests.Response, have: int, asset: Asset, version: int) -> int:
        """Where the reply's bytes go in the file: 0 for a whole asset, `have` for a resumed one."""
        if reply.status_code == 404:
            raise Failure(f"the hub has no asset {asset.sha256} ({asset.name!r}) at the moment")
        if reply.status_code == 200:
            length = reply.headers.get("Content-Length")
            if length is not None and length.isdigit() and int(length) != asset.size:
                _size_refusal(int(length), asset, version)
            return 0  # a whole asset, also when a range was asked for: start the file again
        if reply.status_code == 206:
            span = reply.headers.get("Content-Range", "")
            if not span.startswith(f"bytes {have}-"):
                raise Failure(f"the hub answered range {span!r} to a request for bytes={have}-")
            total = span.rpartition("/")[2]
            if not total.isdigit():
                raise Failure(f"the hub answered an unreadable Content-Range {span!r}")
            if int(total) != asset.size:
                _size_refusal(int(total), asset, version)
            return have
        raise Failure(f"the hub answered {reply.status_code} for asset {asset.sha256}")

    @staticmethod
    def _stream(reply: requests.Response, part: Path, start: int, asset: Asset,
                version: int) -> tuple[int, Any]:
        """Write the reply's body at `start`, never past the asset's size, hashing as it goes."""
        digest = bundle.hash_file(part, start) if start else hashlib.sha256()
        room = asset.size - start
        received = 0
        # Unbuffered: what is on disk is always a prefix of the asset, even after a SIGKILL.
        with open(part, "r+b" if start else "wb", buffering=0) as f:
            f.seek(start)
            f.truncate()
            for chunk in _body(reply):
                if len(chunk) > room - received:
                    raise Refusal("oversized", f"asset {asset.name!r}: the hub sent more than its "
                                               f"{asset.size} bytes", version)
                f.write(chunk)
                digest.update(chunk)
                received += len(chunk)
        if received < room:
            raise Refusal("truncated", f"asset {asset.name!r}: the hub sent {start + received} of its "
                                       f"{asset.size} bytes", version)
        return received, digest


def fetch_resumable(get: Callable[[str, dict[str, str]], requests.Response], path: str, part: Path,
                    asset: Asset, version: int, resume: bool = True) -> int:
    """Fetch `path` (under the API) into `part` until it holds `asset`, verified by its SHA-256,
    resuming what an earlier try left there with a Range request. Returns bytes received.
    Refusal when the hub's bytes are not the asset (the .part is kept only when they may be),
    Failure when the download could not finish. The content updater and the software
    updater (offline_cache/software_update_fetch.py) download through this."""
    have = part.stat().st_size if resume and part.exists() else 0
    if have > asset.size:
        have = 0
    received = 0
    if have < asset.size or not part.exists():
        with get(path, {"Range": f"bytes={have}-"} if have else {}) as reply:
            if reply.status_code == 416 and have:  # the partial file is no prefix of this asset
                return fetch_resumable(get, path, part, asset, version, resume=False)
            start = BundleUpdater._start_of(reply, have, asset, version)
            received, digest = BundleUpdater._stream(reply, part, start, asset, version)
    else:
        digest = bundle.hash_file(part)  # complete but never moved in: stopped just before
    if digest.hexdigest() != asset.sha256:
        part.unlink(missing_ok=True)
        if have and resume:  # maybe the old partial bytes were bad, not the hub's: once more, whole
            return received + fetch_resumable(get, path, part, asset, version, resume=False)
        raise Refusal("tampered", f"asset {asset.name!r}: its SHA-256 does not match the manifest", version)
    return received


def _body(reply: requests.Response) -> Iterator[bytes]:
    """The reply's body in pieces as they arrive. Unlike iter_content, which fills a whole chunk
    before handing it over, this loses nothing already received when the connection breaks."""
    try:
        while chunk := reply.raw.read1(CHUNK, decode_content=True):
            yield chunk
    except urllib3.exceptions.HTTPError as exc:
        raise Failure(f"the download broke off: {exc}") from exc


def _size_refusal(size: int, asset: Asset, version: int) -> None:
    kind = "oversized" if size > asset.size else "truncated"
    raise Refusal(kind, f"asset {asset.name!r}: the hub has {size} bytes for it, the manifest {asset.size}", version)
