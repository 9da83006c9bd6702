"""Asks the kiosk's printer how it is while nobody takes a ticket, so paper running low or
a cover left open is reported (and the screen switches to on-screen tickets) before the
next visitor finds out, and the kiosk returns to printing once the printer is fixed."""
from __future__ import annotations

import logging
import threading

from kiosk.desk import TicketDesk

log = logging.getLogger(__name__)

INTERVAL_S = 30.0


class PrinterMonitor:
    def __init__(self, desk: TicketDesk, interval: float = INTERVAL_S):
        self.desk, self.interval = desk, interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _run(self) -> None:
        # The first check at once: a kiosk started without its printer must not say "printer ok"
        # (to the screen, its heartbeat and systemd's status line) until the first interval ends.
        while True:
            try:
                self.desk.check_printer().result(timeout=self.interval * 4)
            except Exception:  # a hung printer thread shows up in the tickets; keep watching
                log.exception("printer check failed")
            if self._stop.wait(self.interval):
                return

    def start(self) -> PrinterMonitor:
        self._thread = threading.Thread(target=self._run, name="printer-monitor", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
