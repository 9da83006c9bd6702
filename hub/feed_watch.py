"""Waiting for a center's line to change: what lets a visitor's phone page (`/t/<token>`) show
a call within a second instead of reloading every 15 seconds.

Every change screens or phones show bumps the center's feed version (`HubDB.bump_feed`).
A phone asks for its ticket's state with the version it last saw; while nothing has changed
its request waits here (a long poll). One task reads the versions of the centers someone
waits for, a few times a second, and wakes the requests whose center has moved on: one small
query per tick whatever the number of phones, and a change made by another process (the
command line on the same database) is seen too, which an in-process signal would miss. A
change made by the hub itself also `nudge`s the task, which then reads at once rather than at
its next tick: a call reaches the waiting screens without the tick's up to 0.2 s.

The number of waiting requests is bounded (`limit`), and so is the number for one ticket
(`per_ticket`: a phone needs one, a visitor with a few tabs open a few), so that nobody holding
one ticket can take every place: beyond either a phone is told to come back later rather than
holding one more connection open.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.concurrency import run_in_threadpool

log = logging.getLogger(__name__)

POLL_EVERY_S = 0.2
MAX_WAITING = 500
MAX_PER_TICKET = 4


class TooManyWaiting(RuntimeError):
    """Too many requests already wait (in all, or for the ticket): the caller should answer at
    once and be asked again later."""


@dataclass(eq=False)
class _Waiter:
    center: str
    ticket: str
    seen: int
    woken: asyncio.Event = field(default_factory=asyncio.Event)


class FeedWatch:
    """`versions(center)`: the center's feed version now (`HubDB.feed_version`); read on a worker
    thread, as every database read of the hub's event loop is."""

    def __init__(self, versions: Callable[[str], int], every: float = POLL_EVERY_S, limit: int = MAX_WAITING,
                 per_ticket: int = MAX_PER_TICKET):
        self.versions, self.every, self.limit, self.per_ticket = versions, every, limit, per_ticket
        self._waiters: set[_Waiter] = set()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._nudged: asyncio.Event | None = None

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    async def wait(self, center: str, ticket: str, seen: int, timeout: float) -> None:
        """Return once the center's feed version is no longer `seen`, or after `timeout` seconds,
        or at once when the hub is stopping. Raises TooManyWaiting past the limits."""
        if self._closing:
            return
        if len(self._waiters) >= self.limit:
            raise TooManyWaiting(f"{len(self._waiters)} phones already wait for the line to change")
        if sum(waiter.ticket == ticket for waiter in self._waiters) >= self.per_ticket:
            raise TooManyWaiting(f"{self.per_ticket} requests already wait for this ticket")
        waiter = _Waiter(center, ticket, seen)
        self._waiters.add(waiter)
        if self._task is None or self._task.done():
            self._loop, self._nudged = asyncio.get_running_loop(), asyncio.Event()
            self._task = asyncio.create_task(self._watch())
        try:
            await asyncio.wait_for(waiter.woken.wait(), timeout)
        except TimeoutError:
            pass
        finally:
            self._waiters.discard(waiter)

    def close(self) -> None:
        """The hub is stopping: every waiting request answers within a tick, so that the server's
        graceful shutdown, which waits for open requests, is not held up by phones. Safe from
        any thread: it only sets a flag the watching task reads."""
        self._closing = True

    def nudge(self) -> None:
        """A feed version has just moved in this process: look now. Safe from any thread."""
        loop, nudged = self._loop, self._nudged
        if loop is not None and nudged is not None and self._waiters:
            try:
                loop.call_soon_threadsafe(nudged.set)
            except RuntimeError:  # the loop has closed: nobody waits any more
                pass

    def _read(self, centers: set[str]) -> dict[str, int]:
        return {center: self.versions(center) for center in centers}

    async def _watch(self) -> None:
        """Runs while anyone waits; a failed read (a locked or busy disk) is retried next tick."""
        while self._waiters:
            if self._closing:
                for waiter in list(self._waiters):
                    waiter.woken.set()
            else:
                try:
                    now = await run_in_threadpool(self._read, {waiter.center for waiter in self._waiters})
                except Exception:  # the phones keep waiting; their own timeout still ends the wait
                    log.exception("reading the feed versions failed; trying again")
                    now = {}
                for waiter in list(self._waiters):
                    if waiter.center in now and now[waiter.center] != waiter.seen:
                        waiter.woken.set()
            await self._next_look()

    async def _next_look(self) -> None:
        """Until the next tick, or a nudge if sooner."""
        nudged = self._nudged
        if nudged is None:
            await asyncio.sleep(self.every)
            return
        try:
            await asyncio.wait_for(nudged.wait(), self.every)
        except TimeoutError:
            pass
        nudged.clear()
