"""The demo: a center in a box. A hub, a kiosk with a virtual printer, and the operator
console, all on loopback.

With a display it opens the kiosk window and prints where the console is. Headless it runs
a scripted visit: visitors take tickets at the kiosk, the kiosk syncs them to the hub, an
operator signs in to the console in a headless browser and calls the first ticket, and the
visitor's phone page follows. Every screen is saved as a PNG, every ticket as ESC/POS bytes
and a preview.

The hub runs in this process and shares the kiosk's clock, so the whole visit happens on
one Monday morning whatever the real date.
"""
from __future__ import annotations

import shutil
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

DEMO_OPERATOR = ("operator", "demo-operator-2026", "Иванова Мария")
WINDOW_CONSOLE = """\
# The demo's window console: smiley buttons at window 5 and a call-a-specialist button,
# on simulated pins. See mfc_edge/data/console.example.toml for a real one.
[center]
id = "strogino"
name = "Центр госуслуг района Строгино"
timezone = "Europe/Moscow"

[device]
id = "console-5"
role = "console"
data_dir = "console-data"

[console]
window = "5"

[rating]
buttons = [5, 6, 13, 19, 26]
leds = [12, 16, 20, 21, 25]

[help_button]
pin = 4
led = 24
point = "Вход, кнопка вызова специалиста"

[hub]
url = "{hub_url}"
"""
DEMO_WINDOW = "5"
CHROMIUM_NAMES = ("chromium", "chromium-browser")


def run_demo(*, headless: bool, out: Path) -> int:
    from hardware.display import has_display, prepare_kivy

    headless = headless or not has_display()
    prepare_kivy((1280, 800), headless=headless)
    if headless:
        return _scripted(out)
    return _interactive(out)


class CenterInABox:
    """A hub in a thread, one enrolled kiosk with a virtual printer, one operator account."""

    def __init__(self, folder: Path, tickets: Path, clock):
        from hardware.virtual_printer import VirtualPrinter
        from hub.api import Hub
        from hub.server import HubThread

        self.folder, self.clock = folder, clock
        self.hub = Hub(folder / "hub", clock=clock)
        login, password, name = DEMO_OPERATOR
        self.hub.operators.add("strogino", login, name, password)
        self.server = HubThread(self.hub).start()
        self.printer = VirtualPrinter(tickets).start()
        self.kiosk = self.console = self.window_device = None

    def open_kiosk(self):
        from kiosk.wiring import open_kiosk
        from mfc_edge.cli.demo_kiosk import write_config

        device = self.enroll(write_config(self.folder, self.printer.port, self.server.url), "kiosk")
        self.kiosk = open_kiosk(device, self.clock)
        return self.kiosk

    def open_window_console(self):
        """Window 5's smiley buttons and the entrance's help button, on simulated pins."""
        from gpiozero.pins.mock import MockFactory

        from window_device.wiring import open_window_device

        config = self.folder / "console.toml"
        config.write_text(WINDOW_CONSOLE.format(hub_url=self.server.url), encoding="utf-8")
        device = self.enroll(config, "console", window="5")
        self.pins = MockFactory()
        self.window_device = open_window_device(device, self.clock, pin_factory=self.pins)
        self.console = self.window_device.console
        return self.console

    def enroll(self, config: Path, role: str, window: str | None = None):
        """A technician's enrollment: a code from the hub, given to the device."""
        from mfc_edge.config import load_config
        from offline_cache.enrollment import enroll

        device = load_config(config)
        enroll(device, self.hub.identity.create_code("strogino", role, window=window))
        return device

    def press(self, button: str) -> None:
        """A visitor presses one of the console's buttons (1-5: the smileys, help)."""
        from hardware.simulated_keys import press

        press(self.pins, self.console.buttons[button])

    def publish_kiosk_bundle(self) -> None:
        """The content editor publishes the service catalog as a signed kiosk bundle."""
        from mfc_edge.catalog import BUNDLED_CATALOG
        from mfc_edge.cli.demo_kiosk_consult import add_kids_room

        folder = self.folder / "kiosk-bundle"
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(BUNDLED_CATALOG, folder / "catalog.toml")
        add_kids_room(folder)
        self.hub.bundles.publish_folder(folder, "strogino", "kiosk")

    def wait_for_bundle(self, timeout: float = 20) -> int:
        """The version of the bundle the kiosk applied from the hub."""
        deadline = time.monotonic() + timeout
        while (last := self.kiosk.bundles.last) is None or last.status not in ("applied", "unchanged"):
            if time.monotonic() > deadline or (last and last.status == "refused"):
                raise RuntimeError(f"the kiosk did not apply the published bundle: {last}")
            time.sleep(0.05)
        return last.version

    def wait_synced(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while self.kiosk.store.outbox_size():
            if time.monotonic() > deadline:
                raise RuntimeError("the kiosk's tickets did not reach the hub")
            self.kiosk.sync.wake()
            time.sleep(0.05)

    def close(self) -> None:
        if self.window_device:
            self.window_device.close()
        if self.kiosk:
            self.kiosk.close()
        self.printer.stop()
        self.server.stop()
        self.hub.close()


def _interactive(out: Path) -> int:
    from hardware.clock import SystemClock
    from kiosk.app import KioskApp
    from mfc_edge.cli.kiosk_attract import attract_loop

    workdir = Path(tempfile.mkdtemp(prefix="mfc-edge-demo-"))
    clock = SystemClock()
    center = CenterInABox(workdir, out / "tickets", clock)
    try:
        center.publish_kiosk_bundle()
        kiosk = center.open_kiosk()
        center.open_window_console()
        login, password, _ = DEMO_OPERATOR
        print(f"Kiosk window open; printed tickets go to {out / 'tickets'}\n"
              f"Operator console: {center.server.url}/console  (center strogino, login {login}, "
              f"password {password})\n"
              f"Window {DEMO_WINDOW}'s console: keys 1-5 press its smileys (1 the worst), h the help button",
              flush=True)
        _keys_press_buttons(center)
        KioskApp(kiosk.device, kiosk.catalog, kiosk.desk, clock, kiosk.catalog_updates,
                 load_figures=kiosk.load_figures, attract=attract_loop(kiosk, clock), kids_room=kiosk.kids_room,
                 notices=kiosk.notices).run()
    finally:
        center.close()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def _keys_press_buttons(center: CenterInABox) -> None:
    """In the kiosk's window, keys press the window console's simulated buttons."""
    import threading

    from kivy.core.window import Window

    from hardware.simulated_keys import KEYS

    def key_down(_window, _key, _scancode, text, _modifiers) -> None:
        name = KEYS.get((text or "").lower())
        if name in center.console.buttons:  # a press takes a moment: not on the screen's thread
            threading.Thread(target=center.press, args=(name,), daemon=True).start()

    Window.bind(on_key_down=key_down)


def _scripted(out: Path) -> int:
    from hardware.clock import ManualClock
    from kiosk.app import KioskApp
    from kiosk.headless import HeadlessKiosk
    from mfc_edge.cli.demo_bookings import import_bookings
    from mfc_edge.cli.demo_bookings_console import bookings_console_scene, call_booked
    from mfc_edge.cli.demo_checkin import checkin_scenes
    from mfc_edge.cli.demo_city import city_scene
    from mfc_edge.cli.demo_kids import kids_scene
    from mfc_edge.cli.demo_kiosk import VISIT_START, scripted_visit, show_closed
    from mfc_edge.cli.demo_kiosk_consult import consult_scenes
    from mfc_edge.cli.demo_kiosk_info import info_scenes
    from mfc_edge.cli.demo_notices import notices_scene
    from mfc_edge.cli.demo_reports import reports_scene
    from mfc_edge.cli.demo_screen import seed_history
    from mfc_edge.cli.demo_visits import visits_scene
    from mfc_edge.cli.kiosk_attract import attract_loop

    for part in ("screens", "tickets", "data", "console-data", "hub", "kiosk-bundle", "kiosk.toml", "console.toml",
                 "screen-data", "screen.toml", "signage-bundle", "announcements", "screen-2-data",
                 # a second run's kiosk would find the release installed
                 "kiosk-software", "release", "city-postgres", "hub-2", "backups", "city-content"):
        target = out / part
        shutil.rmtree(target, ignore_errors=True) if target.is_dir() else target.unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    shots = out / "screens"
    clock = ManualClock(VISIT_START)
    center = CenterInABox(out, out / "tickets", clock)
    try:
        # Eight weeks of past visits before the day starts: the kiosk's «Когда лучше прийти» and
        # the hall screen's chart both draw the center's load from them.
        seed_history(center.hub, "strogino", clock.now().astimezone(VISIT_START.tzinfo))
        center.publish_kiosk_bundle()
        kiosk = center.open_kiosk()
        center.open_window_console()
        bundle_version = center.wait_for_bundle()
        booked = import_bookings(center)  # the day's bookings, before the first visitor
        app = KioskApp(kiosk.device, kiosk.catalog, kiosk.desk, clock, kiosk.catalog_updates,
                       load_figures=kiosk.load_figures, attract=attract_loop(kiosk, clock),
                       kids_room=kiosk.kids_room, notices=kiosk.notices, bookings=kiosk.bookings,
                       applications=kiosk.applications)
        with HeadlessKiosk(app, (1280, 800)) as k:
            scripted_visit(k, app, kiosk, center.printer, clock, shots)
            info_scenes(k, app, clock, shots)
            consulted = consult_scenes(k, shots)
            center.wait_synced()
            first = kiosk.store.tickets()[0]
            clock.advance(minutes=6)
            called = _console_calls(center, first, shots)
            after_console = clock.now()
            # The booked visitors check in once the console has called the walk-in it shows:
            # from their slots on, the queue would call them first.
            booked += "\n" + checkin_scenes(k, app, shots)
            center.wait_synced()
            show_closed(k, app, clock, shots)
        clock.set(after_console + timedelta(minutes=2))  # the hall's screen, back in opening hours
        called_booked = call_booked(center)  # the booked visitors just checked in, by their slots
        shown = _hall_screen(center, out, shots) + "\n" + consulted + "\n" + booked
        shown += "\n" + kids_scene(center, out, shots)
        shown += "\n" + notices_scene(center, out, shots)
        shown += "\n" + bookings_console_scene(center, called_booked, shots)
        shown += "\n" + visits_scene(center, shots)  # hold and return, a visit of several services
        shown += "\n" + reports_scene(center, shots)  # the supervisor's report of the day, with its chart
        shown += "\n" + city_scene(center, out, shots)  # a city of two centers on PostgreSQL
    finally:
        center.close()
    tickets = sorted((out / "tickets").glob("job-*"))
    print(f"Demo finished. The kiosk took its service catalog from signed bundle {bundle_version}, "
          f"published on the hub.\n{called}\n{shown}\nScreenshots: {shots}  "
          f"Printed tickets (bytes and previews): {out / 'tickets'}")
    for path in sorted(shots.glob("*.png")) + tickets:
        print(f"  {path}")
    return 0


def _hall_screen(center: CenterInABox, out: Path, shots: Path) -> str:
    """The waiting area's screen: the next call made at window 3 appears on it, beside the load
    chart of the past visits, and is announced."""
    from mfc_edge.cli.demo_devices import devices_scene
    from mfc_edge.cli.demo_release import release_scene
    from mfc_edge.cli.demo_screen import open_demo_screen, publish_screen_bundle, screen_scene

    publish_screen_bundle(out / "signage-bundle", center.hub, "strogino")
    device, screen = open_demo_screen(out, center.hub, center.server.url, center.clock, out / "announcements")

    def call_next() -> str:
        queue, login = center.hub.queue, DEMO_OPERATOR[0]
        service = next(s for s, w in queue.waiting("strogino").items() if w["count"])
        queue.open_window("strogino", "3", [service], login)
        return queue.call_next("strogino", "3", [service])["number"]

    try:
        shown = screen_scene(device, screen, center.clock, call_next, shots)
        # While this screen still runs: the fleet, with a second screen gone dark, then a software release.
        shown += "\n" + devices_scene(center, [center.kiosk, center.window_device, screen], out, shots)
        return shown + "\n" + release_scene(center, out, shots)
    finally:
        screen.close()


def _console_calls(center: CenterInABox, ticket, shots: Path) -> str:
    """An operator opens window 5 for the ticket's service and calls the next visitor, in
    the real console page; the visitor's phone page is shown before and after."""
    from playwright.sync_api import sync_playwright

    from mfc_edge.cli.demo_phone import open_next_in_line, you_are_next

    url = center.server.url
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), args=["--no-sandbox", "--disable-gpu"])
        try:
            # Visitors' phones and operators' PCs in the center are on Moscow time.
            local = {"timezone_id": "Europe/Moscow", "locale": "ru-RU"}
            phone = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2, **local)
            phone.goto(f"{url}/t/{ticket.status_token}")
            phone.screenshot(path=str(shots / "16-phone-waiting.png"))
            behind = open_next_in_line(browser, url, center, ticket)  # the phone of the visitor behind

            console = signed_in_console(browser, url, DEMO_OPERATOR, height=768)
            console.fill("#window", DEMO_WINDOW)
            console.check(f"#services input[value='{ticket.service_id}']")
            console.click("#open-window")
            console.wait_for_selector("#call-next:enabled")
            console.screenshot(path=str(shots / "17-console-window-open.png"))
            console.click("#call-next")
            console.wait_for_selector(f"#current:has-text('{ticket.number}')")
            console.screenshot(path=str(shots / "18-console-called.png"))
            next_said = you_are_next(behind, shots)

            phone.reload()
            phone.wait_for_selector(f"text=Пройдите к окну {DEMO_WINDOW}")
            phone.screenshot(path=str(shots / "19-phone-called.png"))

            center.clock.advance(minutes=9)
            console.click("#finish")
            console.wait_for_selector("#current:has-text('—')")
            _wait(lambda: center.console.served_ticket() == ticket.id, "the rating console to learn who was served")
            center.press("rating-5")  # the visitor rates the service: the happiest smiley
            console.wait_for_selector(f"#ratings:has-text('окно {DEMO_WINDOW}')")
            center.press("help")  # at the entrance, someone calls a specialist
            console.wait_for_selector("#help:visible")
            console.screenshot(path=str(shots / "20-console-rating-and-help.png"))
            return (f"Ticket {ticket.number} was issued at the kiosk and called to window {DEMO_WINDOW} from the "
                    f"console; the visitor rated the service on window {DEMO_WINDOW}'s smiley buttons, and the "
                    f"entrance's help button reached the operators. {next_said}")
        finally:
            browser.close()


def _wait(condition, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"the demo waited in vain for {what}")
        time.sleep(0.05)


def signed_in_console(browser: Any, url: str, account: tuple[str, str, str], height: int = 900) -> Any:
    """A page of the operator console on a PC in the center (Moscow time), signed in as `account`
    (login, password, name)."""
    login, password, name = account
    page = browser.new_page(viewport={"width": 1366, "height": height}, timezone_id="Europe/Moscow", locale="ru-RU")
    page.goto(f"{url}/console")
    page.fill("#center", "strogino")
    page.fill("#login", login)
    page.fill("#password", password)
    page.click("#sign-in")
    page.wait_for_selector(f"#who:has-text('{name}')")
    return page


def _chromium() -> str:
    for name in CHROMIUM_NAMES:
        if found := shutil.which(name):
            return found
    raise RuntimeError("the headless demo drives the operator console in Chromium: install it "
                       "(Debian: apt-get install chromium)")
