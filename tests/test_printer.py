"""The printer path: bytes that reach a (virtual) network printer, decoded back; and faults."""
from __future__ import annotations

import socket

import pytest
import zxingcpp
from PIL import Image

from hardware.escpos_decode import decode_escpos, receipt_text
from hardware.printer import SILENT_TRIES, PrinterStatus, TicketPrinter, parse_status
from hardware.receipt import Cut, QRCode, Raster, Text, render_escpos
from hardware.virtual_printer import PrinterState, VirtualPrinter


def qr_payloads(png_path) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(Image.open(png_path))]


def test_ticket_bytes_are_cp866_text_with_native_qr(kiosk, printer):
    issued = kiosk.desk.issue("passport-rf" if any(s.id == "passport-rf" for s in kiosk.catalog.services)
                              else kiosk.catalog.services[0].id)
    assert issued.printed.result(timeout=10).outcome == "printed"
    job = printer.wait_for_jobs(1)[0]
    data = job.data
    assert b"\x1bt\x11" in data  # ESC t 17: CP866 on the default profile
    assert issued.ticket.number.encode("cp866") in data
    assert b"\x1d(k" in data and b"\x1dv0" not in data  # native QR, no raster image
    receipt = decode_escpos(data)
    text = receipt_text(receipt)
    assert issued.ticket.number in text
    assert issued.service.name("ru")[:20] in text.replace("\n", " ")
    assert "Центр госуслуг района Строгино" in text
    assert "Перед вами" in text
    number_line = next(e for e in receipt if isinstance(e, Text) and e.text == issued.ticket.number)
    assert (number_line.width, number_line.height, number_line.bold) == (4, 4, True)
    qr = [e for e in receipt if isinstance(e, QRCode)]
    assert [q.data for q in qr] == [issued.status_url]
    assert issued.status_url.startswith("https://hub.example.org/t/")
    assert isinstance(receipt[-1], Cut)
    # The preview the printer stored shows the same QR, readable by a phone's decoder.
    assert qr_payloads(job.png_path) == [issued.status_url]
    assert len(data) <= 1536  # bytes per ticket with native QR


def test_raster_qr_where_the_profile_has_no_native_qr(tmp_path):
    url = "https://hub.example.org/t/Zr8Qm1x"
    job = render_escpos((Text("П001", 4, 4, True, "center"), QRCode(url, module=5), Cut()),
                        profile="POS-5890", paper_width=58)
    receipt = decode_escpos(job, "POS-5890")
    assert not any(isinstance(e, QRCode) for e in receipt)
    assert any(isinstance(e, Raster) for e in receipt)
    with VirtualPrinter(tmp_path, profile="POS-5890", paper_width=58) as vp:
        assert TicketPrinter(vp.uri).print_job(job).outcome == "printed"
        stored = vp.wait_for_jobs(1)[0]
    assert qr_payloads(stored.png_path) == [url]


def test_status_bytes_are_read_like_a_real_printer():
    assert parse_status(4, b"\x12") is PrinterStatus.OK
    assert parse_status(4, b"\x1e") is PrinterStatus.PAPER_NEAR_END
    assert parse_status(4, b"\x72") is PrinterStatus.PAPER_OUT
    assert parse_status(1, b"\x1a") is PrinterStatus.OFFLINE
    assert parse_status(2, b"\x16") is PrinterStatus.COVER_OPEN
    assert parse_status(2, b"\x32") is PrinterStatus.PAPER_OUT
    assert parse_status(4, b"\xff") is None  # not a status byte
    assert parse_status(4, b"") is None


SAMPLE = render_escpos((Text("А001", 4, 4, True, "center"), Cut()))


@pytest.mark.parametrize("state, outcome, status", [
    (PrinterState(), "printed", PrinterStatus.OK),
    (PrinterState(paper="near-end"), "printed", PrinterStatus.PAPER_NEAR_END),
    (PrinterState(paper="out"), "failed", PrinterStatus.PAPER_OUT),
    (PrinterState(cover_open=True), "failed", PrinterStatus.COVER_OPEN),
    (PrinterState(answers_status=False), "sent", PrinterStatus.NO_STATUS),
    (PrinterState(drop_after_bytes=10), "failed", PrinterStatus.UNREACHABLE),
])
def test_printer_states(tmp_path, state, outcome, status):
    with VirtualPrinter(tmp_path, state=state) as vp:
        result = TicketPrinter(vp.uri, timeout=2, status_timeout=0.3).print_job(SAMPLE)
    assert (result.outcome, result.status) == (outcome, status)
    if outcome == "failed":
        assert result.error


def test_paper_out_sends_nothing(tmp_path):
    with VirtualPrinter(tmp_path, state=PrinterState(paper="out")) as vp:
        TicketPrinter(vp.uri).print_job(SAMPLE)
        assert vp.wait_for_jobs(1, timeout=0.5) == []


def test_refused_connection(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    result = TicketPrinter(f"tcp://127.0.0.1:{port}", timeout=1).print_job(SAMPLE)
    assert (result.outcome, result.status) == ("failed", PrinterStatus.UNREACHABLE)
    assert "cannot connect" in result.error


def test_timeout_when_the_printer_never_answers_the_connection():
    # A listener that never accepts, with its backlog already full: connects hang.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(4):
        f = socket.socket()
        f.setblocking(False)
        f.connect_ex(("127.0.0.1", port))
        fillers.append(f)
    try:
        result = TicketPrinter(f"tcp://127.0.0.1:{port}", timeout=0.5).print_job(SAMPLE)
        assert (result.outcome, result.status) == ("failed", PrinterStatus.UNREACHABLE)
        assert "timed out" in result.error
    finally:
        for f in fillers:
            f.close()
        listener.close()


def test_status_for_technicians(tmp_path):
    with VirtualPrinter(tmp_path, state=PrinterState(paper="near-end")) as vp:
        assert TicketPrinter(vp.uri).status() is PrinterStatus.PAPER_NEAR_END
        vp.state.answers_status = False
        assert TicketPrinter(vp.uri, status_timeout=0.2).status() is PrinterStatus.NO_STATUS
    assert TicketPrinter(vp.uri, timeout=0.5).status() is PrinterStatus.UNREACHABLE


def test_the_tickets_qr_leads_to_the_hubs_public_address(tmp_path, printer, clock):
    from kiosk.wiring import open_kiosk
    from mfc_edge.config import load_config
    from tests.helpers.devices import BASE_CONFIG, write_config

    text = BASE_CONFIG.format(printer_uri=printer.uri) + 'public_url = "https://ochered.example.org"\n'
    kiosk = open_kiosk(load_config(write_config(tmp_path, text)), clock)
    try:
        issued = kiosk.desk.issue(kiosk.catalog.services[0].id)
        assert issued.printed.result(timeout=10).outcome == "printed"
        url = f"https://ochered.example.org/t/{issued.ticket.status_token}"
        assert issued.status_url == url
        assert qr_payloads(printer.wait_for_jobs(1)[0].png_path) == [url]  # as a phone's camera reads it
    finally:
        kiosk.close()


def test_one_missed_answer_does_not_make_a_printer_mute(tmp_path):
    """A printer that misses a status answer (warming up, a busy kiosk) is asked again; one silent
    SILENT_TRIES times in a row, never heard from, is left unasked for NO_STATUS_RETRY_S."""
    with VirtualPrinter(tmp_path, state=PrinterState(paper="near-end", answers_status=False)) as vp:
        printer = TicketPrinter(vp.uri, status_timeout=0.2)
        assert printer.status() is PrinterStatus.NO_STATUS
        vp.state.answers_status = True
        assert printer.status() is PrinterStatus.PAPER_NEAR_END
        vp.state.answers_status = False
        mute = TicketPrinter(vp.uri, status_timeout=0.2)
        assert [mute.status() for _ in range(SILENT_TRIES)] == [PrinterStatus.NO_STATUS] * SILENT_TRIES
        vp.state.answers_status = True
        assert mute.status() is PrinterStatus.NO_STATUS  # not asked: it has shown it cannot answer
