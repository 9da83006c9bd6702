"""Enrolling a device with its hub: a one-time code from a technician becomes the device's token.

The same function serves the `mfc-edge enroll` command and anything that sets devices up
(the demo, provisioning): it asks the hub, checks that the code is for this device's center
and window, keeps the token (mode 0600) and pins the hub's bundle-signing key.
"""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import requests
from requests.adapters import BaseAdapter

from mfc_edge import bundle
from mfc_edge.config import DeviceConfig
from mfc_edge.protocol import ENROLL_PATH
from offline_cache.city_layer import learn_city_key
from offline_cache.content import save_bundle_key
from offline_cache.hub_client import HubClient, save_token

ENROLL_TIMEOUT_S = 15.0


class EnrollmentError(Exception):
    """The device could not be enrolled; the message says why in one line."""


@dataclass(frozen=True)
class Enrollment:
    center: str
    device_id: str
    role: str
    window: str | None
    token_file: Path
    bundle_key_file: Path | None  # None: the hub sent no usable key, bundles will be refused


def enroll(device: DeviceConfig, code: str, *, hub_url: str | None = None,
           transport: BaseAdapter | None = None) -> Enrollment:
    """Enroll `device` with the hub at `hub_url` (default: its `[hub] url`). Raises EnrollmentError."""
    url = (hub_url or device.hub_url or "").rstrip("/")
    if not url:
        raise EnrollmentError(f"{device.path}: [hub] url is missing and no hub address was given")
    client = HubClient(url, ca_file=device.hub_ca_file, timeout=ENROLL_TIMEOUT_S, transport=transport)
    try:
        reply = client.post(ENROLL_PATH, json={"code": code, "device_id": device.device_id})
    except requests.exceptions.SSLError as exc:
        if "not yet valid" in str(exc):
            # A Pi has no real-time clock: a fresh card starts from the date it was made.
            raise EnrollmentError(f"the hub's certificate is not valid yet by this device's clock "
                                  f"({datetime.now(UTC):%Y-%m-%d %H:%M} UTC): the clock is wrong; it is set from the "
                                  "network (NTP or the hub) once reached") from None
        trusted = f"the CA in {device.hub_ca_file}" if device.hub_ca_file else "a CA this system trusts"
        raise EnrollmentError(f"the hub at {url} is not trusted: its certificate is not signed by {trusted} "
                              "or is not for that address") from None
    except requests.RequestException as exc:
        raise EnrollmentError(f"cannot reach the hub at {url}: {_reason(exc)}") from None
    finally:
        client.close()
    answer = _json(reply)
    if reply.status_code != 200:
        detail = answer.get("detail") if answer else reply.text[:200]
        raise EnrollmentError(f"the hub refused the code: {detail}")
    if not answer or not all(isinstance(answer.get(k), str) for k in ("center", "role", "token")):
        raise EnrollmentError(f"the hub at {url} answered something that is not an enrollment")
    if answer["center"] != device.center_id:
        raise EnrollmentError(f"the code is for center {answer['center']!r}, this device is configured for "
                              f"{device.center_id!r}")
    own_window = device.console.window if device.console else None
    if own_window and answer.get("window") != own_window:
        given = f"window {answer['window']}" if answer.get("window") else "no window"
        raise EnrollmentError(f"the code was made for {given}, this console is at window {own_window}; make a "
                              f"new code with `mfc-edge hub enroll-code --role console --window {own_window}`")
    token_file = save_token(device.data_dir, answer["token"])
    key_file = _pin_bundle_key(device.data_dir, answer.get("bundle_key"))
    if key_file is not None:
        _learn_city_key(HubClient(url, answer["token"], ca_file=device.hub_ca_file, timeout=ENROLL_TIMEOUT_S,
                                  transport=transport), device.data_dir)
    return Enrollment(answer["center"], device.device_id, answer["role"], answer.get("window"), token_file, key_file)


def _learn_city_key(client: HubClient, data_dir: Path) -> None:
    """Pin the city's key now if the hub relays city content; otherwise the device learns it at
    its first check of the city layer (offline_cache/city_layer.py), which also reports a refusal."""
    try:
        learn_city_key(client, data_dir, ENROLL_TIMEOUT_S)
    except (bundle.ManifestError, requests.RequestException, OSError):
        pass
    finally:
        client.close()


def _reason(exc: requests.RequestException) -> str:
    """Why a request failed, in a few words (requests' own message runs to several hundred characters)."""
    if isinstance(exc, requests.exceptions.Timeout):
        return f"no answer within {ENROLL_TIMEOUT_S:.0f} s"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return "no connection (wrong address, the hub not running, or no network)"
    return type(exc).__name__


def _json(reply: requests.Response) -> dict | None:
    if not reply.headers.get("content-type", "").startswith("application/json"):
        return None
    try:
        found = reply.json()
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def _pin_bundle_key(data_dir: Path, encoded: object) -> Path | None:
    """Keep the hub's bundle-signing key: from now on only bundles it signed are used."""
    try:
        key = base64.b64decode(encoded, validate=True) if isinstance(encoded, str) else b""
        return save_bundle_key(data_dir, key)
    except (binascii.Error, ValueError):
        return None
