//! A subscriber's subscriptions to services (newest first) and what the active monthly ones cost.

use sqlx::FromRow;

use super::Store;

#[derive(Clone, Debug, FromRow)]
pub struct Subscription {
    pub id: i64,
    pub service: String,
    pub added_at: i64,
    pub active_from: i64,
    /// `None`: open-ended.
    pub active_until: Option<i64>,
    pub price_micros: i64,
    pub currency: String,
    pub decimals: i64,
    /// `month` or `once`.
    pub period: String,
    /// What the portal made it for (`crate::numbers::service`); `None`: the operator's own.
    pub kind: Option<String>,
    pub service_number: Option<String>,
}

/// The monthly price of the subscriptions active at a moment, in one currency.
#[derive(Clone, Debug, FromRow)]
pub struct MonthlyTotal {
    pub currency: String,
    pub decimals: i64,
    pub count: i64,
    pub price_micros: i64,
}

impl Store {
    pub async fn subscriptions(&self, user_id: i64) -> sqlx::Result<Vec<Subscription>> {
        sqlx::query_as(
            "SELECT s.id, v.name AS service, s.added_at, s.active_from, s.active_until, v.price_micros,
                    v.currency, c.decimals, v.period, v.kind, v.number AS service_number
             FROM subscriptions s
             JOIN services v ON v.id = s.service_id
             JOIN currencies c ON c.code = v.currency
             WHERE s.user_id = $1
             ORDER BY s.added_at DESC, s.id DESC",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await
    }

    /// Monthly services active at `at`, summed per currency.
    pub async fn monthly_subscription_totals(
        &self,
        user_id: i64,
        at: i64,
    ) -> sqlx::Result<Vec<MonthlyTotal>> {
        sqlx::query_as(
            "SELECT v.currency, c.decimals, COUNT(*) AS count,
                    CAST(COALESCE(SUM(v.price_micros), 0) AS BIGINT) AS price_micros
             FROM subscriptions s
             JOIN services v ON v.id = s.service_id
             JOIN currencies c ON c.code = v.currency
             WHERE s.user_id = $1 AND v.period = 'month'
               AND s.active_from <= $2 AND (s.active_until IS NULL OR s.active_until > $2)
             GROUP BY v.currency, c.decimals
             ORDER BY v.currency",
        )
        .bind(user_id)
        .bind(at)
        .fetch_all(self.pool())
        .await
    }
}
