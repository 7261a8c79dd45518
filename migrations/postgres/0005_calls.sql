-- Call pages (issue 5), sized for a subscriber with 1,000,000 calls in a table of 10,000,000.
-- Why each object exists, with the plans measured on such a database, is written in
-- src/store/call_list.rs; in short:
--
-- 1. calls_user_time_cover: the period index made covering. Its key is unchanged —
--    (user_id, started_at, id), the keyset order of every call list — and it carries the columns
--    the filters read, so finding a page's ids under any filter, and the few raw rows at the
--    edges of a period, are index-only scans. It replaces calls_user_time, whose key it repeats.
DROP INDEX IF EXISTS calls_user_time;
CREATE INDEX calls_user_time_cover ON calls (user_id, started_at, id)
    INCLUDE (direction, disposition, device_id, billsec, price_micros);

-- 2. call_hours: the calls of each user rolled up per UTC hour and per value of every filter
--    column. Totals of a period and per-day figures read whole hours here (a year of a busy
--    subscriber is ~100,000 rows instead of ~1,000,000) and only the partial hours at the edges
--    from calls. Kept exact by the triggers below, in the same transaction as the change to
--    calls; device_id 0 stands for a call without a device.
CREATE TABLE call_hours (
    user_id      BIGINT NOT NULL,
    hour         BIGINT NOT NULL,              -- started_at / 3600
    device_id    BIGINT NOT NULL,
    direction    TEXT NOT NULL,
    disposition  TEXT NOT NULL,
    calls        BIGINT NOT NULL,
    billsec      BIGINT NOT NULL,
    price_micros BIGINT NOT NULL,              -- of the priced calls
    unpriced     BIGINT NOT NULL,              -- calls without a price yet
    -- Covering, so a period's rows are one index-only range scan.
    PRIMARY KEY (user_id, hour, device_id, direction, disposition)
        INCLUDE (calls, billsec, price_micros, unpriced)
);

INSERT INTO call_hours
SELECT user_id, started_at / 3600, COALESCE(device_id, 0), direction, disposition,
       COUNT(*), SUM(billsec), COALESCE(SUM(price_micros), 0), COUNT(*) - COUNT(price_micros)
FROM calls GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5;
ANALYZE call_hours;

-- Statement-level triggers with transition tables: a bulk insert of 2,000 calls is one grouped
-- upsert, not 2,000. Rows are upserted in key order so concurrent writers lock them in the same
-- order (no deadlock).
CREATE FUNCTION call_hours_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO call_hours AS h
    SELECT user_id, started_at / 3600, COALESCE(device_id, 0), direction, disposition,
           COUNT(*), SUM(billsec), COALESCE(SUM(price_micros), 0), COUNT(*) - COUNT(price_micros)
    FROM new_rows GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (user_id, hour, device_id, direction, disposition) DO UPDATE
       SET calls = h.calls + EXCLUDED.calls, billsec = h.billsec + EXCLUDED.billsec,
           price_micros = h.price_micros + EXCLUDED.price_micros, unpriced = h.unpriced + EXCLUDED.unpriced;
    RETURN NULL;
END $$;

CREATE FUNCTION call_hours_remove() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE call_hours AS h
       SET calls = h.calls - o.calls, billsec = h.billsec - o.billsec,
           price_micros = h.price_micros - o.price_micros, unpriced = h.unpriced - o.unpriced
      FROM (SELECT user_id, started_at / 3600 AS hour, COALESCE(device_id, 0) AS device_id, direction, disposition,
                   COUNT(*) AS calls, SUM(billsec) AS billsec, COALESCE(SUM(price_micros), 0) AS price_micros,
                   COUNT(*) - COUNT(price_micros) AS unpriced
              FROM old_rows GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5) o
     WHERE h.user_id = o.user_id AND h.hour = o.hour AND h.device_id = o.device_id
       AND h.direction = o.direction AND h.disposition = o.disposition;
    RETURN NULL;
END $$;

-- An update moves a call between rows only when a rolled-up column changed (marking calls seen
-- or processed changes nothing here).
CREATE FUNCTION call_hours_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE call_hours AS h
       SET calls = h.calls - o.calls, billsec = h.billsec - o.billsec,
           price_micros = h.price_micros - o.price_micros, unpriced = h.unpriced - o.unpriced
      FROM (SELECT o.user_id, o.started_at / 3600 AS hour, COALESCE(o.device_id, 0) AS device_id, o.direction, o.disposition,
                   COUNT(*) AS calls, SUM(o.billsec) AS billsec, COALESCE(SUM(o.price_micros), 0) AS price_micros,
                   COUNT(*) - COUNT(o.price_micros) AS unpriced
              FROM old_rows o JOIN new_rows n ON n.id = o.id
             WHERE (o.user_id, o.started_at, o.device_id, o.direction, o.disposition, o.billsec, o.price_micros)
                   IS DISTINCT FROM (n.user_id, n.started_at, n.device_id, n.direction, n.disposition, n.billsec, n.price_micros)
             GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5) o
     WHERE h.user_id = o.user_id AND h.hour = o.hour AND h.device_id = o.device_id
       AND h.direction = o.direction AND h.disposition = o.disposition;
    INSERT INTO call_hours AS h
    SELECT n.user_id, n.started_at / 3600, COALESCE(n.device_id, 0), n.direction, n.disposition,
           COUNT(*), SUM(n.billsec), COALESCE(SUM(n.price_micros), 0), COUNT(*) - COUNT(n.price_micros)
      FROM new_rows n JOIN old_rows o ON o.id = n.id
     WHERE (o.user_id, o.started_at, o.device_id, o.direction, o.disposition, o.billsec, o.price_micros)
           IS DISTINCT FROM (n.user_id, n.started_at, n.device_id, n.direction, n.disposition, n.billsec, n.price_micros)
     GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (user_id, hour, device_id, direction, disposition) DO UPDATE
       SET calls = h.calls + EXCLUDED.calls, billsec = h.billsec + EXCLUDED.billsec,
           price_micros = h.price_micros + EXCLUDED.price_micros, unpriced = h.unpriced + EXCLUDED.unpriced;
    RETURN NULL;
END $$;

CREATE TRIGGER calls_roll_up_insert AFTER INSERT ON calls
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION call_hours_add();
CREATE TRIGGER calls_roll_up_delete AFTER DELETE ON calls
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION call_hours_remove();
CREATE TRIGGER calls_roll_up_update AFTER UPDATE ON calls
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION call_hours_move();
