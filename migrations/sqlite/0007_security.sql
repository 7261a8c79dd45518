-- Server-side record of every login session, so logout and a password change end a session on
-- every portal process, whatever the session store (signed cookie or Redis).
CREATE TABLE user_sessions (
    id          TEXT PRIMARY KEY,            -- random, also kept in the session itself
    user_id     INTEGER NOT NULL REFERENCES users(id),
    kind        TEXT NOT NULL,               -- web, api
    address     TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    ended_at    INTEGER
);
CREATE INDEX user_sessions_user ON user_sessions (user_id) WHERE ended_at IS NULL;

-- Mail waiting to be sent; kept and retried until it goes, never dropped.
CREATE TABLE mail_outbox (
    id              INTEGER PRIMARY KEY,
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT NOT NULL DEFAULT '',
    sent_at         INTEGER
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE sent_at IS NULL;
