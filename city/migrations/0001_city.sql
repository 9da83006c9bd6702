-- The city's schema, step 1: the hubs and their centers, every center's log exactly once, and
-- what the dashboard, the public page and the reports read, projected from the log.
-- A step once released is never edited: later changes are new files (0002_..., 0003_...).

-- Hubs enroll with the city as devices enroll with their hub: a one-time code names the hub and
-- the centers it speaks for; the hub gets a token (only its SHA-256 is kept).
CREATE TABLE hub_codes (
    code_hash   text PRIMARY KEY,
    hub         text NOT NULL,
    centers     text[] NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);

CREATE TABLE hubs (
    id           text PRIMARY KEY,
    token_hash   text UNIQUE,
    enrolled_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    last_contact timestamptz,           -- the city's clock when the hub last sent anything
    last_seq     bigint NOT NULL DEFAULT 0  -- the highest log seq of the hub stored
);

-- A center belongs to one hub at a time; its district is the city's to set. Its name and time
-- zone come from its hub ("hub.center" records) unless the city set them (`mfc-edge city
-- set-center`): then the city's stay.
CREATE TABLE centers (
    id               text PRIMARY KEY,
    name             text NOT NULL DEFAULT '',
    district         text NOT NULL DEFAULT '',
    timezone         text NOT NULL DEFAULT 'Europe/Moscow',
    hub              text REFERENCES hubs (id),
    name_by_city     boolean NOT NULL DEFAULT false,
    timezone_by_city boolean NOT NULL DEFAULT false,
    hub_seq          bigint NOT NULL DEFAULT 0  -- of the latest "hub.center" record applied
);

-- Every record every hub forwarded, once: a device event as the hub stored it, or a snapshot of
-- a hub's own record ("hub.ticket", "hub.window", ...; city/wire.py). The primary key is what
-- makes several city processes ingesting at once store each record once. `tx` (the storing
-- transaction) and `city_seq` order the whole city's log for the integration feed's cursor: a
-- reader takes only rows whose transaction is below every one still running, so a row committed
-- late with a lower city_seq is never skipped (city/integration.py).
CREATE TABLE log (
    center      text NOT NULL,
    id          text NOT NULL,
    hub         text NOT NULL,
    seq         bigint NOT NULL,         -- the hub's order
    type        text NOT NULL,
    device      text NOT NULL DEFAULT '',
    at          timestamptz NOT NULL,
    body        jsonb NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    city_seq    bigserial UNIQUE,
    tx          xid8 NOT NULL DEFAULT pg_current_xact_id(),
    PRIMARY KEY (center, id)
);
CREATE INDEX log_tx_seq ON log (tx, city_seq);
CREATE INDEX log_type_at ON log (type, at);

-- The projection: each row is the latest snapshot of its record (hub_seq guards the order).
CREATE TABLE tickets (
    center           text NOT NULL,
    id               text NOT NULL,
    number           text NOT NULL,
    service          text NOT NULL,
    day              date NOT NULL,           -- the center's service day
    priority         integer NOT NULL DEFAULT 0,
    state            text NOT NULL,           -- the hub's states (hub/queue.py, hub/visits.py)
    issued_at        timestamptz NOT NULL,
    first_called_at  timestamptz,
    called_at        timestamptz,
    started_at       timestamptz,
    finished_at      timestamptz,
    "window"         text NOT NULL DEFAULT '',
    operator         text NOT NULL DEFAULT '',
    walk_in          boolean NOT NULL DEFAULT false,
    estimate_minutes integer,
    slot_at          timestamptz,             -- a booked visitor's slot: their wait begins there
    awaiting_event   boolean NOT NULL DEFAULT false,  -- called by number before its kiosk's event
    hub_seq          bigint NOT NULL,
    PRIMARY KEY (center, id)
);
CREATE INDEX tickets_center_day ON tickets (center, day);
CREATE INDEX tickets_waiting ON tickets (center, issued_at) WHERE state = 'waiting';

CREATE TABLE windows (
    center       text NOT NULL,
    "window"     text NOT NULL,
    open_since   timestamptz,             -- NULL: closed
    services     text[] NOT NULL DEFAULT '{}',
    operator     text NOT NULL DEFAULT '',
    paused_since timestamptz,
    pause_reason text NOT NULL DEFAULT '',
    hub_seq      bigint NOT NULL,
    PRIMARY KEY (center, "window")
);

CREATE TABLE devices (
    center   text NOT NULL,
    id       text NOT NULL,
    role     text NOT NULL DEFAULT '',
    online   boolean,                     -- NULL: the hub has not judged it yet
    since    timestamptz,
    revoked  boolean NOT NULL DEFAULT false,
    hub_seq  bigint NOT NULL,
    PRIMARY KEY (center, id)
);

CREATE TABLE ratings (
    center   text NOT NULL,
    event    text NOT NULL,
    "window" text NOT NULL DEFAULT '',
    ticket   text,
    score    integer NOT NULL,
    scale    integer NOT NULL,
    day      date NOT NULL,
    at       timestamptz NOT NULL,
    hub_seq  bigint NOT NULL,
    PRIMARY KEY (center, event)
);
CREATE INDEX ratings_center_day ON ratings (center, day);
