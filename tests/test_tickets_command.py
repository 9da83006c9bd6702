"""`mfc-edge tickets` on a device and `mfc-edge hub tickets` on the hub: a day's tickets, their
print results, the events not delivered or refused, and the hub's line with states and sources."""
from __future__ import annotations

import json
from datetime import timedelta
from types import SimpleNamespace

import pytest

from hardware.clock import ManualClock
from hub.api import Hub
from kiosk.tickets import TicketStore
from mfc_edge import protocol
from mfc_edge.cli import main
from mfc_edge.config import load_config
from offline_cache.outbox import DeviceStore
from tests.helpers.day import MONDAY_10AM, MSK, TEST_DAY
from tests.helpers.devices import write_config

DAY = TEST_DAY.isoformat()


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def kiosk(tmp_path):
    """A kiosk's store with three tickets of the test day: printed, failed, still printing; one of
    the day before; an event the hub refused."""
    config = write_config(tmp_path)
    device = load_config(config)
    clock = ManualClock(MONDAY_10AM - timedelta(days=1))
    store = TicketStore(device.data_dir / "kiosk.sqlite", center_id="strogino", device_id="kiosk-1",
                        timezone=MSK, ticket_range=(1, 499), clock=clock)
    yesterdays = store.issue_ticket(service_id="passport-rf", letter="П")
    clock.set(MONDAY_10AM)
    printed = store.issue_ticket(service_id="passport-rf", letter="П")
    store.record_print(printed.id, "printed")
    failed = store.issue_ticket(service_id="adult-snils", letter="С", priority=True)
    store.record_print(failed.id, "failed", "paper out")
    pending = store.issue_ticket(service_id="passport-rf", letter="П")
    odd = store.record_event(protocol.PRINTER_STATUS, {"status": "paper_out", "previous": "ok"})
    store.acknowledge([], {odd["id"]: "a printer status from before the hub knew this kiosk"})
    yield SimpleNamespace(config=config, store=store, printed=printed, failed=failed, pending=pending,
                          yesterdays=yesterdays)
    store.close()


def test_a_kiosks_tickets_of_a_day_with_their_prints_and_undelivered_events(kiosk, capsys):
    config, store = kiosk.config, kiosk.store
    code, out, err = run(capsys, "tickets", "--config", str(config), "--day", DAY)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == f"kiosk-1 (kiosk) of center strogino, {DAY}: 3 tickets (1 failed, 1 pending, 1 printed)"
    assert lines[1].split() == ["П001", "passport-rf", "10:00:00", "printed"]
    assert lines[2].split() == ["С001", "adult-snils", "priority", "10:00:00", "failed:", "paper", "out"]
    assert lines[3].split() == ["П002", "passport-rf", "10:00:00", "pending"]
    outbox = store.outbox()
    assert lines[4] == f"outbox: {len(outbox)} events not yet acknowledged by the hub"
    assert [line.split()[-1] for line in lines[5:5 + len(outbox)]] == [e["id"] for e in outbox]
    assert lines[5 + len(outbox)] == "refused by the hub: 1 events"
    assert lines[-1].endswith("printer.status    " + store.rejected_events()[0]["id"]
                              + ": a printer status from before the hub knew this kiosk")


def test_the_kiosk_keeps_working_while_a_technician_looks(kiosk, capsys):
    """The file is read only: the kiosk's print still pending is not marked interrupted, as
    opening the kiosk's store would, and the kiosk can write at once."""
    config, store, pending = kiosk.config, kiosk.store, kiosk.pending
    code, out, _ = run(capsys, "tickets", "--config", str(config), "--day", DAY, "--json")
    assert code == 0
    found = json.loads(out)
    assert [e["id"] for e in found["outbox"]] == [e["id"] for e in store.outbox()]
    assert store.ticket(pending.id).print_status == "pending"
    store.record_print(pending.id, "printed")
    assert {k: found[k] for k in ("device", "role", "center", "day")} == {
        "device": "kiosk-1", "role": "kiosk", "center": "strogino", "day": DAY}
    assert [(t["number"], t["service"], t["priority"], t["print"], t["print_error"]) for t in found["tickets"]] == [
        ("П001", "passport-rf", False, "printed", ""), ("С001", "adult-snils", True, "failed", "paper out"),
        ("П002", "passport-rf", False, "pending", "")]
    assert found["tickets"][0]["issued_at"] == f"{DAY}T07:00:00.000000+00:00"
    assert [(e["type"], e["reason"]) for e in found["refused"]] == [
        ("printer.status", "a printer status from before the hub knew this kiosk")]


def test_another_day_and_a_device_without_tickets(kiosk, tmp_path, capsys):
    config = kiosk.config
    yesterday = (TEST_DAY - timedelta(days=1)).isoformat()
    code, out, _ = run(capsys, "tickets", "--config", str(config), "--day", yesterday, "--json")
    assert code == 0 and [t["number"] for t in json.loads(out)["tickets"]] == ["П001"]
    screen = tmp_path / "screen"
    screen.mkdir()
    text = config.read_text().replace('role = "kiosk"', 'role = "signage"').replace('id = "kiosk-1"', 'id = "screen-1"')
    text = text[:text.index("[printer]")] + text[text.index("[hub]"):]
    (screen / "screen.toml").write_text(text)
    signage = DeviceStore(screen / "data" / "signage.sqlite", center_id="strogino", device_id="screen-1",
                          clock=ManualClock(MONDAY_10AM))
    signage.record_event(protocol.BUNDLE_APPLIED, {"version": 3})
    signage.close()
    code, out, err = run(capsys, "tickets", "--config", str(screen / "screen.toml"))
    assert code == 0, err
    assert out.splitlines()[:2] == ["screen-1 (signage) of center strogino: no tickets on a signage",
                                    "outbox: 1 events not yet acknowledged by the hub"]


@pytest.mark.parametrize("day, message", [
    ("2026-13-01", "--day '2026-13-01': expected a date such as 2026-11-23"),
    ("23.11.2026", "--day '23.11.2026': expected a date such as 2026-11-23"),
    ("2026-11-٢٣", "--day '2026-11-٢٣': expected a date such as 2026-11-23"),
])
def test_a_bad_day_is_one_line(kiosk, tmp_path, capsys, day, message):
    config = kiosk.config
    for args in (["tickets", "--config", str(config)], ["hub", "tickets", "--data", str(tmp_path), "--center", "x"]):
        code, _, err = run(capsys, *args, "--day", day)
        assert (code, err) == (2, f"mfc-edge: error: {message}\n")


def test_a_device_that_has_recorded_nothing_says_where_it_looked(tmp_path, capsys):
    config = write_config(tmp_path)
    code, _, err = run(capsys, "tickets", "--config", str(config))
    assert code == 2
    assert err == (f"mfc-edge: error: {tmp_path}/data/kiosk.sqlite: not found: the device has recorded nothing "
                   "yet, or [device] data_dir points elsewhere\n")


def test_the_hubs_line_of_a_day_with_states_and_sources(kiosk, tmp_path, capsys):
    store = kiosk.store
    hub = Hub(tmp_path / "hub", clock=ManualClock(MONDAY_10AM))  # the hub's day is the test day too
    try:
        device, _ = hub.identity.enroll(hub.identity.create_code("strogino", "kiosk"), "kiosk-1")
        today = [e for e in store.outbox() if e["body"].get("ticket") != kiosk.yesterdays.id]
        assert {o.status for o in hub.events.ingest(device, today)} == {"stored"}
        hub.queue.open_window("strogino", "5", ["passport-rf"], "ivanova")
        assert hub.queue.call_next("strogino", "5", ["passport-rf"])["number"] == "П001"
    finally:
        hub.close()
    code, out, err = run(capsys, "hub", "tickets", "--data", str(tmp_path / "hub"), "--center", "strogino",
                         "--day", DAY)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == f"center strogino, {DAY}: 3 tickets (1 called, 2 waiting)"
    assert lines[1].split()[:5] == ["П001", "passport-rf", "called", "window", "5"]
    assert lines[2].split()[:4] == ["С001", "adult-snils", "priority", "waiting"]
    assert lines[3].split()[:3] == ["П002", "passport-rf", "waiting"]
    assert all("issued 10:00:00  from kiosk-1  received " in line for line in lines[1:])

    code, out, _ = run(capsys, "hub", "tickets", "--data", str(tmp_path / "hub"), "--center", "strogino",
                       "--day", DAY, "--json")
    found = json.loads(out)
    assert (found["center"], found["day"]) == ("strogino", DAY)
    assert [(t["number"], t["state"], t["device"], t["window"]) for t in found["tickets"]] == [
        ("П001", "called", "kiosk-1", "5"), ("С001", "waiting", "kiosk-1", None), ("П002", "waiting", "kiosk-1", None)]
    assert [t["id"] for t in found["tickets"]] == [kiosk.printed.id, kiosk.failed.id, kiosk.pending.id]
    assert all("status_token" not in t for t in found["tickets"])  # it opens the visitor's phone page


def test_the_hub_command_needs_the_hubs_data_folder(tmp_path, capsys):
    code, _, err = run(capsys, "hub", "tickets", "--data", str(tmp_path / "nothing"), "--center", "strogino")
    assert code == 2 and err == (f"mfc-edge: error: {tmp_path}/nothing: no hub.sqlite here: not the hub's data "
                                 "folder (--data)\n")
    assert not (tmp_path / "nothing").exists()
