"""Putting a kiosk together from its configuration: store, printer, desk."""
from __future__ import annotations

from dataclasses import dataclass

from hardware.printer import TicketPrinter
from kiosk.desk import TicketDesk
from mfc_edge.catalog import Catalog, load_catalog
from mfc_edge.config import DeviceConfig
from offline_cache.store import Clock, LocalStore


@dataclass
class Kiosk:
    device: DeviceConfig
    catalog: Catalog
    store: LocalStore
    desk: TicketDesk

    def close(self) -> None:
        self.desk.close()
        self.store.close()


def open_kiosk(device: DeviceConfig, clock: Clock, catalog: Catalog | None = None) -> Kiosk:
    store = LocalStore(device.data_dir / "kiosk.sqlite", center_id=device.center_id,
                       device_id=device.device_id, timezone=device.timezone,
                       ticket_range=device.ticket_range, clock=clock)
    printer = TicketPrinter(device.printer.uri, device.printer.timeout) if device.printer else None
    catalog = catalog or load_catalog()
    return Kiosk(device, catalog, store, TicketDesk(device, catalog, store, printer))
