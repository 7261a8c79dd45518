-- How many calls each subscriber has not seen yet, kept by triggers in the same transaction as
-- the change to calls (as 0025 keeps missed_counts). The New calls page reads one row instead of
-- counting a history that only grows.
CREATE TABLE unseen_counts (
    user_id BIGINT PRIMARY KEY,
    unseen  BIGINT NOT NULL
);

INSERT INTO unseen_counts
SELECT user_id, COUNT(*) FROM calls WHERE seen = 0 GROUP BY user_id ORDER BY user_id;

-- One statement, one grouped upsert; rows in key order so concurrent writers lock them in the
-- same order.
CREATE FUNCTION unseen_counts_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO unseen_counts AS u
    SELECT user_id, COUNT(*) FROM new_rows WHERE seen = 0 GROUP BY user_id ORDER BY user_id
    ON CONFLICT (user_id) DO UPDATE SET unseen = u.unseen + EXCLUDED.unseen;
    RETURN NULL;
END $$;

CREATE FUNCTION unseen_counts_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE unseen_counts AS u SET unseen = u.unseen - o.n
      FROM (SELECT user_id, COUNT(*) AS n FROM old_rows WHERE seen = 0
             GROUP BY user_id ORDER BY user_id) o
     WHERE u.user_id = o.user_id;
    RETURN NULL;
END $$;

-- Marking calls seen moves the count; an update that leaves `seen` (and the owner) as it was,
-- such as marking calls processed, writes nothing.
CREATE FUNCTION unseen_counts_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO unseen_counts AS u
    SELECT user_id, SUM(d) FROM (
        SELECT user_id, 1 AS d FROM new_rows WHERE seen = 0
        UNION ALL
        SELECT user_id, -1 FROM old_rows WHERE seen = 0
    ) x GROUP BY user_id HAVING SUM(d) <> 0 ORDER BY user_id
    ON CONFLICT (user_id) DO UPDATE SET unseen = u.unseen + EXCLUDED.unseen;
    RETURN NULL;
END $$;

-- On the partitioned parent (0029): the transition tables see the rows of every partition a
-- statement touched; rows moved between partitions directly (calls_make_month) fire nothing.
CREATE TRIGGER calls_unseen_count_insert AFTER INSERT ON calls
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION unseen_counts_insert();
CREATE TRIGGER calls_unseen_count_delete AFTER DELETE ON calls
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION unseen_counts_delete();
CREATE TRIGGER calls_unseen_count_update AFTER UPDATE ON calls
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION unseen_counts_update();
