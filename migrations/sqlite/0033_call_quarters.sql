-- call_quarters: calls per user and quarter hour (issue 19). In a zone whose offset is not
-- whole hours (India +5:30, Nepal +5:45, Newfoundland -3:30) a local midnight cuts one hour of
-- every UTC day; the statistics' per-day chart moved that part hour's calls to their local day
-- reading them from calls, a year's worth of one half hour a day (50,000 calls at 10M). It
-- reads this table instead (Store::calls_by_day, day_corrections): ~365 rows whatever the
-- traffic. Only what the chart counts: calls, answered calls, talk time. Kept exact by
-- triggers like call_days's (0032), in the same transaction as the change to calls.
CREATE TABLE call_quarters (
    user_id  INTEGER NOT NULL,
    quarter  INTEGER NOT NULL,              -- started_at / 900
    calls    INTEGER NOT NULL,
    answered INTEGER NOT NULL,
    billsec  INTEGER NOT NULL,
    PRIMARY KEY (user_id, quarter)
) WITHOUT ROWID;

INSERT INTO call_quarters
SELECT user_id, started_at / 900, COUNT(*), SUM(disposition = 'ANSWERED'), SUM(billsec)
FROM calls GROUP BY 1, 2;

CREATE TRIGGER calls_quarter_roll_up_insert AFTER INSERT ON calls BEGIN
    INSERT INTO call_quarters (user_id, quarter, calls, answered, billsec)
    VALUES (NEW.user_id, NEW.started_at / 900, 1, NEW.disposition = 'ANSWERED', NEW.billsec)
    ON CONFLICT (user_id, quarter) DO UPDATE
       SET calls = calls + 1, answered = answered + excluded.answered,
           billsec = billsec + excluded.billsec;
END;

CREATE TRIGGER calls_quarter_roll_up_delete AFTER DELETE ON calls BEGIN
    UPDATE call_quarters
       SET calls = calls - 1, answered = answered - (OLD.disposition = 'ANSWERED'),
           billsec = billsec - OLD.billsec
     WHERE user_id = OLD.user_id AND quarter = OLD.started_at / 900;
END;

-- Only changes to rolled-up columns move a call (marking calls seen, rating them, does not fire).
CREATE TRIGGER calls_quarter_roll_up_update
AFTER UPDATE OF user_id, started_at, disposition, billsec ON calls BEGIN
    UPDATE call_quarters
       SET calls = calls - 1, answered = answered - (OLD.disposition = 'ANSWERED'),
           billsec = billsec - OLD.billsec
     WHERE user_id = OLD.user_id AND quarter = OLD.started_at / 900;
    INSERT INTO call_quarters (user_id, quarter, calls, answered, billsec)
    VALUES (NEW.user_id, NEW.started_at / 900, 1, NEW.disposition = 'ANSWERED', NEW.billsec)
    ON CONFLICT (user_id, quarter) DO UPDATE
       SET calls = calls + 1, answered = answered + excluded.answered,
           billsec = billsec + excluded.billsec;
END;

ANALYZE call_quarters;
