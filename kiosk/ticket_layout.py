"""What a printed queue ticket says, laid out as a Receipt in the visitor's language."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from hardware.receipt import Cut, Feed, QRCode, Receipt, Text, render_escpos
from kiosk.estimate import Estimate
from kiosk.tickets import Ticket
from mfc_edge.catalog import Service
from mfc_edge.config import DeviceConfig
from mfc_edge.i18n import Translator, people_ahead_text, translator, wait_text
from offline_cache.bookings import Booking


def estimate_text(t: Translator, estimate: Estimate) -> str:
    """The wait under the place in line; nothing when the visitor is next."""
    return wait_text(t, estimate.minutes, estimate.approximate) if estimate.people_ahead else ""


def booked_text(t: Translator, booking: Booking, timezone: ZoneInfo) -> str:
    """«По записи на 10:30»: on the booked ticket and on the kiosk's screen."""
    return t("Booked for {time}").format(time=booking.slot_start.astimezone(timezone).strftime("%H:%M"))


def booked_call_text(t: Translator, ticket: Ticket, booking: Booking) -> str:
    """When a booked visitor is called: at the slot, or, checked in after it, within minutes
    (the queue's 5-minute norm counts from the later of the two, hub/queue_order.py)."""
    if ticket.issued_at <= booking.slot_start:
        return t("You will be called at your booked time.")
    return t("You will be called within a few minutes.")


def ticket_receipt(*, t: Translator, ticket: Ticket, service: Service, center_name: str,
                   estimate: Estimate, status_url: str | None, timezone: ZoneInfo,
                   booking: Booking | None = None) -> Receipt:
    issued = ticket.issued_at.astimezone(timezone)
    lines: list = [
        Text(center_name, align="center"),
        Feed(1),
        Text(t("Your ticket number"), align="center"),
        Text(ticket.number, width=4, height=4, bold=True, align="center"),
        Text(service.name(t.lang), bold=True, align="center"),
    ]
    if ticket.priority:
        lines.append(Text(t("Priority ticket"), width=2, height=1, bold=True, align="center"))
    if booking is not None:
        lines.append(Text(booked_text(t, booking, timezone), width=2, height=1, bold=True, align="center"))
    lines.append(Feed(1))
    if booking is not None:  # called by its slot, not after the line ahead (hub/queue_order.py)
        lines.append(Text(booked_call_text(t, ticket, booking), align="center"))
    else:
        lines.append(Text(people_ahead_text(t, estimate.people_ahead), align="center"))
        if estimate.people_ahead:
            lines.append(Text(estimate_text(t, estimate), align="center"))
    lines += [
        Text(issued.strftime("%d.%m.%Y %H:%M"), align="center"),
    ]
    if status_url:
        lines += [Feed(1), QRCode(status_url, module=6), Text(t("Scan to follow your place in line"),
                                                               align="center")]
    lines += [Text(t("Please wait until your number is called"), align="center"), Cut()]
    return tuple(lines)


def ticket_job(device: DeviceConfig, *, ticket: Ticket, service: Service, estimate: Estimate,
               status_url: str | None, booking: Booking | None = None) -> bytes:
    """The ESC/POS bytes of a ticket for this device's printer, in the ticket's language."""
    receipt = ticket_receipt(t=translator(ticket.lang), ticket=ticket, service=service,
                             center_name=device.center_name_in(ticket.lang), estimate=estimate,
                             status_url=status_url, timezone=device.timezone, booking=booking)
    printer = device.printer
    return render_escpos(receipt, printer.profile if printer else "default",
                         printer.paper_width if printer else 80)
