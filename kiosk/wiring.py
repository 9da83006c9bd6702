"""Putting a kiosk together from its configuration: store, printer, desk, and the hub link."""
from __future__ import annotations

from dataclasses import dataclass, field

from hardware.clock import Clock
from hardware.printer import TicketPrinter
from kiosk.content import (
    QUOTA_BYTES,
    CatalogUpdates,
    bundled_catalog,
    bundled_kids_room,
    catalog_offer,
    follow_bundles,
    open_content,
    with_bundle_settings,
)
from kiosk.desk import TicketDesk
from kiosk.estimate import Estimator
from kiosk.printer_monitor import PrinterMonitor
from kiosk.tickets import TicketStore
from mfc_edge.catalog import Catalog, load_catalog
from mfc_edge.config import DeviceConfig
from mfc_edge.kids_room import KidsRoom
from mfc_edge.protocol import LOAD_PATH, RATINGS_PATH
from offline_cache.bookings import APPLICATIONS_FILE, BOOKINGS_FILE, ApplicationBook, BookingBook
from offline_cache.city_layer import CityLayer, city_content
from offline_cache.content import ContentStore
from offline_cache.device import Device
from offline_cache.feed import FeedPoller
from offline_cache.hub_client import connect as connect_to_hub
from offline_cache.hub_poller import HubPoller
from offline_cache.notices import CACHE_FILE as NOTICES_FILE
from offline_cache.notices import NoticeBoard

LOAD_EVERY_S = 3600.0  # for the closed screen's "fewest visitors" hint; the figures change daily
RATINGS_EVERY_S = 60.0  # for the attract loop's satisfaction slide


@dataclass(kw_only=True)
class Kiosk(Device):
    store: TicketStore
    catalog: Catalog
    desk: TicketDesk
    feed: FeedPoller | None = None
    load: HubPoller | None = None
    ratings: HubPoller | None = None  # today's visitor ratings, for the attract loop
    notices: NoticeBoard | None = None  # the center's urgent notices; None without a hub
    # The center's bookings of the day and its applications' readiness, kept on disk for
    # check-in with the hub away; empty without a hub.
    bookings: BookingBook = field(default_factory=lambda: BookingBook.of([]))
    applications: ApplicationBook = field(default_factory=lambda: ApplicationBook.of({}))
    monitor: PrinterMonitor | None = None
    content: ContentStore | None = None  # the kiosk's bundles (None before enrollment)
    catalog_updates: CatalogUpdates = field(default_factory=CatalogUpdates)

    def close_parts(self) -> None:
        self.desk.close()

    def load_figures(self) -> dict | None:
        """The hub's latest load figures (kept on disk, so also after a restart while the hub is away)."""
        return self.load.last_known() if self.load else None

    def kids_room(self) -> KidsRoom | None:
        """The active bundle's kids' room, read each time it is asked for: a new bundle shows at once."""
        return bundled_kids_room(self.content)


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
    catalog = catalog or bundled_catalog(content, city_content(device.data_dir, QUOTA_BYTES)) or load_catalog()
    hub = connect_to_hub(device, enabled=connect)
    feed = load = ratings = notices = None
    bookings: BookingBook | None = None
    applications: ApplicationBook | None = None
    if hub:
        feed = FeedPoller(hub).start()
        load = HubPoller(hub, LOAD_PATH, interval=LOAD_EVERY_S, stale_after=float("inf"),
                         cache_file=device.data_dir / "load.json").start()
        ratings = HubPoller(hub, RATINGS_PATH, interval=RATINGS_EVERY_S, stale_after=10 * RATINGS_EVERY_S).start()
        notices = NoticeBoard.polling(hub, cache_file=device.data_dir / NOTICES_FILE).start()
        bookings = BookingBook.polling(hub, cache_file=device.data_dir / BOOKINGS_FILE).start()
        applications = ApplicationBook.polling(hub, cache_file=device.data_dir / APPLICATIONS_FILE).start()
    estimator = Estimator(store, device.windows, feed.latest if feed else (lambda: None))
    desk = TicketDesk(device, catalog, store, printer, estimator)
    kiosk = Kiosk(device=device, store=store, hub=hub, catalog=catalog, desk=desk, feed=feed, load=load,
                  ratings=ratings, notices=notices, content=content,
                  bookings=bookings or BookingBook.of([]), applications=applications or ApplicationBook.of({}),
                  workers=[w for w in (feed, load, ratings, notices, bookings, applications) if w])
    kiosk.start_sync()
    if kiosk.sync:
        sync = kiosk.sync
        desk.on_print_result(lambda *_: sync.wake())
        desk.on_status_change(lambda _status: sync.wake())
    if printer:
        kiosk.monitor = PrinterMonitor(desk).start()
        kiosk.workers.append(kiosk.monitor)
    kiosk.start_heartbeat(printer=lambda: desk.printer_status.value if printer else None)
    if hub and content:
        # The city's catalogs, relayed by the hub: the city's services with the center's own added.
        city = CityLayer(device.data_dir, hub, center=device.center_id, role="kiosk", quota_bytes=QUOTA_BYTES,
                         report=store.record_event)
        kiosk.bundles = follow_bundles(device, hub, content, store, kiosk.catalog_updates, city).start()
        kiosk.workers.append(city.follow(on_applied=catalog_offer(content, city, kiosk.catalog_updates)).start())
    return kiosk
