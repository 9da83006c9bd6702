"""SIGKILL the issuing process hundreds of times mid-issue: nothing recorded is lost,
no number is reused, and no number is burnt by an issue that did not complete."""
from __future__ import annotations

import os
import random
import signal
import time
from datetime import UTC

import pytest

from hardware.clock import ManualClock
from kiosk.tickets import PRINT_INTERRUPTED, TicketStore
from tests.helpers.day import MSK, at

pytestmark = pytest.mark.slow  # the issuing process SIGKILLed 300 times

KILLS = 300


def open_store(path):
    clock = ManualClock(at(7, tz=UTC))
    return TicketStore(path, center_id="strogino", device_id="kiosk-1", timezone=MSK,
                      ticket_range=(1, 999), clock=clock)


def issue_until_killed(path, write_fd: int) -> None:
    """The child: issue tickets forever, reporting each one after its commit returned."""
    try:
        store = open_store(path)
        os.write(write_fd, b"ready\n")
        while True:
            ticket = store.issue_ticket(service_id="passport", letter="П")
            os.write(write_fd, f"{ticket.id} {ticket.number}\n".encode())
    finally:
        os._exit(1)


def test_sigkill_mid_issue_loses_nothing_and_reuses_nothing(tmp_path):
    path = tmp_path / "kiosk.sqlite"
    open_store(path).close()  # schema in place before the first kill
    rng = random.Random(20261123)
    reported: dict[str, str] = {}
    for _ in range(KILLS):
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            issue_until_killed(path, write_fd)
        os.close(write_fd)
        # The kill lands while the child issues, not while it opens the store: on a busy machine
        # that alone can take longer than the random delay.
        with os.fdopen(read_fd, "rb") as pipe:
            assert pipe.readline() == b"ready\n"
            time.sleep(rng.uniform(0.0, 0.02))
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            for line in pipe.read().decode().splitlines():
                ticket_id, number = line.split()
                reported[ticket_id] = number

    store = open_store(path)
    tickets = store.tickets()
    by_id = {t.id: t for t in tickets}
    assert len(reported) > KILLS // 2, "the children should have issued tickets between kills"
    # Every ticket a child saw committed is there, with the number it was given.
    for ticket_id, number in reported.items():
        assert by_id[ticket_id].number == number
    # No number twice, and none skipped: an interrupted issue burns no number.
    # (Thousands of tickets wrap the 1-999 range; each lap starts again at 001.)
    numbered = [(r["lap"], r["seq"]) for r in store.db.query("SELECT lap, seq FROM tickets ORDER BY lap, seq")]
    assert numbered == [(i // 999, i % 999 + 1) for i in range(len(tickets))]
    # Every ticket has exactly its one outbox event, written in the same transaction.
    issued_events = [e for e in store.outbox(limit=100_000) if e["type"] == "ticket.issued"]
    assert sorted(e["body"]["ticket"] for e in issued_events) == sorted(by_id)
    # Prints that never reported back are marked, not left pending forever.
    assert {t.print_status for t in tickets} == {PRINT_INTERRUPTED}
    assert list(store.db.query("PRAGMA integrity_check"))[0]["integrity_check"] == "ok"
