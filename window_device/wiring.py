"""Putting a window (or entrance) device together from its device file."""
from __future__ import annotations

from dataclasses import dataclass

from gpiozero.pins import Factory

from hardware.clock import Clock
from mfc_edge.config import DeviceConfig
from offline_cache.device import Device
from offline_cache.hub_client import connect as connect_to_hub
from offline_cache.outbox import DeviceStore
from window_device.keypad import TextDisplay
from window_device.window_console import WindowConsole
from window_device.window_link import WindowLink

SYNC_IDLE_POLL_S = 2.0  # a rating should reach the operator's console within seconds


@dataclass(kw_only=True)
class WindowDevice(Device):
    console: WindowConsole

    def close_parts(self) -> None:
        self.console.close()


def open_window_device(device: DeviceConfig, clock: Clock, *, pin_factory: Factory | None = None,
                       connect: bool = True, display: TextDisplay | None = None) -> WindowDevice:
    """The console with its store and, when enrolled, its sync agent and hub link; ratings and
    help requests wait in the outbox while the device is not enrolled or the hub is away."""
    store = DeviceStore(device.data_dir / "console.sqlite", center_id=device.center_id,
                        device_id=device.device_id, clock=clock)
    hub = connect_to_hub(device, enabled=connect)
    link = WindowLink(hub) if hub else None
    console = WindowConsole(device, store, link, pin_factory=pin_factory, display=display)
    window_device = WindowDevice(device=device, store=store, hub=hub, console=console)
    window_device.start_sync(idle_poll=SYNC_IDLE_POLL_S)
    window_device.start_heartbeat(display=lambda: None)  # its display is the keypad's, not a screen
    if window_device.sync:
        console.on_event = window_device.sync.wake
    console.start()
    return window_device
