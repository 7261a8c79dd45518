-- Tariffs own their prefixes: a destination imported with a tariff's rate deck belongs to that
-- tariff (tariff_id), so another tariff's deck can name or group the same prefix its own way.
-- Destinations without a tariff (the demo's, and those imported before this migration) are
-- shared: they price the numbers that none of a tariff's own prefixes match.
-- SQLite cannot drop the column's UNIQUE, so the table is rebuilt (ids kept; the calls that
-- point at them are checked when the migration commits).
PRAGMA defer_foreign_keys = ON;

CREATE TABLE destinations_new (
    id          INTEGER PRIMARY KEY,
    group_id    INTEGER NOT NULL REFERENCES destination_groups(id),
    prefix      TEXT NOT NULL,
    details     TEXT NOT NULL,
    dir_code    TEXT NOT NULL,               -- FIX, MOB, ...
    tariff_id   INTEGER REFERENCES tariffs(id) -- NULL: shared by every tariff
);
INSERT INTO destinations_new (id, group_id, prefix, details, dir_code)
    SELECT id, group_id, prefix, details, dir_code FROM destinations;
DROP TABLE destinations;
ALTER TABLE destinations_new RENAME TO destinations;

CREATE INDEX destinations_group ON destinations (group_id);
CREATE INDEX destinations_prefix ON destinations (prefix);
CREATE UNIQUE INDEX destinations_shared_prefix ON destinations (prefix) WHERE tariff_id IS NULL;
CREATE UNIQUE INDEX destinations_tariff_prefix ON destinations (tariff_id, prefix)
    WHERE tariff_id IS NOT NULL;
