-- call_quarters: calls per user and quarter hour (issue 19). In a zone whose offset is not
-- whole hours (India +5:30, Nepal +5:45, Newfoundland -3:30) a local midnight cuts one hour of
-- every UTC day; the statistics' per-day chart moved that part hour's calls to their local day
-- reading them from calls, a year's worth of one half hour a day (50,000 calls at 10M). It
-- reads this table instead (Store::calls_by_day, day_corrections): ~365 rows whatever the
-- traffic. Only what the chart counts: calls, answered calls, talk time. Kept exact by
-- statement-level triggers like call_days's (0032): one grouped upsert per statement.
CREATE TABLE call_quarters (
    user_id  BIGINT NOT NULL,
    quarter  BIGINT NOT NULL,              -- started_at / 900
    calls    BIGINT NOT NULL,
    answered BIGINT NOT NULL,
    billsec  BIGINT NOT NULL,
    -- Covering, so a year's pieces are index-only probes.
    PRIMARY KEY (user_id, quarter) INCLUDE (calls, answered, billsec)
);

INSERT INTO call_quarters
SELECT user_id, started_at / 900, COUNT(*), COUNT(*) FILTER (WHERE disposition = 'ANSWERED'),
       SUM(billsec)
FROM calls GROUP BY 1, 2 ORDER BY 1, 2;
ANALYZE call_quarters;

CREATE FUNCTION call_quarters_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO call_quarters AS q
    SELECT user_id, started_at / 900, COUNT(*), COUNT(*) FILTER (WHERE disposition = 'ANSWERED'),
           SUM(billsec)
    FROM new_rows GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (user_id, quarter) DO UPDATE
       SET calls = q.calls + EXCLUDED.calls, answered = q.answered + EXCLUDED.answered,
           billsec = q.billsec + EXCLUDED.billsec;
    RETURN NULL;
END $$;

CREATE FUNCTION call_quarters_remove() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE call_quarters AS q
       SET calls = q.calls - o.calls, answered = q.answered - o.answered, billsec = q.billsec - o.billsec
      FROM (SELECT user_id, started_at / 900 AS quarter, COUNT(*) AS calls,
                   COUNT(*) FILTER (WHERE disposition = 'ANSWERED') AS answered, SUM(billsec) AS billsec
              FROM old_rows GROUP BY 1, 2 ORDER BY 1, 2) o
     WHERE q.user_id = o.user_id AND q.quarter = o.quarter;
    RETURN NULL;
END $$;

-- An update moves a call between rows only when a rolled-up column changed (marking calls seen
-- or processed, or rating them, changes nothing here).
CREATE FUNCTION call_quarters_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE call_quarters AS q
       SET calls = q.calls - o.calls, answered = q.answered - o.answered, billsec = q.billsec - o.billsec
      FROM (SELECT o.user_id, o.started_at / 900 AS quarter, COUNT(*) AS calls,
                   COUNT(*) FILTER (WHERE o.disposition = 'ANSWERED') AS answered, SUM(o.billsec) AS billsec
              FROM old_rows o JOIN new_rows n ON n.id = o.id
             WHERE (o.user_id, o.started_at, o.disposition, o.billsec)
                   IS DISTINCT FROM (n.user_id, n.started_at, n.disposition, n.billsec)
             GROUP BY 1, 2 ORDER BY 1, 2) o
     WHERE q.user_id = o.user_id AND q.quarter = o.quarter;
    INSERT INTO call_quarters AS q
    SELECT n.user_id, n.started_at / 900, COUNT(*), COUNT(*) FILTER (WHERE n.disposition = 'ANSWERED'),
           SUM(n.billsec)
      FROM new_rows n JOIN old_rows o ON o.id = n.id
     WHERE (o.user_id, o.started_at, o.disposition, o.billsec)
           IS DISTINCT FROM (n.user_id, n.started_at, n.disposition, n.billsec)
     GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (user_id, quarter) DO UPDATE
       SET calls = q.calls + EXCLUDED.calls, answered = q.answered + EXCLUDED.answered,
           billsec = q.billsec + EXCLUDED.billsec;
    RETURN NULL;
END $$;

CREATE TRIGGER calls_quarter_roll_up_insert AFTER INSERT ON calls
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION call_quarters_add();
CREATE TRIGGER calls_quarter_roll_up_delete AFTER DELETE ON calls
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION call_quarters_remove();
CREATE TRIGGER calls_quarter_roll_up_update AFTER UPDATE ON calls
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION call_quarters_move();
