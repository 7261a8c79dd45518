-- call_days: the roll-up once more, per UTC day (issue 19). The totals of a long period (a
-- year's call list, its missed calls) read whole days here (365 rows per filter value instead
-- of 8,760 hours), whole hours around them from call_hours, and only the partial hours at the
-- edges from calls (Store::call_totals). Kept exact by triggers like call_hours's (0005), in
-- the same transaction as the change to calls; device_id 0 stands for a call without a device.
CREATE TABLE call_days (
    user_id      INTEGER NOT NULL,
    day          INTEGER NOT NULL,              -- started_at / 86400
    device_id    INTEGER NOT NULL,
    direction    TEXT NOT NULL,
    disposition  TEXT NOT NULL,
    calls        INTEGER NOT NULL,
    billsec      INTEGER NOT NULL,
    price_micros INTEGER NOT NULL,              -- of the priced calls
    unpriced     INTEGER NOT NULL,              -- calls without a price yet
    PRIMARY KEY (user_id, day, device_id, direction, disposition)
) WITHOUT ROWID;

INSERT INTO call_days
SELECT user_id, hour / 24, device_id, direction, disposition,
       SUM(calls), SUM(billsec), SUM(price_micros), SUM(unpriced)
FROM call_hours GROUP BY 1, 2, 3, 4, 5;

CREATE TRIGGER calls_day_roll_up_insert AFTER INSERT ON calls BEGIN
    INSERT INTO call_days (user_id, day, device_id, direction, disposition, calls, billsec, price_micros, unpriced)
    VALUES (NEW.user_id, NEW.started_at / 86400, COALESCE(NEW.device_id, 0), NEW.direction, NEW.disposition,
            1, NEW.billsec, COALESCE(NEW.price_micros, 0), NEW.price_micros IS NULL)
    ON CONFLICT (user_id, day, device_id, direction, disposition) DO UPDATE
       SET calls = calls + 1, billsec = billsec + excluded.billsec,
           price_micros = price_micros + excluded.price_micros, unpriced = unpriced + excluded.unpriced;
END;

CREATE TRIGGER calls_day_roll_up_delete AFTER DELETE ON calls BEGIN
    UPDATE call_days
       SET calls = calls - 1, billsec = billsec - OLD.billsec,
           price_micros = price_micros - COALESCE(OLD.price_micros, 0), unpriced = unpriced - (OLD.price_micros IS NULL)
     WHERE user_id = OLD.user_id AND day = OLD.started_at / 86400 AND device_id = COALESCE(OLD.device_id, 0)
       AND direction = OLD.direction AND disposition = OLD.disposition;
END;

-- Only changes to rolled-up columns move a call (marking calls seen or processed does not fire).
CREATE TRIGGER calls_day_roll_up_update
AFTER UPDATE OF user_id, started_at, device_id, direction, disposition, billsec, price_micros ON calls BEGIN
    UPDATE call_days
       SET calls = calls - 1, billsec = billsec - OLD.billsec,
           price_micros = price_micros - COALESCE(OLD.price_micros, 0), unpriced = unpriced - (OLD.price_micros IS NULL)
     WHERE user_id = OLD.user_id AND day = OLD.started_at / 86400 AND device_id = COALESCE(OLD.device_id, 0)
       AND direction = OLD.direction AND disposition = OLD.disposition;
    INSERT INTO call_days (user_id, day, device_id, direction, disposition, calls, billsec, price_micros, unpriced)
    VALUES (NEW.user_id, NEW.started_at / 86400, COALESCE(NEW.device_id, 0), NEW.direction, NEW.disposition,
            1, NEW.billsec, COALESCE(NEW.price_micros, 0), NEW.price_micros IS NULL)
    ON CONFLICT (user_id, day, device_id, direction, disposition) DO UPDATE
       SET calls = calls + 1, billsec = billsec + excluded.billsec,
           price_micros = price_micros + excluded.price_micros, unpriced = unpriced + excluded.unpriced;
END;

ANALYZE call_days;
