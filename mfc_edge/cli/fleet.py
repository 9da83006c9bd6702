"""The center's devices as a technician sees them: `mfc-edge hub devices` lines, and
`mfc-edge hub set-webhook`, where the hub sends alerts (hub/alerts.py)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from mfc_edge.cli.arguments import CommandError


def device_line(d: dict[str, Any]) -> str:
    """One device of DeviceHealth.devices(): id, role, online or OFFLINE, its beat's figures,
    bundle and parts. Times are the hub's, in UTC."""
    role = f"{d['role']} {d['window']}" if d["window"] else d["role"]
    if d["revoked"]:
        presence = "revoked"
    elif d["online"]:
        presence = f"online, last beat {_time(d['last_beat'])}"
    else:
        presence = f"OFFLINE since {_time(d['heard_at'])}"
    parts = ", ".join(f"{part} {p['status']} since {p['since'][:16]}" for part, p in d["parts"].items())
    figures = beat_figures(d["beat"]) if d["beat"] else "no heartbeat yet"
    return f"{d['id']:<16}{role:<12}{presence}  {figures}  {_bundle_state(d['bundle'])}" + (
        f"  {parts}" if parts else "")


def beat_figures(beat: dict[str, Any]) -> str:
    """The heartbeat's key figures; those the device could not read are left out."""
    shown = [software(beat)]
    if beat.get("uptime_s") is not None:
        shown.append(f"up {duration(beat['uptime_s'])}")
    shown.append(f"outbox {beat['outbox']}")
    if beat.get("disk"):
        shown.append(f"disk {beat['disk']['free_bytes'] / 1e9:.1f} GB free")
    if beat.get("cpu_temp_c") is not None:
        shown.append(f"{beat['cpu_temp_c']:.0f} °C")
    if beat.get("throttling") and (beat["throttling"]["now"] or beat["throttling"]["since_boot"]):
        shown.append("throttling: " + ", ".join(beat["throttling"]["now"] or beat["throttling"]["since_boot"]))
    if beat.get("clock_offset_s") is not None:
        shown.append(f"clock {beat['clock_offset_s']:+.1f} s")
    if beat.get("printer"):
        shown.append(f"printer {beat['printer']}")
    if beat.get("display"):
        shown.append(f"display {beat['display'].get('power') or beat['display']['status']}")
    return ", ".join(shown)


def software(beat: dict[str, Any]) -> str:
    """The version the device runs and, once it has taken a release from the hub, its number and
    channel; a device installed from the card image has neither."""
    version = f"v{beat['version']}" if beat.get("version") else "version ?"
    if beat.get("release") is None:
        return version
    return f"{version} release {beat['release']}" + (f" ({beat['channel']})" if beat.get("channel") else "")


def duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    days, hours = divmod(minutes // 60, 24)
    return f"{days}d{hours:02d}h" if days else f"{hours}h{minutes % 60:02d}m"


def _time(text: str | None) -> str:
    return text[:19].replace("T", " ") + " UTC" if text else "never"


def _bundle_state(found: dict[str, Any]) -> str:
    running = f"bundle {found['running']}" if found["running"] else "no bundle"
    if found["up_to_date"] is None:
        return running
    return running + (" (up to date)" if found["up_to_date"] else f" (hub has {found['latest']})")


def cmd_hub_set_webhook(args: argparse.Namespace) -> int:
    from hub.alerts import WebhookError
    from hub.api import Hub

    if (args.url is None) == (not args.off):
        raise CommandError("give the webhook's URL, or --off to stop sending alerts")
    hub = Hub(args.data)
    try:
        hub.alerts.set_webhook(args.center, None if args.off else args.url)
    except WebhookError as exc:
        print(f"mfc-edge: error: {exc}", file=sys.stderr)
        return 2
    finally:
        hub.close()
    print(f"center {args.center}: " + ("alerts are no longer sent" if args.off else
                                       f"alerts go to {args.url} (the running hub sends them within 15 s)"))
    return 0


def register(hub_sub: Any) -> None:
    q = hub_sub.add_parser("set-webhook", help="Send a center's alerts (offline devices, printers, stuck buttons) "
                                               "to a URL.",
                           description="Have the hub POST each alert of a center as JSON to a URL: a device going "
                                       "offline or back online, a printer out of paper, open or off, a stuck button. "
                                       "Each carries center, device, role, window, subject, state, since and a "
                                       "one-line text in Russian and English.")
    q.add_argument("url", nargs="?", help="http:// or https:// address that takes a JSON POST")
    q.add_argument("--off", action="store_true", help="stop sending the center's alerts")
    q.add_argument("--data", type=Path, default=Path("var/hub"), help="the hub's data folder")
    q.add_argument("--center", required=True, help="center id")
    q.set_defaults(func=cmd_hub_set_webhook)
