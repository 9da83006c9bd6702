"""The device commands of `mfc-edge`: run a kiosk, a screen or a window device, and the
technician's tools (enroll, check-config, test-print, gpio-test, doctor, status, the demo)."""
from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mfc_edge.catalog import BUNDLED_CATALOG, load_catalog
from mfc_edge.cli.arguments import port
from mfc_edge.config import ConfigError, DeviceConfig, load_config

AddCommand = Callable[[str, Callable[[argparse.Namespace], int], str], argparse.ArgumentParser]


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(x) for x in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size like 1280x800") from None
    if not (320 <= width <= 7680 and 240 <= height <= 7680):
        raise argparse.ArgumentTypeError(f"{text!r}: width and height must be 320..7680 and 240..7680")
    return width, height


def _stop_kivy_app() -> None:
    """End the running Kivy app's loop, from any thread (App.stop belongs to Kivy's): a remote
    restart (offline_cache/remote_commands.py), after which systemd starts the app again."""
    from kivy.app import App
    from kivy.clock import Clock

    def stop(_dt: float) -> None:
        app = App.get_running_app()
        if app:
            app.stop()

    Clock.schedule_once(stop)


def cmd_check_config(args: argparse.Namespace) -> int:
    device = load_config(args.config)
    catalog = load_catalog(args.catalog)
    print(f"{args.config}: OK — {device.role} {device.device_id} of center {device.center_id}")
    print(f"{args.catalog}: OK — {len(catalog.services)} services, {len(catalog.categories)} categories, "
          f"{len(catalog.situations)} life situations")
    return 0


def cmd_kiosk(args: argparse.Namespace) -> int:
    device = load_config(args.config)
    if device.role != "kiosk":
        raise ConfigError(f"{args.config}: [device] role = {device.role!r}: expected 'kiosk' to run a kiosk")
    catalog = load_catalog(args.catalog)
    from hardware.display import prepare_kivy

    prepare_kivy(args.size, fullscreen=not args.windowed)
    from hardware.clock import SystemClock
    from hardware.panel_power import find_panel
    from hardware.screen_capture import capture_png
    from kiosk.app import KioskApp
    from kiosk.wiring import open_kiosk
    from mfc_edge.cli.kiosk_attract import attract_loop
    from offline_cache.remote_commands import start_remote_hands

    kiosk = open_kiosk(device, SystemClock(), catalog)
    hands = start_remote_hands(kiosk, _stop_kivy_app, capture_png)
    try:
        # The screens read the store's clock: the hub's time once heard, as tickets are dated.
        # A window on a desktop is development: its monitor is left alone outside opening hours.
        KioskApp(kiosk.device, kiosk.catalog, kiosk.desk, kiosk.store, kiosk.catalog_updates,
                 load_figures=kiosk.load_figures, panel=None if args.windowed else find_panel(),
                 attract=attract_loop(kiosk, kiosk.store), kids_room=kiosk.kids_room,
                 notices=kiosk.notices, bookings=kiosk.bookings, applications=kiosk.applications).run()
    finally:
        kiosk.close()
    return hands.exit_code if hands else 0


def cmd_signage(args: argparse.Namespace) -> int:
    device = load_config(args.config)
    if device.role != "signage":
        raise ConfigError(f"{args.config}: [device] role = {device.role!r}: expected 'signage' to run a screen")
    from hardware.display import prepare_kivy

    prepare_kivy(args.size or device.signage.size, fullscreen=not args.windowed)
    from hardware.audio import SimulatedOutput
    from hardware.clock import SystemClock
    from hardware.panel_power import find_panel
    from offline_cache.remote_commands import start_remote_hands
    from signage.app import SignageApp
    from signage.wiring import open_screen

    screen = open_screen(device, SystemClock(), audio=SimulatedOutput() if args.silent else None)
    # The screen shows, and filters today's calls by, the hub's time once heard.
    app = SignageApp(device, screen, screen.store, new_calls=screen.calls_to_announce,
                     panel=None if args.windowed else find_panel(device.signage.panel))
    screen.start_screenshots(app.capture_png)
    hands = start_remote_hands(screen, _stop_kivy_app, app.capture_png)
    try:
        app.run()
    finally:
        screen.close()
    return hands.exit_code if hands else 0


def cmd_test_print(args: argparse.Namespace) -> int:
    device = load_config(args.config)
    if device.printer is None:
        raise ConfigError(f"{args.config}: [printer] is missing: nothing to test")
    from hardware.printer import TicketPrinter
    from kiosk.sample import sample_ticket_job

    printer = TicketPrinter(device.printer.uri, device.printer.timeout)
    print(f"printer {device.printer.uri} ({device.printer.profile}, {device.printer.paper_width} mm)")
    print(f"status before: {printer.status().value}")
    job = sample_ticket_job(device, load_catalog(args.catalog))
    result = printer.print_job(job)
    print(f"sample ticket: {result.outcome}, {len(job)} bytes" + (f" — {result.error}" if result.error else ""))
    print(f"status after: {result.status.value}")
    return 0 if result.ok else 1


def cmd_virtual_printer(args: argparse.Namespace) -> int:
    from hardware.virtual_printer import PrinterState, VirtualPrinter

    port(args.port, lowest=0)
    state = PrinterState(paper=args.paper, answers_status=not args.no_status)
    printer = VirtualPrinter(args.out, host=args.host, port=args.port, profile=args.profile,
                             paper_width=args.paper_width, state=state).start()
    print(f"virtual printer listening on {printer.uri}; jobs go to {args.out}", flush=True)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
    printer.stop()
    return 0


def _console_config(path: Path) -> DeviceConfig:
    device = load_config(path)
    if device.console is None:
        raise ConfigError(f"{path}: no [rating], [help_button] or [keypad]: this device has no window hardware")
    return device


def _pin_factory(simulate: bool) -> Any:
    if not simulate:
        return None  # gpiozero picks the Raspberry Pi's own
    from gpiozero.pins.mock import MockFactory

    return MockFactory()


def cmd_console(args: argparse.Namespace) -> int:
    device = _console_config(args.config)
    from hardware.clock import SystemClock
    from hardware.simulated_keys import drive, help_text, read_keys
    from offline_cache.remote_commands import start_remote_hands
    from window_device.wiring import open_window_device

    factory = _pin_factory(args.simulate)
    window_device = open_window_device(device, SystemClock(), pin_factory=factory)
    buttons = window_device.console.buttons
    stop = threading.Event()
    hands = start_remote_hands(window_device, stop.set)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        if factory is not None:
            print(help_text(buttons), flush=True)
            threading.Thread(target=lambda: (drive(factory, buttons, read_keys()), stop.set()),
                             daemon=True).start()
        stop.wait()
    finally:
        window_device.close()
    return hands.exit_code if hands else 0


def cmd_gpio_test(args: argparse.Namespace) -> int:
    from window_device.gpio_test import gpio_test

    return gpio_test(_console_config(args.config).console, pin_factory=_pin_factory(args.simulate))


def cmd_doctor(args: argparse.Namespace) -> int:
    from mfc_edge.cli.doctor import run_doctor

    return run_doctor(load_config(args.config))


def cmd_status(args: argparse.Namespace) -> int:
    from mfc_edge.cli.status import status_lines

    for line in status_lines(load_config(args.config)):
        print(line)
    return 0


def cmd_tickets(args: argparse.Namespace) -> int:
    from datetime import datetime

    from mfc_edge.cli.tickets import as_json, day_arg, device_lines, device_report

    day = day_arg(args.day)
    device = load_config(args.config)
    report = device_report(device, day or datetime.now(device.timezone).date().isoformat())
    print(as_json(report) if args.json else "\n".join(device_lines(report, device.timezone)))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from mfc_edge.cli.demo import run_demo

    return run_demo(headless=args.headless, out=Path(args.out))


def cmd_enroll(args: argparse.Namespace) -> int:
    from offline_cache.enrollment import EnrollmentError, enroll

    device = load_config(args.config)
    if not (args.hub or device.hub_url):
        raise ConfigError(f"{args.config}: [hub] url is missing and no --hub was given")
    try:
        found = enroll(device, args.code, hub_url=args.hub)
    except EnrollmentError as exc:
        print(f"mfc-edge: error: {exc}", file=sys.stderr)
        return 1
    print(f"enrolled {found.device_id} ({found.role}) with center {found.center}; token saved to {found.token_file}")
    if found.bundle_key_file:
        print(f"hub's bundle-signing key pinned in {found.bundle_key_file}")
    else:
        print("mfc-edge: warning: the hub sent no usable bundle key; this device will not accept content bundles",
              file=sys.stderr)
    return 0


def register(add: AddCommand) -> None:
    """The device commands and their flags."""

    def config_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--config", "-c", required=True, type=Path, help="the device's TOML file")
        p.add_argument("--catalog", type=Path, default=BUNDLED_CATALOG,
                       help="service catalog TOML (default: the bundled Moscow catalog)")

    p = add("kiosk", cmd_kiosk, "Run the touch kiosk that issues queue tickets.")
    config_args(p)
    p.add_argument("--size", type=_size, default=(1280, 800), help="window size, e.g. 800x480 (default 1280x800)")
    p.add_argument("--windowed", action="store_true", help="a window instead of full screen (for development)")

    p = add("signage", cmd_signage, "Run a waiting-area screen: playlist, calls, announcements.")
    p.add_argument("--config", "-c", required=True, type=Path, help="the device's TOML file")
    p.add_argument("--size", type=_size, help="window size, e.g. 1080x1920 (default: by [signage] orientation)")
    p.add_argument("--windowed", action="store_true", help="a window instead of full screen (for development)")
    p.add_argument("--silent", action="store_true", help="announcements are not played (no sound card)")

    p = add("test-print", cmd_test_print,
            "Print a sample ticket on the configured printer and report its status (exit 1 if it fails).")
    config_args(p)

    p = add("virtual-printer", cmd_virtual_printer,
            "Run a network receipt printer on loopback that saves each job as bytes and a PNG preview.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=9100, help="TCP port (default 9100; 0: any free port)")
    p.add_argument("--out", type=Path, default=Path("var/virtual-printer"), help="folder for the jobs")
    p.add_argument("--paper", choices=("ok", "near-end", "out"), default="ok", help="paper sensor state to report")
    p.add_argument("--no-status", action="store_true", help="answer no status queries, like a cheap printer")
    p.add_argument("--profile", default="default", help="python-escpos profile used to decode jobs")
    p.add_argument("--paper-width", type=int, choices=(58, 80), default=80, help="paper width in mm")

    p = add("demo", cmd_demo,
            "A center in a box: the kiosk with a virtual printer. Without a display (or with --headless) "
            "a scripted visit writes screenshots and printed tickets to --out.")
    p.add_argument("--headless", action="store_true", help="drive the screens offscreen and write files")
    p.add_argument("--out", default="var/demo", help="folder for screenshots and tickets (default var/demo)")

    p = add("console", cmd_console, "Run a window's hardware: rating buttons, call-a-specialist button, keypad.")
    p.add_argument("--config", "-c", required=True, type=Path, help="the device's TOML file")
    p.add_argument("--simulate", action="store_true",
                   help="simulated pins; keys 1-5 rate, h calls a specialist, n/r/x/d are the keypad, q quits")
    p = add("gpio-test", cmd_gpio_test, "Walk through every configured button, LED and buzzer (exit 1 if one fails).")
    p.add_argument("--config", "-c", required=True, type=Path, help="the device's TOML file")
    p.add_argument("--simulate", action="store_true", help="simulated pins (to try the walk-through)")
    p = add("doctor", cmd_doctor, "Check printer, GPIO, display, hub and token, clock, disk and outbox, and on a "
            "Raspberry Pi its pin backend, CPU temperature and power; one line each, exit 1 if any fails.")
    p.add_argument("--config", "-c", required=True, type=Path, help="the device's TOML file")

    p = add("status", cmd_status, "Say which content bundle this device runs and whether the hub has a newer one.")
    p.add_argument("--config", "-c", required=True, type=Path, help="the device's TOML file")

    p = add("tickets", cmd_tickets, "List this device's tickets of a day with their print results, and the events "
            "the hub has not acknowledged yet or refused.")
    p.add_argument("--config", "-c", required=True, type=Path, help="the device's TOML file")
    p.add_argument("--day", help="the service day, YYYY-MM-DD (default: today in the center's time zone)")
    p.add_argument("--json", action="store_true", help="everything as JSON, every outbox event included")

    p = add("enroll", cmd_enroll, "Enroll this device with its hub using a one-time code from a technician.")
    p.add_argument("--config", "-c", required=True, type=Path, help="the device's TOML file")
    p.add_argument("--code", required=True, help="the code from `mfc-edge hub enroll-code`")
    p.add_argument("--hub", help="hub URL (default: [hub] url of the config)")

    p = add("check-config", cmd_check_config, "Validate a device's TOML file and the service catalog.")
    config_args(p)
