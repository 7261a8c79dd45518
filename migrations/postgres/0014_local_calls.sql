-- Operator data (issue 15): the dial plan's local numbers, and calls a bill left out.

-- Numbers that stay local (Asterisk dialplan patterns, see src/billing/dialplan.rs): free,
-- never matched against countries. What most PBXs dial locally; `selfcare dialplan` edits it.
CREATE TABLE local_patterns (
    pattern TEXT PRIMARY KEY,
    note    TEXT NOT NULL DEFAULT ''
);
INSERT INTO local_patterns (pattern, note) VALUES
    ('_*.', 'feature codes'),
    ('_#.', 'feature codes'),
    ('s', 'the start extension'),
    ('_X', 'one-digit extensions'),
    ('_XX', 'two-digit extensions'),
    ('_XXX', 'three-digit extensions and service numbers'),
    ('_XXXX', 'four-digit extensions'),
    ('echo', 'echo test');

-- Calls without a price when their month was billed: the invoice was made without them, and the
-- subscriber's next bill takes them once they are priced (a local pattern, a rate and
-- `selfcare rate`), on a line of their own. Few rows: only calls that could not be priced.
CREATE TABLE calls_left_out (
    call_id    BIGINT PRIMARY KEY REFERENCES calls(id) ON DELETE CASCADE,
    user_id    BIGINT NOT NULL REFERENCES users(id),
    invoice_id BIGINT REFERENCES invoices(id) ON DELETE SET NULL
);
CREATE INDEX calls_left_out_user ON calls_left_out (user_id);
