"""What a kiosk writes to its SD card per ticket: one durable transaction before it prints,
with what a power cut may lose (print results, the hub's acknowledgements) waiting in memory
for it; and files of the earlier, heavier schema upgrade when they open."""
from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from datetime import UTC

from hardware.clock import ManualClock
from hardware.printer import PrinterStatus, PrintResult
from kiosk.desk import TicketDesk
from kiosk.tickets import PRINT_INTERRUPTED, TicketStore
from tests.helpers.day import MSK, at

EVENT = ('{{"id": "{id}", "type": "ticket.issued", "v": 1, "center": "strogino", "device": "kiosk-1", '
         '"at": "{at}", "body": {{}}}}')


def open_store(path, ticket_range=(1, 499), **options):
    return TicketStore(path, center_id="strogino", device_id="kiosk-1", timezone=MSK, ticket_range=ticket_range,
                       clock=ManualClock(at(10)), **options)


def second_connection(path) -> closing[sqlite3.Connection]:
    """Another reader of the file, as another process would be: it sees only what is committed."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    return closing(conn)


class SpyPrinter:
    """A printer that, as the job's bytes arrive, looks in the kiosk's file from outside."""

    def __init__(self, path):
        self.path, self.seen = path, []

    def print_job(self, job: bytes) -> PrintResult:
        with second_connection(self.path) as conn:
            tickets = [dict(r) for r in conn.execute("SELECT number, print_status FROM tickets")]
            events = [r["type"] for r in conn.execute("SELECT type FROM outbox")]
        self.seen.append((job, tickets, events))
        return PrintResult("printed", PrinterStatus.OK)

    def status(self) -> PrinterStatus:
        return PrinterStatus.OK


def test_a_ticket_is_committed_before_the_printer_gets_its_bytes(kiosk):
    spy = SpyPrinter(kiosk.store.path)
    desk = TicketDesk(kiosk.device, kiosk.catalog, kiosk.store, spy)
    try:
        issued = desk.issue(kiosk.catalog.services[0].id)
        assert issued.printed.result(timeout=10).ok
        desk.next_visitor()
        second = desk.issue(kiosk.catalog.services[1].id)
        assert second.printed.result(timeout=10).ok
    finally:
        desk.close()
    job, tickets, events = spy.seen[0]
    assert job == issued.job
    assert tickets == [{"number": issued.ticket.number, "print_status": "pending"}]
    assert events == ["ticket.issued"]
    # The first print result went to disk with the second ticket, in its one transaction.
    _, tickets, events = spy.seen[1]
    assert tickets == [{"number": issued.ticket.number, "print_status": "printed"},
                       {"number": second.ticket.number, "print_status": "pending"}]
    assert events == ["ticket.issued", "ticket.printed", "ticket.issued"]


def test_one_transaction_per_ticket_with_its_print_result_and_acknowledgement(tmp_path):
    store = open_store(tmp_path / "kiosk.sqlite")
    commits = []
    store.db.conn.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)
    for _ in range(20):
        ticket = store.issue_ticket(service_id="passport", letter="П")
        store.record_print(ticket.id, "printed")
        sent = store.outbox()  # the print result goes to the hub from memory
        assert [e["type"] for e in sent][-2:] == ["ticket.issued", "ticket.printed"]
        store.acknowledge([e["id"] for e in sent], {})
        assert store.outbox() == [] and store.outbox_size() == 0
    assert len(commits) == 20
    store.close()  # writes the last print result
    assert len(commits) == 21
    with second_connection(tmp_path / "kiosk.sqlite") as conn:
        assert {r[0] for r in conn.execute("SELECT print_status FROM tickets")} == {"printed"}
        # Print results the hub acknowledged before they were written were never written.
        assert conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0


def test_a_power_cut_loses_only_what_may_be_lost(tmp_path):
    path = tmp_path / "kiosk.sqlite"
    store = open_store(path, flush_after=3600, settle_after=3600)
    first = store.issue_ticket(service_id="passport", letter="П")
    store.record_print(first.id, "printed")
    store.acknowledge([e["id"] for e in store.outbox()], {})
    second = store.issue_ticket(service_id="passport", letter="П")  # writes the first's result
    store.record_print(second.id, "printed")
    acknowledged = [e["id"] for e in store.outbox()]
    store.acknowledge(acknowledged, {})
    store.db.conn.close()  # the power goes: nothing more is written

    again = open_store(path)
    assert [(t.number, t.print_status) for t in again.tickets()] == [
        (first.number, "printed"), (second.number, PRINT_INTERRUPTED)]
    outbox = again.outbox()
    # The second ticket's event comes again (the hub answers "duplicate"), and its print is
    # reported as interrupted, as when the power goes while it prints.
    assert [e["id"] for e in outbox][0] == acknowledged[0]
    assert [(e["type"], e["body"]["ticket"]) for e in outbox] == [
        ("ticket.issued", second.id), ("ticket.printed", second.id)]
    assert outbox[-1]["body"]["outcome"] == PRINT_INTERRUPTED
    again.close()


def test_a_print_result_the_hub_has_not_acknowledged_is_written_after_a_while(tmp_path):
    path = tmp_path / "kiosk.sqlite"
    store = open_store(path, flush_after=0.05)
    ticket = store.issue_ticket(service_id="passport", letter="П")
    store.record_print(ticket.id, "failed", "paper out")
    deadline = time.monotonic() + 10
    with second_connection(path) as conn:
        while conn.execute("SELECT print_status FROM tickets").fetchone()[0] != "failed":
            assert time.monotonic() < deadline, "the print result was never written"
            time.sleep(0.01)
        assert [r[0] for r in conn.execute("SELECT type FROM outbox")] == ["ticket.issued", "ticket.printed"]
    store.close()


def test_a_print_result_the_hub_has_waits_for_the_next_ticket(tmp_path):
    path = tmp_path / "kiosk.sqlite"
    store = open_store(path, flush_after=0.05, settle_after=3600)
    ticket = store.issue_ticket(service_id="passport", letter="П")
    store.record_print(ticket.id, "printed")
    store.acknowledge([e["id"] for e in store.outbox()], {})
    time.sleep(0.3)  # the hub has everything: the timer waits for settle_after now
    with second_connection(path) as conn:
        assert conn.execute("SELECT print_status FROM tickets").fetchone()[0] == "pending"
        assert store.ticket(ticket.id).print_status == "printed"
        store.issue_ticket(service_id="passport", letter="П")
        assert [r[0] for r in conn.execute("SELECT print_status FROM tickets ORDER BY row")] == ["printed", "pending"]
        assert [r[0] for r in conn.execute("SELECT type FROM outbox")] == ["ticket.issued"]
    store.close()


def test_a_quiet_kiosks_file_soon_says_what_the_hub_has(tmp_path):
    path = tmp_path / "kiosk.sqlite"
    store = open_store(path, flush_after=3600, settle_after=0.05)
    ticket = store.issue_ticket(service_id="passport", letter="П")
    store.record_print(ticket.id, "printed")
    store.acknowledge([e["id"] for e in store.outbox()], {})
    deadline = time.monotonic() + 10
    with second_connection(path) as conn:  # as `mfc-edge tickets` and `mfc-edge doctor` read it
        while conn.execute("SELECT count(*) FROM outbox").fetchone()[0]:
            assert time.monotonic() < deadline, "the acknowledgement was never written"
            time.sleep(0.01)
        assert conn.execute("SELECT print_status FROM tickets").fetchone()[0] == "printed"
    store.close()


OLD_SCHEMA = [  # a kiosk's file before schema steps were counted: 4 KiB pages, four indexes, counters
    'CREATE TABLE "outbox" ("seq" INTEGER PRIMARY KEY, "id" TEXT, "type" TEXT, "at" TEXT, "event" TEXT)',
    'CREATE UNIQUE INDEX "idx_outbox_id" ON "outbox" ("id")',
    'CREATE TABLE "outbox_rejected" ("id" TEXT PRIMARY KEY, "event" TEXT, "reason" TEXT, "at" TEXT)',
    'CREATE TABLE "device_state" ("key" TEXT PRIMARY KEY, "value" TEXT)',
    'CREATE TABLE "tickets" ("id" TEXT PRIMARY KEY, "number" TEXT NOT NULL, "letter" TEXT NOT NULL, '
    '"seq" INTEGER NOT NULL, "lap" INTEGER, "service_id" TEXT, "service_day" TEXT NOT NULL, "priority" INTEGER, '
    '"lang" TEXT, "issued_at" TEXT NOT NULL, "device_clock" TEXT, "clock_suspect" INTEGER, "status_token" TEXT, '
    '"print_status" TEXT, "print_error" TEXT, "printed_at" TEXT, "boot" TEXT, "mono" REAL, "by_hub" INTEGER)',
    'CREATE UNIQUE INDEX "idx_tickets_service_day_letter_seq_lap" ON "tickets" ("service_day", "letter", "seq", "lap")',
    'CREATE INDEX "idx_tickets_boot_letter_mono" ON "tickets" ("boot", "letter", "mono")',
    'CREATE INDEX "idx_tickets_service_id_issued_at" ON "tickets" ("service_id", "issued_at")',
    'CREATE TABLE "counters" ("service_day" TEXT, "letter" TEXT, "last_seq" INTEGER, "lap" INTEGER, '
    'PRIMARY KEY ("service_day", "letter"))',
]


def old_kiosk_file(path) -> None:
    """Three numbers of П used up on the test day (range 1-3) and one of the next lap."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA page_size=4096")
    conn.execute("PRAGMA journal_mode=WAL")
    for statement in OLD_SCHEMA:
        conn.execute(statement)
    for i, (lap, seq) in enumerate([(0, 1), (0, 2), (0, 3), (1, 1)]):
        issued_at = at(9, i).astimezone(UTC).isoformat(timespec="microseconds")
        conn.execute("INSERT INTO tickets VALUES (?, ?, 'П', ?, ?, 'passport', '2026-11-23', 0, 'ru', ?, ?, 0, "
                     "'tok', 'printed', '', ?, 'old-boot', ?, 0)",
                     [f"t{i}", f"П{seq:03d}", seq, lap, issued_at, issued_at, issued_at, float(i)])
        conn.execute("INSERT INTO outbox (id, type, at, event) VALUES (?, 'ticket.issued', ?, ?)",
                     [f"e{i}", issued_at, EVENT.format(id=f"e{i}", at=issued_at)])
    conn.execute("INSERT INTO counters VALUES ('2026-11-23', 'П', 1, 1)")
    conn.execute("INSERT INTO device_state VALUES ('last_issued_at', ?)",
                 [at(9, 3).astimezone(UTC).isoformat(timespec="microseconds")])
    conn.close()


def schema(path) -> tuple[int, set[str]]:
    """The page size, and the tables and indexes of the outbox and the tickets."""
    with second_connection(path) as conn:
        return (conn.execute("PRAGMA page_size").fetchone()[0],
                {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE tbl_name IN "
                                            "('outbox', 'outbox_rejected', 'device_state', 'tickets', 'counters')")})


SCHEMA = (1024, {"outbox", "outbox_rejected", "sqlite_autoindex_outbox_rejected_1", "device_state",
                 "sqlite_autoindex_device_state_1", "tickets", "tickets_number"})


def test_a_file_of_the_earlier_schema_upgrades_and_keeps_its_tickets_and_numbers(tmp_path):
    path = tmp_path / "kiosk.sqlite"
    old_kiosk_file(path)
    store = open_store(path, ticket_range=(1, 3))
    assert schema(path) == SCHEMA
    assert [t.number for t in store.tickets()] == ["П001", "П002", "П003", "П001"]
    assert [e["id"] for e in store.outbox()] == ["e0", "e1", "e2", "e3"]
    assert store.remembered("anything") is None
    # The numbering goes on where the counters table had it: lap 1, after П001; the dating
    # after the last ticket, as the removed last_issued_at had it.
    ticket = store.issue_ticket(service_id="passport", letter="П")
    assert (ticket.number, ticket.issued_at) == ("П002", at(10))
    store.close()
    with second_connection(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert dict(conn.execute("SELECT key, value FROM device_state WHERE key LIKE 'schema:%'").fetchall()) == {
            "schema:outbox": "2", "schema:tickets": "3"}  # 3: the bookings checked in here (kiosk/checkin.py)
        assert conn.execute("SELECT count(*) FROM checkins").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM device_state WHERE key = 'last_issued_at'").fetchone()[0] == 0
    # Opening it again changes nothing more.
    again = open_store(path, ticket_range=(1, 3))
    assert schema(path) == SCHEMA
    assert [t.number for t in again.tickets()][-1] == "П002"
    again.close()


def test_a_new_file_has_small_pages_and_no_index_a_ticket_can_do_without(tmp_path):
    open_store(tmp_path / "kiosk.sqlite").close()
    assert schema(tmp_path / "kiosk.sqlite") == SCHEMA
