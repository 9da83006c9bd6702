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
# body: number, service, day (service day), priority, state, issued_at, first_called_at, called_at,
# started_at, finished_at, window, operator, walk_in (bool), estimate_minutes (int|null),
# replaces (the id this ticket had before, when a ticket called by number took its kiosk's id; else null)
HUB_WINDOW = "hub.window"
# body: window, open_since (null: closed), services (list), operator, paused_since, pause_reason
HUB_DEVICE = "hub.device"
# body: role, online (bool|null), since, revoked (bool); `device` of the record is the device's id
HUB_RATING = "hub.rating"
# body: event (the rating.given event's id), window, ticket (null if none), score, scale, day, at
HUB_CENTER = "hub.center"
# body: name, timezone
HUB_RECORD_TYPES = frozenset({HUB_TICKET, HUB_WINDOW, HUB_DEVICE, HUB_RATING, HUB_CENTER})

# A linked hub posts at least this often, an empty batch when it has nothing (its beat); the
# city calls a center whose hub it has not heard from for SILENT_AFTER_S silent: "unknown".
HUB_BEAT_EVERY_S = 60.0
SILENT_AFTER_S = 300.0

MAX_LOG_RECORDS = 1000  # per batch
MAX_LOG_BYTES = 4 * 1024 * 1024
