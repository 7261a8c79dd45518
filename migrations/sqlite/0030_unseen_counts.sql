-- How many calls each subscriber has not seen yet, kept by triggers in the same transaction as
-- the change to calls (as 0025 keeps missed_counts). The New calls page reads one row instead of
-- counting a history that only grows.
CREATE TABLE unseen_counts (
    user_id INTEGER PRIMARY KEY,
    unseen  INTEGER NOT NULL
);

INSERT INTO unseen_counts
SELECT user_id, COUNT(*) FROM calls WHERE seen = 0 GROUP BY user_id;

CREATE TRIGGER calls_unseen_count_insert AFTER INSERT ON calls
WHEN NEW.seen = 0 BEGIN
    INSERT INTO unseen_counts (user_id, unseen) VALUES (NEW.user_id, 1)
    ON CONFLICT (user_id) DO UPDATE SET unseen = unseen + 1;
END;

CREATE TRIGGER calls_unseen_count_delete AFTER DELETE ON calls
WHEN OLD.seen = 0 BEGIN
    UPDATE unseen_counts SET unseen = unseen - 1 WHERE user_id = OLD.user_id;
END;

-- Marking calls seen moves the count; marking calls processed does not fire.
CREATE TRIGGER calls_unseen_count_update AFTER UPDATE OF user_id, seen ON calls
WHEN OLD.seen = 0 OR NEW.seen = 0 BEGIN
    UPDATE unseen_counts SET unseen = unseen - 1
     WHERE user_id = OLD.user_id AND OLD.seen = 0;
    INSERT INTO unseen_counts (user_id, unseen)
    SELECT NEW.user_id, 1 WHERE NEW.seen = 0
    ON CONFLICT (user_id) DO UPDATE SET unseen = unseen + 1;
END;
