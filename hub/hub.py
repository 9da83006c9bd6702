"""The hub's parts on one data folder, shared by the HTTP API (hub/api.py) and the command line."""
from __future__ import annotations

from pathlib import Path

from hub.alerts import Alerts
from hub.applications import Applications
from hub.bookings import Bookings
from hub.bundles import Bundles
from hub.catalogs import Catalogs
from hub.centers import Centers
from hub.city_bundles import CityBundles
from hub.db import Clock, HubDB
from hub.device_health import DeviceHealth
from hub.estimates import PLAN, Estimates
from hub.events import EventLog
from hub.hall import Hall
from hub.heartbeats import Heartbeats
from hub.help import HelpDesk
from hub.identity import Identity
from hub.integration_tokens import IntegrationTokens
from hub.load import LoadCache
from hub.notices import Notices
from hub.operators import Operators
from hub.queue import DEFAULT_PRIORITY_STREAK, Queue
from hub.ratings import Ratings
from hub.releases import Releases
from hub.remote import RemoteCommands
from hub.screens import Screens
from mfc_edge import protocol


class Hub:
    def __init__(self, data_dir: str | Path, priority_streak: int = DEFAULT_PRIORITY_STREAK,
                 clock: Clock | None = None):
        self.db = HubDB(data_dir, clock)
        self.identity = Identity(self.db)
        self.centers = Centers(self.db)
        self.queue = Queue(self.db, self.centers, priority_streak)
        # The feed's and the phone page's estimates: when a window would call the ticket (hub/estimates.py).
        self.queue.estimates = Estimates(self.db, priority_streak, rule=PLAN)
        self.ratings, self.help = Ratings(self.db, self.centers), HelpDesk(self.db)
        self.bundles = Bundles(self.db, data_dir)
        self.catalogs = Catalogs(self.bundles)
        self.city_bundles = CityBundles(data_dir, lambda: self.bundles.key)  # the city's layer, relayed
        self.heartbeats = Heartbeats(self.db)
        self.releases = Releases(self.db, data_dir, self.bundles, self.heartbeats)
        self.device_health = DeviceHealth(self.db, self.identity, self.heartbeats, self.bundles.latest_version)
        self.events = EventLog(self.db, self.queue, {
            protocol.RATING_GIVEN: self.ratings.project,
            protocol.HELP_REQUESTED: self.help.project,
            **{kind: self.device_health.project for kind in (
                protocol.PRINTER_STATUS, protocol.BUTTON_STUCK, protocol.BUTTON_RELEASED,
                protocol.BUNDLE_APPLIED, protocol.BUNDLE_REFUSED, protocol.SOFTWARE_UPDATED,
                protocol.SOFTWARE_ROLLED_BACK)}},
            services=self.catalogs.for_center)
        self.events.checks[protocol.RATING_GIVEN] = self.ratings.problems
        self.operators = Operators(self.db)
        self.hall = Hall(self.db, self.centers)
        self.load = LoadCache(self.db, self.centers)
        self.screens = Screens(self.db, self.identity, data_dir)
        self.remote = RemoteCommands(self.db, self.identity)
        self.alerts = Alerts(self.db, self.device_health, self.centers)
        self.notices = Notices(self.db, self.centers, self.catalogs)
        # Booked visits and ready documents, posted by the booking system and the back office.
        self.integration_tokens = IntegrationTokens(self.db)
        self.bookings = Bookings(self.db, self.centers, self.catalogs)
        self.applications = Applications(self.db)

    def close(self) -> None:
        self.alerts.close()  # its sweep may still be on a worker thread, reading the database
        self.db.close()
