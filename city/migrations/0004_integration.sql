-- The city's schema, step 4: the back office's feed and webhooks (city/integration.py,
-- city/webhooks.py; docs/city-integration.md).

-- A token per back-office system, shown once; only its SHA-256 is kept. Empty `centers` and
-- `districts` mean every center; otherwise the token reads the centers named or in the
-- districts named (a district as centers.district says at the time of reading).
CREATE TABLE integration_tokens (
    id         text PRIMARY KEY,
    name       text NOT NULL,
    token_hash text NOT NULL UNIQUE,
    centers    text[] NOT NULL DEFAULT '{}',
    districts  text[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL,
    revoked_at timestamptz
);

-- The feed reads the tickets' snapshots in its order (the storing transaction, then the hub's
-- order within it), and for each one the same ticket's earlier snapshot with the highest hub
-- seq: both down an index.
CREATE INDEX log_ticket_feed ON log (tx, hub, seq, city_seq) WHERE type = 'hub.ticket';
CREATE INDEX log_ticket_history ON log (center, (body ->> 'ticket'), seq) WHERE type = 'hub.ticket';

-- A receiver of events. The secret signs every POST (HMAC-SHA256), so the city must keep it as
-- it is, not hashed: it is shown once when the webhook is added, and never listed again.
CREATE TABLE webhooks (
    id          text PRIMARY KEY,
    url         text NOT NULL,
    secret      text NOT NULL,
    events      text[] NOT NULL DEFAULT '{}',   -- empty: every type
    centers     text[] NOT NULL DEFAULT '{}',
    districts   text[] NOT NULL DEFAULT '{}',
    after       text NOT NULL,                  -- the feed's cursor up to which deliveries are queued
    created_at  timestamptz NOT NULL,
    removed_at  timestamptz
);

-- One event to one webhook. Several city processes send: each claims due rows with
-- FOR UPDATE SKIP LOCKED and holds them for a lease while it POSTs, so none is sent twice
-- unless a try failed (or its process died holding the lease).
CREATE TABLE webhook_deliveries (
    id           text PRIMARY KEY,
    queued       bigserial,                     -- the feed's order among a webhook's deliveries
    webhook      text NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    cursor       text NOT NULL,                 -- the event's place in the feed
    event        jsonb NOT NULL,
    created_at   timestamptz NOT NULL,
    attempts     integer NOT NULL DEFAULT 0,
    next_try_at  timestamptz NOT NULL,
    leased_until timestamptz,
    delivered_at timestamptz,
    gave_up_at   timestamptz,
    last_error   text NOT NULL DEFAULT '',
    UNIQUE (webhook, cursor)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_try_at)
    WHERE delivered_at IS NULL AND gave_up_at IS NULL;
