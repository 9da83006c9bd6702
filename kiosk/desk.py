"""Issuing a ticket: the one path, whether the touch came from a screen, a test or the demo.

`TicketDesk.issue()` records the ticket and its outbox event durably, then hands the print
to a single worker thread and returns at once: the screen shows the ticket while the
printer works, and a printer that hangs never freezes the kiosk. The print result is
recorded on the ticket; printer status changes become events.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from hardware.printer import PrinterStatus, PrintResult, TicketPrinter
from kiosk.estimate import Estimate, Estimator
from kiosk.ticket_layout import ticket_job
from kiosk.tickets import Ticket, TicketStore
from mfc_edge import protocol
from mfc_edge.catalog import Catalog, Service
from mfc_edge.config import DeviceConfig
from mfc_edge.times import iso
from offline_cache.bookings import Booking

log = logging.getLogger(__name__)

# A second tap on the same button within this time is the same visitor's double tap.
DOUBLE_TAP_S = 2.0


@dataclass(frozen=True)
class IssuedTicket:
    ticket: Ticket
    service: Service
    estimate: Estimate
    status_url: str | None
    job: bytes
    printed: Future  # resolves to the PrintResult
    booking: Booking | None = None  # the booking checked in with (kiosk/checkin.py)


def printed_estimate(estimate: Estimate) -> dict[str, int | str]:
    """The estimate as the ticket.issued event carries it: the hub keeps what the visitor was told.
    Held within the bounds the hub checks (mfc_edge/protocol.py): a wild guess must not get
    the ticket itself refused."""
    return {"minutes": min(max(0, estimate.minutes), protocol.MAX_ESTIMATE_MINUTES),
            "ahead": min(max(0, estimate.people_ahead), protocol.MAX_ESTIMATE_AHEAD),
            "source": "kiosk" if estimate.approximate else "hub"}


class TicketDesk:
    def __init__(self, config: DeviceConfig, catalog: Catalog, store: TicketStore,
                 printer: TicketPrinter | None, estimator: Estimator | None = None,
                 monotonic: Callable[[], float] = time.monotonic):
        self.config, self.catalog, self.store, self.printer = config, catalog, store, printer
        self.estimator = estimator or Estimator(store, config.windows)
        self.monotonic = monotonic
        self.printer_status = PrinterStatus.OK if printer else PrinterStatus.UNREACHABLE
        self._listeners: list[Callable[[IssuedTicket, PrintResult], None]] = []
        self._status_listeners: list[Callable[[PrinterStatus], None]] = []
        self._spooler = ThreadPoolExecutor(max_workers=1, thread_name_prefix="printer")
        self._last: tuple[str, bool, float, IssuedTicket] | None = None
        self._lock = threading.Lock()

    def on_print_result(self, listener: Callable[[IssuedTicket, PrintResult], None]) -> None:
        """Called from the printer thread after each job; UI code must hop to its own thread."""
        self._listeners.append(listener)

    def on_status_change(self, listener: Callable[[PrinterStatus], None]) -> None:
        """Called from the printer thread when the printer's status changes, printing or idle."""
        self._status_listeners.append(listener)

    def check_printer(self) -> Future:
        """Ask the printer's status between tickets (on the printer thread, so never during a
        job); a change is recorded like one seen while printing. The future gives the status."""
        return self._spooler.submit(self._check_printer)

    def _check_printer(self) -> PrinterStatus:
        if self.printer is not None:
            self._note_status(self.printer.status())
        return self.printer_status

    @property
    def printing_possible(self) -> bool:
        return self.printer is not None and self.printer_status.can_print

    def status_url(self, ticket: Ticket) -> str | None:
        return self.config.status_page_url(ticket.status_token)

    def next_visitor(self) -> None:
        """The visitor is done: a tap from now on is someone new, not a double tap."""
        with self._lock:
            self._last = None

    def issue(self, service_id: str, *, priority: bool = False, lang: str = "ru",
              booking: Booking | None = None) -> IssuedTicket:
        """`booking`: the booking the visitor checked in with (its service is `service_id`);
        the ticket says its slot, and the booking is recorded as used at this kiosk."""
        service = self.catalog.service(service_id)
        with self._lock:
            now = self.monotonic()
            if (self._last and self._last[:2] == (service_id, priority) and now - self._last[2] < DOUBLE_TAP_S
                    and self._last[3].booking == booking):
                log.info("double tap on %s ignored", service_id)
                return self._last[3]
            estimate = self.estimator.estimate(service)
            wire = {"id": booking.id, "code": booking.code, "slot_start": iso(booking.slot_start)} if booking else None
            ticket = self.store.issue_ticket(service_id=service.id, letter=service.letter,
                                             priority=priority, lang=lang, booking=wire,
                                             estimate=printed_estimate(estimate))
            status_url = self.status_url(ticket)
            job = ticket_job(self.config, ticket=ticket, service=service, estimate=estimate,
                             status_url=status_url, booking=booking)
            issued = IssuedTicket(ticket, service, estimate, status_url, job, Future(), booking)
            self._last = (service_id, priority, now, issued)
        log.info("ticket %s issued for %s", ticket.number, service.id)
        self._spooler.submit(self._print, issued)
        return issued

    def _print(self, issued: IssuedTicket) -> None:
        try:
            if self.printer is None:
                result = PrintResult("failed", PrinterStatus.UNREACHABLE, "no printer configured")
            else:
                result = self.printer.print_job(issued.job)
            self.store.record_print(issued.ticket.id, result.outcome, result.error)
            self._note_status(result.status)
            if not result.ok:
                log.warning("ticket %s not printed: %s", issued.ticket.number, result.error)
        except Exception as exc:  # the spooler must outlive any one job
            log.exception("printing ticket %s failed", issued.ticket.number)
            result = PrintResult("failed", PrinterStatus.UNREACHABLE, f"internal error: {exc}")
        issued.printed.set_result(result)
        for listener in self._listeners:
            listener(issued, result)

    def _note_status(self, status: PrinterStatus) -> None:
        if status is self.printer_status:
            return
        previous, self.printer_status = self.printer_status, status
        log.info("printer status %s -> %s", previous.value, status.value)
        self.store.record_event(protocol.PRINTER_STATUS, {"status": status.value, "previous": previous.value})
        for listener in self._status_listeners:
            listener(status)

    def close(self) -> None:
        self._spooler.shutdown(wait=True)
