//! A subscriber's payments, newest first, and their totals per currency.

use sqlx::FromRow;

use super::keyset_page::{Cursor, Key, Window};
use super::row_query::RowQuery;
use super::Store;

#[derive(Clone, Debug, FromRow, serde::Deserialize)]
pub struct Payment {
    pub id: i64,
    pub paid_at: i64,
    pub confirmed_at: Option<i64>,
    pub payment_type: String,
    pub amount_micros: i64,
    pub vat_percent_bp: i64,
    pub amount_vat_micros: i64,
    pub currency: String,
    pub decimals: i64,
    pub completed: i64,
    /// pending, completed, declined, failed
    pub state: String,
    /// Why a payment was declined or failed, in plain words.
    pub failure_reason: String,
    pub refunded_micros: i64,
}

/// The sum of the completed payments in one currency.
#[derive(Clone, Debug, FromRow)]
pub struct PaymentTotal {
    pub currency: String,
    pub decimals: i64,
    pub count: i64,
    pub amount_micros: i64,
    pub amount_vat_micros: i64,
}

const PAYMENT_COLUMNS: &str = "p.id, p.paid_at, p.confirmed_at, p.payment_type, p.amount_micros,
        p.vat_percent_bp, p.amount_vat_micros, p.currency, c.decimals, p.completed, p.state,
        p.failure_reason, p.refunded_micros";

/// A user's payments, newest first.
fn all_payments() -> String {
    format!(
        "SELECT {PAYMENT_COLUMNS}
         FROM payments p JOIN currencies c ON c.code = p.currency
         WHERE p.user_id = $1
         ORDER BY p.paid_at DESC, p.id DESC"
    )
}

impl Payment {
    /// Its place in the list.
    pub fn key(&self) -> Key<i64> {
        Key {
            sort: self.paid_at,
            id: self.id,
        }
    }
}

/// The user's payments, to be read as a stream (a streamed export).
pub fn payments_query(user_id: i64) -> RowQuery<Payment> {
    RowQuery::new(all_payments(), vec![user_id])
}

impl Store {
    pub async fn payments(&self, user_id: i64) -> sqlx::Result<Vec<Payment>> {
        sqlx::query_as(&all_payments())
            .bind(user_id)
            .fetch_all(self.pool())
            .await
    }

    /// A page of at most `limit` of the user's payments, newest first, from `cursor` (keyset
    /// paging by time, then id).
    pub async fn payments_page(
        &self,
        user_id: i64,
        cursor: &Cursor<Key<i64>>,
        limit: u32,
    ) -> sqlx::Result<Window<Payment, Key<i64>>> {
        self.newest_first(
            (
                PAYMENT_COLUMNS,
                "FROM payments p JOIN currencies c ON c.code = p.currency WHERE p.user_id = $1",
            ),
            ("p.paid_at", "p.id"),
            user_id,
            cursor,
            limit,
            Payment::key,
        )
        .await
    }

    /// The first and last payment's instants (`None` without payments): the period of a list.
    pub async fn payment_span(&self, user_id: i64) -> sqlx::Result<Option<(i64, i64)>> {
        let (first, last): (Option<i64>, Option<i64>) =
            sqlx::query_as("SELECT MIN(paid_at), MAX(paid_at) FROM payments WHERE user_id = $1")
                .bind(user_id)
                .fetch_one(self.pool())
                .await?;
        Ok(first.zip(last))
    }

    /// Completed payments summed per currency (pending ones are not money received yet).
    pub async fn payment_totals(&self, user_id: i64) -> sqlx::Result<Vec<PaymentTotal>> {
        sqlx::query_as(
            "SELECT p.currency, c.decimals, COUNT(*) AS count,
                    CAST(COALESCE(SUM(p.amount_micros), 0) AS BIGINT) AS amount_micros,
                    CAST(COALESCE(SUM(p.amount_vat_micros), 0) AS BIGINT) AS amount_vat_micros
             FROM payments p JOIN currencies c ON c.code = p.currency
             WHERE p.user_id = $1 AND p.state = 'completed'
             GROUP BY p.currency, c.decimals
             ORDER BY p.currency",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await
    }
}
