"""How often one client may ask for the public waiting times: a token bucket per address.

The address is the request's client as uvicorn gives it. Behind the city's load balancer every
request comes from the balancer: uvicorn then takes the client's own address from the
X-Forwarded-For the balancer appends, but only from the addresses it is told to trust (its
`forwarded_allow_ips`, 127.0.0.1 unless set): anyone else can write any X-Forwarded-For. Each
process keeps its own buckets, so the balancer should limit too (README, "A city of centers").
"""
from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

MAX_CLIENTS = 100_000  # buckets kept; beyond, the full ones (idle clients) are forgotten


class RateLimiter:
    """`take(address)` → 0 when the request may go on, else the seconds to wait before one may."""

    def __init__(self, per_second: float, burst: int, monotonic: Callable[[], float] = time.monotonic):
        if per_second <= 0 or burst < 1:
            raise ValueError("a rate limit needs a positive rate and a burst of at least 1")
        self.per_second, self.burst, self.monotonic = per_second, float(burst), monotonic
        self._buckets: dict[str, tuple[float, float]] = {}  # address -> (tokens, when counted)
        self._lock = threading.Lock()

    def take(self, address: str) -> int:
        now = self.monotonic()
        with self._lock:
            tokens, then = self._buckets.get(address, (self.burst, now))
            tokens = min(self.burst, tokens + (now - then) * self.per_second)
            if tokens >= 1:
                self._buckets[address] = (tokens - 1, now)
                if len(self._buckets) > MAX_CLIENTS:
                    self._forget_idle(now)
                return 0
            self._buckets[address] = (tokens, now)
            return max(1, math.ceil((1 - tokens) / self.per_second))

    def _forget_idle(self, now: float) -> None:
        full_after = self.burst / self.per_second
        for address, (_, then) in list(self._buckets.items()):
            if now - then >= full_after:
                del self._buckets[address]
        if len(self._buckets) > MAX_CLIENTS:
            # As many clients busy at once as that is an attack the balancer must meet; here the
            # memory stays bounded, and each of them starts again with a full bucket.
            self._buckets.clear()
