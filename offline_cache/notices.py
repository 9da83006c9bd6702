"""A center's urgent notices on its kiosks and screens («Росреестр: приём документов
приостановлен до 14:00»), posted by a supervisor on the hub's console.

The board polls the hub's NOTICES_PATH often (a notice must be up within seconds) with an ETag,
so an unchanged list costs a 304. The last list is kept on disk: a device restarted while
the hub is away still shows the notices it knew. Whether a notice is still in force is
decided by the device's own clock each time it is asked, never by the age of the answer, so
an expired notice is never shown, online or not.

The wire format, one JSON object:
    {"notices": [{"id", "text_ru", "text_en", "services": [service ids],
                  "posted_at", "expires_at" (ISO 8601 with a time zone)}, ...]}
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from mfc_edge.protocol import MAX_NOTICE_CHARS, NOTICES_PATH
from mfc_edge.times import aware_time_in
from offline_cache.hub_client import HubClient
from offline_cache.hub_copy import HubCopy
from offline_cache.hub_poller import HubPoller

log = logging.getLogger(__name__)

# Posted → shown within 5 s: a poll every 2 s, and the screens look every second.
POLL_EVERY_S = 2.0
CACHE_FILE = "notices.json"


@dataclass(frozen=True)
class Notice:
    id: str
    text_ru: str
    text_en: str  # may be "": the Russian text is shown to everyone
    services: tuple[str, ...]  # empty: the whole center
    posted_at: datetime  # UTC, aware
    expires_at: datetime  # UTC, aware

    def text(self, lang: str) -> str:
        """The text in the visitor's language; Russian when there is no English."""
        return self.text_en if lang == "en" and self.text_en else self.text_ru

    def concerns(self, service: str) -> bool:
        """Whether a visitor of `service` must see it: center-wide notices concern every service."""
        return not self.services or service in self.services

    @classmethod
    def from_wire(cls, item: Any) -> Notice:
        """One notice of the hub's answer; ValueError naming the field when it is not one."""
        if not isinstance(item, dict):
            raise ValueError("a notice must be a JSON object")
        texts = {}
        for key in ("id", "text_ru", "text_en"):
            value = item.get(key, "" if key == "text_en" else None)
            if not isinstance(value, str) or len(value) > MAX_NOTICE_CHARS:
                raise ValueError(f"{key} = {value!r:.60} is not a text of at most {MAX_NOTICE_CHARS} characters")
            texts[key] = value.strip()
        if not texts["id"] or not texts["text_ru"]:
            raise ValueError("a notice needs an id and a Russian text")
        services = item.get("services", [])
        if not isinstance(services, list) or not all(isinstance(s, str) and s for s in services):
            raise ValueError(f"services = {services!r:.60} is not a list of service ids")
        return cls(id=texts["id"], text_ru=texts["text_ru"], text_en=texts["text_en"],
                   services=tuple(services), posted_at=aware_time_in(item, "posted_at"),
                   expires_at=aware_time_in(item, "expires_at"))


def parse_notices(data: dict[str, Any] | None) -> tuple[Notice, ...]:
    """The notices of a hub answer, newest first; a spoiled entry is left out (and logged),
    never the whole list: one bad notice must not hide the others."""
    items = data.get("notices") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return ()
    notices = []
    for item in items:
        try:
            notices.append(Notice.from_wire(item))
        except ValueError as exc:
            log.warning("notices: leaving out a notice the hub sent: %s", exc)
    return tuple(sorted(notices, key=lambda n: (n.posted_at, n.id), reverse=True))


class NoticeBoard(HubCopy[tuple[Notice, ...]]):
    """The notices a device shows. `NoticeBoard.of(...)` is a board with a fixed list and no
    hub (a device's tests, the demo); `NoticeBoard.polling(...)` follows a hub."""

    def __init__(self, poller: HubPoller | None = None, notices: Iterable[Notice] = ()):
        super().__init__(poller, parse_notices,
                         tuple(sorted(notices, key=lambda n: (n.posted_at, n.id), reverse=True)))

    @classmethod
    def polling(cls, hub: HubClient, *, cache_file: str | Path | None = None,
                interval: float = POLL_EVERY_S, timeout: float = 5.0) -> NoticeBoard:
        """A board following `hub` (not yet started: call `start()`); with `cache_file`, the
        last list survives a restart. Stale answers are kept on purpose (stale_after=inf): a
        notice the device knows is valid until its own expiry, hub or no hub."""
        return cls(HubPoller(hub, NOTICES_PATH, interval=interval, stale_after=float("inf"),
                             timeout=timeout, cache_file=cache_file, name="notices"))

    @classmethod
    def of(cls, notices: Iterable[Notice]) -> NoticeBoard:
        return cls(None, notices)

    def all_known(self) -> tuple[Notice, ...]:
        """Every notice of the last list, expired or not, newest first."""
        return self._current()

    def current(self, now: datetime, service: str | None = None) -> list[Notice]:
        """Notices not yet expired at `now` (the device's UTC clock), newest first;
        with `service`, only those that concern it."""
        if now.tzinfo is None:
            raise ValueError("now must be an aware datetime (the device's UTC clock)")
        return [n for n in self.all_known()
                if now < n.expires_at and (service is None or n.concerns(service))]
