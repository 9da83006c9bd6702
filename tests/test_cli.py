"""The `mfc-edge` command line, run as a technician would run it."""
from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from hardware.printer import TicketPrinter
from hardware.receipt import Cut, Text, render_escpos
from hardware.virtual_printer import PrinterState, VirtualPrinter
from tests.helpers.devices import write_config
from tests.helpers.hubprocess import free_port


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["SDL_VIDEODRIVER"] = "offscreen"
    return subprocess.run([sys.executable, "-m", "mfc_edge.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


@pytest.mark.parametrize("command", ["kiosk", "test-print", "virtual-printer", "demo", "check-config"])
def test_help_everywhere(command):
    top = run("--help")
    assert top.returncode == 0 and command in top.stdout
    sub = run(command, "--help")
    assert sub.returncode == 0
    assert "usage: mfc-edge " + command in sub.stdout


def test_check_config(tmp_path):
    good = run("check-config", "--config", str(write_config(tmp_path)))
    assert good.returncode == 0, good.stderr
    assert "OK" in good.stdout and "services" in good.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text(write_config(tmp_path).read_text().replace("idle_timeout = 60", "idle_timeout = -1"))
    result = run("check-config", "--config", str(bad))
    assert result.returncode == 2
    assert result.stderr.strip() == f"mfc-edge: error: {bad}: [kiosk] idle_timeout = -1: expected seconds from 10 to 3600"


def test_test_print_reports_status(tmp_path):
    with VirtualPrinter(tmp_path / "jobs", state=PrinterState(paper="near-end")) as printer:
        config = write_config(tmp_path, printer_uri=printer.uri)
        result = run("test-print", "--config", str(config))
        assert result.returncode == 0, result.stderr
        assert "status before: paper_near_end" in result.stdout
        assert "sample ticket: printed" in result.stdout
        assert len(printer.wait_for_jobs(1)) == 1
        printer.state.paper = "out"
        result = run("test-print", "--config", str(config))
        assert result.returncode == 1
        assert "sample ticket: failed" in result.stdout and "paper_out" in result.stdout


def test_kiosk_refuses_a_config_for_another_role(tmp_path):
    config = write_config(tmp_path)
    config.write_text(config.read_text().replace('role = "kiosk"', 'role = "signage"'))
    result = run("kiosk", "--config", str(config))
    assert result.returncode == 2
    assert "expected 'kiosk' to run a kiosk" in result.stderr


def test_virtual_printer_command_keeps_jobs_and_stops_on_sigterm(tmp_path):
    port = free_port()
    env = dict(os.environ)
    proc = subprocess.Popen([sys.executable, "-m", "mfc_edge.cli", "virtual-printer", "--port", str(port),
                             "--out", str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    try:
        assert "listening on tcp://127.0.0.1:" in proc.stdout.readline()
        job = render_escpos((Text("А001", 4, 4, True, "center"), Cut()))
        assert TicketPrinter(f"tcp://127.0.0.1:{port}").print_job(job).outcome == "printed"
        deadline = time.monotonic() + 10
        while not (tmp_path / "job-0001.png").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (tmp_path / "job-0001.bin").read_bytes() == job
        assert (tmp_path / "job-0001.png").stat().st_size > 0
    finally:
        proc.send_signal(signal.SIGTERM)
        with proc:  # closes its pipes
            assert proc.wait(timeout=10) == 0


@pytest.mark.slow
def test_headless_demo_is_a_center_in_a_box(tmp_path):
    """Kiosk, hub and console together: the first ticket taken at the kiosk is called from the console."""
    out = tmp_path / "demo"
    result = run("demo", "--headless", "--out", str(out), timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"Screenshots: {out / 'screens'}" in result.stdout
    assert re.search(r"Ticket П\d{3} was issued at the kiosk and called to window 5 from the console; the visitor "
                     r"rated the service on window 5's smiley buttons", result.stdout)
    assert "The kiosk took its service catalog from signed bundle 1" in result.stdout
    called = re.search(r"The hall's screen showed (\w\d{3}) and announced it: chime / Талон \w+ [а-я ]+, окно три / "
                       r"Ticket \w [a-z -]+, window three", result.stdout)
    assert called, result.stdout
    assert len(list((out / "announcements").glob("*.wav"))) == 3
    screens = sorted(p.name for p in (out / "screens").glob("*.png"))
    assert {"01-home.png", "05-ticket.png", "08-search-keyboard.png", "15-closed.png", "16-phone-waiting.png",
            "18-console-called.png", "19-phone-called.png", "20-console-rating-and-help.png",
            "21-screen-call-and-load-chart.png", "22-screen-portrait.png", "23-console-devices-one-offline.png",
            "24-console-release-taken.png"} <= set(screens)
    assert re.search(r"Window 3 called \w\d{3} again: the kids' room screen showed it in its strip «Талон \w\d{3} — "
                     r"окно 3» and played its gentle chime \(chimed\)", result.stdout), result.stdout
    assert (out / "screens" / "30-kids-screen-call.png").stat().st_size > 10_000
    for shot in ("25-kiosk-attract-loop.png", "26-kiosk-when-to-come.png"):  # the kiosk left alone, then informing
        assert (out / "screens" / shot).stat().st_size > 10_000
    for shot in ("27-kiosk-video-consultations.png", "28-kiosk-video-consultation.png", "29-kiosk-kids-room.png"):
        assert (out / "screens" / shot).stat().st_size > 10_000
    # The phone of the visitor behind the called one changed by itself to «Вы следующий».
    assert re.search(r"The phone page of П\d{3} said «Вы следующий» within seconds of the call, without a reload",
                     result.stdout), result.stdout
    assert (out / "screens" / "34-phone-you-are-next.png").stat().st_size > 10_000
    assert re.search(r"The kiosk listed 3 video consultations and showed the kids' room with [1-9] activities today "
                     r"from its bundle's kids.toml", result.stdout), result.stdout
    assert "The supervisor posted «Росреестр: приём документов" in result.stdout  # an urgent notice, on a screen
    for shot in ("31-kiosk-urgent-notice.png", "32-screen-urgent-notice.png", "33-console-notice.png"):
        assert (out / "screens" / shot).stat().st_size > 10_000
    # Check-in at the kiosk: by keypad and by scanner, and a ready application's collection ticket.
    assert re.search(r"Checked in at the kiosk: KD-4821 by keypad \(П\d{3}\) and QR7305 by scanner \(\w\d{3}\), "
                     r"both marked with their slot; application 77-0012/34 ready, collection ticket Г\d{3}",
                     result.stdout), result.stdout
    for shot in ("35-kiosk-booking-keypad.png", "36-kiosk-booking-ticket.png", "37-kiosk-booking-scan.png",
                 "38-kiosk-document-ready.png"):
        assert (out / "screens" / shot).stat().st_size > 10_000
    # The supervisor's booked visits of the day, on the console.
    assert re.search(r"the supervisor's console lists \d+ bookings of the day", result.stdout), result.stdout
    assert (out / "screens" / "39-console-bookings.png").stat().st_size > 10_000
    assert re.search(r"Release 1 \(mfc-edge [0-9.]+, the project's wheel alone\) was published as a pilot release; "
                     r"the pilot kiosk-demo took it", result.stdout), result.stdout
    assert re.search(r"The second screen screen-2 stopped beating: .* the center's webhook got: screen-2 \(экран\): "
                     r"нет связи с 10:\d\d · screen-2 \(signage\): offline since 10:\d\d", result.stdout), result.stdout
    hub = sqlite3.connect(out / "hub" / "hub.sqlite")
    states = dict(hub.execute("SELECT number, state FROM tickets WHERE center = 'strogino' "
                              "AND day = '2026-11-23'").fetchall())
    # The visit's five (four printed, one shown on screen while the printer was out of paper), the
    # two booked visitors checked in and the collection ticket.
    assert len(states) == 8 and states["Г001"] == "waiting"
    assert states["П001"] == "done" and sorted(states.values()).count("called") == 1
    booked = dict(hub.execute("SELECT booking, number FROM tickets WHERE booking != ''").fetchall())
    assert set(booked) == {"portal-1001", "portal-1002"}
    past = dict(hub.execute("SELECT state, count(*) FROM tickets WHERE day < '2026-11-23' GROUP BY state"))
    assert set(past) == {"expired"} and past["expired"] > 1000  # the load chart's history, its days closed
    assert hub.execute("SELECT number, channel FROM releases").fetchall() == [(1, "pilot")]
    (beat,) = hub.execute("SELECT beat FROM heartbeats WHERE device = 'kiosk-demo'").fetchone()
    assert (json.loads(beat)["release"], json.loads(beat)["channel"]) == (1, "pilot")
    ratings = hub.execute("SELECT window, score FROM ratings").fetchall()
    helps = hub.execute("SELECT point FROM help_requests").fetchall()
    hub.close()
    assert ratings == [("5", 5)] and helps == [("Вход, кнопка вызова специалиста",)]
    bins = sorted((out / "tickets").glob("job-*.bin"))
    pngs = sorted((out / "tickets").glob("job-*.png"))
    assert len(bins) >= 4 and len(pngs) == len(bins)
    assert all(p.stat().st_size > 0 for p in bins + pngs)
