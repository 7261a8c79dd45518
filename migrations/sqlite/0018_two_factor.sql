-- Two-factor login (issue 17): a TOTP secret per subscriber (RFC 6238 as authenticator apps
-- take it: HMAC-SHA-1, 6 digits, 30-second steps), kept in base32. A row with `enabled = 0` is
-- an enrolment waiting for its first code (the page shows its secret); `enabled = 1` asks every
-- password login for a code. `last_step` is the newest time step (Unix time / 30) whose code was
-- accepted: only a later step is accepted next, so no code is used twice, and two logins racing
-- with one code cannot both win (a conditional UPDATE on it).
CREATE TABLE two_factor (
    user_id    INTEGER PRIMARY KEY REFERENCES users(id),
    secret     TEXT NOT NULL,
    enabled    INTEGER NOT NULL DEFAULT 0 CHECK (enabled IN (0, 1)),
    created_at INTEGER NOT NULL,
    enabled_at INTEGER,
    last_step  INTEGER NOT NULL DEFAULT 0
);

-- Ten single-use recovery codes, made when two-factor login is switched on and shown once.
-- Only a SHA-256 hash (hex) is kept: the codes are random with 80 bits of entropy, far beyond
-- guessing, so a fast hash is enough (a slow password hash protects low-entropy secrets).
-- `used_at` (UTC seconds) is set once, by a conditional UPDATE, when a code is used.
CREATE TABLE two_factor_recovery_codes (
    user_id   INTEGER NOT NULL REFERENCES users(id),
    code_hash TEXT NOT NULL,
    used_at   INTEGER,
    PRIMARY KEY (user_id, code_hash)
);
