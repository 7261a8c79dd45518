-- How many missed calls (incoming, not answered) each subscriber has not processed yet, kept by
-- triggers in the same transaction as the change to calls. The main page and the missed-calls
-- page read one row instead of counting a history that only grows.
CREATE TABLE missed_counts (
    user_id     INTEGER PRIMARY KEY,
    unprocessed INTEGER NOT NULL
);

INSERT INTO missed_counts
SELECT user_id, COUNT(*) FROM calls
 WHERE direction = 'in' AND disposition <> 'ANSWERED' AND processed = 0
 GROUP BY user_id;

CREATE TRIGGER calls_missed_count_insert AFTER INSERT ON calls
WHEN NEW.direction = 'in' AND NEW.disposition <> 'ANSWERED' AND NEW.processed = 0 BEGIN
    INSERT INTO missed_counts (user_id, unprocessed) VALUES (NEW.user_id, 1)
    ON CONFLICT (user_id) DO UPDATE SET unprocessed = unprocessed + 1;
END;

CREATE TRIGGER calls_missed_count_delete AFTER DELETE ON calls
WHEN OLD.direction = 'in' AND OLD.disposition <> 'ANSWERED' AND OLD.processed = 0 BEGIN
    UPDATE missed_counts SET unprocessed = unprocessed - 1 WHERE user_id = OLD.user_id;
END;

-- Marking calls processed moves the count; marking calls seen does not fire.
CREATE TRIGGER calls_missed_count_update
AFTER UPDATE OF user_id, direction, disposition, processed ON calls BEGIN
    UPDATE missed_counts SET unprocessed = unprocessed - 1
     WHERE user_id = OLD.user_id
       AND OLD.direction = 'in' AND OLD.disposition <> 'ANSWERED' AND OLD.processed = 0;
    INSERT INTO missed_counts (user_id, unprocessed)
    SELECT NEW.user_id, 1
     WHERE NEW.direction = 'in' AND NEW.disposition <> 'ANSWERED' AND NEW.processed = 0
    ON CONFLICT (user_id) DO UPDATE SET unprocessed = unprocessed + 1;
END;
