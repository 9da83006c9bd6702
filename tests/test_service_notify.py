"""What the devices tell systemd, read from a real AF_UNIX datagram socket standing in for
systemd's $NOTIFY_SOCKET: READY only after the first frame (kiosk) or the first read of the
pins (window console), watchdog pings while the loop runs, silence while it is frozen."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from gpiozero.pins.mock import MockFactory

from mfc_edge.config import load_config
from mfc_edge.service_notify import ServiceNotifier
from offline_cache.outbox import DeviceStore
from tests.helpers.devices import write_config
from tests.helpers.hubprocess import free_port
from tests.helpers.window import write_console_config
from window_device.window_console import WindowConsole

WATCHDOG_USEC = 200_000  # pings every 0.1 s


class FakeSystemd:
    """The notify socket: every datagram received, with the monotonic time it arrived."""

    def __init__(self, folder: Path):
        self.path = folder / "notify"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(self.path))
        self.sock.settimeout(0.05)
        self.received: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            self.received.append((time.monotonic(), data.decode()))

    def env(self, **extra: str) -> dict[str, str]:
        return {"NOTIFY_SOCKET": str(self.path), "WATCHDOG_USEC": str(WATCHDOG_USEC), **extra}

    def times(self, field: str) -> list[float]:
        return [at for at, message in list(self.received) if field in message.split("\n")]

    def wait_for(self, field: str, timeout: float = 10.0) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.times(field):
                return self.times(field)[0]
            time.sleep(0.01)
        raise AssertionError(f"no {field} within {timeout} s; got {self.received}")

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture
def systemd(tmp_path):
    fake = FakeSystemd(tmp_path)
    yield fake
    fake.close()


def pings_between(systemd: FakeSystemd, start: float, end: float) -> list[float]:
    return [t for t in systemd.times("WATCHDOG=1") if start < t < end]


def largest_gap(times: list[float]) -> float:
    return max(b - a for a, b in zip(times, times[1:], strict=False))


# --- the protocol ---------------------------------------------------------------------------

def test_messages_are_datagrams_of_key_value_lines(systemd):
    notifier = ServiceNotifier(systemd.env())
    assert notifier.enabled and notifier.watchdog_interval == pytest.approx(0.1)
    notifier.ready("kiosk: showing")
    notifier.status("closed, printer ok")
    notifier.status("closed, printer ok")  # unchanged: not sent again
    notifier.ping()
    notifier.stopping()
    systemd.wait_for("STOPPING=1")
    assert [m for _, m in systemd.received] == ["READY=1\nSTATUS=kiosk: showing", "STATUS=closed, printer ok",
                                                "WATCHDOG=1", "STOPPING=1"]
    notifier.close()


def test_an_abstract_socket_name_starts_with_an_at_sign():
    name = f"mfc-edge-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(b"\0" + name.encode())
        sock.settimeout(2)
        notifier = ServiceNotifier({"NOTIFY_SOCKET": "@" + name})
        notifier.ready()
        notifier.close()
        assert sock.recv(100) == b"READY=1"


def test_nothing_happens_outside_systemd_or_for_another_process(caplog):
    quiet = ServiceNotifier({})
    assert not quiet.enabled and quiet.watchdog_interval is None
    quiet.ready()
    quiet.ping()  # no socket, no error
    other = ServiceNotifier({"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"})
    assert other.watchdog_interval is None  # the watchdog watches PID 1, not us
    mine = ServiceNotifier({"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())})
    assert mine.watchdog_interval == 15.0
    assert ServiceNotifier({"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "soon"}).watchdog_interval is None


def test_a_socket_that_went_away_is_logged_once_and_never_raises(tmp_path, caplog):
    notifier = ServiceNotifier({"NOTIFY_SOCKET": str(tmp_path / "gone")})
    for _ in range(3):
        notifier.ping()
    notifier.close()
    warnings = [r for r in caplog.records if "cannot tell systemd" in r.getMessage()]
    assert len(warnings) == 1 and "WATCHDOG" in warnings[0].getMessage()


def test_a_loop_that_turns_often_pings_once_per_interval(systemd):
    now = [100.0]
    notifier = ServiceNotifier(systemd.env(), monotonic=lambda: now[0])
    for _ in range(50):  # 0.5 s of a 10 ms loop
        notifier.ping_if_due()
        now[0] += 0.01
    notifier.close()
    time.sleep(0.2)
    assert len(systemd.times("WATCHDOG=1")) == 5


# --- the kiosk's Kivy loop --------------------------------------------------------------------

def run_frames(screens, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        screens.frames(1)
        time.sleep(0.005)


@pytest.mark.slow
def test_the_kiosk_is_ready_after_its_first_frame_and_pings_only_while_its_loop_turns(systemd, kiosk, clock):
    from kivy.base import EventLoop
    from kivy.clock import Clock
    from kivy.core.window import Window

    from kiosk.app import KioskApp
    from kiosk.headless import HeadlessKiosk

    EventLoop.ensure_window()
    flips: list[float] = []
    record_flip = lambda *_: flips.append(time.monotonic())  # noqa: E731
    Window.bind(on_flip=record_flip)
    app = KioskApp(kiosk.device, kiosk.catalog, kiosk.desk, clock, notifier=ServiceNotifier(systemd.env()))
    try:
        with HeadlessKiosk(app, (1280, 800)) as screens:
            ready = systemd.wait_for("READY=1")
            assert flips and flips[0] < ready, "READY before any frame was drawn"
            assert len(systemd.times("READY=1")) == 1

            start = time.monotonic()
            run_frames(screens, 1.0)
            running = pings_between(systemd, start, time.monotonic())
            assert len(running) >= 6 and largest_gap(running) < 0.3, running

            # A callback that never returns freezes Kivy's loop, as a hung screen would; the
            # kiosk's other threads (printer monitor, sync) go on and must not ping for it.
            release, frozen = threading.Event(), []
            Clock.schedule_once(lambda _dt: (frozen.append(time.monotonic()), release.wait(5)))
            threading.Timer(1.0, release.set).start()
            screens.frames(2)
            thawed = time.monotonic()
            assert frozen and thawed - frozen[0] >= 0.9
            assert pings_between(systemd, frozen[0] + 0.05, thawed - 0.05) == []

            run_frames(screens, 0.5)
            assert len(pings_between(systemd, thawed, time.monotonic())) >= 3
    finally:
        Window.unbind(on_flip=record_flip)
    systemd.wait_for("STOPPING=1")  # the app said it was stopping as it closed


@pytest.mark.slow
def test_the_kiosk_command_reports_to_the_notify_socket_it_is_given(systemd, tmp_path, printer):
    text = write_config(tmp_path, printer_uri=printer.uri).read_text().replace("https://hub.example.org",
                                                                               "http://127.0.0.1:9")
    (tmp_path / "kiosk.toml").write_text(text)
    env = {**os.environ, **systemd.env(), "SDL_VIDEODRIVER": "offscreen", "KIVY_HOME": str(tmp_path / "kivy")}
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    process = subprocess.Popen([sys.executable, "-m", "mfc_edge.cli", "kiosk", "-c", str(tmp_path / "kiosk.toml"),
                                "--size", "800x480"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        ready = systemd.wait_for("READY=1", timeout=60)
        time.sleep(0.5)
        assert len([t for t in systemd.times("WATCHDOG=1") if t > ready]) >= 3
        assert any(m.startswith("STATUS=open, printer") for _, m in systemd.received), systemd.received
    finally:
        process.terminate()  # SDL turns SIGTERM into a quit event: the app closes as systemd asks
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err.decode()[-2000:]
    systemd.wait_for("STOPPING=1")


def test_the_waiting_area_screen_is_ready_after_its_first_frame_and_says_what_it_waits_for(systemd, tmp_path):
    from kivy.base import EventLoop
    from kivy.core.window import Window

    from hardware.audio import SimulatedOutput
    from hardware.clock import ManualClock
    from hardware.headless_display import HeadlessDisplay
    from hardware.panel_power import SimulatedPanel
    from signage.app import SignageApp
    from signage.wiring import open_screen
    from tests.helpers.day import at
    from tests.helpers.signage import screen_config

    device = load_config(screen_config(tmp_path, extra="wake_before = 30"))
    clock = ManualClock(at(7, 29))  # half an hour before opening: asleep
    screen = open_screen(device, clock, audio=SimulatedOutput())
    panel = SimulatedPanel()
    app = SignageApp(device, screen, clock, notifier=ServiceNotifier(systemd.env()), panel=panel)
    EventLoop.ensure_window()
    flips: list[float] = []
    record_flip = lambda *_: flips.append(time.monotonic())  # noqa: E731
    Window.bind(on_flip=record_flip)
    try:
        with HeadlessDisplay(app, (960, 540)) as shown:
            ready = systemd.wait_for("READY=1")
            assert flips and flips[0] < ready
            shown.frames(2)
            assert systemd.wait_for("STATUS=waiting for the hub's queue")
            assert panel.changes == ["sleep"]
            clock.set(at(7, 30))
            app.panel_schedule.update()
            assert panel.changes == ["sleep", "wake"]
    finally:
        Window.unbind(on_flip=record_flip)
        screen.close()
    systemd.wait_for("STOPPING=1")


# --- the window console's ticker ----------------------------------------------------------------

def test_the_window_console_is_ready_after_reading_its_pins_and_pings_from_its_ticker(systemd, tmp_path, clock):
    device = load_config(write_console_config(tmp_path))
    store = DeviceStore(tmp_path / "console.sqlite", center_id="strogino", device_id="console-5", clock=clock)
    console = WindowConsole(device, store, pin_factory=MockFactory(), notifier=ServiceNotifier(systemd.env()))
    time.sleep(0.2)
    assert systemd.received == []  # built, but no pin read yet
    gate = threading.Event()
    gate.set()
    first_button = next(iter(console.buttons.values()))
    poll = first_button.poll
    first_button.poll = lambda: (gate.wait(5), poll())  # type: ignore[method-assign]
    console.start()
    try:
        ready = systemd.wait_for("READY=1")
        assert any(f"{len(console.buttons)} buttons read" in m for _, m in systemd.received)
        time.sleep(0.5)
        assert len(pings_between(systemd, ready, time.monotonic())) >= 3

        gate.clear()  # the ticker hangs on a pin read
        time.sleep(0.1)
        hung = time.monotonic()
        time.sleep(0.6)
        assert pings_between(systemd, hung + 0.05, time.monotonic()) == []
        gate.set()
        thawed = time.monotonic()
        time.sleep(0.4)
        assert len(pings_between(systemd, thawed, time.monotonic())) >= 2
    finally:
        gate.set()
        console.close()
        store.close()
    systemd.wait_for("STOPPING=1")


@pytest.mark.slow
def test_the_hub_is_ready_once_it_answers_and_says_stopping_when_asked_to_end(systemd, tmp_path):
    port = free_port()
    env = {**os.environ, **systemd.env()}
    process = subprocess.Popen([sys.executable, "-m", "mfc_edge.cli", "hub", "--data", str(tmp_path / "hub"),
                                "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        systemd.wait_for("READY=1", timeout=30)
        # READY comes after the socket listens: the hub answers at once.
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
        assert any("STATUS=serving on port " + str(port) in m.split("\n") for _, m in systemd.received), \
            systemd.received
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    # uvicorn ends by raising the SIGTERM again once shut down, which systemd counts as a clean stop
    assert process.returncode in (0, -signal.SIGTERM), err.decode()[-2000:]
    assert b"Application shutdown complete" in err
    systemd.wait_for("STOPPING=1")
