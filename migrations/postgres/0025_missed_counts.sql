-- How many missed calls (incoming, not answered) each subscriber has not processed yet, kept by
-- triggers in the same transaction as the change to calls. The main page and the missed-calls
-- page read one row instead of counting a history that only grows.
CREATE TABLE missed_counts (
    user_id     BIGINT PRIMARY KEY,
    unprocessed BIGINT NOT NULL
);

INSERT INTO missed_counts
SELECT user_id, COUNT(*) FROM calls
 WHERE direction = 'in' AND disposition <> 'ANSWERED' AND processed = 0
 GROUP BY user_id ORDER BY user_id;

-- One statement, one grouped upsert (a bulk import of 2,000 calls is one row per subscriber);
-- rows in key order so concurrent writers lock them in the same order.
CREATE FUNCTION missed_counts_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO missed_counts AS m
    SELECT user_id, COUNT(*) FROM new_rows
     WHERE direction = 'in' AND disposition <> 'ANSWERED' AND processed = 0
     GROUP BY user_id ORDER BY user_id
    ON CONFLICT (user_id) DO UPDATE SET unprocessed = m.unprocessed + EXCLUDED.unprocessed;
    RETURN NULL;
END $$;

CREATE FUNCTION missed_counts_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE missed_counts AS m SET unprocessed = m.unprocessed - o.n
      FROM (SELECT user_id, COUNT(*) AS n FROM old_rows
             WHERE direction = 'in' AND disposition <> 'ANSWERED' AND processed = 0
             GROUP BY user_id ORDER BY user_id) o
     WHERE m.user_id = o.user_id;
    RETURN NULL;
END $$;

-- Marking calls processed (or a rerating that changes a disposition) moves the count; marking
-- calls seen changes nothing and writes nothing.
CREATE FUNCTION missed_counts_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO missed_counts AS m
    SELECT user_id, SUM(d) FROM (
        SELECT user_id, 1 AS d FROM new_rows
         WHERE direction = 'in' AND disposition <> 'ANSWERED' AND processed = 0
        UNION ALL
        SELECT user_id, -1 FROM old_rows
         WHERE direction = 'in' AND disposition <> 'ANSWERED' AND processed = 0
    ) x GROUP BY user_id HAVING SUM(d) <> 0 ORDER BY user_id
    ON CONFLICT (user_id) DO UPDATE SET unprocessed = m.unprocessed + EXCLUDED.unprocessed;
    RETURN NULL;
END $$;

CREATE TRIGGER calls_missed_count_insert AFTER INSERT ON calls
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION missed_counts_insert();
CREATE TRIGGER calls_missed_count_delete AFTER DELETE ON calls
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION missed_counts_delete();
CREATE TRIGGER calls_missed_count_update AFTER UPDATE ON calls
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION missed_counts_update();
