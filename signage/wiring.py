"""Putting a waiting-area screen together from its configuration.

Without a hub (or before `mfc-edge enroll`) the screen works alone: the last verified bundle
or the built-in fallback, the clock and the ticker. Enrolled, it also follows the hub's
bundles, queue feed, load statistics and ratings, reports what it played, and sends
screenshots.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hardware.audio import AplayOutput, AudioOutput
from hardware.clock import Clock
from hardware.speech import EspeakSpeech
from mfc_edge.config import DeviceConfig
from mfc_edge.protocol import LOAD_PATH, RATINGS_PATH
from offline_cache.bundle_follower import BundleFollower
from offline_cache.city_layer import CityLayer
from offline_cache.device import Device
from offline_cache.feed import FeedPoller
from offline_cache.hub_client import connect as connect_to_hub
from offline_cache.hub_poller import HubPoller
from offline_cache.notices import CACHE_FILE as NOTICES_FILE
from offline_cache.notices import NoticeBoard
from offline_cache.outbox import DeviceStore
from offline_cache.screenshots import ScreenshotUploader
from signage.announcer import Announcer, NewCalls
from signage.content import QUOTA_BYTES, ScreenContent, open_screen_content

LOAD_EVERY_S = 300.0  # the load chart changes once a day at most
RATINGS_EVERY_S = 30.0


@dataclass(kw_only=True)
class Screen(Device):
    content: ScreenContent
    announcer: Announcer | None = None
    feed: FeedPoller | None = None
    load: HubPoller | None = None
    ratings: HubPoller | None = None
    notices: NoticeBoard | None = None  # the center's urgent notices; None without a hub
    uploader: ScreenshotUploader | None = None
    new_calls: NewCalls = field(default_factory=NewCalls)
    # Set by the screen's app: told of each new feed, on the poller's thread, so that a pushed
    # call is shown at once rather than at the app's next look.
    on_feed: Callable[[], None] | None = None

    def feed_arrived(self, _feed: dict[str, Any]) -> None:
        if self.on_feed is not None:
            self.on_feed()

    def calls_to_announce(self, feed: dict[str, Any]) -> list[dict[str, Any]]:
        """The feed's new calls, each handed to the announcer; also returned for the screen."""
        fresh = self.new_calls(feed)
        for call in fresh:
            if self.announcer:
                self.announcer.announce(call)
        return fresh

    def start_screenshots(self, capture: Callable[[], bytes | None]) -> None:
        """Send the hub pictures of the screen (every `screenshot_every` minutes and on request)."""
        if self.hub:
            self.uploader = ScreenshotUploader(self.hub, capture, self.device.signage.screenshot_every).start()
            self.workers.append(self.uploader)

    def close_parts(self) -> None:
        if self.announcer:
            self.announcer.stop()


def open_screen(device: DeviceConfig, clock: Clock, *, connect: bool = True,
                audio: AudioOutput | None = None) -> Screen:
    """The screen's parts. `audio` is where announcements play (default: the sound card via aplay)."""
    settings = device.signage
    store = DeviceStore(device.data_dir / "signage.sqlite", center_id=device.center_id,
                        device_id=device.device_id, clock=clock)
    content_store = open_screen_content(device)
    hub = connect_to_hub(device, enabled=connect)
    screen = Screen(device=device, store=store, hub=hub, content=ScreenContent(content_store, settings.profile))
    if settings.shows_calls and settings.announcements.enabled:
        speech = EspeakSpeech(device.data_dir / "speech")
        # Quiet hours by the hub's time once heard, as everything the screen records.
        screen.announcer = Announcer.for_device(device, audio or AplayOutput(), speech, clock=store).start()
    if not hub:
        return screen
    screen.start_sync()
    screen.start_heartbeat()
    if settings.shows_calls:
        screen.feed = FeedPoller(hub, stale_after=settings.feed_stale_after, on_change=screen.feed_arrived).start()
    screen.load = HubPoller(hub, LOAD_PATH, interval=LOAD_EVERY_S, stale_after=float("inf"),
                            cache_file=device.data_dir / "load.json").start()
    screen.ratings = HubPoller(hub, RATINGS_PATH, interval=RATINGS_EVERY_S, stale_after=10 * RATINGS_EVERY_S).start()
    screen.notices = NoticeBoard.polling(hub, cache_file=device.data_dir / NOTICES_FILE).start()
    screen.workers += [w for w in (screen.feed, screen.load, screen.ratings, screen.notices) if w]
    if content_store:
        screen.bundles = BundleFollower(content_store, hub, center=device.center_id, role="signage",
                                        report=store.record_event, on_applied=screen.content.refresh).start()
        # The city's campaigns, relayed by the hub, played before the center's own items.
        screen.content.city = CityLayer(device.data_dir, hub, center=device.center_id, role="signage",
                                        quota_bytes=QUOTA_BYTES, report=store.record_event)
        screen.workers.append(screen.content.city.follow(on_applied=screen.content.refresh).start())
    return screen
