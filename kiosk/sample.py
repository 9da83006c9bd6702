"""A sample ticket for technicians' test prints: laid out like a real one, never recorded."""
from __future__ import annotations

from hardware.clock import SystemClock
from kiosk.estimate import Estimate
from kiosk.numbering import CLOCK_FLOOR
from kiosk.ticket_layout import ticket_job
from kiosk.tickets import Ticket
from mfc_edge.catalog import Catalog
from mfc_edge.config import DeviceConfig


def sample_ticket_job(device: DeviceConfig, catalog: Catalog) -> bytes:
    service = catalog.services[0]
    ticket = Ticket(id="test-print", number=f"{service.letter}000", letter=service.letter, seq=0,
                    service_id=service.id, service_day=CLOCK_FLOOR.date().isoformat(), priority=False,
                    lang=device.languages[0], issued_at=max(SystemClock().now(), CLOCK_FLOOR),
                    status_token="test-print", print_status="pending", print_error="")
    return ticket_job(device, ticket=ticket, service=service, estimate=Estimate(0, 0, True),
                      status_url=device.status_page_url(ticket.status_token))
