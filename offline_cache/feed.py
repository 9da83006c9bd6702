"""The hub's queue feed, polled in the background with an ETag (an unchanged feed costs a 304).

Devices read `latest()`; when the hub has been out of reach for longer than `stale_after`
the feed is reported as missing, so screens fall back to their own data and say so. The
polling itself is `HubPoller`'s, shared with the other JSON the hub serves to devices.
"""
from __future__ import annotations

from mfc_edge.protocol import FEED_PATH
from offline_cache.hub_client import HubClient
from offline_cache.hub_poller import HubPoller


class FeedPoller(HubPoller):
    def __init__(self, hub: HubClient, *, interval: float = 3.0, stale_after: float = 60.0, timeout: float = 5.0):
        super().__init__(hub, FEED_PATH, interval=interval, stale_after=stale_after, timeout=timeout,
                         name="feed-poller")
