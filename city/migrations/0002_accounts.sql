-- The city's schema, step 2: the accounts of the city's operations staff who use the dashboard
-- (city/accounts.py), their sign-in sessions, and failed sign-ins kept in the database so every
-- city process behind the load balancer counts the same lockout.

CREATE TABLE accounts (
    login         text PRIMARY KEY,
    name          text NOT NULL DEFAULT '',
    role          text NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
    password_hash text NOT NULL,              -- Argon2id
    created_at    timestamptz NOT NULL DEFAULT now(),
    disabled_at   timestamptz
);

-- Only the SHA-256 of a session's token is kept: a copy of the database signs nobody in.
CREATE TABLE account_sessions (
    token_hash text PRIMARY KEY,
    login      text NOT NULL REFERENCES accounts (login) ON DELETE CASCADE,
    expires_at timestamptz NOT NULL
);
CREATE INDEX account_sessions_login ON account_sessions (login);
CREATE INDEX account_sessions_expires ON account_sessions (expires_at);

-- key: "login:<login>" or "address:<address>".
CREATE TABLE sign_in_failures (
    key          text PRIMARY KEY,
    failures     integer NOT NULL,
    last_at      timestamptz NOT NULL,
    locked_until timestamptz
);
