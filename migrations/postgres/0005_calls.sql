-- Call pages (issue 5): indexes for one subscriber's calls, sized for 1,000,000 calls of a user in
-- a table of 10,000,000. The query plans behind these choices are in src/store/call_list.rs.
--
-- 1. The period index becomes a covering index. Its key is unchanged — (user_id, started_at, id),
--    the keyset order of every call list — and it carries the columns every filter and total
--    reads, so totals, per-day statistics and the search for a page's ids are index-only scans
--    that never visit the table. It replaces calls_user_time, whose key it repeats.
DROP INDEX IF EXISTS calls_user_time;
CREATE INDEX calls_user_time_cover ON calls (user_id, started_at, id)
    INCLUDE (direction, disposition, device_id, billsec, price_micros);

-- 2. Missed calls of a period, processed or not (the missed-calls page lists both); the
--    existing calls_missed holds only the unprocessed ones, for the main page's total.
CREATE INDEX calls_missed_all ON calls (user_id, started_at, id) INCLUDE (processed)
    WHERE direction = 'in' AND disposition <> 'ANSWERED';
