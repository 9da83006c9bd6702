"""The demo: a kiosk with a virtual printer on loopback.

With a display it opens the kiosk window. Headless it drives the real screens through a
scripted visit and writes what a visitor would have seen and taken home: screenshots,
and each printed ticket as raw ESC/POS bytes and a PNG preview.
"""
from __future__ import annotations

import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

DEMO_CONFIG = """\
# A demo kiosk. Real kiosks have one file like this each; see mfc_edge/data/kiosk.example.toml.
[center]
id = "strogino"
name = "Центр госуслуг района Строгино"
name_en = "Strogino public services center"
timezone = "Europe/Moscow"

[device]
id = "kiosk-demo"
role = "kiosk"
data_dir = "data"

[kiosk]
ticket_range = [1, 499]
languages = ["ru", "en"]
idle_timeout = 60

[printer]
uri = "tcp://127.0.0.1:{port}"
profile = "default"
paper_width = 80

[hub]
url = "http://127.0.0.1:8080"
"""
# The scripted visit happens on a Monday morning, so screenshots are the same every run.
VISIT_START = datetime(2026, 11, 23, 10, 15, tzinfo=ZoneInfo("Europe/Moscow"))


def _write_config(folder: Path, printer_port: int) -> Path:
    path = folder / "kiosk.toml"
    path.write_text(DEMO_CONFIG.format(port=printer_port), encoding="utf-8")
    return path


def run_demo(*, headless: bool, out: Path) -> int:
    from kiosk.runtime import has_display, prepare_kivy

    headless = headless or not has_display()
    prepare_kivy((1280, 800), headless=headless)
    if headless:
        return _scripted_visit(out)
    return _interactive(out)


def _interactive(out: Path) -> int:
    from hardware.clock import SystemClock
    from hardware.virtual_printer import VirtualPrinter
    from kiosk.app import KioskApp
    from kiosk.wiring import open_kiosk
    from mfc_edge.config import load_config

    workdir = Path(tempfile.mkdtemp(prefix="mfc-edge-demo-"))
    with VirtualPrinter(out / "tickets") as printer:
        device = load_config(_write_config(workdir, printer.port))
        kiosk = open_kiosk(device, SystemClock())
        print(f"Kiosk window open; printed tickets go to {out / 'tickets'}", flush=True)
        try:
            KioskApp(device, kiosk.catalog, kiosk.desk, SystemClock()).run()
        finally:
            kiosk.close()
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


def _scripted_visit(out: Path) -> int:
    from hardware.clock import ManualClock
    from hardware.virtual_printer import VirtualPrinter
    from kiosk.app import KioskApp
    from kiosk.headless import HeadlessKiosk
    from kiosk.wiring import open_kiosk
    from mfc_edge.config import load_config

    for part in ("screens", "tickets", "data", "kiosk.toml"):
        target = out / part
        shutil.rmtree(target, ignore_errors=True) if target.is_dir() else target.unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    shots = out / "screens"
    clock = ManualClock(VISIT_START)
    with VirtualPrinter(out / "tickets") as printer:
        device = load_config(_write_config(out, printer.port))
        kiosk = open_kiosk(device, clock)
        app = KioskApp(device, kiosk.catalog, kiosk.desk, clock)
        try:
            with HeadlessKiosk(app, (1280, 800)) as k:
                def printed(count: int) -> None:
                    printer.wait_for_jobs(count, timeout=10)
                    k.wait_until(lambda: app.manager.get_screen("result").print_outcome is not None)

                k.screenshot(shots / "01-home.png")
                k.tap("categories")
                k.screenshot(shots / "02-categories.png")
                k.tap(f"category:{kiosk.catalog.categories[0].id}")
                k.screenshot(shots / "03-services.png")
                k.tap(f"service:{kiosk.catalog.in_category(kiosk.catalog.categories[0].id)[0].id}")
                k.screenshot(shots / "04-service-documents.png")
                k.tap("take-ticket")
                printed(1)
                k.screenshot(shots / "05-ticket.png")
                k.tap("done")

                k.tap("lang-en")
                k.tap("situations")
                k.screenshot(shots / "06-life-situations-en.png")
                situation = kiosk.catalog.situations[0]
                k.tap(f"situation:{situation.id}")
                k.tap(f"service:{situation.services[0]}")
                k.tap("take-priority")
                printed(2)
                k.screenshot(shots / "07-priority-ticket-en.png")
                k.tap("done")

                k.tap("lang-ru")
                k.tap("search")
                k.type("загран")
                k.screenshot(shots / "08-search-keyboard.png")
                k.tap(app.manager.current_screen.ids.tiles.children[-1].tag)  # the first result
                k.tap("take-ticket")
                printed(3)
                k.tap("done")

                k.tap("large-text")
                k.screenshot(shots / "09-large-text-contrast.png")
                k.tap("large-text")

                printer.state.paper = "out"
                k.tap("categories")
                k.tap(f"category:{kiosk.catalog.categories[0].id}")
                k.tap(f"service:{kiosk.catalog.in_category(kiosk.catalog.categories[0].id)[0].id}")
                k.tap("take-ticket")
                k.wait_until(lambda: app.manager.get_screen("result").print_outcome is not None)
                k.screenshot(shots / "10-printer-out-of-paper.png")
                k.tap("done")
                k.screenshot(shots / "11-home-staff-banner.png")
                printer.state.paper = "ok"

                k.resize((800, 480))
                k.screenshot(shots / "12-home-800x480.png")
                k.tap("categories")
                k.tap(f"category:{kiosk.catalog.categories[0].id}")
                k.tap(f"service:{kiosk.catalog.in_category(kiosk.catalog.categories[0].id)[0].id}")
                k.tap("take-ticket")
                printed(4)
                k.screenshot(shots / "13-ticket-800x480.png")
                k.resize((800, 1280))
                k.screenshot(shots / "14-ticket-portrait.png")
                k.tap("done")

                clock.set(VISIT_START.replace(hour=21))
                app.tick()
                k.frames(2)
                k.screenshot(shots / "15-closed.png")
        finally:
            kiosk.close()
    tickets = sorted((out / "tickets").glob("job-*"))
    print(f"Demo finished. Screenshots: {shots}  Printed tickets (bytes and previews): {out / 'tickets'}")
    for path in sorted(shots.glob("*.png")) + tickets:
        print(f"  {path}")
    return 0
