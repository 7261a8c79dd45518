-- Calling-card PIN (issue 20): at most one per subscriber, kept only as an argon2id hash (the
-- PIN itself is never stored). `failures` counts wrong PINs in a row (a right one sets it to 0);
-- the fifth locks the PIN until `locked_until` (UTC seconds; NULL: not locked), and once that
-- has passed the count starts again.
CREATE TABLE calling_card_pins (
    user_id      BIGINT PRIMARY KEY REFERENCES users(id),
    pin_hash     TEXT NOT NULL,
    set_at       BIGINT NOT NULL,
    failures     BIGINT NOT NULL DEFAULT 0 CHECK (failures >= 0),
    locked_until BIGINT
);

