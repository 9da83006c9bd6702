-- The city's schema, step 3: content the city publishes for many centers at once (city/publishing.py).
--
-- A bundle is signed where it is published, with the city's key, never on a city web process:
-- the signed envelope of each target center is stored here, and the web processes only hand
-- out what is stored. A center's envelope names that center, so devices check it as they check
-- their hub's bundles (mfc_edge/bundle.py).

-- The public half of the city's publishing key, registered when the key is made: a publish
-- signed with any other key is refused, and hubs learn this key when they enroll.
CREATE TABLE city_publishing_key (
    only_one   boolean PRIMARY KEY DEFAULT true CHECK (only_one),
    public_key bytea NOT NULL CHECK (length(public_key) = 32),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- One row per publish: a role's version goes up city-wide, so every center's city layer only
-- ever moves forward.
CREATE TABLE city_bundles (
    role         text NOT NULL,
    version      bigint NOT NULL,
    published_at timestamptz NOT NULL,
    target       text NOT NULL,           -- what the editor named: "all", "district:D", "center:C"
    PRIMARY KEY (role, version)
);

-- The centers a publish reached, each with its own signed envelope (the manifest names the center).
CREATE TABLE city_bundle_targets (
    role     text NOT NULL,
    version  bigint NOT NULL,
    center   text NOT NULL,
    envelope bytea NOT NULL,
    PRIMARY KEY (role, version, center),
    FOREIGN KEY (role, version) REFERENCES city_bundles (role, version) ON DELETE CASCADE
);
CREATE INDEX city_bundle_targets_latest ON city_bundle_targets (center, role, version DESC);

-- Asset contents by SHA-256, stored once however many bundles have them, in pieces so a large
-- video is neither held in memory whole nor beyond bytea's limit.
CREATE TABLE city_bundle_assets (
    sha256 text PRIMARY KEY,
    size   bigint NOT NULL
);
CREATE TABLE city_bundle_chunks (
    sha256 text NOT NULL REFERENCES city_bundle_assets (sha256) ON DELETE CASCADE,
    part   integer NOT NULL,
    data   bytea NOT NULL,
    PRIMARY KEY (sha256, part)
);

-- Which assets each publish has: a hub may fetch an asset only of a bundle for one of its centers.
CREATE TABLE city_bundle_contents (
    role    text NOT NULL,
    version bigint NOT NULL,
    sha256  text NOT NULL REFERENCES city_bundle_assets (sha256),
    PRIMARY KEY (role, version, sha256),
    FOREIGN KEY (role, version) REFERENCES city_bundles (role, version) ON DELETE CASCADE
);
CREATE INDEX city_bundle_contents_asset ON city_bundle_contents (sha256);
