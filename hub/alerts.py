"""Alerts: a device that goes offline or comes back, a printer out of paper or off, a stuck button.

Every SWEEP_EVERY_S seconds the hub compares each device's watched states (online, printer,
each button; from DeviceHealth) with the ones it saw last (`alert_states`). Each change is
recorded once, and, when the center has a webhook (`mfc-edge hub set-webhook`), queued in
`alerts` to be POSTed to it as JSON: a state seen before a restart is not announced again.
A delivery that fails is tried again later, waiting twice as long each time (up to an hour),
in order: a center's later alerts wait behind its first undelivered one. Sending happens on a
worker thread with a timeout, outside any transaction, so a webhook that is slow or down
never holds up ingest.

The payload (`payload()`) names the center, device, role and window, what changed, since
when, and has a one-line text in Russian and English for a messenger to show as it is.
"""
from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from starlette.concurrency import run_in_threadpool

from hub.centers import Centers
from hub.db import HubDB, iso
from hub.device_health import DeviceHealth

log = logging.getLogger(__name__)

SWEEP_EVERY_S = 15.0
SEND_TIMEOUT_S = (3.05, 5.0)  # connect, read
RETRY_FIRST_S, RETRY_MAX_S = 30.0, 3600.0
SENDS_PER_SWEEP = 50

ONLINE, PRINTER = "online", "printer"
# Printer statuses worth a technician's trip; the others (ok, paper near its end, a printer
# that answers no status queries) all count as "ok".
PRINTER_TROUBLE = ("paper_out", "cover_open", "offline", "unreachable")
# What a subject's state is when all is well: first seen so, it is recorded without an alert.
GOOD = {"online", "ok"}

ROLE_RU = {"kiosk": "киоск", "signage": "экран", "console": "пульт"}
TEXTS = {  # (subject kind, state) -> (Russian, English); {who} the device, {at} the local time
    (ONLINE, "offline"): ("{who}: нет связи с {at}", "{who}: offline since {at}"),
    (ONLINE, "online"): ("{who}: снова на связи с {at}", "{who}: back online since {at}"),
    (PRINTER, "paper_out"): ("{who}: в принтере нет бумаги с {at}", "{who}: printer out of paper since {at}"),
    (PRINTER, "cover_open"): ("{who}: открыта крышка принтера с {at}", "{who}: printer cover open since {at}"),
    (PRINTER, "offline"): ("{who}: принтер не отвечает с {at}", "{who}: printer offline since {at}"),
    (PRINTER, "unreachable"): ("{who}: принтер не подключён с {at}", "{who}: printer unreachable since {at}"),
    (PRINTER, "ok"): ("{who}: принтер снова работает с {at}", "{who}: printer OK again since {at}"),
    ("button", "stuck"): ("{who}: залипла кнопка {button} с {at}", "{who}: button {button} stuck since {at}"),
    ("button", "ok"): ("{who}: кнопка {button} снова в порядке с {at}", "{who}: button {button} released at {at}"),
}


class WebhookError(ValueError):
    """A webhook address the hub cannot use; the message says what is expected."""


@dataclass(frozen=True)
class Change:
    center: str
    device: str
    role: str
    window: str | None
    subject: str  # "online", "printer", "button 3"
    state: str
    previous: str | None  # None: the first state the hub saw
    since: str  # the hub's time it began (for offline: when the device was last heard)


def watched(device: dict[str, Any], now: datetime) -> dict[str, tuple[str, str]]:
    """subject -> (state, since) for one device as DeviceHealth.devices() lists it."""
    heard = device["heard_at"] or iso(now)
    states = {ONLINE: ("online" if device["online"] else "offline", heard)}
    for part, found in device["parts"].items():
        if part == PRINTER:
            states[PRINTER] = (found["status"] if found["status"] in PRINTER_TROUBLE else "ok", found["since"])
        elif part.startswith("button "):
            states[part] = (found["status"], found["since"])
    return states


def validate_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
        raise WebhookError(f"webhook {url!r}: expected an http:// or https:// address with a host")
    return url


def post_json(url: str, payload: dict[str, Any]) -> None:
    """POST `payload`; raises on no answer in time or an answer other than 2xx."""
    with requests.Session() as session:
        session.trust_env = False  # no proxy or .netrc from the environment changes where alerts go
        reply = session.post(url, json=payload, timeout=SEND_TIMEOUT_S, allow_redirects=False)
    if not 200 <= reply.status_code < 300:
        raise requests.HTTPError(f"answered {reply.status_code}", response=reply)


class Alerts:
    def __init__(self, db: HubDB, device_health: DeviceHealth, centers: Centers,
                 send: Callable[[str, dict[str, Any]], None] = post_json):
        self.db, self.device_health, self.centers, self.send = db, device_health, centers, send
        # The sweep runs on a worker thread that outlives the server's loop at shutdown: the hub
        # waits for it (close) before it closes the database under it.
        self._running = threading.Lock()
        self._closed = threading.Event()

    # --- the center's webhook -------------------------------------------------------------

    def set_webhook(self, center: str, url: str | None) -> None:
        """Send the center's alerts to `url` from now on (any not delivered yet too); None: stop
        sending them, and drop those not delivered, which would be stale news by the next URL."""
        with self.db.transaction() as d:
            if url is None:
                d.execute("DELETE FROM webhooks WHERE center = ?", [center])
                d.execute("DELETE FROM alerts WHERE center = ? AND sent_at IS NULL", [center])
            else:
                d.execute("INSERT INTO webhooks (center, url, set_at) VALUES (?, ?, ?) ON CONFLICT(center) "
                          "DO UPDATE SET url = excluded.url, set_at = excluded.set_at",
                          [center, validate_url(url), iso(self.db.now())])

    def webhook(self, center: str) -> str | None:
        rows = list(self.db.db.query("SELECT url FROM webhooks WHERE center = ?", [center]))
        return rows[0]["url"] if rows else None

    # --- noticing changes ------------------------------------------------------------------

    def sweep(self) -> list[Change]:
        """Record every watched state that changed since the last sweep; queue an alert for each
        where the center has a webhook. The changes, oldest subject first."""
        changes = []
        centers = [r["center"] for r in self.db.db.query("SELECT DISTINCT center FROM devices ORDER BY center")]
        for center in centers:
            now = self.db.now()
            devices = [d for d in self.device_health.devices(center) if not d["revoked"]]
            with self.db.transaction() as d:
                seen = {(r["device"], r["subject"]): r["state"] for r in d.query(
                    "SELECT device, subject, state FROM alert_states WHERE center = ?", [center])}
                url = self.webhook(center)
                for device in devices:
                    for subject, (state, since) in watched(device, now).items():
                        previous = seen.get((device["id"], subject))
                        if previous == state:
                            continue
                        self._note(d, center, device["id"], subject, state, since)
                        if previous is None and state in GOOD:
                            continue  # first seen, and well: no news
                        change = Change(center, device["id"], device["role"], device["window"], subject, state,
                                        previous, since)
                        if url:
                            d.table("alerts").insert({
                                "center": center, "device": device["id"], "subject": subject, "state": state,
                                "since": since, "noticed_at": iso(now), "attempts": 0, "next_try_at": iso(now),
                                "payload": json.dumps(self.payload(change), ensure_ascii=False)})
                        changes.append(change)
        for change in changes:
            log.info("alert: %s", self.text(change))
        return changes

    @staticmethod
    def _note(d: Any, center: str, device: str, subject: str, state: str, since: str) -> None:
        d.execute("INSERT INTO alert_states (center, device, subject, state, since) VALUES (?, ?, ?, ?, ?) "
                  "ON CONFLICT(center, device, subject) DO UPDATE SET state = excluded.state, since = excluded.since",
                  [center, device, subject, state, since])

    def text(self, change: Change) -> str:
        """One line, Russian then English, at the center's local time."""
        local = datetime.fromisoformat(change.since).astimezone(self.centers.timezone(change.center))
        kind = "button" if change.subject.startswith("button ") else change.subject
        ru, en = TEXTS.get((kind, change.state), ("{who}: {subject} — {state} с {at}",
                                                  "{who}: {subject} {state} since {at}"))
        window = f", окно {change.window}" if change.window else ""
        window_en = f", window {change.window}" if change.window else ""
        fields = {"at": local.strftime("%H:%M"), "subject": change.subject, "state": change.state,
                  "button": change.subject.removeprefix("button ")}
        return (ru.format(who=f"{change.device} ({ROLE_RU.get(change.role, change.role)}{window})", **fields)
                + " · " + en.format(who=f"{change.device} ({change.role}{window_en})", **fields))

    def payload(self, change: Change) -> dict[str, Any]:
        return {**asdict(change), "text": self.text(change)}

    # --- sending ---------------------------------------------------------------------------

    def deliver(self, limit: int = SENDS_PER_SWEEP) -> int:
        """POST the alerts that are due, oldest first; how many the webhooks took."""
        now = self.db.now()
        due = list(self.db.db.query(
            "SELECT a.id, a.center, a.payload, a.attempts, a.next_try_at, w.url "
            "FROM alerts a JOIN webhooks w USING (center) "
            "WHERE a.sent_at IS NULL ORDER BY a.id LIMIT ?", [limit]))
        failed: set[str] = set()
        sent = 0
        for alert in due:
            if self._closed.is_set():
                break  # the hub is stopping: the rest go at its next start
            if alert["center"] in failed:
                continue  # in order: behind the center's alert that did not go
            if alert["next_try_at"] > iso(now):
                failed.add(alert["center"])
                continue
            try:
                self.send(alert["url"], {"id": alert["id"], **json.loads(alert["payload"])})
            except (requests.RequestException, OSError) as exc:
                failed.add(alert["center"])
                self._failed(alert["id"], alert["attempts"] + 1, str(exc))
                continue
            with self.db.transaction() as d:
                d.execute("UPDATE alerts SET sent_at = ?, attempts = attempts + 1 WHERE id = ?",
                          [iso(self.db.now()), alert["id"]])
            sent += 1
        return sent

    def _failed(self, alert: int, attempts: int, error: str) -> None:
        wait = min(RETRY_FIRST_S * 2 ** (attempts - 1), RETRY_MAX_S)
        log.warning("alert %d: the webhook failed (%s): trying again in %.0f s", alert, error[:200], wait)
        with self.db.transaction() as d:
            d.execute("UPDATE alerts SET attempts = ?, last_error = ?, next_try_at = ? WHERE id = ?",
                      [attempts, error[:500], iso(self.db.now() + timedelta(seconds=wait)), alert])

    def pending(self, center: str) -> list[dict[str, Any]]:
        """The center's alerts not delivered yet, oldest first."""
        return list(self.db.db.query("SELECT * FROM alerts WHERE center = ? AND sent_at IS NULL ORDER BY id",
                                     [center]))

    def run_once(self) -> None:
        with self._running:
            if self._closed.is_set():
                return
            self.sweep()
            self.deliver()

    def close(self, timeout: float = sum(SEND_TIMEOUT_S) + 2) -> None:
        """No sweep from now on; wait up to `timeout` for one under way (a webhook answering slowly)."""
        self._closed.set()
        if self._running.acquire(timeout=timeout):
            self._running.release()


async def watch_devices(alerts: Alerts, every: float = SWEEP_EVERY_S) -> None:
    """Sweep and deliver now and then every `every` seconds, for as long as the hub serves, on a
    worker thread: the event loop, and with it ingest, never waits for a webhook."""
    while True:
        try:
            await run_in_threadpool(alerts.run_once)
        except Exception:  # a locked disk now must not end the alerts for good
            log.exception("the alert sweep failed; trying again in %.0f s", every)
        await asyncio.sleep(every)
