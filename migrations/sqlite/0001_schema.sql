-- The whole product's schema. Conventions shared with the PostgreSQL migration:
-- * ids and counters are 64-bit integers; flags are 0/1 integers;
-- * instants are UTC seconds since the Unix epoch (INTEGER), calendar dates are 'YYYY-MM-DD' text;
-- * money is an integer count of micro-units (1/1,000,000) of the row's currency, never a float;
-- * percentages are integer hundredths of a percent (18.00 % = 1800).

CREATE TABLE currencies (
    code        TEXT PRIMARY KEY,           -- ISO 4217
    name        TEXT NOT NULL,
    decimals    INTEGER NOT NULL DEFAULT 2,
    is_base     INTEGER NOT NULL DEFAULT 0
);

-- Units of `currency` per one unit of the base currency, times 1,000,000; the newest row in force wins.
CREATE TABLE exchange_rates (
    id          INTEGER PRIMARY KEY,
    currency    TEXT NOT NULL REFERENCES currencies(code),
    rate_micros INTEGER NOT NULL CHECK (rate_micros > 0),
    valid_from  INTEGER NOT NULL,
    UNIQUE (currency, valid_from)
);

CREATE TABLE tariffs (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    currency    TEXT NOT NULL REFERENCES currencies(code)
);

CREATE TABLE destination_groups (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    flag        TEXT NOT NULL DEFAULT ''     -- ISO 3166 alpha-2, names the flag icon
);

CREATE TABLE destinations (
    id          INTEGER PRIMARY KEY,
    group_id    INTEGER NOT NULL REFERENCES destination_groups(id),
    prefix      TEXT NOT NULL UNIQUE,
    details     TEXT NOT NULL,
    dir_code    TEXT NOT NULL                -- FIX, MOB, ...
);
CREATE INDEX destinations_group ON destinations (group_id);

CREATE TABLE rates (
    id              INTEGER PRIMARY KEY,
    tariff_id       INTEGER NOT NULL REFERENCES tariffs(id),
    group_id        INTEGER NOT NULL REFERENCES destination_groups(id),
    rate_type       TEXT NOT NULL,           -- matches destinations.dir_code
    price_micros    INTEGER NOT NULL,        -- per minute, in the tariff's currency
    connection_fee_micros INTEGER NOT NULL DEFAULT 0,
    increment_s     INTEGER NOT NULL DEFAULT 1,
    min_time_s      INTEGER NOT NULL DEFAULT 0,
    effective_from  INTEGER NOT NULL DEFAULT 0,
    UNIQUE (tariff_id, group_id, rate_type, effective_from)
);

CREATE TABLE users (
    id                  INTEGER PRIMARY KEY,
    username            TEXT NOT NULL UNIQUE,
    password_hash       TEXT NOT NULL,
    first_name          TEXT NOT NULL DEFAULT '',
    last_name           TEXT NOT NULL DEFAULT '',
    personal_id         TEXT NOT NULL DEFAULT '',
    alias               TEXT NOT NULL DEFAULT '',
    agreement_number    TEXT NOT NULL DEFAULT '',
    agreement_date      TEXT,
    taxation_country    TEXT NOT NULL DEFAULT '',
    vat_reg_number      TEXT NOT NULL DEFAULT '',
    vat_percent_bp      INTEGER NOT NULL DEFAULT 0,
    reg_address         TEXT NOT NULL DEFAULT '',
    reg_postcode        TEXT NOT NULL DEFAULT '',
    reg_city            TEXT NOT NULL DEFAULT '',
    reg_country         TEXT NOT NULL DEFAULT '',
    reg_state           TEXT NOT NULL DEFAULT '',
    reg_direction       TEXT NOT NULL DEFAULT '',
    reg_phone           TEXT NOT NULL DEFAULT '',
    reg_mobile          TEXT NOT NULL DEFAULT '',
    reg_fax             TEXT NOT NULL DEFAULT '',
    reg_email           TEXT NOT NULL DEFAULT '',
    language            TEXT NOT NULL DEFAULT 'en',
    currency            TEXT NOT NULL REFERENCES currencies(code),
    time_zone           TEXT NOT NULL DEFAULT 'UTC',
    account_type        TEXT NOT NULL DEFAULT 'prepaid' CHECK (account_type IN ('prepaid', 'postpaid')),
    balance_micros      INTEGER NOT NULL DEFAULT 0,
    credit_limit_micros INTEGER,                 -- NULL: no limit
    tariff_id           INTEGER REFERENCES tariffs(id),
    daily_call_target   INTEGER NOT NULL DEFAULT 0, -- calls a day counted as 100 % ("normative")
    blocked             INTEGER NOT NULL DEFAULT 0,
    created_at          INTEGER NOT NULL
);

CREATE TABLE devices (
    id                  INTEGER PRIMARY KEY,
    user_id             INTEGER NOT NULL REFERENCES users(id),
    device_type         TEXT NOT NULL,           -- SIP, IAX2, FAX, ...
    description         TEXT NOT NULL DEFAULT '',
    extension           TEXT NOT NULL UNIQUE,
    username            TEXT NOT NULL UNIQUE,    -- also the accountcode/channel name CDRs are matched by
    secret              TEXT NOT NULL DEFAULT '',
    caller_id           TEXT NOT NULL DEFAULT '',
    last_registered_at  INTEGER,
    created_at          INTEGER NOT NULL
);
CREATE INDEX devices_user ON devices (user_id);

CREATE TABLE clis (
    id          INTEGER PRIMARY KEY,
    device_id   INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    cli         TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    added_at    INTEGER NOT NULL
);
CREATE INDEX clis_device ON clis (device_id);

CREATE TABLE payments (
    id                  INTEGER PRIMARY KEY,
    user_id             INTEGER NOT NULL REFERENCES users(id),
    paid_at             INTEGER NOT NULL,
    confirmed_at        INTEGER,
    payment_type        TEXT NOT NULL,
    amount_micros       INTEGER NOT NULL,
    vat_percent_bp      INTEGER NOT NULL DEFAULT 0,
    amount_vat_micros   INTEGER NOT NULL,
    currency            TEXT NOT NULL REFERENCES currencies(code),
    completed           INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX payments_user ON payments (user_id, paid_at);

CREATE TABLE invoices (
    id                  INTEGER PRIMARY KEY,
    user_id             INTEGER NOT NULL REFERENCES users(id),
    number              TEXT NOT NULL UNIQUE,
    period_start        INTEGER NOT NULL,
    period_end          INTEGER NOT NULL,
    issued_at           INTEGER NOT NULL,
    paid_at             INTEGER,
    currency            TEXT NOT NULL REFERENCES currencies(code),
    price_micros        INTEGER NOT NULL,
    vat_percent_bp      INTEGER NOT NULL DEFAULT 0,
    price_vat_micros    INTEGER NOT NULL,
    UNIQUE (user_id, period_start, period_end)
);
CREATE INDEX invoices_user ON invoices (user_id, issued_at);

CREATE TABLE invoice_lines (
    id              INTEGER PRIMARY KEY,
    invoice_id      INTEGER NOT NULL REFERENCES invoices(id) ON DELETE CASCADE,
    position        INTEGER NOT NULL,
    kind            TEXT NOT NULL,               -- calls, subscription
    description     TEXT NOT NULL,
    quantity        INTEGER NOT NULL DEFAULT 1,  -- calls, or units of the service
    seconds         INTEGER NOT NULL DEFAULT 0,
    amount_micros   INTEGER NOT NULL
);
CREATE INDEX invoice_lines_invoice ON invoice_lines (invoice_id, position);

CREATE TABLE services (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    price_micros    INTEGER NOT NULL,
    currency        TEXT NOT NULL REFERENCES currencies(code),
    period          TEXT NOT NULL DEFAULT 'month' CHECK (period IN ('month', 'once'))
);

CREATE TABLE subscriptions (
    id              INTEGER PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users(id),
    service_id      INTEGER NOT NULL REFERENCES services(id),
    added_at        INTEGER NOT NULL,
    active_from     INTEGER NOT NULL,
    active_until    INTEGER
);
CREATE INDEX subscriptions_user ON subscriptions (user_id, added_at);

-- The call-record table, the largest by far: read by user and period, newest first.
CREATE TABLE calls (
    id              INTEGER PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users(id),
    device_id       INTEGER REFERENCES devices(id),
    started_at      INTEGER NOT NULL,
    src             TEXT NOT NULL,
    dst             TEXT NOT NULL,
    destination_id  INTEGER REFERENCES destinations(id),
    direction       TEXT NOT NULL CHECK (direction IN ('out', 'in')),
    disposition     TEXT NOT NULL CHECK (disposition IN ('ANSWERED', 'NO ANSWER', 'BUSY', 'FAILED')),
    duration_s      INTEGER NOT NULL DEFAULT 0,
    billsec         INTEGER NOT NULL DEFAULT 0,
    price_micros    INTEGER,                     -- NULL: not rated (yet), in the user's currency
    unique_id       TEXT UNIQUE,
    processed       INTEGER NOT NULL DEFAULT 0,  -- a missed call the subscriber has dealt with
    seen            INTEGER NOT NULL DEFAULT 0   -- shown to the subscriber (see README: new calls)
);
CREATE INDEX calls_user_time ON calls (user_id, started_at, id);
CREATE INDEX calls_missed ON calls (user_id, started_at)
    WHERE direction = 'in' AND disposition <> 'ANSWERED' AND processed = 0;
CREATE INDEX calls_unseen ON calls (user_id, started_at) WHERE seen = 0;

CREATE TABLE phonebook_entries (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    number      TEXT NOT NULL,
    name        TEXT NOT NULL,
    added_at    INTEGER NOT NULL,
    UNIQUE (user_id, number)
);

CREATE TABLE faxes (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    device_id   INTEGER NOT NULL REFERENCES devices(id),
    received_at INTEGER NOT NULL,
    sender      TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL,                   -- received, sent, failed
    file_name   TEXT NOT NULL,                   -- as shown and downloaded
    file_path   TEXT NOT NULL,                   -- relative to the data directory
    pages       INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX faxes_user ON faxes (user_id, received_at);

CREATE TABLE callback_requests (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    device_id   INTEGER NOT NULL REFERENCES devices(id),
    src         TEXT NOT NULL,
    dst         TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'queued',  -- queued, dialing, answered, failed
    reason      TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX callback_requests_user ON callback_requests (user_id, created_at);

CREATE TABLE password_reset_tokens (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
);

CREATE TABLE login_attempts (
    id          INTEGER PRIMARY KEY,
    username    TEXT NOT NULL,
    address     TEXT NOT NULL,
    at          INTEGER NOT NULL,
    ok          INTEGER NOT NULL
);
CREATE INDEX login_attempts_username ON login_attempts (username, at);
CREATE INDEX login_attempts_address ON login_attempts (address, at);

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER REFERENCES users(id),
    at          INTEGER NOT NULL,
    action      TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT '',
    address     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_user ON audit_log (user_id, at);
