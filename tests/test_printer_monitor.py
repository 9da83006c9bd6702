"""The kiosk's printer watched between tickets: status changes become events (only on
change), printing stops when it is impossible and resumes when fixed, and the hub shows the
latest status per device. The printer is the loopback virtual printer, answering DLE EOT
status bytes as an Epson-style printer does, or answering nothing at all."""
from __future__ import annotations

import threading

from hardware.printer import PrinterStatus
from hub.api import Hub
from hub.identity import Device
from kiosk.printer_monitor import PrinterMonitor


def statuses(kiosk) -> list[dict]:
    return [e["body"] for e in kiosk.store.outbox() if e["type"] == "printer.status"]


def test_idle_checks_report_changes_once_and_switch_printing(kiosk, printer):
    desk = kiosk.desk
    seen = []
    desk.on_status_change(seen.append)
    assert desk.check_printer().result(timeout=10) is PrinterStatus.OK
    assert statuses(kiosk) == []
    printer.state.paper = "near-end"
    for _ in range(3):
        assert desk.check_printer().result(timeout=10) is PrinterStatus.PAPER_NEAR_END
    assert desk.printing_possible
    printer.state.paper = "out"
    desk.check_printer().result(timeout=10)
    assert not desk.printing_possible  # the next visitor gets an on-screen ticket
    printer.state.paper, printer.state.cover_open = "ok", True
    assert desk.check_printer().result(timeout=10) is PrinterStatus.COVER_OPEN
    printer.state.cover_open = False
    desk.check_printer().result(timeout=10)
    assert desk.printing_possible
    assert [s["status"] for s in statuses(kiosk)] == ["paper_near_end", "paper_out", "cover_open", "ok"]
    assert seen == [PrinterStatus.PAPER_NEAR_END, PrinterStatus.PAPER_OUT, PrinterStatus.COVER_OPEN, PrinterStatus.OK]
    assert printer.jobs == []  # status questions print nothing


def test_a_printer_that_answers_nothing_is_no_status_not_paper_ok(printer, request):
    # Silent before the kiosk starts: its monitor asks at once, and a printer that answered
    # that first question and then falls silent is offline, not one that cannot tell.
    printer.state.answers_status = False
    kiosk = request.getfixturevalue("kiosk")
    assert kiosk.desk.check_printer().result(timeout=10) is PrinterStatus.NO_STATUS
    assert statuses(kiosk) == [{"status": "no_status", "previous": "ok"}]


def test_the_monitor_polls_and_the_hub_keeps_the_latest_status_per_device(kiosk, printer, tmp_path):
    printer.state.paper = "out"
    changed, noticed = [], threading.Event()
    kiosk.desk.on_status_change(lambda status: (changed.append(status), noticed.set()))
    monitor = PrinterMonitor(kiosk.desk, interval=0.05).start()
    try:
        assert noticed.wait(10)  # nobody printed or asked: the monitor did
    finally:
        monitor.stop()
    assert changed == [PrinterStatus.PAPER_OUT]
    hub = Hub(tmp_path / "hub")
    try:
        hub.identity.enroll(hub.identity.create_code("strogino", "kiosk"), "kiosk-1")
        events = kiosk.store.outbox()
        hub.events.ingest(Device("strogino", "kiosk-1", "kiosk"), events)
        hub.events.ingest(Device("strogino", "kiosk-1", "kiosk"), events)  # again: no change
        [found] = hub.device_health.devices("strogino")
        assert found["parts"]["printer"]["status"] == "paper_out"
    finally:
        hub.close()


def test_the_monitor_asks_the_printer_as_soon_as_it_starts(kiosk, printer):
    """A kiosk started without its printer said "printer ok" for a whole interval."""
    printer.state.paper = "out"
    noticed = threading.Event()
    kiosk.desk.on_status_change(lambda status: noticed.set())
    monitor = PrinterMonitor(kiosk.desk, interval=3600).start()
    try:
        assert noticed.wait(10)  # long before the first interval ends
    finally:
        monitor.stop()
    assert statuses(kiosk) == [{"status": "paper_out", "previous": "ok"}]
