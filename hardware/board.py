"""What the board itself can tell about its health: uptime, CPU temperature, throttling, the screen.

Each reading is None where the machine cannot give it (a PC has no `vcgencmd`, a container no
thermal zone or display connector): a missing figure is reported as unknown, never guessed.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

THERMAL_ZONE = Path("/sys/class/thermal/thermal_zone0/temp")
DRM_CONNECTORS = Path("/sys/class/drm")
PROC = Path("/proc")

# `vcgencmd get_throttled` bits (Raspberry Pi firmware documentation): the low ones are the
# state now, the same bits shifted by 16 whether it happened at all since boot.
THROTTLE_BITS = {0: "under-voltage", 1: "frequency capped", 2: "throttled", 3: "soft temperature limit"}
SINCE_BOOT_SHIFT = 16


def system_uptime_s(proc: Path = PROC) -> float | None:
    try:
        return float((proc / "uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def process_uptime_s(proc: Path = PROC) -> float | None:
    """Seconds since this process started, from its start time in /proc (clock ticks after boot)."""
    uptime = system_uptime_s(proc)
    try:
        # The command name (field 2) may hold spaces: fields are counted after its closing ")".
        fields = (proc / "self" / "stat").read_text().rsplit(")", 1)[1].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None
    return None if uptime is None else max(0.0, uptime - started)


def cpu_temperature_c(zone: Path = THERMAL_ZONE) -> float | None:
    try:
        return int(zone.read_text().strip()) / 1000
    except (OSError, ValueError):
        return None


def throttling(command: tuple[str, ...] = ("vcgencmd", "get_throttled")) -> dict[str, object] | None:
    """{"raw": "0x50005", "now": [...], "since_boot": [...]} from the Pi's firmware, None elsewhere."""
    try:
        answer = subprocess.run(command, capture_output=True, text=True, timeout=2, check=True).stdout
        raw = int(answer.strip().split("=", 1)[1], 16)
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None
    return {"raw": hex(raw),
            "now": [name for bit, name in THROTTLE_BITS.items() if raw >> bit & 1],
            "since_boot": [name for bit, name in THROTTLE_BITS.items() if raw >> (bit + SINCE_BOOT_SHIFT) & 1]}


def display_state(drm: Path = DRM_CONNECTORS) -> dict[str, str] | None:
    """The first connected screen's connector and power ("On", "Off", "Standby", "Suspend" as the
    kernel spells them); {"status": "disconnected"} when connectors exist but none has a screen;
    None without any connector (no KMS driver, a container)."""
    connectors = sorted(p for p in drm.glob("card*-*") if (p / "status").exists())
    for connector in connectors:
        try:
            if (connector / "status").read_text().strip() != "connected":
                continue
            power = (connector / "dpms").read_text().strip()
        except OSError:
            continue
        return {"connector": connector.name.split("-", 1)[1], "status": "connected", "power": power}
    return {"status": "disconnected"} if connectors else None
