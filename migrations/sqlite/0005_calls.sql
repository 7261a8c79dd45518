-- Call pages (issue 5), sized for a subscriber with 1,000,000 calls in a table of 10,000,000.
-- Why each object exists, with the plans measured on such a database, is written in
-- src/store/call_list.rs; in short:
--
-- 1. calls_user_time_cover: the period index made covering. Its leading columns are unchanged —
--    (user_id, started_at, id), the keyset order of every call list — and it carries the columns
--    the filters read, so finding a page's ids under any filter, and the few raw rows at the
--    edges of a period, read the index alone ("USING COVERING INDEX"). It replaces
--    calls_user_time, whose key it repeats.
DROP INDEX IF EXISTS calls_user_time;
CREATE INDEX calls_user_time_cover
    ON calls (user_id, started_at, id, direction, disposition, device_id, billsec, price_micros);

-- 2. call_hours: the calls of each user rolled up per UTC hour and per value of every filter
--    column. Totals of a period and per-day figures read whole hours here (a year of a busy
--    subscriber is ~100,000 rows instead of ~1,000,000) and only the partial hours at the edges
--    from calls. Kept exact by the triggers below, in the same transaction as the change to
--    calls; device_id 0 stands for a call without a device.
CREATE TABLE call_hours (
    user_id      INTEGER NOT NULL,
    hour         INTEGER NOT NULL,              -- started_at / 3600
    device_id    INTEGER NOT NULL,
    direction    TEXT NOT NULL,
    disposition  TEXT NOT NULL,
    calls        INTEGER NOT NULL,
    billsec      INTEGER NOT NULL,
    price_micros INTEGER NOT NULL,              -- of the priced calls
    unpriced     INTEGER NOT NULL,              -- calls without a price yet
    PRIMARY KEY (user_id, hour, device_id, direction, disposition)
) WITHOUT ROWID;

INSERT INTO call_hours
SELECT user_id, started_at / 3600, COALESCE(device_id, 0), direction, disposition,
       COUNT(*), SUM(billsec), COALESCE(SUM(price_micros), 0), COUNT(*) - COUNT(price_micros)
FROM calls GROUP BY 1, 2, 3, 4, 5;

CREATE TRIGGER calls_roll_up_insert AFTER INSERT ON calls BEGIN
    INSERT INTO call_hours (user_id, hour, device_id, direction, disposition, calls, billsec, price_micros, unpriced)
    VALUES (NEW.user_id, NEW.started_at / 3600, COALESCE(NEW.device_id, 0), NEW.direction, NEW.disposition,
            1, NEW.billsec, COALESCE(NEW.price_micros, 0), NEW.price_micros IS NULL)
    ON CONFLICT (user_id, hour, device_id, direction, disposition) DO UPDATE
       SET calls = calls + 1, billsec = billsec + excluded.billsec,
           price_micros = price_micros + excluded.price_micros, unpriced = unpriced + excluded.unpriced;
END;

CREATE TRIGGER calls_roll_up_delete AFTER DELETE ON calls BEGIN
    UPDATE call_hours
       SET calls = calls - 1, billsec = billsec - OLD.billsec,
           price_micros = price_micros - COALESCE(OLD.price_micros, 0), unpriced = unpriced - (OLD.price_micros IS NULL)
     WHERE user_id = OLD.user_id AND hour = OLD.started_at / 3600 AND device_id = COALESCE(OLD.device_id, 0)
       AND direction = OLD.direction AND disposition = OLD.disposition;
END;

-- Only changes to rolled-up columns move a call (marking calls seen or processed does not fire).
CREATE TRIGGER calls_roll_up_update
AFTER UPDATE OF user_id, started_at, device_id, direction, disposition, billsec, price_micros ON calls BEGIN
    UPDATE call_hours
       SET calls = calls - 1, billsec = billsec - OLD.billsec,
           price_micros = price_micros - COALESCE(OLD.price_micros, 0), unpriced = unpriced - (OLD.price_micros IS NULL)
     WHERE user_id = OLD.user_id AND hour = OLD.started_at / 3600 AND device_id = COALESCE(OLD.device_id, 0)
       AND direction = OLD.direction AND disposition = OLD.disposition;
    INSERT INTO call_hours (user_id, hour, device_id, direction, disposition, calls, billsec, price_micros, unpriced)
    VALUES (NEW.user_id, NEW.started_at / 3600, COALESCE(NEW.device_id, 0), NEW.direction, NEW.disposition,
            1, NEW.billsec, COALESCE(NEW.price_micros, 0), NEW.price_micros IS NULL)
    ON CONFLICT (user_id, hour, device_id, direction, disposition) DO UPDATE
       SET calls = calls + 1, billsec = billsec + excluded.billsec,
           price_micros = price_micros + excluded.price_micros, unpriced = unpriced + excluded.unpriced;
END;

-- Statistics for the new index and table: without them, a database analysed before this
-- migration would keep stale figures that make SQLite prefer the covering index over the small
-- partial indexes of unseen and unprocessed calls.
ANALYZE calls;
ANALYZE call_hours;
