"""The `mfc-edge` command line: one entry point for every device and tool.

Heavy imports (Kivy, python-escpos) happen inside the subcommands, so `--help` and
`check-config` answer at once on a Raspberry Pi.
"""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from mfc_edge.catalog import BUNDLED_CATALOG, CatalogError, load_catalog
from mfc_edge.config import ConfigError, load_config

log = logging.getLogger("mfc_edge")


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(x) for x in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size like 1280x800") from None
    if not (320 <= width <= 7680 and 240 <= height <= 7680):
        raise argparse.ArgumentTypeError(f"{text!r}: width and height must be 320..7680 and 240..7680")
    return width, height


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
    from kiosk.app import KioskApp
    from kiosk.wiring import open_kiosk

    kiosk = open_kiosk(device, SystemClock(), catalog)
    try:
        KioskApp(kiosk.device, kiosk.catalog, kiosk.desk, SystemClock(), kiosk.catalog_updates,
                 load_figures=kiosk.load_figures).run()
    finally:
        kiosk.close()
    return 0


def cmd_signage(args: argparse.Namespace) -> int:
    device = load_config(args.config)
    if device.role != "signage":
        raise ConfigError(f"{args.config}: [device] role = {device.role!r}: expected 'signage' to run a screen")
    from hardware.display import prepare_kivy

    prepare_kivy(args.size or device.signage.size, fullscreen=not args.windowed)
    from hardware.audio import SimulatedOutput
    from hardware.clock import SystemClock
    from signage.app import SignageApp
    from signage.wiring import open_screen

    screen = open_screen(device, SystemClock(), audio=SimulatedOutput() if args.silent else None)
    app = SignageApp(device, screen, SystemClock(), new_calls=screen.calls_to_announce)
    screen.start_screenshots(app.capture_png)
    try:
        app.run()
    finally:
        screen.close()
    return 0


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


def _console_config(path: Path):
    device = load_config(path)
    if device.console is None:
        raise ConfigError(f"{path}: no [rating], [help_button] or [keypad]: this device has no window hardware")
    return device


def _pin_factory(simulate: bool):
    if not simulate:
        return None  # gpiozero picks the Raspberry Pi's own
    from gpiozero.pins.mock import MockFactory

    return MockFactory()


def cmd_console(args: argparse.Namespace) -> int:
    device = _console_config(args.config)
    from hardware.clock import SystemClock
    from hardware.simulated_keys import drive, help_text, read_keys
    from window_device.window_console import open_window_console

    factory = _pin_factory(args.simulate)
    console, close = open_window_console(device, SystemClock(), pin_factory=factory)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        if factory is not None:
            print(help_text(console.buttons), flush=True)
            threading.Thread(target=lambda: (drive(factory, console.buttons, read_keys()), stop.set()),
                             daemon=True).start()
        stop.wait()
    finally:
        close()
    return 0


def cmd_gpio_test(args: argparse.Namespace) -> int:
    from window_device.gpio_test import gpio_test

    return gpio_test(_console_config(args.config).console, pin_factory=_pin_factory(args.simulate))


def cmd_doctor(args: argparse.Namespace) -> int:
    from mfc_edge.cli.doctor import run_doctor

    return run_doctor(load_config(args.config))


def cmd_hub_devices(args: argparse.Namespace) -> int:
    from hub.api import Hub

    hub = Hub(args.data)
    try:
        devices = hub.device_health.devices(args.center)
    finally:
        hub.close()
    for d in devices:
        parts = ", ".join(f"{part} {p['status']} since {p['since'][:16]}" for part, p in d["parts"].items())
        role = f"{d['role']} {d['window']}" if d["window"] else d["role"]
        print(f"{d['id']:<16}{role:<12}{'revoked' if d['revoked'] else 'last seen ' + (d['last_seen'] or '-')[:19]}"
              f"  {_bundle_state(d['bundle'])}" + (f"  {parts}" if parts else ""))
    return 0


def _bundle_state(found: dict) -> str:
    running = f"bundle {found['running']}" if found["running"] else "no bundle"
    if found["up_to_date"] is None:
        return running
    return running + (" (up to date)" if found["up_to_date"] else f" (hub has {found['latest']})")


def cmd_status(args: argparse.Namespace) -> int:
    from mfc_edge.cli.status import status_lines

    for line in status_lines(load_config(args.config)):
        print(line)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from mfc_edge.cli.demo import run_demo

    return run_demo(headless=args.headless, out=Path(args.out))


def cmd_hub(args: argparse.Namespace) -> int:
    if (args.cert is None) != (args.key is None):
        print("mfc-edge: error: --cert and --key go together", file=sys.stderr)
        return 2
    from hub.server import serve

    serve(args.data, args.host, args.port, args.cert, args.key, priority_streak=args.priority_streak)
    return 0


def cmd_hub_enroll_code(args: argparse.Namespace) -> int:
    from hub.api import Hub
    from hub.identity import EnrollmentError

    hub = Hub(args.data)
    try:
        code = hub.identity.create_code(args.center, args.role, window=args.window)
    except EnrollmentError as exc:
        print(f"mfc-edge: error: {exc}", file=sys.stderr)
        return 2
    finally:
        hub.close()
    print(code)
    at = f" at window {args.window}" if args.window else ""
    print(f"one-time code for a {args.role}{at} of center {args.center}; valid 24 hours", file=sys.stderr)
    return 0


def cmd_hub_revoke(args: argparse.Namespace) -> int:
    from hub.api import Hub

    hub = Hub(args.data)
    try:
        revoked = hub.identity.revoke(args.center, args.device)
    finally:
        hub.close()
    print(f"{args.center}/{args.device}: " + ("revoked" if revoked else "no such active device"))
    return 0 if revoked else 1


def cmd_hub_add_operator(args: argparse.Namespace) -> int:
    import getpass

    from hub.api import Hub

    password = getpass.getpass("password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
    hub = Hub(args.data)
    try:
        hub.operators.add(args.center, args.login, args.name, password, args.role)
    except ValueError as exc:
        print(f"mfc-edge: error: {exc}", file=sys.stderr)
        return 2
    finally:
        hub.close()
    print(f"{args.role} {args.login} of center {args.center} can sign in at /console")
    return 0


def cmd_hub_publish(args: argparse.Namespace) -> int:
    from hub.api import Hub
    from hub.bundle_folder import PublishError

    hub = Hub(args.data)
    try:
        published = hub.bundles.publish_folder(args.folder, args.center, args.role)
    except PublishError as exc:
        print(f"mfc-edge: error: {exc}", file=sys.stderr)
        return 2
    finally:
        hub.close()
    print(f"published version {published.version} for {args.role} devices of center {args.center}: "
          f"{published.assets} assets, {published.total_size} bytes")
    if published.removed_blobs:
        print(f"deleted {published.removed_blobs} assets no recent bundle uses ({published.freed_bytes} bytes)")
    return 0


def cmd_hub_set_center(args: argparse.Namespace) -> int:
    from hub.api import Hub
    from hub.centers import CenterError

    hub = Hub(args.data)
    try:
        found = hub.centers.set(args.center, args.timezone, args.name)
    except CenterError as exc:
        print(f"mfc-edge: error: {exc}", file=sys.stderr)
        return 2
    finally:
        hub.close()
    name = f" ({found['name']})" if found["name"] else ""
    print(f"center {found['id']}{name}: time zone {found['timezone']}")
    return 0


def cmd_enroll(args: argparse.Namespace) -> int:
    import requests

    from offline_cache.sync import save_token

    device = load_config(args.config)
    hub_url = (args.hub or device.hub_url or "").rstrip("/")
    if not hub_url:
        raise ConfigError(f"{args.config}: [hub] url is missing and no --hub was given")
    try:
        reply = requests.post(f"{hub_url}/api/v1/enroll", json={"code": args.code, "device_id": device.device_id},
                              timeout=15, verify=device.hub_ca_file or True)
    except requests.RequestException as exc:
        print(f"mfc-edge: error: cannot reach the hub at {hub_url}: {exc}", file=sys.stderr)
        return 1
    if reply.status_code != 200:
        detail = reply.json().get("detail") if reply.headers.get("content-type", "").startswith("application/json") else reply.text
        print(f"mfc-edge: error: the hub refused the code: {detail}", file=sys.stderr)
        return 1
    answer = reply.json()
    if answer["center"] != device.center_id:
        print(f"mfc-edge: error: the code is for center {answer['center']!r}, this device is configured for "
              f"{device.center_id!r}", file=sys.stderr)
        return 1
    own_window = device.console.window if device.console else None
    if own_window and answer.get("window") != own_window:
        given = f"window {answer['window']}" if answer.get("window") else "no window"
        print(f"mfc-edge: error: the code was made for {given}, this console is at window {own_window}; "
              f"make a new code with `mfc-edge hub enroll-code --role console --window {own_window}`",
              file=sys.stderr)
        return 1
    path = save_token(device.data_dir, answer["token"])
    print(f"enrolled {device.device_id} ({answer['role']}) with center {answer['center']}; token saved to {path}")
    _pin_bundle_key(device.data_dir, answer.get("bundle_key"))
    return 0


def _pin_bundle_key(data_dir: Path, encoded: object) -> None:
    """Keep the hub's bundle-signing key: from now on only bundles it signed are used."""
    import base64
    import binascii

    from offline_cache.content import save_bundle_key

    try:
        key = base64.b64decode(encoded, validate=True) if isinstance(encoded, str) else b""
        print(f"hub's bundle-signing key pinned in {save_bundle_key(data_dir, key)}")
    except (binascii.Error, ValueError):
        print("mfc-edge: warning: the hub sent no usable bundle key; this device will not accept content bundles",
              file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mfc-edge",
        description="Devices of a public-service center: ticket kiosk, printers, and tools for technicians.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        return p

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
    p.add_argument("--port", type=int, default=9100, help="TCP port (default 9100)")
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

    p = add("hub", cmd_hub, "Run the center's hub: enrollment, event sync and the live queue (OpenAPI at /docs).")
    p.add_argument("--data", type=Path, default=Path("var/hub"), help="the hub's data folder (default var/hub)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    p.add_argument("--cert", type=Path, help="TLS certificate (PEM); with --key the hub speaks HTTPS")
    p.add_argument("--key", type=Path, help="TLS private key (PEM)")
    p.add_argument("--priority-streak", type=int, default=3, choices=range(1, 21), metavar="N",
                   help="at most N priority tickets called in a row at a window while others wait (default 3)")
    hub_sub = p.add_subparsers(dest="hub_command", metavar="HUB_COMMAND")
    q = hub_sub.add_parser("enroll-code", help="Make a one-time enrollment code for a device.",
                           description="Make a one-time enrollment code for a device; valid 24 hours.")
    q.add_argument("--data", type=Path, default=Path("var/hub"), help="the hub's data folder")
    q.add_argument("--center", required=True, help="center id")
    q.add_argument("--role", required=True, choices=("kiosk", "signage", "console"), help="the device's role")
    q.add_argument("--window", help="for a console: the window it stands at; its keypad acts and its ratings "
                                    "count only there")
    q.set_defaults(func=cmd_hub_enroll_code)
    q = hub_sub.add_parser("revoke", help="Refuse a device's token from now on.",
                           description="Refuse a device's token from now on.")
    q.add_argument("--data", type=Path, default=Path("var/hub"), help="the hub's data folder")
    q.add_argument("--center", required=True, help="center id")
    q.add_argument("--device", required=True, help="device id")
    q.set_defaults(func=cmd_hub_revoke)
    q = hub_sub.add_parser("add-operator", help="Add or update an operator account (password from stdin).",
                           description="Add or update an operator account; the password is asked for, or read "
                                       "from standard input when it is not a terminal.")
    q.add_argument("--data", type=Path, default=Path("var/hub"), help="the hub's data folder")
    q.add_argument("--center", required=True, help="center id")
    q.add_argument("--login", required=True, help="sign-in name")
    q.add_argument("--name", required=True, help="the name shown on the console")
    q.add_argument("--role", choices=("operator", "supervisor"), default="operator")
    q.set_defaults(func=cmd_hub_add_operator)
    q = hub_sub.add_parser("publish", help="Publish a folder as the next signed content bundle for a role.",
                           description="Publish every file of a folder (hidden ones skipped) as the next signed "
                                       "content bundle for the devices of a center with the given role. A kiosk "
                                       "bundle holds catalog.toml and/or kiosk.toml; a signage bundle playlist.toml.")
    q.add_argument("folder", type=Path, help="the folder to publish")
    q.add_argument("--data", type=Path, default=Path("var/hub"), help="the hub's data folder")
    q.add_argument("--center", required=True, help="center id")
    q.add_argument("--role", required=True, choices=("kiosk", "signage"), help="the devices it is for")
    q.set_defaults(func=cmd_hub_publish)

    q = hub_sub.add_parser("devices", help="List a center's devices with their printer and button status.",
                           description="List a center's devices: last contact, printer status, stuck buttons.")
    q.add_argument("--data", type=Path, default=Path("var/hub"), help="the hub's data folder")
    q.add_argument("--center", required=True, help="center id")
    q.set_defaults(func=cmd_hub_devices)

    q = hub_sub.add_parser("set-center", help="Set a center's time zone (and name).",
                           description="Set a center's time zone, used for its load chart (visitors by weekday "
                                       "and hour in local time). A center never set is in Europe/Moscow.")
    q.add_argument("--data", type=Path, default=Path("var/hub"), help="the hub's data folder")
    q.add_argument("--center", required=True, help="center id")
    q.add_argument("--timezone", required=True,
                   help="IANA time zone, e.g. Europe/Moscow, Asia/Yekaterinburg (default for unset centers: "
                        "Europe/Moscow)")
    q.add_argument("--name", help="the center's name (kept as it was when not given)")
    q.set_defaults(func=cmd_hub_set_center)

    p = add("console", cmd_console, "Run a window's hardware: rating buttons, call-a-specialist button, keypad.")
    p.add_argument("--config", "-c", required=True, type=Path, help="the device's TOML file")
    p.add_argument("--simulate", action="store_true",
                   help="simulated pins; keys 1-5 rate, h calls a specialist, n/r/x/d are the keypad, q quits")
    p = add("gpio-test", cmd_gpio_test, "Walk through every configured button, LED and buzzer (exit 1 if one fails).")
    p.add_argument("--config", "-c", required=True, type=Path, help="the device's TOML file")
    p.add_argument("--simulate", action="store_true", help="simulated pins (to try the walk-through)")
    p = add("doctor", cmd_doctor, "Check printer, GPIO, display, hub and token, clock, disk and outbox; "
            "one line each, exit 1 if any fails.")
    p.add_argument("--config", "-c", required=True, type=Path, help="the device's TOML file")

    p = add("status", cmd_status, "Say which content bundle this device runs and whether the hub has a newer one.")
    p.add_argument("--config", "-c", required=True, type=Path, help="the device's TOML file")

    p = add("enroll", cmd_enroll, "Enroll this device with its hub using a one-time code from a technician.")
    p.add_argument("--config", "-c", required=True, type=Path, help="the device's TOML file")
    p.add_argument("--code", required=True, help="the code from `mfc-edge hub enroll-code`")
    p.add_argument("--hub", help="hub URL (default: [hub] url of the config)")

    p = add("check-config", cmd_check_config, "Validate a device's TOML file and the service catalog.")
    config_args(p)
    return parser


def _not_escpos_chatter(record: logging.LogRecord) -> bool:
    # python-escpos logs every connect and close on the root logger at INFO.
    return record.levelno > logging.INFO or "escpos" not in record.pathname


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not args.verbose:
        for handler in logging.getLogger().handlers:
            handler.addFilter(_not_escpos_chatter)
    try:
        return args.func(args)
    except (ConfigError, CatalogError) as exc:
        print(f"mfc-edge: error: {exc}", file=sys.stderr)
        return 2


