"""The wire between a center's hub and the city: paths, record types and their bodies.

A hub forwards its log to the city the way devices forward their outbox to the hub
(offline_cache/sync.py): batches of records, each with an id the city stores once however often
it arrives, answered record by record ("stored", "duplicate" or "rejected" with a reason). A
record is either a device event as the hub stored it (its type one of protocol.EVENT_TYPES) or a
snapshot of one of the hub's own rows, taken in the transaction that changed the row:

    {"id": str, "seq": int, "center": str, "type": str, "device": str, "at": ISO 8601, "body": {...}}

`seq` is the hub's order of its records (ascending, with gaps); the city keeps for each row
the snapshot of the highest seq, so a late retry never undoes a newer state. The reply also
says `last_seq`, the highest seq of the hub the city has stored: a hub restored from a backup
numbers its next records above it (hub/city_forwarder.py).

The city takes each record on its own (city/records.py); it refuses one, with a one-line
reason, when: it is not an object; `id` is not 1-128 of A-Z a-z 0-9 _ . : -; `seq` is not a
whole number from 1 to 2**63-1; `center` is not a center id or not held by the posting hub;
`type` is neither a device event type (protocol.EVENT_TYPES) nor a hub.* type below; `device`
is neither "" nor a device id ("" is refused for hub.device); `at` is not an ISO 8601 time with
a zone (years 2000-2099); `body` is not an object, is over MAX_RECORD_BODY_BYTES as compact
JSON, or holds a NUL character. A device event's body is not checked further: the hub checked
it when the device sent it. A hub.* body must have every field listed below (extra fields are
ignored), each of its type: times ISO 8601 with a zone or null where said; ids (service, ticket,
rating event) 1-64 of A-Z a-z 0-9 _ -; texts (operator, pause_reason, name) one line of at most
200; window as protocol.WINDOW_PATTERN ("" where a row may have none); number 1-16 letters,
digits or -; state 1-20 of a-z _; priority a bool or an integer; estimate_minutes 0-1440 or
null; services a list of at most 100 ids; online a bool or null; score 1..scale, scale 3 or 5;
timezone an IANA zone. Extra keys of a record are ignored. The same record twice in a batch is
"duplicate" the second time.
"""
from __future__ import annotations

from mfc_edge.protocol import API

CITY_API = "/city/v1"
CITY_ENROLL_PATH = f"{CITY_API}/enroll"  # POST {"code", "hub"} -> {"token", "hub", "centers", "bundle_key"}
CITY_LOG_PATH = f"{CITY_API}/log"  # POST {"records": [...]} with the hub's token -> {"results": [...]}
# The city's content for a center, relayed by its hub to its devices (city/publishing.py).
CITY_BUNDLES_PATH = f"{CITY_API}/bundles"  # GET ?center=&role= with the hub's token
# What residents and the city portal read; no token, cached, rate-limited (city/public.py).
PUBLIC_WAITS_PATH = f"{CITY_API}/public/waits"
# The back office's feed and webhooks (city/integration.py).
FEED_PATH = f"{CITY_API}/feed"
HUB_API = API  # the hub's own API, for a city that links to a center's hub

# Snapshots of the hub's own rows.
HUB_TICKET = "hub.ticket"
# body: ticket (the ticket's id on the hub), number, service, day (service day), priority, state, issued_at,
# first_called_at, called_at, started_at, finished_at, window, operator, walk_in (bool), estimate_minutes (int|null),
# replaces (the id this ticket had before, when a ticket called by number took its kiosk's id; else null);
# optional: slot_at (a booked visitor's slot, or null), awaiting_event (bool: called by number before its
# kiosk's event came): the city's waits begin at the slot and leave such tickets out, as the hub's do
HUB_WINDOW = "hub.window"
# body: window, open_since (null: closed), services (list), operator, paused_since, pause_reason
HUB_DEVICE = "hub.device"
# body: role, online (bool|null), since, revoked (bool); `device` of the record is the device's id
HUB_RATING = "hub.rating"
# body: event (the rating.given event's id), window, ticket (null if none), score, scale, day, at
HUB_CENTER = "hub.center"
# body: name, timezone (null: the city keeps the zone it has)
HUB_RECORD_TYPES = frozenset({HUB_TICKET, HUB_WINDOW, HUB_DEVICE, HUB_RATING, HUB_CENTER})

# A linked hub posts at least this often, an empty batch when it has nothing (its beat); the
# city calls a center whose hub it has not heard from for SILENT_AFTER_S silent: "unknown".
HUB_BEAT_EVERY_S = 60.0
SILENT_AFTER_S = 300.0

MAX_LOG_RECORDS = 1000  # per batch
MAX_LOG_BYTES = 4 * 1024 * 1024
MAX_RECORD_BODY_BYTES = 32 * 1024  # a device event's body is at most 16 K characters (protocol.MAX_EVENT_BYTES)
