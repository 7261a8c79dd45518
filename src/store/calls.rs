//! Call records: the figures of the main page.

use sqlx::FromRow;

use super::Store;

/// Counts for the main page, over UTC instants computed in the subscriber's time zone.
#[derive(Debug, Default, FromRow, PartialEq, Eq)]
pub struct MainStats {
    /// Incoming calls not answered since the start of the local day.
    pub missed_today: i64,
    /// Incoming calls not answered and not yet marked processed, ever.
    pub missed_total: i64,
    pub month_calls: i64,
    pub month_seconds: i64,
    /// What this month's calls cost (priced calls, in the account's currency).
    pub month_spend_micros: i64,
    pub day_calls: i64,
    pub day_seconds: i64,
}

impl Store {
    /// One round trip whose cost grows neither with the history nor through the month: the
    /// month's whole UTC days before today come from the daily roll-up `call_days`, the hours
    /// around them (at most a day's at the month's start, two days' at its end) from the hourly
    /// `call_hours`, only the partial hours at the month's and the day's start (zones whose
    /// midnight is not on the hour) from `calls`, and the unprocessed missed calls from the
    /// counter `missed_counts` (all kept by triggers).
    pub async fn main_stats(
        &self,
        user_id: i64,
        day_start: i64,
        month_start: i64,
    ) -> sqlx::Result<MainStats> {
        let s = MainSplit::of(day_start, month_start);
        sqlx::query_as(
            "SELECT
               CAST(COALESCE(SUM(CASE WHEN t >= $2 AND direction = 'in' AND disposition <> 'ANSWERED'
                                      THEN n END), 0) AS BIGINT) AS missed_today,
               COALESCE((SELECT unprocessed FROM missed_counts WHERE user_id = $1), 0) AS missed_total,
               CAST(COALESCE(SUM(n), 0) AS BIGINT) AS month_calls,
               CAST(COALESCE(SUM(b), 0) AS BIGINT) AS month_seconds,
               CAST(COALESCE(SUM(p), 0) AS BIGINT) AS month_spend_micros,
               CAST(COALESCE(SUM(CASE WHEN t >= $2 THEN n END), 0) AS BIGINT) AS day_calls,
               CAST(COALESCE(SUM(CASE WHEN t >= $2 THEN b END), 0) AS BIGINT) AS day_seconds
             FROM (
               SELECT day * 86400 AS t, calls AS n, billsec AS b, price_micros AS p, direction, disposition
                 FROM call_days
                WHERE user_id = $1 AND day >= $9 AND day < $10
               UNION ALL
               SELECT hour * 3600, calls, billsec, price_micros, direction, disposition
                 FROM call_hours
                WHERE user_id = $1 AND hour >= $3 AND hour < $9 * 24 AND hour <> $4
               UNION ALL
               SELECT hour * 3600, calls, billsec, price_micros, direction, disposition
                 FROM call_hours
                WHERE user_id = $1 AND hour >= $10 * 24 AND hour <> $4
               UNION ALL
               SELECT started_at, 1, billsec, COALESCE(price_micros, 0), direction, disposition
                 FROM calls
                WHERE user_id = $1 AND ((started_at >= $5 AND started_at < $6)
                                     OR (started_at >= $7 AND started_at < $8))
             ) x",
        )
        .bind(user_id)
        .bind(day_start)
        .bind(s.first_whole_hour)
        .bind(s.skipped_hour)
        .bind(s.month_edge.0)
        .bind(s.month_edge.1)
        .bind(s.day_edge.0)
        .bind(s.day_edge.1)
        .bind(s.whole_days.0)
        .bind(s.whole_days.1)
        .fetch_one(self.reader())
        .await
    }
}

/// One of the newest calls, as the main page lists them: the other party and, when the
/// subscriber's phonebook has that number, its name.
#[derive(Debug, FromRow)]
pub struct RecentCall {
    pub id: i64,
    pub started_at: i64,
    /// `in` or `out`.
    pub direction: String,
    pub disposition: String,
    /// Who called (incoming) or was called (outgoing).
    pub other: String,
    pub name: Option<String>,
    pub billsec: i64,
    pub price_micros: Option<i64>,
}

impl Store {
    /// The newest `limit` calls: the last entries of the calls' own index, whatever the history.
    pub async fn recent_calls(&self, user_id: i64, limit: i64) -> sqlx::Result<Vec<RecentCall>> {
        sqlx::query_as(
            "SELECT c.id, c.started_at, c.direction, c.disposition, c.other, p.name,
                    c.billsec, c.price_micros
             FROM (SELECT id, user_id, started_at, direction, disposition, billsec, price_micros,
                          CASE WHEN direction = 'in' THEN src ELSE dst END AS other
                     FROM calls WHERE user_id = $1
                    ORDER BY started_at DESC, id DESC LIMIT $2) c
             LEFT JOIN phonebook_entries p ON p.user_id = c.user_id AND p.number = c.other
             ORDER BY c.started_at DESC, c.id DESC",
        )
        .bind(user_id)
        .bind(limit)
        .fetch_all(self.reader())
        .await
    }
}

/// How the main page's periods fall on the roll-up's hours.
#[derive(Debug, PartialEq, Eq)]
struct MainSplit {
    /// The first hour wholly inside the month (`call_hours.hour`).
    first_whole_hour: i64,
    /// The hour the day starts in when the day does not start on the hour (it is read from
    /// `calls` instead, split at the day's start); else -1, no hour.
    skipped_hour: i64,
    /// The month's partial first hour, `[from, until)` in UTC seconds (empty when none).
    month_edge: (i64, i64),
    /// The skipped hour as a range of `calls` (empty when none).
    day_edge: (i64, i64),
    /// The UTC days read from `call_days`, `[from, until)` (`call_days.day`; empty when none):
    /// those wholly inside the month and before the hour the day starts in. The hours from the
    /// first whole hour to `from` and from `until` on come from `call_hours`.
    whole_days: (i64, i64),
}

impl MainSplit {
    fn of(day_start: i64, month_start: i64) -> MainSplit {
        let hour = 3600;
        let first_whole_hour = month_start.div_euclid(hour) + i64::from(month_start % hour != 0);
        let month_edge = (month_start, first_whole_hour * hour);
        let (skipped_hour, day_edge) = if day_start % hour != 0 && day_start > month_start {
            let h = day_start.div_euclid(hour);
            (h, (h * hour, (h + 1) * hour))
        } else {
            (-1, (0, 0))
        };
        // Today is read by the hour (its figures start at `day_start`), so the days stop
        // before the hour it starts in.
        let from = first_whole_hour.div_euclid(24) + i64::from(first_whole_hour % 24 != 0);
        let until = day_start.div_euclid(hour).div_euclid(24).max(from);
        MainSplit {
            first_whole_hour,
            skipped_hour,
            month_edge,
            day_edge,
            whole_days: (from, until),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::MainSplit;

    #[test]
    fn whole_hour_zones_read_only_the_roll_up() {
        // Midnight in Europe/Riga (UTC+2): on the hour.
        let s = MainSplit::of(1_764_885_600, 1_764_540_000);
        assert_eq!(s.first_whole_hour, 1_764_540_000 / 3600);
        assert_eq!(s.month_edge.0, s.month_edge.1);
        assert_eq!(s.skipped_hour, -1);
        // 2025-12-01 to 03 (UTC) from the daily roll-up; the 4th by the hour (today starts
        // at 22:00 UTC that day).
        assert_eq!(s.whole_days, (20_423, 20_426));
    }

    /// The pieces the main page reads, `[from, until)` in UTC seconds, each with whether its
    /// calls may straddle the day's start (read call by call from `calls`).
    fn pieces(s: &MainSplit, until: i64) -> Vec<(i64, i64, bool)> {
        let (h, d) = (3600, 86_400);
        let mut p = vec![(s.month_edge.0, s.month_edge.1, true)];
        p.push((s.day_edge.0, s.day_edge.1, true));
        let hours = (s.first_whole_hour..s.whole_days.0 * 24)
            .chain(s.whole_days.1 * 24..until / h)
            .filter(|&x| x != s.skipped_hour);
        p.extend(hours.map(|x| (x * h, (x + 1) * h, false)));
        p.extend((s.whole_days.0..s.whole_days.1).map(|x| (x * d, (x + 1) * d, false)));
        p.retain(|(a, b, _)| a < b);
        p.sort();
        p
    }

    #[test]
    fn every_second_of_the_month_is_read_once_and_today_is_split_exactly() {
        let month_utc = 1_764_547_200; // 2025-12-01T00:00:00Z
        for quarters in -48..=56 {
            // Every zone offset in quarter hours, every day of the month.
            let month = month_utc - quarters * 900;
            for day_of_month in 0..31 {
                let day = month + day_of_month * 86_400;
                let s = MainSplit::of(day, month);
                let end = day + 2 * 86_400;
                let p = pieces(&s, end);
                assert_eq!(p.first().unwrap().0, month, "{quarters} {day_of_month}");
                for w in p.windows(2) {
                    assert_eq!(
                        w[0].1, w[1].0,
                        "a gap or overlap: {quarters} {day_of_month}"
                    );
                }
                assert!(p.last().unwrap().1 >= end - 3600);
                for (a, b, exact) in p {
                    assert!(exact || b <= day || a >= day, "{a}..{b} straddles {day}");
                }
            }
        }
    }

    #[test]
    fn half_hour_zones_read_their_partial_hours_from_calls() {
        // Midnight in Asia/Kolkata (UTC+5:30) is half past the hour in UTC.
        let month = 1_764_527_400; // 2025-11-30T18:30:00Z
        let day = 1_764_873_000; // 2025-12-04T18:30:00Z
        let s = MainSplit::of(day, month);
        assert_eq!(s.month_edge, (month, month + 1800));
        assert_eq!(s.first_whole_hour, (month + 1800) / 3600);
        assert_eq!(s.skipped_hour, (day - 1800) / 3600);
        assert_eq!(s.day_edge, (day - 1800, day + 1800));
        // The first day of the month: its start is the month's, read as the month's edge.
        let s = MainSplit::of(month, month);
        assert_eq!(s.skipped_hour, -1);
    }
}
