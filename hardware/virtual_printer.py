"""A network receipt printer on loopback, for tests, benchmarks and the demo.

It listens like a port-9100 printer, answers DLE EOT status queries the way an
Epson-style printer does, and keeps every job: the raw bytes, and a PNG preview made by
decoding those bytes. Faults can be switched on while it runs: paper near-end or out,
cover open, a printer that answers no status, one that drops the line mid-job, one that
stalls without reading.
"""
from __future__ import annotations

import json
import logging
import re
import socket
import socketserver
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from hardware.escpos_decode import DecodeError, decode_escpos
from hardware.receipt_preview import render_preview

log = logging.getLogger(__name__)

PAPER_STATES = ("ok", "near-end", "out")


@dataclass
class Job:
    number: int
    data: bytes
    last_byte_at: float  # time.monotonic(), comparable across processes on Linux
    bin_path: Path
    png_path: Path | None
    error: str = ""


@dataclass
class PrinterState:
    paper: str = "ok"
    cover_open: bool = False
    answers_status: bool = True
    drop_after_bytes: int | None = None  # close the connection after this many bytes
    stall: bool = False  # accept, then neither read nor answer
    previews: bool = True

    def status_byte(self, query: int) -> bytes:
        value = 0x12
        offline = self.paper == "out" or self.cover_open
        if query == 1 and offline:
            value |= 0x08
        elif query == 2:
            value |= (0x04 if self.cover_open else 0) | (0x20 if self.paper == "out" else 0)
        elif query == 4:
            value |= {"ok": 0, "near-end": 0x0C, "out": 0x6C}[self.paper]
        return bytes([value])


_QUERY = re.compile(rb"(?:\x10\x04[\x01-\x04])+")


def _strip_status_queries(data: bytes) -> bytes:
    """The job as printed: without the status queries a client sends before and after it."""
    head = _QUERY.match(data)
    if head:
        data = data[head.end():]
    while data[-3:-1] == b"\x10\x04" and 1 <= data[-1] <= 4:
        data = data[:-3]
    return data


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        printer = self.server.printer
        state = printer.state
        sock: socket.socket = self.request
        if state.stall:
            printer._stop.wait(30)
            return
        data = bytearray()
        pending = b""
        last = time.monotonic()
        sock.settimeout(30)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # status replies go out at once
        while True:
            try:
                chunk = sock.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            last = time.monotonic()
            stream = pending + chunk
            pending = b""
            limit = state.drop_after_bytes
            cut = limit is not None and len(data) + len(stream) >= limit
            if cut:  # the line goes dead here: nothing after it is read or answered
                stream = stream[:max(0, limit - len(data))]
            # Real-time commands are answered at once, wherever they appear.
            i = 0
            while (i := stream.find(b"\x10\x04", i)) != -1:
                if i + 2 >= len(stream):
                    pending = stream[i:]
                    stream = stream[:i]
                    break
                if state.answers_status:
                    try:
                        sock.sendall(state.status_byte(stream[i + 2]))
                    except OSError:
                        break
                i += 3
            data += stream
            if cut:
                sock.close()
                break
        printer._store(bytes(data), last)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    printer: VirtualPrinter


class VirtualPrinter:
    """Start with `start()`, stop with `stop()` (or use it as a context manager)."""

    def __init__(self, out_dir: str | Path, host: str = "127.0.0.1", port: int = 0,
                 profile: str = "default", paper_width: int = 80, state: PrinterState | None = None):
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.profile, self.paper_width = profile, paper_width
        self.state = state or PrinterState()
        self.jobs: list[Job] = []
        self._count = 0
        self._lock = threading.Lock()
        self._job_done = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._server = _Server((host, port), _Handler, bind_and_activate=True)
        self._server.printer = self
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def uri(self) -> str:
        host = self._server.server_address[0]
        return f"tcp://{host}:{self.port}"

    def start(self) -> VirtualPrinter:
        self._thread = threading.Thread(target=self._server.serve_forever, name="virtual-printer",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> VirtualPrinter:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_for_jobs(self, count: int, timeout: float = 10.0) -> list[Job]:
        with self._job_done:
            self._job_done.wait_for(lambda: len(self.jobs) >= count, timeout)
            return list(self.jobs)

    def _store(self, data: bytes, last_byte_at: float) -> None:
        data = _strip_status_queries(data)
        if not data:
            return  # a status check, not a job
        with self._lock:
            self._count += 1
            number = self._count
        stem = self.out_dir / f"job-{number:04d}"
        bin_path = stem.with_suffix(".bin")
        bin_path.write_bytes(data)
        png_path, error = None, ""
        if self.state.previews:
            try:
                render_preview(decode_escpos(data, self.profile), self.paper_width).save(
                    stem.with_suffix(".png"))
                png_path = stem.with_suffix(".png")
            except DecodeError as exc:
                error = str(exc)
                log.warning("job %d: cannot decode: %s", number, exc)
        job = Job(number, data, last_byte_at, bin_path, png_path, error)
        with self._job_done:
            self.jobs.append(job)
            with (self.out_dir / "jobs.jsonl").open("a") as index:
                index.write(json.dumps({"job": number, "bytes": len(data), "last_byte_at": last_byte_at,
                                        "bin": bin_path.name, "png": png_path.name if png_path else None,
                                        "error": error}) + "\n")
            self._job_done.notify_all()
        log.info("job %d: %d bytes", number, len(data))
