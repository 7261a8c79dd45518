"""The main page's figures as one SQL statement, run directly in SQLite (Python's sqlite3
module, no portal in between): the statement before the roll-up change (counting the month's
calls and every unprocessed missed call in `calls`) against the one the portal runs now
(`src/store/calls.rs`, `main_stats`: whole hours from `call_hours`, the counter
`missed_counts`), median of 50 runs after 3 warm-ups, and whether both give the same figures.

    selfcare --data-dir /tmp/m100k demo --calls 100000      # once per size
    selfcare --data-dir /tmp/m1m demo --calls 1000000
    selfcare --data-dir /tmp/m10m demo --calls 10000000
    python3 benches/main_page_statement.py /tmp/m100k /tmp/m1m /tmp/m10m
"""
import datetime
import statistics
import sys
import time
import zoneinfo

OLD = """SELECT
 (SELECT COUNT(*) FROM calls WHERE user_id = {u} AND started_at >= {day}
    AND direction = 'in' AND disposition <> 'ANSWERED') AS missed_today,
 (SELECT COUNT(*) FROM calls WHERE user_id = {u}
    AND direction = 'in' AND disposition <> 'ANSWERED' AND processed = 0) AS missed_total,
 m.n, m.s, m.p, d.n, d.s
FROM
 (SELECT COUNT(*) AS n, CAST(COALESCE(SUM(billsec), 0) AS BIGINT) AS s,
         CAST(COALESCE(SUM(price_micros), 0) AS BIGINT) AS p
    FROM calls WHERE user_id = {u} AND started_at >= {month}) m,
 (SELECT COUNT(*) AS n, CAST(COALESCE(SUM(billsec), 0) AS BIGINT) AS s
    FROM calls WHERE user_id = {u} AND started_at >= {day}) d;"""

NEW = """SELECT
 CAST(COALESCE(SUM(CASE WHEN t >= {day} AND direction = 'in' AND disposition <> 'ANSWERED' THEN n END), 0) AS BIGINT),
 COALESCE((SELECT unprocessed FROM missed_counts WHERE user_id = {u}), 0),
 CAST(COALESCE(SUM(n), 0) AS BIGINT), CAST(COALESCE(SUM(b), 0) AS BIGINT), CAST(COALESCE(SUM(p), 0) AS BIGINT),
 CAST(COALESCE(SUM(CASE WHEN t >= {day} THEN n END), 0) AS BIGINT),
 CAST(COALESCE(SUM(CASE WHEN t >= {day} THEN b END), 0) AS BIGINT)
FROM (
 SELECT hour * 3600 AS t, calls AS n, billsec AS b, price_micros AS p, direction, disposition
   FROM call_hours WHERE user_id = {u} AND hour >= {h0} AND hour <> -1
 UNION ALL
 SELECT started_at, 1, billsec, COALESCE(price_micros, 0), direction, disposition
   FROM calls WHERE user_id = {u} AND ((started_at >= {month} AND started_at < {h0s})
                                    OR (started_at >= 0 AND started_at < 0))
) x;"""

import sqlite3
def run(db, sql, n=50):
    c = sqlite3.connect(db)
    times = []
    for _ in range(n + 3):
        t = time.perf_counter(); row = c.execute(sql).fetchall(); times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times[3:]), "|".join(map(str, row[0]))

for name, db in [(a.rstrip("/").split("/")[-1], f"{a}/selfcare.db") for a in sys.argv[1:]]:
    conn = sqlite3.connect(db)
    q = lambda s: str(conn.execute(s).fetchone()[0])
    tz = zoneinfo.ZoneInfo(q("SELECT time_zone FROM users WHERE username = 'demo'"))
    u = q("SELECT id FROM users WHERE username = 'demo'")
    calls = q("SELECT COUNT(*) FROM calls"); mine = q(f"SELECT COUNT(*) FROM calls WHERE user_id = {u}")
    now = datetime.datetime.now(tz)
    day = int(now.replace(hour=0, minute=0, second=0, microsecond=0).timestamp())
    month = int(now.replace(day=1, hour=0, minute=0, second=0, microsecond=0).timestamp())
    h0 = -(-month // 3600)
    p = dict(u=u, day=day, month=month, h0=h0, h0s=h0 * 3600)
    old, r1 = run(db, OLD.format(**p)); new, r2 = run(db, NEW.format(**p))
    print(f"SQLite {sqlite3.sqlite_version}, {name}: {calls} calls ({mine} of demo): old statement {old:.2f} ms, new {new:.2f} ms; same figures: {r1 == r2} ({r1} / {r2})")
