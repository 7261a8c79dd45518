-- Tariffs own their prefixes: a destination imported with a tariff's rate deck belongs to that
-- tariff (tariff_id), so another tariff's deck can name or group the same prefix its own way.
-- Destinations without a tariff (the demo's, and those imported before this migration) are
-- shared: they price the numbers that none of a tariff's own prefixes match.
--
-- SQLite cannot drop the prefix's UNIQUE, so the table is made again with the same ids. A
-- migration runs in a transaction, where foreign keys cannot be switched off; deferred, the
-- calls that lose their destination when the old table goes find it again when the rows are
-- put back (no RENAME, which would move the calls' references to the copy).
PRAGMA defer_foreign_keys = ON;
-- Each destination dropped and put back makes SQLite look for the calls that reference it: with
-- no index on calls.destination_id that is a scan of every call per destination (measured:
-- 2,000 destinations and 200,000 calls, 24 s; with this index 0.07 s). Only for this migration.
CREATE INDEX calls_destination_0013 ON calls (destination_id);

CREATE TABLE destinations_0013 AS
    SELECT id, group_id, prefix, details, dir_code FROM destinations;
DROP TABLE destinations;
CREATE TABLE destinations (
    id          INTEGER PRIMARY KEY,
    group_id    INTEGER NOT NULL REFERENCES destination_groups(id),
    prefix      TEXT NOT NULL,
    details     TEXT NOT NULL,
    dir_code    TEXT NOT NULL,               -- FIX, MOB, ...
    tariff_id   INTEGER REFERENCES tariffs(id) -- NULL: shared by every tariff
);
INSERT INTO destinations (id, group_id, prefix, details, dir_code)
    SELECT id, group_id, prefix, details, dir_code FROM destinations_0013;
DROP TABLE destinations_0013;
DROP INDEX calls_destination_0013;

CREATE INDEX destinations_group ON destinations (group_id);
CREATE INDEX destinations_prefix ON destinations (prefix);
CREATE UNIQUE INDEX destinations_shared_prefix ON destinations (prefix) WHERE tariff_id IS NULL;
CREATE UNIQUE INDEX destinations_tariff_prefix ON destinations (tariff_id, prefix)
    WHERE tariff_id IS NOT NULL;
