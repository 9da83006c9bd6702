"""`mfc-edge console`: a window's hardware put together from its device file.

Rating buttons, the help button and the keypad are built on one pin factory (real pins on
a Raspberry Pi, gpiozero's MockFactory in tests and `--simulate`). Ratings, help requests
and stuck buttons become outbox events in the device's own store, which the sync agent
pushes to the hub whenever it can. A ticker thread polls the buttons (debounce catch-up,
stuck detection); the hub tells a third who is at the window the moment it changes (a long
poll, window_link.WindowStatePoller), so the keypad's display follows a call made on the web
console at once; a fourth asks what became of a help request. A slow network never delays a
press. The ticker is also what tells systemd
the console is up (after its first read of the pins) and alive (watchdog pings): a hung
ticker is a console whose buttons do nothing, and systemd restarts it.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from gpiozero.pins import Factory

from hardware.buttons import Beeper, DebouncedButton, Indicator
from mfc_edge import protocol
from mfc_edge.config import DeviceConfig
from mfc_edge.service_notify import ServiceNotifier
from mfc_edge.times import service_day
from offline_cache.outbox import DeviceStore
from window_device.help_button import HelpButton
from window_device.keypad import Keypad, KeypadError, TerminalDisplay, TextDisplay
from window_device.rating_console import RatingConsole
from window_device.window_link import LinkError, WindowLink, WindowStatePoller

log = logging.getLogger(__name__)

TICK_S = 0.01
HUB_POLL_S = 1.0  # the help request's state; the window's too while its push does not work
SERVED_FRESH_S = 30.0  # an older answer about the window may name the previous visitor
HELP_REQUEST = "help_request"  # the store's key for the help request under way


class WindowConsole:
    def __init__(self, device: DeviceConfig, store: DeviceStore, link: WindowLink | None = None, *,
                 pin_factory: Factory | None = None, clock: Callable[[], float] = time.monotonic,
                 display: TextDisplay | None = None, on_event: Callable[[], None] = lambda: None,
                 notifier: ServiceNotifier | None = None):
        cfg = device.console
        if cfg is None:
            raise ValueError(f"{device.path}: no [rating], [help_button] or [keypad]: nothing to run")
        self.device, self.store, self.link, self.clock = device, store, link, clock
        self.window, self.on_event = cfg.window, on_event
        self.notifier = notifier or ServiceNotifier()
        self._ready = False
        self.buttons: dict[str, DebouncedButton] = {}
        self.leds: dict[str, Indicator] = {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

        def button(pin: int, name: str) -> DebouncedButton:
            self.buttons[name] = DebouncedButton(pin, name, pin_factory=pin_factory, clock=clock,
                                                 debounce_s=cfg.debounce_ms / 1000)
            self.buttons[name].on_stuck = lambda: self.record(protocol.BUTTON_STUCK, {"button": name, "pin": pin})
            self.buttons[name].on_unstuck = lambda: self.record(protocol.BUTTON_RELEASED, {"button": name, "pin": pin})
            return self.buttons[name]

        def led(pin: int | None, name: str) -> Indicator | None:
            if pin is not None:
                self.leds[name] = Indicator(pin, name, pin_factory=pin_factory)
            return self.leds.get(name)

        self.rating = self.help = self.keypad = None
        self.buzzer = None
        if cfg.rating:
            r = cfg.rating
            self.buzzer = Beeper(r.buzzer, pin_factory=pin_factory) if r.buzzer is not None else None
            self.rating = RatingConsole(
                [button(p, f"rating-{i}") for i, p in enumerate(r.buttons, 1)],
                [led(p, f"rating-{i}") for i, p in enumerate(r.leds, 1)], self.buzzer, window=cfg.window,
                served_ticket=self.served_ticket, clock=clock,
                record=lambda body: self.record(protocol.RATING_GIVEN, {**body, "day": self._day()}))
        if cfg.help_button:
            h = cfg.help_button
            self.help = HelpButton(
                button(h.pin, "help"), led(h.led, "help"), point=h.point, open_request=store.remembered(HELP_REQUEST),
                record=lambda body: self.record(protocol.HELP_REQUESTED, body,
                                                remember={HELP_REQUEST: body["request"]}),
                on_closed=lambda: store.remember(HELP_REQUEST, None))
        if cfg.keypad:
            if display is None and cfg.keypad.display == "terminal":
                display = TerminalDisplay()
            self.keypad = Keypad({a: button(p, a) for a, p in cfg.keypad.pins.items()}, self._act, display)
        self.state: WindowStatePoller | None = None
        if link is not None and self.window and (self.rating or self.keypad):
            # The hub confirms the state at least every 25 s while the push works (a long poll's
            # 304), so an answer older than SERVED_FRESH_S means the hub is away.
            self.state = link.state_poller(self.window, interval=HUB_POLL_S, stale_after=SERVED_FRESH_S,
                                           on_change=self._window_changed)

    # --- what the parts need -----------------------------------------------------

    def record(self, event_type: str, body: dict[str, Any], remember: dict[str, str | None] | None = None) -> None:
        self.store.record_event(event_type, body, remember)
        self.on_event()

    def _day(self) -> str:
        return service_day(self.store.now(), self.device.timezone).isoformat()

    def served_ticket(self) -> str | None:
        """The ticket the hub last named as served here, if that answer is fresh."""
        state = self.state.latest() if self.state and self.link else None
        served = state.get("served") if state else None
        return served["ticket"] if isinstance(served, dict) else None

    def _window_changed(self, state: dict[str, Any]) -> None:
        """A new answer about the window (on the poller's thread): the display shows who is at it."""
        if self.keypad and self.keypad.display:
            current = state.get("current")
            self.keypad.show(current["number"] if isinstance(current, dict) else "—")

    def _act(self, action: str) -> str | None:
        if self.link is None:
            raise KeypadError("не подключено к серверу")
        try:
            return self.link.act(self.window, action.replace("_", "-"))
        except LinkError as exc:
            raise KeypadError(str(exc)) from None

    # --- running -----------------------------------------------------------------

    def tick(self) -> None:
        for b in self.buttons.values():
            b.poll()
        if not self._ready:
            self._ready = True
            self.notifier.ready(f"{len(self.buttons)} buttons read")
        self.notifier.ping_if_due()

    def poll_hub(self) -> None:
        """Ask the hub once about the window and the help request; quiet when it is away."""
        if self.state and self.link:
            self.state.poll_once()
        self.poll_help()

    def poll_help(self) -> None:
        """Ask the hub about the help request under way; say whether the hub answers."""
        if self.link is None:
            return
        answers = self.state is None or self.state.latest() is not None
        try:
            if self.help and self.help.request:
                self.help.update(self.link.help_state(self.help.request))
        except (LinkError, KeyError, TypeError) as exc:
            log.debug("hub poll: %s", exc)
            answers = False
        self.notifier.status("running, the hub answers" if answers else
                             "the hub does not answer: buttons are recorded and sent later")

    def _loop(self, step: Callable[[], None], every: float) -> None:
        while not self._stop.wait(every):
            try:
                step()
            except Exception:  # the console must outlive any one surprise
                log.exception("%s failed", step.__name__)

    def start(self) -> WindowConsole:
        for step, every in ((self.tick, TICK_S), (self.poll_help, HUB_POLL_S)):
            thread = threading.Thread(target=self._loop, args=(step, every), name=step.__name__, daemon=True)
            thread.start()
            self._threads.append(thread)
        if self.state:
            self.state.start()
        return self

    def close(self) -> None:
        self.notifier.stopping()
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        if self.state:
            self.state.stop()
        if self.keypad:
            self.keypad.close()
        for part in [*self.buttons.values(), *self.leds.values(), *([self.buzzer] if self.buzzer else [])]:
            part.close()
        self.notifier.close()
