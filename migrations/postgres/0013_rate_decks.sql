-- Tariffs own their prefixes: a destination imported with a tariff's rate deck belongs to that
-- tariff (tariff_id), so another tariff's deck can name or group the same prefix its own way.
-- Destinations without a tariff (the demo's, and those imported before this migration) are
-- shared: they price the numbers that none of a tariff's own prefixes match.
ALTER TABLE destinations ADD COLUMN tariff_id BIGINT REFERENCES tariffs(id);
ALTER TABLE destinations DROP CONSTRAINT destinations_prefix_key;

CREATE INDEX destinations_prefix ON destinations (prefix);
CREATE UNIQUE INDEX destinations_shared_prefix ON destinations (prefix) WHERE tariff_id IS NULL;
CREATE UNIQUE INDEX destinations_tariff_prefix ON destinations (tariff_id, prefix)
    WHERE tariff_id IS NOT NULL;
