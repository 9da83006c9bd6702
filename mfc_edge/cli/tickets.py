"""`mfc-edge tickets` and `mfc-edge hub tickets`: what a technician asks when a visitor says
"my ticket": the device's tickets of a day with their print results and the events it has not
delivered or the hub refused; the hub's line of a day with each ticket's state and the device
it came from.

The device's file is opened read-only, so the command can be run beside a working kiosk: it
neither waits for the kiosk's writes nor marks its pending prints interrupted, as opening the
kiosk's store would.
"""
from __future__ import annotations

import json
import re
import sqlite3
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from mfc_edge.cli.arguments import CommandError
from mfc_edge.config import DeviceConfig

# Each room's own SQLite file in its data folder (kiosk/wiring.py, signage/wiring.py,
# window_device/wiring.py): the outbox, and a kiosk's tickets.
STORE_FILES = {"kiosk": "kiosk.sqlite", "signage": "signage.sqlite", "console": "console.sqlite"}
OUTBOX_SHOWN = 20  # events listed in the text form; --json gives them all
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def day_arg(text: str | None) -> str | None:
    """`--day` as YYYY-MM-DD; None when not given (the caller's today)."""
    if text is None:
        return None
    try:
        if _DAY.fullmatch(text):
            return date.fromisoformat(text).isoformat()
    except ValueError:
        pass
    raise CommandError(f"--day {text!r}: expected a date such as 2026-11-23")


def local(moment: str | None, timezone: ZoneInfo, day: str | None = None) -> str:
    """A stored UTC time as the center's clocks showed it, to the second; its date only when it
    is not `day`; '-' for none."""
    if not moment:
        return "-"
    try:
        shown = datetime.fromisoformat(moment).astimezone(timezone)
    except ValueError:
        return moment
    return shown.strftime("%H:%M:%S" if shown.date().isoformat() == day else "%Y-%m-%d %H:%M:%S")


# ---- a device ----------------------------------------------------------------

def _read_only(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise CommandError(f"{path}: not found: the device has recorded nothing yet, or [device] data_dir "
                           "points elsewhere")
    try:
        conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True, timeout=10)
        conn.row_factory = sqlite3.Row
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        raise CommandError(f"{path}: cannot be read: {exc}") from None
    return conn


def device_report(device: DeviceConfig, day: str) -> dict[str, Any]:
    """The device's tickets of `day` (kiosks), its outbox and the events the hub refused."""
    path = device.data_dir / STORE_FILES[device.role]
    conn = _read_only(path)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        tickets = [{"id": r["id"], "number": r["number"], "service": r["service_id"], "priority": bool(r["priority"]),
                    "issued_at": r["issued_at"], "clock_suspect": bool(r["clock_suspect"]),
                    "print": r["print_status"], "print_error": r["print_error"] or "", "printed_at": r["printed_at"]}
                   for r in conn.execute("SELECT * FROM tickets WHERE service_day = ? ORDER BY issued_at, seq",
                                         [day])] if "tickets" in tables else None
        outbox = [dict(r) for r in conn.execute("SELECT id, type, at FROM outbox ORDER BY seq")]
        refused = []
        for r in conn.execute("SELECT id, event, reason, at FROM outbox_rejected ORDER BY at"):
            try:
                event = json.loads(r["event"])
            except ValueError:
                event = {}
            refused.append({"id": r["id"], "type": event.get("type"), "at": event.get("at"),
                            "reason": r["reason"], "refused_at": r["at"]})
    except sqlite3.DatabaseError as exc:
        raise CommandError(f"{path}: cannot be read: {exc}") from None
    finally:
        conn.close()
    return {"device": device.device_id, "role": device.role, "center": device.center_id, "day": day,
            "file": str(path), "tickets": tickets, "outbox": outbox, "refused": refused}


def device_lines(report: dict[str, Any], timezone: ZoneInfo) -> list[str]:
    head = f"{report['device']} ({report['role']}) of center {report['center']}"
    lines = []
    if report["tickets"] is not None:
        tickets = report["tickets"]
        prints = Counter(t["print"] for t in tickets)
        lines.append(f"{head}, {report['day']}: {len(tickets)} tickets"
                     + (f" ({', '.join(f'{n} {s}' for s, n in sorted(prints.items()))})" if tickets else ""))
        for t in tickets:
            printed = t["print"] + (f": {t['print_error']}" if t["print_error"] else "")
            lines.append(f"  {t['number']:<6}{t['service']:<28}{'priority' if t['priority'] else '':<10}"
                         f"{local(t['issued_at'], timezone, report['day'])}"
                         f"{' (clock suspect)' if t['clock_suspect'] else ''}"
                         f"  {printed}")
    else:
        lines.append(f"{head}: no tickets on a {report['role']}")
    outbox = report["outbox"]
    lines.append(f"outbox: {len(outbox)} events not yet acknowledged by the hub" if outbox else
                 "outbox: empty, the hub has every event")
    for e in outbox[:OUTBOX_SHOWN]:
        lines.append(f"  {local(e['at'], timezone)}  {e['type']:<18}{e['id']}")
    if len(outbox) > OUTBOX_SHOWN:
        lines.append(f"  … and {len(outbox) - OUTBOX_SHOWN} more (--json lists them all)")
    refused = report["refused"]
    lines.append(f"refused by the hub: {len(refused)} events" if refused else "refused by the hub: none")
    for e in refused:
        lines.append(f"  {local(e['at'], timezone)}  {e['type'] or '?':<18}{e['id']}: {e['reason']}")
    return lines


# ---- the hub -------------------------------------------------------------------

def hub_lines(center: str, day: str, tickets: list[dict[str, Any]], timezone: ZoneInfo) -> list[str]:
    states = Counter(t["state"] for t in tickets)
    lines = [f"center {center}, {day}: {len(tickets)} tickets"
             + (f" ({', '.join(f'{n} {s}' for s, n in sorted(states.items()))})" if tickets else "")]
    for t in tickets:
        printed = t.get("printed_number")
        number = t["number"] + (f" (printed {printed})" if printed and printed != t["number"] else "")
        window = f"window {t['window']}" if t.get("window") else ""
        lines.append(f"  {number:<8}{t['service']:<28}{'priority' if t['priority'] else '':<10}{t['state']:<12}"
                     f"{window:<12}issued {local(t['issued_at'], timezone, day)}  from {t['device']}"
                     f"  received {local(t['received_at'], timezone, day)}")
    return lines


def as_json(found: Any) -> str:
    return json.dumps(found, ensure_ascii=False, indent=2)
