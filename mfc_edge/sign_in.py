"""What the hub's console and the city's dashboard share about signing people in with a
password: the errors a sign-in ends with, the lockout policy after failed attempts, and the
bound on Argon2 hashes computed at once.

Each Argon2 hash takes 64 MiB for its moment: sixteen sign-ins at once took a hub from 135 to
585 MiB. So at most `HASHING_SLOTS` passwords are hashed at once per process, a few more
sign-ins wait for a turn, and the rest are told at once to come back (`HashingSlots`).
"""
from __future__ import annotations

import threading

# A login is locked after this many failed sign-ins in a row, an address after this many
# failures of any logins; the lockout starts at the first figure and doubles with each further
# failure up to the second. Failures are forgotten after an hour without one.
LOGIN_FAILURES, LOGIN_LOCKOUT = 5, (30.0, 15 * 60.0)
ADDRESS_FAILURES, ADDRESS_LOCKOUT = 20, (60.0, 60 * 60.0)
FORGET_FAILURES_S = 60 * 60.0
# Passwords hashed at once (64 MiB each), and sign-ins that may wait for a turn; more are
# refused at once as busy rather than hold the server's request threads.
HASHING_SLOTS, HASHING_QUEUE, HASHING_WAIT_S = 2, 8, 10.0


class SignInError(ValueError):
    pass


class SignInLocked(SignInError):
    """Too many failed sign-ins: refused without looking at the password."""

    def __init__(self, message: str, retry_after: float):
        super().__init__(message)
        self.retry_after = retry_after


class SignInBusy(SignInError):
    """Too many sign-ins at once: try again in a moment."""


def lockout_s(failures: int, limit: int, lockout: tuple[float, float]) -> float:
    """Seconds a key with `failures` failures in a row stays locked (0: not locked yet)."""
    if failures < limit:
        return 0.0
    first, longest = lockout
    return min(first * 2 ** (failures - limit), longest)


class HashingSlots:
    """At most `slots` Argon2 computations at once, and at most `queue` callers waiting."""

    def __init__(self, slots: int = HASHING_SLOTS, queue: int = HASHING_QUEUE, wait_s: float = HASHING_WAIT_S,
                 server: str = "hub"):
        self._slots, self._wait_s = threading.BoundedSemaphore(slots), wait_s
        self._room = threading.BoundedSemaphore(slots + queue)
        self._busy = f"the {server} is busy signing others in: try again in a moment"

    def __enter__(self) -> None:
        if not self._room.acquire(blocking=False):
            raise SignInBusy(self._busy)
        if not self._slots.acquire(timeout=self._wait_s):
            self._room.release()
            raise SignInBusy(self._busy)

    def __exit__(self, *exc: object) -> None:
        self._slots.release()
        self._room.release()
