-- Grows a PostgreSQL bench database made by `selfcare demo --users 10 --calls N` to ten times
-- its calls, inside the server (hours faster than the demo loader at 100M): nine copies of
-- every subscriber (`demo_c1` … `user10_c9`, same password hash), each with a copy of that
-- subscriber's calls. `demo` keeps its own history, so its pages show what the table's size
-- alone costs. The roll-up triggers run per statement, as for any bulk insert.
--
--   createdb -h 127.0.0.1 -U postgres -T p10m p100m
--   psql -h 127.0.0.1 -U postgres -d p100m -v ON_ERROR_STOP=1 -f benches/data/grow_postgres.sql
\timing on
SELECT calls_split_default(0);
DO $$
BEGIN
  FOR k IN 1..9 LOOP
    INSERT INTO users (username, password_hash, currency, time_zone, language, account_type,
                       created_at)
      SELECT username || '_c' || k, password_hash, currency, time_zone, language, account_type,
             created_at
        FROM users WHERE username NOT LIKE '%\_c%';
    INSERT INTO calls (user_id, started_at, src, dst, destination_id, direction, disposition,
                       duration_s, billsec, price_micros, processed, seen, rating_status)
      SELECT n.id, c.started_at, c.src, c.dst, c.destination_id, c.direction, c.disposition,
             c.duration_s, c.billsec, c.price_micros, c.processed, c.seen, c.rating_status
        FROM calls c
        JOIN users o ON o.id = c.user_id AND o.username NOT LIKE '%\_c%'
        JOIN users n ON n.username = o.username || '_c' || k;
    RAISE NOTICE 'copy % done at %', k, clock_timestamp();
    COMMIT;
  END LOOP;
END $$;
VACUUM ANALYZE;
SELECT COUNT(*) AS calls FROM calls;
