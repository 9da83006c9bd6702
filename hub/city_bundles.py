"""The city's layer on a linked hub: bundles the city published for its centers, relayed to devices.

The hub fetches, for each of its centers and each role, the city's newest bundle (an unchanged
one costs a 304), checks its signature against the city's key, that it names the center and role
and is newer than the one it has, downloads the assets it lacks (each checked against its hash),
and only then makes it the one it serves. Anything wrong with what the city sent leaves the last
good city layer in place: a hub cut off from the city, or sent a bad bundle, keeps serving it.

The city's key is learnt from the city over the hub's authenticated link, once, and pinned: a
different key later is refused. Devices trust it through the hub's endorsement, a signature of
the city key made with the hub's own bundle key (mfc_edge/bundle.py).

Files under the data folder: `city-bundle-key` (the pinned key), `city-bundles/<center>.<role>.json`
(the envelope served) and `.previous.json` (the one before, whose assets a device still fetching
it can finish), and `city-blobs/<sha256>`.
"""
from __future__ import annotations

import base64
import binascii
import logging
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import urllib3

from hub import city_link
from hub.bundles import BlobStore, Latest
from hub.db import HubDB, private_folder
from mfc_edge import bundle, city_protocol
from mfc_edge.bundle import Manifest
from mfc_edge.files import atomic_write

log = logging.getLogger(__name__)

CITY_KEY_FILE = "city-bundle-key"
CITY_KEY_PATH = city_protocol.CITY_BUNDLES_PATH + "/key"  # GET with the hub's token -> {"bundle_key"}
PULL_EVERY_S = 60.0
CHUNK = 1024 * 1024
TIMEOUT_S = 30.0

# (path under the city, headers) -> the city's reply; streaming, so large assets are not held whole.
Getter = Callable[[str, dict[str, str]], requests.Response]


class CityBundleError(Exception):
    """What the city sent cannot be used; the last good city layer stays."""


@dataclass(frozen=True)
class Pulled:
    center: str
    role: str
    status: str  # "unchanged", "applied", "refused", "failed", "none" (nothing published)
    version: int | None = None
    detail: str = ""


class CityBundles:
    def __init__(self, data_dir: str | Path, hub_key: Callable[[], Any]):
        """`hub_key()`: the hub's bundle-signing key (hub/bundles.Bundles.key), for endorsements."""
        self.data_dir = Path(data_dir)
        self.folder = private_folder(self.data_dir / "city-bundles")
        self.blobs = BlobStore(self.data_dir / "city-blobs")
        self.hub_key = hub_key
        self._lock = threading.Lock()  # one pull at a time
        self._etags: dict[tuple[str, str], str] = {}
        self._fetching: set[str] = set()

    # ---- the city's key ----

    def city_key(self) -> bytes | None:
        try:
            key = base64.b64decode((self.data_dir / CITY_KEY_FILE).read_bytes().strip(), validate=True)
        except (OSError, binascii.Error, ValueError):
            return None
        return key if len(key) == bundle.PUBLIC_KEY_BYTES else None

    def pin_city_key(self, key: bytes) -> None:
        """Keep the city's key; CityBundleError when another one is pinned already."""
        if len(key) != bundle.PUBLIC_KEY_BYTES:
            raise CityBundleError(f"the city's bundle key has {len(key)} bytes, not {bundle.PUBLIC_KEY_BYTES}")
        pinned = self.city_key()
        if pinned is not None and pinned != key:
            raise CityBundleError("the city now names another bundle key than the one this hub pinned; "
                                  "leave the city and join it again to trust a new key")
        if pinned is None:
            atomic_write(self.data_dir / CITY_KEY_FILE, base64.b64encode(key) + b"\n", mode=0o644)

    def endorsement(self) -> dict[str, str] | None:
        """The city key and the hub's signature over it, for devices; None before the city has one."""
        key = self.city_key()
        if key is None:
            return None
        signature = self.hub_key().sign(bundle.endorsement_message(key))
        return {"key": base64.b64encode(key).decode(), "endorsement": base64.b64encode(signature).decode()}

    def forget(self) -> None:
        """Drop the city's layer and key: the hub left its city (mfc-edge hub leave-city), and a
        city it joins next may have another key. Devices keep what they have until then."""
        with self._lock:
            if self.city_key() is None and not any(self.folder.iterdir()):
                return
            for path in self.folder.glob("*.json"):
                path.unlink()
            (self.data_dir / CITY_KEY_FILE).unlink(missing_ok=True)
            self.blobs.remove_all_but(set())
            self._etags.clear()
            log.info("left the city: its bundles are no longer relayed")

    # ---- serving ----

    def _file(self, center: str, role: str, previous: bool = False) -> Path:
        return self.folder / f"{center}.{role}{'.previous' if previous else ''}.json"

    def _manifest(self, path: Path) -> tuple[bytes, Manifest] | None:
        key = self.city_key()
        try:
            data = path.read_bytes()
            return (data, bundle.verify_envelope(data, key)[1]) if key else None
        except (OSError, bundle.ManifestError):
            return None

    def latest(self, center: str, role: str) -> Latest | None:
        found = self._manifest(self._file(center, role))
        return Latest(found[1].version, found[0]) if found else None

    def blob_for(self, center: str, sha256: str) -> Path | None:
        """The blob's file if a city bundle this hub serves to `center` (or the one before) has it."""
        for role in bundle.ROLES:
            for previous in (False, True):
                found = self._manifest(self._file(center, role, previous))
                if found and any(a.sha256 == sha256 for a in found[1].assets):
                    path = self.blobs.path(sha256)
                    return path if path.is_file() else None
        return None

    # ---- pulling from the city ----

    def pull(self, get: Getter, centers: list[str]) -> list[Pulled]:
        """One round: the city's key if none is pinned yet, then every center's bundles."""
        with self._lock:
            if self.city_key() is None:
                try:
                    self._learn_key(get)
                except (CityBundleError, OSError) as exc:
                    return [Pulled(c, r, "failed", None, str(exc)) for c in centers for r in bundle.ROLES]
            self._fetching = set()  # hashes of the bundles being fetched: their partial files stay
            results = [self._pull_one(get, center, role) for center in centers for role in bundle.ROLES]
            self._collect_garbage()
            return results

    def _learn_key(self, get: Getter) -> None:
        with get(CITY_KEY_PATH, {}) as reply:
            if reply.status_code != 200:
                raise CityBundleError(f"the city answered {reply.status_code} for its bundle key")
            try:
                encoded = reply.json().get("bundle_key")
            except (ValueError, AttributeError):
                raise CityBundleError("the city's answer for its bundle key is not JSON") from None
        if encoded is None:
            raise CityBundleError("the city has no publishing key yet")
        try:
            key = base64.b64decode(encoded, validate=True) if isinstance(encoded, str) else b""
        except (binascii.Error, ValueError):
            key = b""
        self.pin_city_key(key)

    def _pull_one(self, get: Getter, center: str, role: str) -> Pulled:
        current = self._manifest(self._file(center, role))
        etag = self._etags.get((center, role))
        path = f"{city_protocol.CITY_BUNDLES_PATH}?center={center}&role={role}"
        try:
            with get(path, {"If-None-Match": etag} if etag and current else {}) as reply:
                if reply.status_code == 304:
                    return Pulled(center, role, "unchanged", current[1].version if current else None)
                if reply.status_code == 404:
                    return Pulled(center, role, "none", current[1].version if current else None)
                if reply.status_code != 200:
                    return Pulled(center, role, "failed", None, f"the city answered {reply.status_code}")
                data = _read_capped(reply, bundle.MAX_ENVELOPE_BYTES)
                new_etag = reply.headers.get("ETag", "")
            manifest = self._accept(data, center, role, current[1] if current else None)
            if manifest is None:
                self._etags[(center, role)] = new_etag
                return Pulled(center, role, "unchanged", current[1].version if current else None)
            self._fetching |= {a.sha256 for a in manifest.assets}
            for asset in {a.sha256: a for a in manifest.assets}.values():
                if not self._has(asset):
                    self._download(get, asset)
        except CityBundleError as exc:
            log.warning("city bundle for %s %s refused: %s", center, role, exc)
            return Pulled(center, role, "refused", None, str(exc))
        except (OSError, requests.RequestException) as exc:  # the city unreachable: keep what we have
            return Pulled(center, role, "failed", None, f"{exc.__class__.__name__}: {exc}")
        if current is not None:
            os.replace(self._file(center, role), self._file(center, role, previous=True))
        atomic_write(self._file(center, role), data, mode=0o644)
        self._etags[(center, role)] = new_etag
        log.info("city bundle %d for %s %s relayed", manifest.version, center, role)
        return Pulled(center, role, "applied", manifest.version)

    def _accept(self, data: bytes, center: str, role: str, current: Manifest | None) -> Manifest | None:
        key = self.city_key()
        if key is None:
            raise CityBundleError("no city key pinned")
        try:
            _, manifest = bundle.verify_envelope(data, key)
        except bundle.ManifestError as exc:
            raise CityBundleError(f"{exc.reason}: {exc}") from None
        if (manifest.center, manifest.role) != (center, role):
            raise CityBundleError(f"the bundle is for {manifest.role} devices of {manifest.center}, "
                                  f"asked for {role} of {center}")
        if current is not None and manifest.version <= current.version:
            if manifest.version == current.version:
                return None
            raise CityBundleError(f"version {manifest.version} is older than the relayed {current.version}")
        return manifest

    def _has(self, asset: bundle.Asset) -> bool:
        try:
            return self.blobs.path(asset.sha256).stat().st_size == asset.size
        except FileNotFoundError:
            return False

    def _download(self, get: Getter, asset: bundle.Asset, resume: bool = True) -> None:
        """Fetch one asset into its partial file, going on from what an earlier pull left there
        (a Range request), and move it in once its hash checks out."""
        part = self.blobs.folder / f".part-{asset.sha256}"
        have = part.stat().st_size if resume and part.exists() else 0
        if have > asset.size:
            have = 0
        with get(f"{city_protocol.CITY_BUNDLES_PATH}/assets/{asset.sha256}",
                 {"Range": f"bytes={have}-"} if have else {}) as reply:
            if reply.status_code == 416 and have:  # the partial file is no prefix of this asset
                part.unlink(missing_ok=True)
                return self._download(get, asset, resume=False)
            if reply.status_code not in (200, 206):
                raise OSError(f"the city answered {reply.status_code} for asset {asset.sha256}")
            start = have if reply.status_code == 206 else 0
            size = start
            with open(part, "r+b" if start else "wb") as f:
                f.seek(start)
                f.truncate()
                for chunk in _body(reply):
                    size += len(chunk)
                    if size > asset.size:
                        part.unlink(missing_ok=True)
                        raise CityBundleError(f"asset {asset.name!r}: the city sent more than {asset.size} bytes")
                    f.write(chunk)
                f.flush()
                os.fsync(f.fileno())
        if size < asset.size:  # the connection ended early: the next pull goes on from here
            raise OSError(f"asset {asset.name!r}: the city sent {size} of its {asset.size} bytes")
        if bundle.hash_file(part).hexdigest() != asset.sha256:
            part.unlink(missing_ok=True)
            if start:  # maybe the earlier part was bad, not the city's bytes: once more, whole
                return self._download(get, asset, resume=False)
            raise CityBundleError(f"asset {asset.name!r}: what the city sent does not match the manifest")
        os.replace(part, self.blobs.path(asset.sha256))
        return None

    def _collect_garbage(self) -> None:
        """Delete the blobs no served city bundle (current or previous) has, and partial downloads
        of assets no bundle being fetched needs any more."""
        needed: set[str] = set(self._fetching)
        for path in self.folder.glob("*.json"):
            found = self._manifest(path)
            if found:
                needed |= {a.sha256 for a in found[1].assets}
        self.blobs.remove_all_but(needed)
        for part in self.blobs.folder.glob(".part-*"):
            if part.name.removeprefix(".part-") not in needed:
                part.unlink(missing_ok=True)

def _body(reply: requests.Response) -> Iterator[bytes]:
    """The reply's body in pieces as they arrive: iter_content fills a whole piece before handing
    it over, and what it holds is lost when the connection breaks (offline_cache/bundle_sync.py
    reads the same way)."""
    try:
        while chunk := reply.raw.read1(CHUNK, decode_content=True):
            yield chunk
    except urllib3.exceptions.HTTPError as exc:
        raise OSError(f"the download broke off: {exc}") from exc


def _read_capped(reply: requests.Response, limit: int) -> bytes:
    data = bytearray()
    for chunk in reply.iter_content(CHUNK):
        data += chunk
        if len(data) > limit:
            raise CityBundleError(f"the envelope is larger than {limit} bytes")
    return bytes(data)


def city_getter(client: Any) -> Getter:
    """A Getter over the hub's client of its city (hub/city_link.CityClient: `url`, `timeout`,
    `session()` with the hub's token and the city's CA)."""
    def get(path: str, headers: dict[str, str]) -> requests.Response:
        reply: requests.Response = client.session().get(client.url + path, headers=headers, stream=True,
                                                        timeout=client.timeout, allow_redirects=False)
        return reply
    return get


class CityBundlePuller:
    """Pulls the city's bundles every PULL_EVERY_S while the hub is linked to its city
    (hub/city_link.py); idle, asking nothing, while it is not."""

    def __init__(self, city_bundles: CityBundles, db: HubDB, data_dir: str | Path, every: float = PULL_EVERY_S):
        self.city_bundles, self.db, self.data_dir, self.every = city_bundles, db, Path(data_dir), every
        self.last: list[Pulled] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="city-bundles", daemon=True)

    def pull_now(self) -> list[Pulled]:
        link = city_link.link_of(self.db)
        if link is None:  # never linked, or left the city: a city layer kept from before goes
            self.city_bundles.forget()
            self.last = []
            return self.last
        try:
            client = city_link.client_for(self.db, self.data_dir)
        except city_link.CityLinkError as exc:  # its token file unreadable: the forwarder says so too
            log.warning("city bundles: %s", exc)
            return []
        if client is None:
            return []
        try:
            self.last = self.city_bundles.pull(city_getter(client), link.centers)
        finally:
            client.close()
        return self.last

    def _run(self) -> None:
        while not self._stop.is_set():
            self.pull_now()
            self._stop.wait(self.every)

    def start(self) -> CityBundlePuller:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
