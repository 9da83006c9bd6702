"""Putting a waiting-area screen together from its configuration.

Without a hub (or before `mfc-edge enroll`) the screen works alone: the last verified bundle
or the built-in fallback, the clock and the ticker. Enrolled, it also follows the hub's
bundles, queue feed, load statistics and ratings, reports what it played, and sends
screenshots.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable

from hardware.audio import AudioOutput, AplayOutput
from hardware.speech import EspeakSpeech
from mfc_edge.config import DeviceConfig
from offline_cache.bundle_follower import BundleFollower
from offline_cache.hub_poller import LOAD_PATH, RATINGS_PATH, HubPoller
from offline_cache.feed import FeedPoller
from offline_cache.screenshots import ScreenshotUploader
from hardware.clock import Clock
from offline_cache.outbox import DeviceStore
from offline_cache.sync import SyncAgent, load_token
from signage.announcer import Announcer, NewCalls
from signage.content import ScreenContent, open_screen_content

log = logging.getLogger(__name__)

LOAD_EVERY_S = 300.0  # the load chart changes once a day at most
RATINGS_EVERY_S = 30.0


@dataclass
class Screen:
    device: DeviceConfig
    store: DeviceStore
    content: ScreenContent
    announcer: Announcer | None = None
    feed: FeedPoller | None = None
    load: HubPoller | None = None
    ratings: HubPoller | None = None
    sync: SyncAgent | None = None
    bundles: BundleFollower | None = None
    uploader: ScreenshotUploader | None = None
    new_calls: NewCalls = field(default_factory=NewCalls)

    def report(self, event_type: str, body: dict[str, Any]) -> None:
        """Proof of play and skipped slides go into the outbox, like every other event."""
        self.store.record_event(event_type, body)
        if self.sync:
            self.sync.wake()

    def calls_to_announce(self, feed: dict[str, Any]) -> list[dict[str, Any]]:
        """The feed's new calls, each handed to the announcer; also returned for the screen."""
        fresh = self.new_calls(feed)
        for call in fresh:
            if self.announcer:
                self.announcer.announce(call)
        return fresh

    def start_screenshots(self, capture: Callable[[], bytes | None]) -> None:
        """Send the hub pictures of the screen (every `screenshot_every` minutes and on request)."""
        token = load_token(self.device.data_dir) if self.device.hub_url else None
        if token:
            self.uploader = ScreenshotUploader(self.device.hub_url, token, capture,
                                               self.device.signage.screenshot_every,
                                               ca_file=self.device.hub_ca_file).start()

    def close(self) -> None:
        for part in (self.uploader, self.bundles, self.sync, self.feed, self.load, self.ratings):
            if part:
                part.stop()
        if self.announcer:
            self.announcer.stop()
        self.store.close()


def open_screen(device: DeviceConfig, clock: Clock, *, connect: bool = True,
                audio: AudioOutput | None = None) -> Screen:
    """The screen's parts. `audio` is where announcements play (default: the sound card via aplay)."""
    settings = device.signage
    store = DeviceStore(device.data_dir / "signage.sqlite", center_id=device.center_id,
                       device_id=device.device_id, clock=clock)
    content_store = open_screen_content(device)
    screen = Screen(device, store, ScreenContent(content_store, settings.profile))
    if settings.shows_calls and settings.announcements.enabled:
        speech = EspeakSpeech(device.data_dir / "speech")
        screen.announcer = Announcer.for_device(device, audio or AplayOutput(), speech, clock=clock).start()
    token = load_token(device.data_dir) if device.hub_url and connect else None
    if not token:
        if device.hub_url and connect:
            log.warning("not enrolled with the hub at %s: working alone (run `mfc-edge enroll`)", device.hub_url)
        return screen
    hub = dict(ca_file=device.hub_ca_file)
    screen.sync = SyncAgent(store, device.hub_url, token, **hub).start()
    if settings.shows_calls:
        screen.feed = FeedPoller(device.hub_url, token, stale_after=settings.feed_stale_after, **hub).start()
    screen.load = HubPoller(device.hub_url, token, LOAD_PATH, interval=LOAD_EVERY_S, stale_after=float("inf"),
                            cache_file=device.data_dir / "load.json", **hub).start()
    screen.ratings = HubPoller(device.hub_url, token, RATINGS_PATH, interval=RATINGS_EVERY_S,
                               stale_after=10 * RATINGS_EVERY_S, **hub).start()
    if content_store:
        screen.bundles = BundleFollower(content_store, device.hub_url, token, center=device.center_id,
                                        role="signage", verify=device.hub_ca_file or True,
                                        report=store.record_event, on_applied=screen.content.refresh).start()
    return screen
