-- call_days: the roll-up once more, per UTC day (issue 19). The totals of a long period (a
-- year's call list, its missed calls) read whole days here (365 rows per filter value instead
-- of 8,760 hours), whole hours around them from call_hours, and only the partial hours at the
-- edges from calls (Store::call_totals). Kept exact by statement-level triggers like
-- call_hours's (0005, 0029): one grouped upsert per statement, rows in key order.
CREATE TABLE call_days (
    user_id      BIGINT NOT NULL,
    day          BIGINT NOT NULL,              -- started_at / 86400
    device_id    BIGINT NOT NULL,
    direction    TEXT NOT NULL,
    disposition  TEXT NOT NULL,
    calls        BIGINT NOT NULL,
    billsec      BIGINT NOT NULL,
    price_micros BIGINT NOT NULL,              -- of the priced calls
    unpriced     BIGINT NOT NULL,              -- calls without a price yet
    -- Covering, so a period's rows are one index-only range scan.
    PRIMARY KEY (user_id, day, device_id, direction, disposition)
        INCLUDE (calls, billsec, price_micros, unpriced)
);

INSERT INTO call_days
SELECT user_id, hour / 24, device_id, direction, disposition,
       SUM(calls), SUM(billsec), SUM(price_micros), SUM(unpriced)
FROM call_hours GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5;
ANALYZE call_days;

CREATE FUNCTION call_days_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO call_days AS h
    SELECT user_id, started_at / 86400, COALESCE(device_id, 0), direction, disposition,
           COUNT(*), SUM(billsec), COALESCE(SUM(price_micros), 0), COUNT(*) - COUNT(price_micros)
    FROM new_rows GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (user_id, day, device_id, direction, disposition) DO UPDATE
       SET calls = h.calls + EXCLUDED.calls, billsec = h.billsec + EXCLUDED.billsec,
           price_micros = h.price_micros + EXCLUDED.price_micros, unpriced = h.unpriced + EXCLUDED.unpriced;
    RETURN NULL;
END $$;

CREATE FUNCTION call_days_remove() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE call_days AS h
       SET calls = h.calls - o.calls, billsec = h.billsec - o.billsec,
           price_micros = h.price_micros - o.price_micros, unpriced = h.unpriced - o.unpriced
      FROM (SELECT user_id, started_at / 86400 AS day, COALESCE(device_id, 0) AS device_id, direction, disposition,
                   COUNT(*) AS calls, SUM(billsec) AS billsec, COALESCE(SUM(price_micros), 0) AS price_micros,
                   COUNT(*) - COUNT(price_micros) AS unpriced
              FROM old_rows GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5) o
     WHERE h.user_id = o.user_id AND h.day = o.day AND h.device_id = o.device_id
       AND h.direction = o.direction AND h.disposition = o.disposition;
    RETURN NULL;
END $$;

-- An update moves a call between rows only when a rolled-up column changed (marking calls seen
-- or processed changes nothing here).
CREATE FUNCTION call_days_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE call_days AS h
       SET calls = h.calls - o.calls, billsec = h.billsec - o.billsec,
           price_micros = h.price_micros - o.price_micros, unpriced = h.unpriced - o.unpriced
      FROM (SELECT o.user_id, o.started_at / 86400 AS day, COALESCE(o.device_id, 0) AS device_id, o.direction, o.disposition,
                   COUNT(*) AS calls, SUM(o.billsec) AS billsec, COALESCE(SUM(o.price_micros), 0) AS price_micros,
                   COUNT(*) - COUNT(o.price_micros) AS unpriced
              FROM old_rows o JOIN new_rows n ON n.id = o.id
             WHERE (o.user_id, o.started_at, o.device_id, o.direction, o.disposition, o.billsec, o.price_micros)
                   IS DISTINCT FROM (n.user_id, n.started_at, n.device_id, n.direction, n.disposition, n.billsec, n.price_micros)
             GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5) o
     WHERE h.user_id = o.user_id AND h.day = o.day AND h.device_id = o.device_id
       AND h.direction = o.direction AND h.disposition = o.disposition;
    INSERT INTO call_days AS h
    SELECT n.user_id, n.started_at / 86400, COALESCE(n.device_id, 0), n.direction, n.disposition,
           COUNT(*), SUM(n.billsec), COALESCE(SUM(n.price_micros), 0), COUNT(*) - COUNT(n.price_micros)
      FROM new_rows n JOIN old_rows o ON o.id = n.id
     WHERE (o.user_id, o.started_at, o.device_id, o.direction, o.disposition, o.billsec, o.price_micros)
           IS DISTINCT FROM (n.user_id, n.started_at, n.device_id, n.direction, n.disposition, n.billsec, n.price_micros)
     GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (user_id, day, device_id, direction, disposition) DO UPDATE
       SET calls = h.calls + EXCLUDED.calls, billsec = h.billsec + EXCLUDED.billsec,
           price_micros = h.price_micros + EXCLUDED.price_micros, unpriced = h.unpriced + EXCLUDED.unpriced;
    RETURN NULL;
END $$;

CREATE TRIGGER calls_day_roll_up_insert AFTER INSERT ON calls
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION call_days_add();
CREATE TRIGGER calls_day_roll_up_delete AFTER DELETE ON calls
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION call_days_remove();
CREATE TRIGGER calls_day_roll_up_update AFTER UPDATE ON calls
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION call_days_move();
