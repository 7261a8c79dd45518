-- Operator data in (issue 8): rating flags on calls and the gap-free invoice counter.

-- How the rater left a call: NULL = never rated by it (demo data is priced when generated);
-- 'rated' = priced (incoming and internal calls at 0); 'unmatched' = no destination prefix
-- matches the dialled number; 'no_rate' = a destination matched but no price was found (no rate
-- of the user's tariff in force for its group and type, no tariff, or no exchange rate).
-- Flagged calls keep price_micros NULL: they are never priced at zero silently.
ALTER TABLE calls ADD COLUMN rating_status TEXT
    CHECK (rating_status IN ('rated', 'unmatched', 'no_rate'));

-- Named counters advanced inside the transaction that uses the value, so a number is taken only
-- by a committed row: invoice numbers have no gaps even with concurrent `bill` runs.
CREATE TABLE counters (
    name    TEXT PRIMARY KEY,
    value   INTEGER NOT NULL
);
INSERT INTO counters (name, value) SELECT 'invoice', COUNT(*) FROM invoices;
