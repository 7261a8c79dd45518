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
    /// One round trip; each figure is an index range scan of one user's calls.
    pub async fn main_stats(
        &self,
        user_id: i64,
        day_start: i64,
        month_start: i64,
    ) -> sqlx::Result<MainStats> {
        sqlx::query_as(
            "SELECT
               (SELECT COUNT(*) FROM calls WHERE user_id = $1 AND started_at >= $2
                  AND direction = 'in' AND disposition <> 'ANSWERED') AS missed_today,
               (SELECT COUNT(*) FROM calls WHERE user_id = $1
                  AND direction = 'in' AND disposition <> 'ANSWERED' AND processed = 0) AS missed_total,
               m.n AS month_calls, m.s AS month_seconds, m.p AS month_spend_micros,
               d.n AS day_calls, d.s AS day_seconds
             FROM
               (SELECT COUNT(*) AS n, CAST(COALESCE(SUM(billsec), 0) AS BIGINT) AS s,
                       CAST(COALESCE(SUM(price_micros), 0) AS BIGINT) AS p
                  FROM calls WHERE user_id = $1 AND started_at >= $3) m,
               (SELECT COUNT(*) AS n, CAST(COALESCE(SUM(billsec), 0) AS BIGINT) AS s
                  FROM calls WHERE user_id = $1 AND started_at >= $2) d",
        )
        .bind(user_id)
        .bind(day_start)
        .bind(month_start)
        .fetch_one(self.pool())
        .await
    }
}
