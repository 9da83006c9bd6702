"""The kiosk's part of the demo: its configuration and a scripted visit to its screens.

The visit drives the real screens with taps, as a visitor would, and writes what they
showed; the virtual printer keeps each printed ticket as raw ESC/POS bytes and a PNG
preview. `mfc_edge.cli.demo` puts this kiosk together with a hub and the operator console.
"""
from __future__ import annotations

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
url = "{hub_url}"
"""
# The scripted visit happens on a Monday morning, so screenshots are the same every run.
VISIT_START = datetime(2026, 11, 23, 10, 15, tzinfo=ZoneInfo("Europe/Moscow"))


def write_config(folder: Path, printer_port: int, hub_url: str) -> Path:
    path = folder / "kiosk.toml"
    path.write_text(DEMO_CONFIG.format(port=printer_port, hub_url=hub_url), encoding="utf-8")
    return path


def scripted_visit(k, app, kiosk, printer, clock, shots: Path) -> None:
    """Visitors take tickets in Russian and English, by category, life situation and search;
    the printer runs out of paper once; the layout is shown at other panel sizes; then the
    center closes. `k` is a HeadlessKiosk around `app`."""
    catalog = kiosk.catalog
    first_category = catalog.categories[0].id
    first_service = catalog.in_category(first_category)[0].id

    def printed(count: int) -> None:
        printer.wait_for_jobs(count, timeout=10)
        k.wait_until(lambda: app.manager.get_screen("result").print_outcome is not None)

    k.screenshot(shots / "01-home.png")
    k.tap("categories")
    k.screenshot(shots / "02-categories.png")
    k.tap(f"category:{first_category}")
    k.screenshot(shots / "03-services.png")
    k.tap(f"service:{first_service}")
    k.screenshot(shots / "04-service-documents.png")
    k.tap("take-ticket")
    printed(1)
    k.screenshot(shots / "05-ticket.png")
    k.tap("done")

    clock.advance(minutes=1)
    k.tap("lang-en")
    k.tap("situations")
    k.screenshot(shots / "06-life-situations-en.png")
    situation = catalog.situations[0]
    k.tap(f"situation:{situation.id}")
    k.tap(f"service:{situation.services[0]}")
    k.tap("take-priority")
    printed(2)
    k.screenshot(shots / "07-priority-ticket-en.png")
    k.tap("done")

    clock.advance(minutes=1)
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

    clock.advance(minutes=1)
    printer.state.paper = "out"
    k.tap("categories")
    k.tap(f"category:{first_category}")
    k.tap(f"service:{first_service}")
    k.tap("take-ticket")
    k.wait_until(lambda: app.manager.get_screen("result").print_outcome is not None)
    k.screenshot(shots / "10-printer-out-of-paper.png")
    k.tap("done")
    k.screenshot(shots / "11-home-staff-banner.png")
    printer.state.paper = "ok"

    clock.advance(minutes=1)
    k.resize((800, 480))
    k.screenshot(shots / "12-home-800x480.png")
    k.tap("categories")
    k.tap(f"category:{first_category}")
    k.tap(f"service:{first_service}")
    k.tap("take-ticket")
    printed(4)
    k.screenshot(shots / "13-ticket-800x480.png")
    k.resize((800, 1280))
    k.screenshot(shots / "14-ticket-portrait.png")
    k.tap("done")
    k.resize((1280, 800))


def show_closed(k, app, clock, shots: Path) -> None:
    clock.set(VISIT_START.replace(hour=21))
    app.tick()
    k.frames(2)
    k.screenshot(shots / "15-closed.png")
