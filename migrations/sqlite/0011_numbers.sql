-- Numbers (issue 20): the operator's pool of DIDs, who held and holds each, and the on-net rule.

-- One row per number the operator offers, in E.164 ('+442079460000'). Its state as operators
-- know it: free (listed), held (for `held_until`, by the subscriber whose hold key hashes to
-- `hold_key_hash`), active (allocated to `user_id`), closed (released; back in the pool after
-- `closed_until`), reserved (kept back by the operator), terminated (gone for good). A hold
-- or quarantine that has run out counts as free: nothing has to sweep the table.
CREATE TABLE dids (
    id                 INTEGER PRIMARY KEY,
    number             TEXT NOT NULL UNIQUE,
    country            TEXT NOT NULL,                   -- ISO 3166 alpha-2
    region             TEXT NOT NULL DEFAULT '',
    monthly_fee_micros INTEGER NOT NULL DEFAULT 0 CHECK (monthly_fee_micros >= 0),
    setup_fee_micros   INTEGER NOT NULL DEFAULT 0 CHECK (setup_fee_micros >= 0),
    currency           TEXT NOT NULL REFERENCES currencies(code),
    state              TEXT NOT NULL DEFAULT 'free'
        CHECK (state IN ('free', 'held', 'active', 'closed', 'reserved', 'terminated')),
    hold_key_hash      TEXT,
    held_by            INTEGER REFERENCES users(id),
    held_until         INTEGER,
    user_id            INTEGER REFERENCES users(id),
    device_id          INTEGER REFERENCES devices(id) ON DELETE SET NULL,  -- where calls go: a device of the owner
    forward_to         TEXT,                            -- … or an E.164 number
    closed_until       INTEGER,
    updated_at         INTEGER NOT NULL
);
CREATE INDEX dids_pool ON dids (country, region, number)
    WHERE state IN ('free', 'held', 'closed');
CREATE INDEX dids_user ON dids (user_id) WHERE user_id IS NOT NULL;

-- Who had a number when: calls are attributed by the holder at the time of the call, and the
-- fee is a subscription for as long as the allocation lasts.
CREATE TABLE did_allocations (
    id              INTEGER PRIMARY KEY,
    did_id          INTEGER NOT NULL REFERENCES dids(id),
    user_id         INTEGER NOT NULL REFERENCES users(id),
    allocated_at    INTEGER NOT NULL,
    released_at     INTEGER,
    subscription_id INTEGER REFERENCES subscriptions(id) ON DELETE SET NULL
);
CREATE INDEX did_allocations_did ON did_allocations (did_id, allocated_at);
CREATE INDEX did_allocations_user ON did_allocations (user_id, allocated_at);
-- At most one allocation open per number: a second allocation racing the first fails here.
CREATE UNIQUE INDEX did_allocations_open ON did_allocations (did_id) WHERE released_at IS NULL;

-- The operator's number settings (one row): days a released number rests before it is offered
-- again, and the per-minute price of a call between two subscribers (0: free) in `on_net_currency`
-- ('' : the base currency).
CREATE TABLE number_settings (
    id                  INTEGER PRIMARY KEY CHECK (id = 1),
    quarantine_days     INTEGER NOT NULL DEFAULT 90 CHECK (quarantine_days >= 0),
    on_net_rate_micros  INTEGER NOT NULL DEFAULT 0 CHECK (on_net_rate_micros >= 0),
    on_net_currency     TEXT NOT NULL DEFAULT ''
);
INSERT INTO number_settings (id) VALUES (1);
