"""A hub's link to its city: joining with a one-time code, leaving, and the one HTTP client
every request to the city goes through.

Joining (`join`) posts the code the city's office made for this hub (`mfc-edge city hub-code`),
keeps the token the city answers with in the data folder (0600, replaced atomically), and
writes the link and the records of everything the linked centers already hold to the outbox in
one transaction: from then on the triggers of hub/city_outbox.py record each change, and the
forwarder (hub/city_forwarder.py) sends them. A hub that cannot reach its city keeps serving
its centers; only the outbox grows.
"""
from __future__ import annotations

import json
import re
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter

from hub import city_outbox
from hub.db import HubDB, iso
from mfc_edge import city_protocol
from mfc_edge.config import ID_RULE, is_ident
from mfc_edge.files import atomic_write
from mfc_edge.http_sessions import ThreadSessions

TOKEN_FILE = "city-token"
_TOKEN = re.compile(r"[A-Za-z0-9_.~+/=-]{16,512}")
DEFAULT_TIMEOUT_S = 15.0


class CityLinkError(ValueError):
    """Joining or leaving the city failed, or the link cannot be used: one line saying why."""


@dataclass(frozen=True)
class Link:
    url: str
    hub: str
    centers: list[str]
    ca_file: str | None
    joined_at: str


class CityClient:
    """HTTP to the city, as offline_cache/hub_client.HubClient is to the hub, with sessions made
    the same way (mfc_edge/http_sessions.py): TLS always verified (against the system's CAs or
    `ca_file`), nothing taken from the environment, a transport tests may replace."""

    def __init__(self, url: str, token: str | None = None, *, ca_file: str | None = None,
                 timeout: float = DEFAULT_TIMEOUT_S, transport: BaseAdapter | None = None):
        self.url, self.token, self.ca_file = url.rstrip("/"), token, ca_file
        self.timeout, self.transport = timeout, transport
        self._sessions = ThreadSessions(token, ca_file, transport)

    def session(self) -> requests.Session:
        return self._sessions.session()

    def post(self, path: str, payload: dict[str, Any] | bytes, timeout: float | None = None) -> requests.Response:
        """`payload`: a JSON object, or one already encoded. Raises requests.RequestException when
        the city cannot be reached; any answer is returned."""
        body = payload if isinstance(payload, bytes) else json.dumps(
            payload, ensure_ascii=False, separators=(",", ":")).encode()
        return self.session().post(self.url + path, data=body, timeout=timeout or self.timeout,
                                   headers={"Content-Type": "application/json"}, allow_redirects=False)

    def close(self) -> None:
        self._sessions.close()


def check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
        raise CityLinkError(f"city address {url!r}: expected an http:// or https:// address with a host")
    return url.rstrip("/")


def check_ca_file(ca_file: str | Path | None) -> str | None:
    """The CA file as a path string, once it is known to hold at least one certificate."""
    if ca_file is None:
        return None
    path = Path(ca_file).resolve()
    try:
        ssl.create_default_context(cafile=str(path))
    except (OSError, ssl.SSLError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or "not a PEM file of CA certificates"
        raise CityLinkError(f"{ca_file}: cannot be used as the city's CA file: {reason}") from None
    return str(path)


def save_token(data_dir: Path, token: str) -> Path:
    return atomic_write(Path(data_dir) / TOKEN_FILE, token, mode=0o600)


def load_token(data_dir: Path) -> str:
    path = Path(data_dir) / TOKEN_FILE
    try:
        token = path.read_text(encoding="ascii", errors="replace").strip()
    except OSError as exc:
        raise CityLinkError(f"{path}: cannot be read ({exc.strerror}): join the city again") from None
    if not _TOKEN.fullmatch(token):
        raise CityLinkError(f"{path}: not a city token: join the city again (mfc-edge hub join-city)")
    return token


def link_of(db: HubDB) -> Link | None:
    rows = list(db.db.query("SELECT url, hub, centers, ca_file, joined_at FROM city_link"))
    if not rows:
        return None
    r = rows[0]
    return Link(r["url"], r["hub"], json.loads(r["centers"]), r["ca_file"], r["joined_at"])


def client_for(db: HubDB, data_dir: Path, transport: BaseAdapter | None = None) -> CityClient | None:
    """The client of the linked city, None when this hub is not linked."""
    link = link_of(db)
    if link is None:
        return None
    return CityClient(link.url, load_token(data_dir), ca_file=link.ca_file, transport=transport)


def _enrollment(reply: requests.Response) -> tuple[str, str, list[str]]:
    """token, hub id and centers of the city's answer to a code; CityLinkError otherwise."""
    if reply.status_code != 200:
        try:
            detail = str(reply.json().get("detail", ""))[:200]
        except (ValueError, AttributeError):
            detail = ""
        raise CityLinkError(f"the city refused the code ({reply.status_code}" + (f": {detail})" if detail else ")"))
    try:
        answer = reply.json()
        token, hub, centers = answer["token"], answer["hub"], answer["centers"]
    except (ValueError, KeyError, TypeError):
        raise CityLinkError("the city's answer to the code is not an enrollment") from None
    if not (isinstance(token, str) and _TOKEN.fullmatch(token) and isinstance(hub, str) and is_ident(hub)
            and isinstance(centers, list) and centers
            and all(isinstance(c, str) and is_ident(c) for c in centers)):
        raise CityLinkError("the city's answer to the code is not an enrollment")
    return token, hub, sorted(set(centers))


def join(db: HubDB, data_dir: Path, url: str, code: str, hub_id: str, ca_file: str | Path | None = None,
         transport: BaseAdapter | None = None) -> tuple[Link, int]:
    """Enroll this hub with the city at `url` and start forwarding: the link and how many
    records of what the hub already holds wait to be sent."""
    url, ca = check_url(url), check_ca_file(ca_file)
    if not is_ident(hub_id):
        raise CityLinkError(f"hub id {hub_id!r}: expected {ID_RULE}")
    if (found := link_of(db)) is not None:
        raise CityLinkError(f"already linked to the city at {found.url} as hub {found.hub}: leave it first "
                            "(mfc-edge hub leave-city)")
    client = CityClient(url, ca_file=ca, transport=transport)
    try:
        reply = client.post(city_protocol.CITY_ENROLL_PATH, {"code": code.strip(), "hub": hub_id})
    except requests.exceptions.SSLError as exc:
        raise CityLinkError(f"{url}: its certificate is not trusted ({exc.__class__.__name__}); "
                            "give the city's CA with --ca-file") from None
    except requests.RequestException as exc:
        raise CityLinkError(f"{url}: the city cannot be reached ({exc.__class__.__name__})") from None
    finally:
        client.close()
    token, hub, centers = _enrollment(reply)
    save_token(data_dir, token)
    now = iso(db.now())
    with db.transaction() as d:
        d.execute("INSERT INTO city_link (one, url, hub, centers, ca_file, joined_at) VALUES (1, ?, ?, ?, ?, ?)",
                  [url, hub, json.dumps(centers), ca, now])
        d.conn.executemany("INSERT OR IGNORE INTO city_centers (center) VALUES (?)", [(c,) for c in centers])
        waiting = city_outbox.backfill(d)
    return Link(url, hub, centers, ca, now), waiting


def leave(db: HubDB, data_dir: Path) -> int:
    """Stop forwarding: the link, the token and the records not sent yet go; how many were
    dropped. The city keeps what it has; joining again sends everything anew (the city
    answers "duplicate" for the events it has)."""
    if link_of(db) is None:
        raise CityLinkError("this hub is not linked to a city")
    with db.transaction() as d:
        dropped = int(d.execute("SELECT count(*) FROM city_outbox").fetchone()[0])
        for table in ("city_link", "city_centers", "city_outbox"):
            d.execute(f"DELETE FROM {table}")
    (Path(data_dir) / TOKEN_FILE).unlink(missing_ok=True)
    return dropped


def status(db: HubDB) -> dict[str, Any] | None:
    """What a technician needs: records waiting, the oldest's age, the last success and error."""
    link = link_of(db)
    if link is None:
        return None
    r = db.db.execute("SELECT l.last_success_at, l.last_error, l.last_error_at, l.city_last_seq, "
                      "(SELECT count(*) FROM city_outbox), (SELECT at FROM city_outbox ORDER BY seq LIMIT 1), "
                      "(SELECT count(*) FROM city_rejected) FROM city_link l").fetchone()
    return {"url": link.url, "hub": link.hub, "centers": link.centers, "joined_at": link.joined_at,
            "last_success_at": r[0], "last_error": r[1], "last_error_at": r[2], "city_last_seq": r[3],
            "waiting": r[4], "oldest_at": r[5], "rejected": r[6]}
