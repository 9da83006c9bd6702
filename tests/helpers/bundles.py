"""Shared by the bundle tests: bundles signed in the test, a crafted hub, enrolled devices."""
from __future__ import annotations

import base64
import hashlib
import os
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.bundles import Bundles
from hub.db import HubDB
from mfc_edge import bundle
from mfc_edge.bundle import Asset, Manifest
from offline_cache.bundle_sync import BundleUpdater
from offline_cache.content import ContentStore
from offline_cache.hub_client import HubClient
from tests.helpers.day import TEST_DAY
from tests.helpers.hubprocess import HubProcess

PUBLISHED_AT = f"{TEST_DAY}T07:00:00+00:00"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_bundle(key: Ed25519PrivateKey, files: dict[str, bytes], version: int = 1, center: str = "strogino",
                role: str = "kiosk") -> tuple[bytes, dict[str, bytes]]:
    """A signed envelope for `files` and the blobs by hash."""
    assets = tuple(sorted((Asset(n, sha(d), len(d)) for n, d in files.items()), key=lambda a: a.name))
    envelope = bundle.sign(key, Manifest(center, role, version, PUBLISHED_AT, assets)).encode()
    return envelope, {sha(d): d for d in files.values()}


def envelope_of(manifest_bytes: bytes, signature: bytes | None) -> bytes:
    raw = {"manifest": base64.b64encode(manifest_bytes).decode()}
    if signature is not None:
        raw["signature"] = base64.b64encode(signature).decode()
    return bundle.canonical_json(raw)


def tree(folder: Path) -> dict[str, int]:
    """Every file under `folder` with its size, to compare before and after."""
    return {str(p.relative_to(folder)): p.stat().st_size for p in folder.rglob("*") if p.is_file()}


class Events(list):
    """A `report` callable that keeps what it was given."""

    def __call__(self, event_type: str, body: dict) -> None:
        self.append((event_type, body))

    def of(self, event_type: str) -> list[dict]:
        return [body for t, body in self if t == event_type]


def device(folder: Path, url: str, token: str, key: bytes, quota: int = 10 ** 9, center: str = "strogino",
           role: str = "kiosk") -> tuple[ContentStore, BundleUpdater, Events]:
    store = ContentStore(folder, quota, key)
    events = Events()
    return store, BundleUpdater(store, HubClient(url, token), center=center, role=role, report=events, timeout=10), events


def record_requests(updater: BundleUpdater) -> list[tuple[int, str, str | None]]:
    """(status, path, Range header) of every request the updater makes from now on."""
    seen: list[tuple[int, str, str | None]] = []
    updater.hub.session().hooks["response"].append(
        lambda r, *args, **kwargs: seen.append((r.status_code, r.request.path_url, r.request.headers.get("Range"))))
    return seen


# ---- a real hub ----

def enroll_device(hub: HubProcess, device_id: str = "kiosk-1", center: str = "strogino",
                  role: str = "kiosk") -> tuple[str, bytes]:
    """The token and the pinned bundle key of a newly enrolled device."""
    reply = requests.post(f"{hub.url}/api/v1/enroll",
                          json={"code": hub.enroll_code(center, role), "device_id": device_id}, timeout=10)
    assert reply.status_code == 200, reply.text
    return reply.json()["token"], base64.b64decode(reply.json()["bundle_key"])


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mfc_edge.cli", *args], capture_output=True, text=True, timeout=60)


def publish(hub_data: Path, folder: Path, center: str = "strogino", role: str = "kiosk", cli: bool = False) -> int:
    """Publish as `mfc-edge hub publish` does; in this process unless `cli` (quicker)."""
    if cli:
        out = run_cli("hub", "publish", str(folder), "--data", str(hub_data), "--center", center, "--role", role)
        assert out.returncode == 0, out.stderr
        return int(re.search(r"published version (\d+)", out.stdout).group(1))
    db = HubDB(hub_data)
    try:
        return Bundles(db, hub_data).publish_folder(folder, center, role).version
    finally:
        db.close()


def write_files(folder: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return folder


def random_files(count: int, size: int, prefix: str = "media/clip") -> dict[str, bytes]:
    return {f"{prefix}-{i:03d}.bin": os.urandom(size) for i in range(count)}


# ---- a crafted hub: serves whatever envelope and blobs a test sets, and misbehaves on request ----

class CraftedHub:
    """`mode`: "normal"; "ignore-range" (200 with the whole asset); "refuse-range" (416 to any
    range); "extra-bytes" (the asset and more, without a Content-Length)."""

    def __init__(self) -> None:
        self.envelope: bytes | None = None
        self.blobs: dict[str, bytes] = {}
        self.mode = "normal"
        self.requests: list[tuple[str, str | None]] = []
        crafted = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802
                crafted.requests.append((self.path, self.headers.get("Range")))
                if self.path == "/api/v1/bundle":
                    self._bundle()
                else:
                    self._asset(crafted.blobs.get(self.path.rsplit("/", 1)[-1]))

            def _bundle(self) -> None:
                if crafted.envelope is None:
                    return self._send(404, b'{"detail":"nothing published"}')
                etag = f'"crafted-{sha(crafted.envelope)[:12]}"'
                if self.headers.get("If-None-Match") == etag:
                    return self._send(304, b"", {"ETag": etag})
                self._send(200, crafted.envelope, {"ETag": etag})

            def _asset(self, blob: bytes | None) -> None:
                wanted = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
                if blob is None:
                    self._send(404, b"{}")
                elif crafted.mode == "extra-bytes":
                    self.send_response(200)
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(blob + b"\0" * 100_000)
                    self.close_connection = True
                elif wanted and crafted.mode == "refuse-range":
                    self._send(416, b"", {"Content-Range": f"bytes */{len(blob)}"})
                elif wanted and crafted.mode == "normal":
                    start = int(wanted.group(1))
                    self._send(206, blob[start:], {"Content-Range": f"bytes {start}-{len(blob) - 1}/{len(blob)}"})
                else:
                    self._send(200, blob)

            def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                if status != 304:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def serve(self, envelope: bytes, blobs: dict[str, bytes]) -> None:
        self.envelope = envelope
        self.blobs.update(blobs)

    def __enter__(self) -> CraftedHub:
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
