"""TicketDesk: the one path that issues a ticket, records it, and prints it off the caller's thread."""
from __future__ import annotations


def test_ticket_and_event_are_recorded_before_printing(kiosk, printer):
    service = kiosk.catalog.services[0]
    issued = kiosk.desk.issue(service.id, lang="en")
    stored = kiosk.store.ticket(issued.ticket.id)
    assert stored.number == issued.ticket.number
    events = kiosk.store.outbox()
    assert events[0]["type"] == "ticket.issued"
    assert events[0]["body"]["ticket"] == issued.ticket.id
    assert events[0]["center"] == "strogino" and events[0]["device"] == "kiosk-1"
    assert issued.printed.result(timeout=10).outcome == "printed"
    assert kiosk.store.ticket(issued.ticket.id).print_status == "printed"
    assert [e["type"] for e in kiosk.store.outbox()][-1] == "ticket.printed"


def test_a_hanging_printer_never_holds_up_the_screen(kiosk, printer):
    assert kiosk.desk.issue(kiosk.catalog.services[0].id).printed.result(timeout=10).outcome == "printed"
    kiosk.desk.next_visitor()
    printer.state.stall = True  # now it accepts the connection, then reads and answers nothing
    issued = kiosk.desk.issue(kiosk.catalog.services[0].id)
    assert not issued.printed.done()  # issue() came back while the printer still hangs
    assert kiosk.store.ticket(issued.ticket.id).print_status == "pending"
    result = issued.printed.result(timeout=15)
    assert result.outcome == "failed"
    assert kiosk.store.ticket(issued.ticket.id).print_status == "failed"


def test_paper_near_end_is_recorded_once(kiosk, printer):
    printer.state.paper = "near-end"
    for service in kiosk.catalog.services[:2]:
        assert kiosk.desk.issue(service.id).printed.result(timeout=10).outcome == "printed"
    statuses = [e["body"] for e in kiosk.store.outbox() if e["type"] == "printer.status"]
    assert statuses == [{"status": "paper_near_end", "previous": "ok"}]
    printer.state.paper = "ok"
    kiosk.desk.next_visitor()
    kiosk.desk.issue(kiosk.catalog.services[0].id).printed.result(timeout=10)
    statuses = [e["body"] for e in kiosk.store.outbox() if e["type"] == "printer.status"]
    assert statuses[-1] == {"status": "ok", "previous": "paper_near_end"}


def test_printer_fault_keeps_the_ticket_and_records_why(kiosk, printer):
    printer.state.drop_after_bytes = 20  # the cable is pulled mid-job
    issued = kiosk.desk.issue(kiosk.catalog.services[0].id)
    result = issued.printed.result(timeout=10)
    assert result.outcome == "failed" and "disconnected mid-job" in result.error
    ticket = kiosk.store.ticket(issued.ticket.id)
    assert ticket.print_status == "failed" and "disconnected" in ticket.print_error
    printed = [e["body"] for e in kiosk.store.outbox() if e["type"] == "ticket.printed"]
    assert printed[-1]["outcome"] == "failed"
    assert not kiosk.desk.printing_possible


def test_double_call_within_the_window_returns_the_same_ticket(kiosk):
    service = kiosk.catalog.services[0].id
    first = kiosk.desk.issue(service)
    assert kiosk.desk.issue(service).ticket.id == first.ticket.id
    assert kiosk.desk.issue(service, priority=True).ticket.id != first.ticket.id  # another button
    kiosk.desk.next_visitor()
    assert kiosk.desk.issue(service).ticket.id != first.ticket.id
    assert len(kiosk.store.tickets()) == 3
