"""The ticket printer: ESC/POS over USB, serial, TCP, CUPS or a device file.

`TicketPrinter` sends a finished job and says what happened, as a `PrintResult`. Where
the connection can answer real-time status queries (TCP, USB, serial) it asks the paper
sensor before printing and asks again after the job, so a printer that dropped the
connection mid-job is not reported as having printed. A printer that never answers is
"no status", not "paper OK" — python-escpos's own `paper_status()` cannot tell the two apart.
"""
from __future__ import annotations

import enum
import logging
import socket
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from escpos import printer as escpos_printer
from escpos.exceptions import Error as EscposError

log = logging.getLogger(__name__)

DLE_EOT = b"\x10\x04"
STATUS_PRINTER, STATUS_OFFLINE_CAUSE, STATUS_PAPER = 1, 2, 4
# A printer never heard from that stays silent this many times in a row cannot answer status
# queries; it is then left unasked this long before we try again. One silence is not enough: a
# printer warming up, or a busy kiosk at start, misses a half-second answer now and then.
SILENT_TRIES = 3
NO_STATUS_RETRY_S = 600.0


class PrinterStatus(enum.Enum):
    OK = "ok"
    PAPER_NEAR_END = "paper_near_end"
    PAPER_OUT = "paper_out"
    COVER_OPEN = "cover_open"
    OFFLINE = "offline"
    UNREACHABLE = "unreachable"
    NO_STATUS = "no_status"  # connected, but the printer answers no status queries

    @property
    def can_print(self) -> bool:
        return self in (PrinterStatus.OK, PrinterStatus.PAPER_NEAR_END, PrinterStatus.NO_STATUS)


@dataclass(frozen=True)
class PrintResult:
    outcome: str  # "printed" (confirmed), "sent" (printer cannot confirm) or "failed"
    status: PrinterStatus
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome != "failed"


class _Disconnected(Exception):
    pass


def open_connection(uri: str, timeout: float) -> escpos_printer.Escpos:
    """A python-escpos printer object for a configured URI (already validated)."""
    parts = urlsplit(uri)
    if parts.scheme == "tcp":
        return escpos_printer.Network(parts.hostname, parts.port or 9100, timeout=timeout)
    if parts.scheme == "usb":
        vid, _, pid = parts.netloc.partition(":")
        return escpos_printer.Usb(int(vid, 16), int(pid, 16), timeout=int(timeout * 1000))
    if parts.scheme == "serial":
        baud = int(parse_qs(parts.query).get("baud", ["9600"])[0])
        return escpos_printer.Serial(parts.path, baudrate=baud, timeout=timeout)
    if parts.scheme == "file":
        return escpos_printer.File(parts.path)
    raise ValueError(f"unsupported printer uri {uri!r}")


def _answers_status(uri: str) -> bool:
    return urlsplit(uri).scheme in ("tcp", "usb", "serial")


def parse_status(query: int, reply: bytes) -> PrinterStatus | None:
    """The meaning of one DLE EOT reply byte; None when it is not a valid status byte."""
    if len(reply) != 1 or reply[0] & 0x93 != 0x12:
        return None
    bits = reply[0]
    if query == STATUS_PRINTER:
        return PrinterStatus.OFFLINE if bits & 0x08 else PrinterStatus.OK
    if query == STATUS_OFFLINE_CAUSE:
        if bits & 0x04:
            return PrinterStatus.COVER_OPEN
        if bits & 0x20:
            return PrinterStatus.PAPER_OUT
        return PrinterStatus.OFFLINE if bits & 0x40 else PrinterStatus.OK
    if query == STATUS_PAPER:
        if bits & 0x60:
            return PrinterStatus.PAPER_OUT
        return PrinterStatus.PAPER_NEAR_END if bits & 0x0C else PrinterStatus.OK
    return None


class TicketPrinter:
    """One physical printer. Not thread-safe: give it one worker thread."""

    def __init__(self, uri: str, timeout: float = 3.0, status_timeout: float = 0.5):
        self.uri = uri
        self.timeout = timeout
        self.status_timeout = min(status_timeout, timeout)
        self._answers_status = _answers_status(uri)
        self._silent_since: float | None = None
        self._silences = 0
        self._has_answered = False

    def _query(self, device: escpos_printer.Escpos, query: int) -> PrinterStatus | None:
        """Ask one real-time status; None when the printer does not answer in time."""
        device._raw(DLE_EOT + bytes([query]))
        sock = getattr(device, "device", None)
        is_socket = isinstance(sock, socket.socket)
        if is_socket:
            sock.settimeout(self.status_timeout)
        try:
            reply = device._read()
        except TimeoutError:
            return None
        except (OSError, EscposError) as exc:
            # Only a socket tells a closed line from silence; USB and serial time out alike.
            if is_socket:
                raise _Disconnected(str(exc)) from exc
            return None
        finally:
            if is_socket:
                sock.settimeout(self.timeout)
        if not reply:
            if is_socket:
                raise _Disconnected("the printer closed the connection")
            return None
        # The freshest byte answers this query; an earlier one may be a reply to bytes
        # inside raster data that happened to look like DLE EOT.
        return parse_status(query, bytes(reply[-1:]))

    def _should_ask(self) -> bool:
        if not self._answers_status:
            return False
        if self._silent_since is None or self._silences < SILENT_TRIES:
            return True
        return time.monotonic() - self._silent_since > NO_STATUS_RETRY_S

    def _paper_status(self, device: escpos_printer.Escpos) -> PrinterStatus:
        if not self._should_ask():
            return PrinterStatus.NO_STATUS
        online = self._query(device, STATUS_PRINTER)
        if online is None:
            if self._has_answered:
                # It used to answer: silence now means it hangs, not that it cannot tell.
                log.warning("printer %s stopped answering", self.uri)
                return PrinterStatus.OFFLINE
            self._silent_since = time.monotonic()
            self._silences += 1
            if self._silences == SILENT_TRIES:
                log.warning("printer %s answers no status queries", self.uri)
            return PrinterStatus.NO_STATUS
        self._silent_since, self._silences = None, 0
        self._has_answered = True
        if online is PrinterStatus.OFFLINE:
            cause = self._query(device, STATUS_OFFLINE_CAUSE)
            return cause if cause not in (None, PrinterStatus.OK) else PrinterStatus.OFFLINE
        return self._query(device, STATUS_PAPER) or PrinterStatus.NO_STATUS

    def _open(self) -> escpos_printer.Escpos:
        device = open_connection(self.uri, self.timeout)
        device.open()
        sock = getattr(device, "device", None)
        if isinstance(sock, socket.socket):
            # A status query right after the job would otherwise wait for the job's
            # delayed ACK (Nagle): 40 ms per ticket on every network printer.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return device

    def status(self) -> PrinterStatus:
        """Connect and ask; for technicians and health checks."""
        try:
            device = self._open()
        except (OSError, EscposError) as exc:
            log.info("printer %s unreachable: %s", self.uri, exc)
            return PrinterStatus.UNREACHABLE
        try:
            return self._paper_status(device)
        except _Disconnected:
            return PrinterStatus.UNREACHABLE
        finally:
            _close_quietly(device)

    def print_job(self, job: bytes) -> PrintResult:
        """Send one finished ESC/POS job; never raises for printer trouble."""
        try:
            device = self._open()
        except (OSError, EscposError) as exc:
            return PrintResult("failed", PrinterStatus.UNREACHABLE, f"cannot connect: {exc}")
        try:
            status = self._paper_status(device)
            if not status.can_print:
                return PrintResult("failed", status, f"printer reports {status.value}")
            device._raw(job)
            if status is PrinterStatus.NO_STATUS:
                return PrintResult("sent", status)
            after = self._query(device, STATUS_PRINTER)
            if after is None:
                return PrintResult("failed", PrinterStatus.NO_STATUS, "no confirmation after the job")
            if after is PrinterStatus.OFFLINE:
                cause = self._query(device, STATUS_OFFLINE_CAUSE) or PrinterStatus.OFFLINE
                return PrintResult("failed", cause, f"printer went {cause.value} during the job")
            return PrintResult("printed", status)
        except (_Disconnected, OSError, EscposError) as exc:
            return PrintResult("failed", PrinterStatus.UNREACHABLE, f"disconnected mid-job: {exc}")
        finally:
            _close_quietly(device)


def _close_quietly(device: escpos_printer.Escpos) -> None:
    try:
        device.close()
    except (OSError, EscposError):
        pass
