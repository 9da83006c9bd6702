"""Putting a kiosk together from its configuration: store, printer, desk, and the hub link."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from hardware.printer import TicketPrinter
from kiosk.content import CatalogUpdates, bundled_catalog, follow_bundles, open_content, with_bundle_settings
from offline_cache.bundle_follower import BundleFollower
from kiosk.desk import TicketDesk
from kiosk.estimate import Estimator
from kiosk.printer_monitor import PrinterMonitor
from mfc_edge.catalog import Catalog, load_catalog
from mfc_edge.config import DeviceConfig
from offline_cache.feed import FeedPoller
from offline_cache.hub_poller import LOAD_PATH, HubPoller
from hardware.clock import Clock
from kiosk.tickets import TicketStore
from offline_cache.sync import SyncAgent, load_token

log = logging.getLogger(__name__)

LOAD_EVERY_S = 3600.0  # for the closed screen's "fewest visitors" hint; the figures change daily


@dataclass
class Kiosk:
    device: DeviceConfig
    catalog: Catalog
    store: TicketStore
    desk: TicketDesk
    sync: SyncAgent | None = None
    feed: FeedPoller | None = None
    load: HubPoller | None = None
    monitor: PrinterMonitor | None = None
    bundles: BundleFollower | None = None
    catalog_updates: CatalogUpdates = field(default_factory=CatalogUpdates)

    def close(self) -> None:
        for part in (self.bundles, self.monitor, self.sync, self.feed, self.load):
            if part:
                part.stop()
        self.desk.close()
        self.store.close()

    def load_figures(self) -> dict | None:
        """The hub's latest load figures (kept on disk, so also after a restart while the hub is away)."""
        return self.load.last_known() if self.load else None


def open_kiosk(device: DeviceConfig, clock: Clock, catalog: Catalog | None = None, *,
               connect: bool = True) -> Kiosk:
    """The kiosk's parts. With a hub URL and a token from `mfc-edge enroll` (and `connect`),
    it also syncs its outbox and follows the hub's queue feed; without, it works alone."""
    store = TicketStore(device.data_dir / "kiosk.sqlite", center_id=device.center_id,
                       device_id=device.device_id, timezone=device.timezone,
                       ticket_range=device.ticket_range, clock=clock)
    printer = TicketPrinter(device.printer.uri, device.printer.timeout) if device.printer else None
    content = open_content(device)
    device = with_bundle_settings(device, content)
    catalog = catalog or bundled_catalog(content) or load_catalog()
    token = load_token(device.data_dir) if device.hub_url and connect else None
    sync = feed = load = None
    if token:
        sync = SyncAgent(store, device.hub_url, token, ca_file=device.hub_ca_file).start()
        feed = FeedPoller(device.hub_url, token, ca_file=device.hub_ca_file).start()
        load = HubPoller(device.hub_url, token, LOAD_PATH, interval=LOAD_EVERY_S, stale_after=float("inf"),
                         cache_file=device.data_dir / "load.json", ca_file=device.hub_ca_file).start()
    elif device.hub_url and connect:
        log.warning("not enrolled with the hub at %s: working alone (run `mfc-edge enroll`)", device.hub_url)
    estimator = Estimator(store, device.windows, feed.latest if feed else (lambda: None))
    desk = TicketDesk(device, catalog, store, printer, estimator)
    if sync:
        desk.on_print_result(lambda *_: sync.wake())
        desk.on_status_change(lambda _status: sync.wake())
    monitor = PrinterMonitor(desk).start() if printer else None
    kiosk = Kiosk(device, catalog, store, desk, sync, feed, load, monitor)
    if token and content:
        kiosk.bundles = follow_bundles(device, token, content, store, kiosk.catalog_updates).start()
    return kiosk
