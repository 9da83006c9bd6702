"""HTTP sessions the way every mfc-edge client makes them: a device's to its hub
(offline_cache/hub_client.py) and a hub's to its city (hub/city_link.py).

TLS is always verified, against the system's CAs or a given CA file; nothing is taken from the
environment (`trust_env` is off: no proxy variables, `.netrc` or `REQUESTS_CA_BUNDLE` silently
change where or how a client connects). Tests swap the transport: any requests adapter, mounted
for both schemes. One session per thread, since a requests.Session is not safe to share.
"""
from __future__ import annotations

import threading
from collections.abc import Callable

import requests
from requests.adapters import BaseAdapter


class ThreadSessions:
    def __init__(self, token: str | None = None, ca_file: str | None = None, transport: BaseAdapter | None = None,
                 prepare: Callable[[requests.Session], None] | None = None):
        """`prepare`: called with each new session (to add a response hook, say)."""
        self.token, self.ca_file, self.transport, self.prepare = token, ca_file, transport, prepare
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()

    @property
    def verify(self) -> str | bool:
        """Never off: a CA file at most."""
        return self.ca_file or True

    def session(self) -> requests.Session:
        """This thread's session, made on first use."""
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.trust_env = False
            session.verify = self.verify
            if self.token:
                session.headers["Authorization"] = f"Bearer {self.token}"
            if self.transport is not None:
                session.mount("http://", self.transport)
                session.mount("https://", self.transport)
            if self.prepare is not None:
                self.prepare(session)
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def close(self) -> None:
        """Close every thread's session; the next use makes a fresh one."""
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()
        self._local = threading.local()
