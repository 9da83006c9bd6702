"""Every way a visit goes at a window, beside "call next" (hub/queue.py, whose Queue builds on this).

    waiting → called → serving → done | no_show
    called | serving → held (sent to pay a fee or make a copy; keeps its window, in no line)
                     → called again by "return" at the same window (a new call: the hall shows it)
    called | serving → waiting again by a transfer, keeping its time of issue: to another
                     service's line, or directed to one window or one operator (`for_window`,
                     `for_operator`), which call it ahead of their other lines
    waiting | held → expired at the end of the day; waiting → cancelled from the phone page

A visitor without a ticket is served at once (`walk_in`): a ticket the hub makes, serving from
the start, never called in the hall. A number the operator reads off a visitor's paper is
called out of order (`call_number`), also one whose kiosk has not sent its ticket yet: the hub
records it as `awaiting_event` and the kiosk's event completes the row later (Queue.add_issued).

A visit may take several services: its ticket's own, and those the operator adds; at the end
each gets an outcome (`visit_services`). A window may pause with a reason; a paused window
calls nobody until "call next", "call number" or "return" ends the pause.

Every action records who did it: the login of the operator holding the window, on the ticket
(`operator`) and on its history row.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Protocol

from sqlite_utils import Database

from hub.centers import Centers
from hub.db import HubDB, Row, iso
from mfc_edge.ids import ticket_id
from mfc_edge.protocol import CALL_NUMBER

ACTIVE = ("called", "serving")
# The outcome of each service of a visit, and why a window pauses; the console names them.
OUTCOMES = ("done", "documents_missing", "refused", "consultation")
OUTCOME_NAMES = {"done": "Оказана", "documents_missing": "Не хватает документов", "refused": "Отказ",
                 "consultation": "Только консультация"}
PAUSE_REASONS = ("break", "technical", "other")
PAUSE_REASON_NAMES = {"break": "Перерыв", "technical": "Технический сбой", "other": "Другое"}
HOLD_REASON_MAX = 80
# A walk-in's number: apart from every number a kiosk prints (a letter and three digits).
WALK_IN_PREFIX = "БТ"


class QueueError(ValueError):
    """An operator action that does not fit the queue's state; the message is for the operator."""


class Lettered(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def letter(self) -> str: ...


def service_by_letter(services: Iterable[Lettered], letter: str, window_services: list[str]) -> str | None:
    """The service a number's letter stands for: the one service of the catalog printed with it,
    else the one of those the window serves; None when that does not decide it."""
    lettered = [s.id for s in services if s.letter == letter]
    if len(lettered) == 1:
        return lettered[0]
    here = [s for s in lettered if s in window_services]
    return here[0] if len(here) == 1 else None


class Visits:
    def __init__(self, db: HubDB, centers: Centers):
        self.db, self.centers = db, centers

    # --- reading --------------------------------------------------------------------

    def current(self, center: str, window: str) -> Row | None:
        rows = list(self.db.db.query(
            "SELECT * FROM tickets WHERE center = ? AND window = ? AND state IN ('called', 'serving') "
            "ORDER BY called_at DESC LIMIT 1", [center, window]))
        return rows[0] if rows else None

    def window(self, center: str, window: str) -> Row | None:
        """The window if it is open: its services and the login of the operator holding it."""
        rows = list(self.db.db.query("SELECT * FROM windows WHERE center = ? AND window = ? AND open_since IS NOT NULL",
                                     [center, window]))
        return rows[0] if rows else None

    def held(self, center: str, window: str) -> list[Row]:
        """The visitors on hold at the window, the longest held first: number, service, since when, why."""
        return [{k: r[k] for k in ("number", "service", "held_at", "reason")} for r in self._held(center, window)]

    def _held(self, center: str, window: str) -> list[Row]:
        return list(self.db.db.query(
            "SELECT t.id, t.number, t.printed_number, t.service, h.at AS held_at, h.detail AS reason FROM tickets t "
            "JOIN ticket_history h "
            "ON h.id = (SELECT max(id) FROM ticket_history WHERE ticket = t.id AND state = 'held') "
            "WHERE t.center = ? AND t.window = ? AND t.state = 'held' ORDER BY h.id", [center, window]))

    def visit_services(self, ticket: Row) -> list[Row]:
        """The services of the visit: the ticket's own first, then those added, each with its
        outcome ("" until the visit is finished)."""
        added = {r["service"]: r["outcome"] for r in self.db.db.query(
            "SELECT service, outcome FROM visit_services WHERE ticket = ? ORDER BY rowid", [ticket["id"]])}
        return [{"service": ticket["service"], "outcome": added.pop(ticket["service"], "")},
                *({"service": s, "outcome": o} for s, o in added.items())]

    # --- shared steps -----------------------------------------------------------------

    @staticmethod
    def _holder(d: Database, center: str, window: str | None) -> str:
        if window is None:
            return ""
        found = d.execute("SELECT operator FROM windows WHERE center = ? AND window = ?", [center, window]).fetchone()
        return (found[0] or "") if found else ""

    def _history(self, d: Database, ticket: Row, state: str, window: str | None, detail: str = "") -> None:
        d.table("ticket_history").insert({"ticket": ticket["id"], "center": ticket["center"], "state": state,
                                          "at": iso(self.db.now()), "window": window, "detail": detail,
                                          "operator": self._holder(d, ticket["center"], window)})

    def _set_state(self, d: Database, ticket: Row, state: str, at_window: str | None, detail: str = "",
                   **fields: str | None) -> None:
        """Move the ticket to `state` with its history row; at a window, the window's operator did it."""
        now = iso(self.db.now())
        changes: dict[str, Any] = {"state": state, **{k: (now if v == "now" else v) for k, v in fields.items()}}
        if at_window is not None:
            changes["operator"] = self._holder(d, ticket["center"], at_window)
        d.table("tickets").update(ticket["id"], changes)
        self._history(d, ticket, state, at_window, detail)
        self.db.bump_feed(d, ticket["center"])

    def _announce(self, d: Database, ticket: Row, window: str, recall: bool = False) -> None:
        """A call the hall shows and announces."""
        d.table("calls").insert({"center": ticket["center"], "ticket": ticket["id"], "number": ticket["number"],
                                 "window": window, "at": iso(self.db.now()), "recall": int(recall)})

    def _active(self, center: str, window: str) -> Row:
        ticket = self.current(center, window)
        if ticket is None:
            raise QueueError("no visitor is called to this window")
        return ticket

    def _open(self, center: str, window: str) -> None:
        if self.window(center, window) is None:
            raise QueueError(f"window {window} is not open: open it first")

    def _free(self, d: Database, center: str, window: str) -> None:
        """Before calling someone to the window: nobody is at it, and a pause ends."""
        if self.current(center, window):
            raise QueueError("finish the current visitor or mark a no-show first")
        self._end_pause(d, center, window)

    def _end_pause(self, d: Database, center: str, window: str) -> bool:
        if not d.execute("UPDATE windows SET paused_since = NULL, pause_reason = '' WHERE center = ? AND window = ? "
                         "AND paused_since IS NOT NULL", [center, window]).rowcount:
            return False
        d.execute("UPDATE window_pauses SET ended_at = ? WHERE center = ? AND window = ? AND ended_at IS NULL",
                  [iso(self.db.now()), center, window])
        self.db.bump_feed(d, center)
        return True

    def _fetch(self, d: Database, ticket_id_: str) -> Row:
        return dict(d.table("tickets").get(ticket_id_))

    # --- calling a given number, a walk-in ------------------------------------------------

    def call_number(self, center: str, window: str, number: str, service: str | None = None) -> Row:
        """Call the ticket of today with this call or printed number, out of turn. A number the hub
        has not received yet (its kiosk is offline) becomes a ticket awaiting its kiosk's event,
        of `service`; without one the operator is asked which service it is."""
        if not CALL_NUMBER.fullmatch(number):
            raise QueueError(f"{number!r} is not a ticket number (a letter and three digits, e.g. П123)")
        today, _ = self.centers.today(center)
        with self.db.transaction() as d:
            self._open(center, window)
            self._free(d, center, window)
            found = list(d.query("SELECT * FROM tickets WHERE center = ? AND day = ? "
                                 "AND (number = ? OR printed_number = ?) ORDER BY number != ?, issued_at",
                                 [center, today, number, number, number]))
            if found:
                waiting = [t for t in found if t["state"] == "waiting"]
                if not waiting:
                    raise QueueError(f"ticket {found[0]['number']} is not waiting: it is {found[0]['state']}")
                ticket, detail = waiting[0], "by number"
            else:
                if "/" in number:
                    raise QueueError(f"no ticket {number} today")
                if not service:
                    raise QueueError(f"the hub has no ticket {number} yet: choose its service to call it")
                now = iso(self.db.now())
                ticket = {"id": ticket_id(), "center": center, "device": "", "number": number,
                          "printed_number": number, "service": service, "day": today, "device_day": today,
                          "priority": 0, "issued_at": now, "received_at": now, "state": "waiting",
                          "awaiting_event": 1}
                d.table("tickets").insert(ticket)
                detail = "by number, before the kiosk's ticket"
            self._set_state(d, ticket, "called", window, detail, window=window, called_at="now")
            self._announce(d, ticket, window)
            return self._fetch(d, ticket["id"])

    def walk_in(self, center: str, window: str, service: str) -> Row:
        """Serve a visitor who has no ticket, at once: a ticket of the hub's, waiting 0, not called in the hall."""
        today, _ = self.centers.today(center)
        with self.db.transaction() as d:
            self._open(center, window)
            self._free(d, center, window)
            count = d.execute("SELECT count(*) FROM tickets WHERE center = ? AND day = ? AND walk_in = 1",
                              [center, today]).fetchone()[0]
            now = iso(self.db.now())
            ticket: Row = {"id": ticket_id(), "center": center, "device": "", "number": f"{WALK_IN_PREFIX}{count + 1}",
                      "printed_number": "", "service": service, "day": today, "device_day": today, "priority": 0,
                      "issued_at": now, "received_at": now, "called_at": now, "started_at": now, "window": window,
                      "state": "waiting", "walk_in": 1}
            d.table("tickets").insert(ticket)
            self._set_state(d, ticket, "serving", window, "walk-in")
            return self._fetch(d, ticket["id"])

    # --- hold and return ------------------------------------------------------------------

    def hold(self, center: str, window: str, reason: str = "") -> Row:
        """The visitor steps away (to pay a fee, make a copy): out of every line, kept for this window."""
        reason = " ".join(reason.split())
        if len(reason) > HOLD_REASON_MAX:
            raise QueueError(f"the reason is longer than {HOLD_REASON_MAX} characters")
        with self.db.transaction() as d:
            ticket = self._active(center, window)
            self._set_state(d, ticket, "held", window, reason)
            return self._fetch(d, ticket["id"])

    def return_held(self, center: str, window: str, number: str | None = None) -> Row:
        """Call a held visitor back to this window: `number`, or the one held longest."""
        with self.db.transaction() as d:
            self._free(d, center, window)
            held = [h for h in self._held(center, window) if number in (None, h["number"], h["printed_number"])]
            if not held:
                raise QueueError(f"ticket {number} is not on hold at this window" if number
                                 else "nobody is on hold at this window")
            ticket = self._fetch(d, held[0]["id"])
            self._set_state(d, ticket, "called", window, "returned")
            self._announce(d, ticket, window)
            return self._fetch(d, ticket["id"])

    # --- transfer ---------------------------------------------------------------------------

    def transfer(self, center: str, window: str, to_service: str | None = None, to_window: str | None = None,
                 to_operator: str | None = None) -> Row:
        """Back in line, keeping the time of issue: in another service's line, or directed to one
        window or one operator, who call it ahead of their other lines."""
        if sum(x is not None for x in (to_service, to_window, to_operator)) != 1:
            raise QueueError("transfer to one of: a service, a window, an operator")
        with self.db.transaction() as d:
            ticket = self._active(center, window)
            fields: dict[str, Any] = {"window": None, "called_at": None, "started_at": None,
                                             "for_window": "", "for_operator": ""}
            if to_service is not None:
                if to_service == ticket["service"]:
                    raise QueueError("the ticket is already in that service's line")
                detail, fields["service"] = f"{ticket['service']} -> {to_service}", to_service
            elif to_window is not None:
                if to_window == window:
                    raise QueueError(f"the visitor is already at window {window}")
                if self.window(center, to_window) is None:
                    raise QueueError(f"window {to_window} is not open")
                detail, fields["for_window"] = f"window {to_window}", to_window
            else:
                assert to_operator is not None
                if not d.execute("SELECT 1 FROM operators WHERE center = ? AND login = ? AND disabled_at IS NULL",
                                 [center, to_operator]).fetchone():
                    raise QueueError(f"no operator {to_operator} in this center")
                if to_operator == self._holder(d, center, window):
                    raise QueueError("the visitor is already yours")
                detail, fields["for_operator"] = f"operator {to_operator}", to_operator
            self._history(d, ticket, "transferred", window, detail)
            self._set_state(d, ticket, "waiting", window, **fields)
            return self._fetch(d, ticket["id"])

    # --- the services of a visit --------------------------------------------------------------

    def add_service(self, center: str, window: str, service: str) -> Row:
        """One more service in this visit (a life situation is one visit)."""
        with self.db.transaction() as d:
            ticket = self._active(center, window)
            if any(s["service"] == service for s in self.visit_services(ticket)):
                raise QueueError(f"{service} is already part of this visit")
            d.table("visit_services").insert({"ticket": ticket["id"], "center": center, "service": service,
                                              "outcome": "", "window": window,
                                              "operator": self._holder(d, center, window), "at": iso(self.db.now())})
            return ticket

    def finish(self, center: str, window: str, outcomes: dict[str, str] | None = None) -> Row:
        """The visit ends: each of its services gets its outcome, "done" unless told otherwise."""
        outcomes = outcomes or {}
        bad = [o for o in outcomes.values() if o not in OUTCOMES]
        if bad:
            raise QueueError(f"unknown outcome {bad[0]!r}: expected one of {', '.join(OUTCOMES)}")
        with self.db.transaction() as d:
            ticket = self._active(center, window)
            services = [s["service"] for s in self.visit_services(ticket)]
            stray = [s for s in outcomes if s not in services]
            if stray:
                raise QueueError(f"{stray[0]} is not a service of this visit")
            now, operator = iso(self.db.now()), self._holder(d, center, window)
            d.table("visit_services").upsert_all(
                [{"ticket": ticket["id"], "center": center, "service": s, "outcome": outcomes.get(s, "done"),
                  "window": window, "operator": operator, "at": now} for s in services], pk=("ticket", "service"))
            fields = {"finished_at": "now"}
            if not ticket["started_at"]:
                fields["started_at"] = ticket["called_at"]  # served without a separate "arrived"
            self._set_state(d, ticket, "done", window, **fields)
            return self._fetch(d, ticket["id"])

    # --- pauses ---------------------------------------------------------------------------------

    def pause(self, center: str, window: str, reason: str) -> None:
        """The window stops calling (a break, a fault) until resumed or until it calls someone."""
        if reason not in PAUSE_REASONS:
            raise QueueError(f"unknown pause reason {reason!r}: expected one of {', '.join(PAUSE_REASONS)}")
        with self.db.transaction() as d:
            self._open(center, window)
            held = self.window(center, window)
            assert held is not None
            if held["paused_since"]:
                raise QueueError(f"window {window} is already paused")
            if self.current(center, window):
                raise QueueError("finish the current visitor or mark a no-show first")
            now = iso(self.db.now())
            d.execute("UPDATE windows SET paused_since = ?, pause_reason = ? WHERE center = ? AND window = ?",
                      [now, reason, center, window])
            d.table("window_pauses").insert({"center": center, "window": window, "operator": held["operator"] or "",
                                             "reason": reason, "started_at": now, "ended_at": None})
            self.db.bump_feed(d, center)

    def resume(self, center: str, window: str) -> None:
        with self.db.transaction() as d:
            if not self._end_pause(d, center, window):
                raise QueueError(f"window {window} is not paused")

    def pause_of(self, center: str, window: str) -> Row | None:
        """{"since", "reason"} while the window is paused."""
        held = self.window(center, window)
        if held is None or not held["paused_since"]:
            return None
        return {"since": held["paused_since"], "reason": held["pause_reason"]}

    def operators(self, center: str) -> list[Row]:
        """The center's operators, whom a visitor may be transferred to."""
        return list(self.db.db.query("SELECT login, name FROM operators WHERE center = ? AND disabled_at IS NULL "
                                     "ORDER BY name, login", [center]))

    def open_windows(self, center: str) -> list[str]:
        rows = self.db.db.query("SELECT window FROM windows WHERE center = ? AND open_since IS NOT NULL "
                                "ORDER BY length(window), window", [center])
        return [r["window"] for r in rows]

    def window_services(self, center: str, window: str) -> list[str]:
        held = self.window(center, window)
        return json.loads(held["services"] or "[]") if held else []
