"""The kiosk's own section of its device file: the receipt printer."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hardware.escpos_profiles import cyrillic_code_page
from mfc_edge.checks import number
from mfc_edge.config import ConfigError, TableReader, nonempty_text

PAPER_WIDTHS_MM = (58, 80)
PRINTER_URI_FORMS = "usb://VID:PID, serial:///dev/ttyUSB0?baud=115200, tcp://HOST:9100 or file:///dev/usb/lp0"
# CUPS needs pycups, which has no wheels (nor a Raspberry Pi build) and would have to be compiled
# against libcups on every device; a receipt printer is reached directly instead.
NO_CUPS = ("CUPS queues are not supported: give the printer itself, e.g. file:///dev/usb/lp0 "
           "or usb://VID:PID")


@dataclass(frozen=True)
class PrinterConfig:
    uri: str
    profile: str = "default"
    paper_width: int = 80
    timeout: float = 3.0


def _printer_uri(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError
    parts = urlsplit(value)
    if parts.scheme == "usb":
        vid, _, pid = parts.netloc.partition(":")
        int(vid, 16), int(pid, 16)
    elif parts.scheme == "tcp":
        if not parts.hostname:
            raise ValueError
        _ = parts.port  # raises ValueError for a bad port
    elif parts.scheme == "serial" or parts.scheme == "file":
        if not parts.path.startswith("/"):
            raise ValueError
        if parts.scheme == "serial" and parts.query and not re.fullmatch(r"baud=\d+", parts.query):
            raise ValueError
    else:
        raise ValueError
    return value


def _printer_profile(value: Any) -> str:
    cyrillic_code_page(nonempty_text(value))
    return value


def load_section(path: Path, role: str, tables: dict[str, Any]) -> PrinterConfig | None:
    """The printer from `[printer]`; a kiosk cannot do without one."""
    table = tables.get("printer")
    if table is None:
        if role == "kiosk":
            raise ConfigError(f"{path}: [printer] is missing: a kiosk needs a printer uri ({PRINTER_URI_FORMS})")
        return None
    printer = TableReader(path, "printer", table)
    uri = printer.table.get("uri")
    if isinstance(uri, str) and urlsplit(uri).scheme.lower() == "cups":
        raise printer.error("uri", uri, f"{PRINTER_URI_FORMS}; {NO_CUPS}")
    found = PrinterConfig(
        uri=printer.get("uri", _printer_uri, PRINTER_URI_FORMS),
        profile=printer.get("profile", _printer_profile,
                            "a python-escpos printer profile with a Cyrillic code page", "default"),
        paper_width=printer.get("paper_width", lambda v: PAPER_WIDTHS_MM[PAPER_WIDTHS_MM.index(v)],
                                "paper width in mm: 58 or 80", 80),
        timeout=printer.get("timeout", number(0.2, 60), "seconds from 0.2 to 60", 3.0),
    )
    printer.finish()
    return found
