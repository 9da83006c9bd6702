"""What technicians and supervisors see of software releases: each device's version, release and
channel in `mfc-edge hub devices` and the console's «Устройства»."""
from __future__ import annotations

from typing import Any

from mfc_edge.cli.fleet import beat_figures, device_line


def a_device(beat: dict[str, Any] | None) -> dict[str, Any]:
    return {"id": "kiosk-1", "role": "kiosk", "window": None, "revoked": False, "online": True,
            "last_beat": "2026-11-26T06:00:00+00:00", "heard_at": "2026-11-26T06:00:00+00:00", "parts": {},
            "beat": beat, "bundle": {"running": None, "latest": None, "up_to_date": None}}


def test_a_device_installed_from_the_card_image_shows_its_version_alone():
    assert beat_figures({"version": "0.1.0", "outbox": 0}).startswith("v0.1.0, outbox 0")
    assert beat_figures({"version": "0.1.0", "release": None, "channel": None, "outbox": 0}).startswith("v0.1.0,")


def test_a_device_on_a_release_shows_its_number_and_channel():
    line = device_line(a_device({"version": "0.2.0", "release": 7, "channel": "pilot", "outbox": 3}))
    assert "v0.2.0 release 7 (pilot), outbox 3" in line
    assert "release 7 (stable)" in device_line(a_device({"version": "0.2.0", "release": 7, "channel": "stable",
                                                         "outbox": 0}))
    assert "no heartbeat yet" in device_line(a_device(None))
