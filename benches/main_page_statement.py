"""The main page's figures as one SQL statement, run directly in SQLite (Python's sqlite3
module, no portal in between), median of 50 runs after 3 warm-ups, and whether all give the
same figures:
- old: the month's calls and every unprocessed missed call counted in `calls`;
- hours: every hour of the month from `call_hours`, the counter `missed_counts`;
- now (`src/store/calls.rs`, `main_stats`): the month's whole UTC days before today from
  `call_days`, the hours around them from `call_hours`.

    selfcare --data-dir /tmp/m100k demo --calls 100000      # once per size
    selfcare --data-dir /tmp/m1m demo --calls 1000000
    selfcare --data-dir /tmp/m10m demo --calls 10000000
    python3 benches/main_page_statement.py [--month-days 30] /tmp/m100k /tmp/m1m /tmp/m10m

`--month-days N` measures as if the month had begun N - 1 days before today (the end of a
month: the demo's calls cover the last 90 days).
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

FIGURES = """SELECT
 CAST(COALESCE(SUM(CASE WHEN t >= {day} AND direction = 'in' AND disposition <> 'ANSWERED' THEN n END), 0) AS BIGINT),
 COALESCE((SELECT unprocessed FROM missed_counts WHERE user_id = {u}), 0),
 CAST(COALESCE(SUM(n), 0) AS BIGINT), CAST(COALESCE(SUM(b), 0) AS BIGINT), CAST(COALESCE(SUM(p), 0) AS BIGINT),
 CAST(COALESCE(SUM(CASE WHEN t >= {day} THEN n END), 0) AS BIGINT),
 CAST(COALESCE(SUM(CASE WHEN t >= {day} THEN b END), 0) AS BIGINT)
FROM ({parts}) x;"""

EDGES = """SELECT started_at, 1, billsec, COALESCE(price_micros, 0), direction, disposition
   FROM calls WHERE user_id = {u} AND ((started_at >= {month} AND started_at < {h0s})
                                    OR (started_at >= 0 AND started_at < 0))"""

HOURS = FIGURES.replace("{parts}", """
 SELECT hour * 3600 AS t, calls AS n, billsec AS b, price_micros AS p, direction, disposition
   FROM call_hours WHERE user_id = {u} AND hour >= {h0} AND hour <> -1
 UNION ALL """ + EDGES)

NOW = FIGURES.replace("{parts}", """
 SELECT day * 86400 AS t, calls AS n, billsec AS b, price_micros AS p, direction, disposition
   FROM call_days WHERE user_id = {u} AND day >= {d0} AND day < {d1}
 UNION ALL
 SELECT hour * 3600, calls, billsec, price_micros, direction, disposition
   FROM call_hours WHERE user_id = {u} AND hour >= {h0} AND hour < {d0} * 24 AND hour <> -1
 UNION ALL
 SELECT hour * 3600, calls, billsec, price_micros, direction, disposition
   FROM call_hours WHERE user_id = {u} AND hour >= {d1} * 24 AND hour <> -1
 UNION ALL """ + EDGES)

import sqlite3
def run(db, sql, n=50):
    c = sqlite3.connect(db)
    times = []
    for _ in range(n + 3):
        t = time.perf_counter(); row = c.execute(sql).fetchall(); times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times[3:]), "|".join(map(str, row[0]))

args = sys.argv[1:]
month_days = None
if args[:1] == ["--month-days"]:
    month_days, args = int(args[1]), args[2:]
for name, db in [(a.rstrip("/").split("/")[-1], f"{a}/selfcare.db") for a in args]:
    conn = sqlite3.connect(db)
    q = lambda s: str(conn.execute(s).fetchone()[0])
    tz = zoneinfo.ZoneInfo(q("SELECT time_zone FROM users WHERE username = 'demo'"))
    u = q("SELECT id FROM users WHERE username = 'demo'")
    calls = q("SELECT COUNT(*) FROM calls"); mine = q(f"SELECT COUNT(*) FROM calls WHERE user_id = {u}")
    now = datetime.datetime.now(tz)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    day = int(midnight.timestamp())
    if month_days:
        month = int((midnight - datetime.timedelta(days=month_days - 1)).timestamp())
    else:
        month = int(now.replace(day=1, hour=0, minute=0, second=0, microsecond=0).timestamp())
    h0 = -(-month // 3600)
    # As MainSplit: whole UTC days from the first after the month's first whole hour to the one
    # today starts in (a whole-hour zone: no edge hours).
    d0 = -(-h0 // 24)
    d1 = max(day // 3600 // 24, d0)
    p = dict(u=u, day=day, month=month, h0=h0, h0s=h0 * 3600, d0=d0, d1=d1)
    timed = [run(db, sql.format(**p)) for sql in (OLD, HOURS, NOW)]
    same = len({r for _, r in timed}) == 1
    ms = ", ".join(f"{label} {t:.2f} ms" for label, (t, _) in zip(("old", "hours", "now"), timed))
    print(f"SQLite {sqlite3.sqlite_version}, {name}, month of {(day - month) // 86400 + 1} days: {calls} calls ({mine} of demo): {ms}; same figures: {same} ({timed[2][1]})")
