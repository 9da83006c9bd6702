"""A line of waiting tickets put straight into a hub's file, for tests of what phones and
operators see of it."""
from __future__ import annotations

from hub.hub import Hub
from tests.helpers.day import TEST_DAY


def token(n: int) -> str:
    """The phone-page token of the n-th ticket of `waiting_line`."""
    return f"token-{n:04d}-abcdefghijklmnop"


def waiting_line(hub: Hub, count: int, center: str = "strogino", service: str = "passport-rf") -> None:
    """П001..П<count> waiting for `service` on the test day, issued a second apart in that order."""
    with hub.db.transaction() as d:
        for n in range(1, count + 1):
            d["tickets"].insert({"id": f"t{n}", "center": center, "device": "kiosk-1", "number": f"П{n:03d}",
                                 "service": service, "day": TEST_DAY.isoformat(), "priority": 0,
                                 "issued_at": f"{TEST_DAY}T07:00:{n:02d}.000000+00:00", "status_token": token(n),
                                 "state": "waiting"})
        hub.db.bump_feed(d, center)
