-- Subscriber controls (issue 14): the calling plan's services with their type and risk, the
-- operator's ceilings, and each subscriber's spending limit, barrings and plan choices.

-- A country's calling code ('44'; '' when unknown: the plan then reads it from the prefixes)
-- and its risk in the calling plan: 1 low, 2 medium, 3 high.
ALTER TABLE destination_groups ADD COLUMN country_code TEXT NOT NULL DEFAULT '';
ALTER TABLE destination_groups ADD COLUMN risk INTEGER NOT NULL DEFAULT 1 CHECK (risk BETWEEN 1 AND 3);

-- A service of the calling plan: one country's (group's) destinations of one type of number
-- (dir_code: FIX, MOB, PRM …), standard or premium, with its own risk. The unit a subscriber
-- switches on or off.
CREATE TABLE plan_services (
    id           INTEGER PRIMARY KEY,
    group_id     INTEGER NOT NULL REFERENCES destination_groups(id),
    dir_code     TEXT NOT NULL,
    service_type TEXT NOT NULL DEFAULT 'standard' CHECK (service_type IN ('standard', 'premium')),
    risk         INTEGER NOT NULL DEFAULT 1 CHECK (risk BETWEEN 1 AND 3),
    UNIQUE (group_id, dir_code)
);
INSERT INTO plan_services (group_id, dir_code)
SELECT DISTINCT group_id, dir_code FROM destinations;

-- The operator's settings (one row): its own country (ISO 3166 alpha-2, for "international"),
-- and the highest risk a subscriber may switch on.
CREATE TABLE control_settings (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    national_country TEXT NOT NULL DEFAULT '',
    risk_ceiling     INTEGER NOT NULL DEFAULT 2 CHECK (risk_ceiling BETWEEN 1 AND 3)
);
INSERT INTO control_settings (id) VALUES (1);

-- The highest monthly spending limit a subscriber may set, per currency (none: no ceiling).
CREATE TABLE spending_limit_ceilings (
    currency   TEXT PRIMARY KEY REFERENCES currencies(code),
    max_micros INTEGER NOT NULL CHECK (max_micros > 0)
);

-- A subscriber's controls; no row is all defaults. The limit is per local calendar month, in
-- the account's currency; the mail months ('YYYY-MM') keep each alert to once a month.
CREATE TABLE user_controls (
    user_id                       INTEGER PRIMARY KEY REFERENCES users(id),
    spending_limit_micros         INTEGER CHECK (spending_limit_micros >= 0),
    limit_mail                    INTEGER NOT NULL DEFAULT 0,
    limit_mail_80_month           TEXT NOT NULL DEFAULT '',
    limit_mail_100_month          TEXT NOT NULL DEFAULT '',
    bar_outgoing                  INTEGER NOT NULL DEFAULT 0,
    bar_international             INTEGER NOT NULL DEFAULT 0,
    bar_international_except_home INTEGER NOT NULL DEFAULT 0,
    bar_premium                   INTEGER NOT NULL DEFAULT 0,
    bar_incoming                  INTEGER NOT NULL DEFAULT 0,
    lost_phone_at                 INTEGER
);

-- A subscriber's choice for a service of the plan (no row: the default, on for standard
-- services below high risk).
CREATE TABLE user_plan_services (
    user_id    INTEGER NOT NULL REFERENCES users(id),
    service_id INTEGER NOT NULL REFERENCES plan_services(id),
    enabled    INTEGER NOT NULL,
    PRIMARY KEY (user_id, service_id)
);

-- The PBX names a device by its account (user name) on every call.
CREATE INDEX IF NOT EXISTS devices_username ON devices (username);

-- A call the subscriber's controls would have refused, had the PBX asked: the reason code
-- (`barred_international`, `premium_disabled` …), set when it is imported. NULL: nothing to say.
ALTER TABLE calls ADD COLUMN control_flag TEXT;
