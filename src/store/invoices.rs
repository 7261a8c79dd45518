//! A subscriber's invoices (newest first), one invoice with its lines, and totals per currency.

use sqlx::FromRow;

use super::keyset_page::{Cursor, Key, Window};
use super::Store;

#[derive(Clone, Debug, FromRow, serde::Deserialize)]
pub struct Invoice {
    pub id: i64,
    pub number: String,
    pub period_start: i64,
    pub period_end: i64,
    pub issued_at: i64,
    pub paid_at: Option<i64>,
    pub currency: String,
    pub decimals: i64,
    pub price_micros: i64,
    pub vat_percent_bp: i64,
    pub price_vat_micros: i64,
    pub due_at: Option<i64>,
}

/// What the subscriber owes: the unpaid invoices summed, and the oldest of them.
#[derive(Clone, Debug)]
pub struct Owed {
    pub total_micros: i64,
    pub count: i64,
    pub oldest: Invoice,
}

#[derive(Clone, Debug, FromRow)]
pub struct InvoiceLine {
    pub position: i64,
    pub kind: String,
    pub description: String,
    pub quantity: i64,
    pub seconds: i64,
    pub amount_micros: i64,
    /// A subscription line's service, when the portal made it (`crate::numbers::service`).
    pub service_kind: Option<String>,
    pub service_number: Option<String>,
}

/// The invoices of one currency summed: all of them, and the part not paid yet.
#[derive(Clone, Debug, FromRow)]
pub struct InvoiceTotal {
    pub currency: String,
    pub decimals: i64,
    pub count: i64,
    pub price_micros: i64,
    pub price_vat_micros: i64,
    pub unpaid_vat_micros: i64,
}

impl Invoice {
    /// Its place in the list.
    pub fn key(&self) -> Key<i64> {
        Key {
            sort: self.issued_at,
            id: self.id,
        }
    }
}

const INVOICE_COLUMNS: &str =
    "i.id, i.number, i.period_start, i.period_end, i.issued_at, i.paid_at, i.currency,
     c.decimals, i.price_micros, i.vat_percent_bp, i.price_vat_micros, i.due_at";

impl Store {
    pub async fn invoices(&self, user_id: i64) -> sqlx::Result<Vec<Invoice>> {
        sqlx::query_as(&format!(
            "SELECT {INVOICE_COLUMNS}
             FROM invoices i JOIN currencies c ON c.code = i.currency
             WHERE i.user_id = $1
             ORDER BY i.issued_at DESC, i.id DESC"
        ))
        .bind(user_id)
        .fetch_all(self.pool())
        .await
    }

    /// A page of at most `limit` of the user's invoices, newest first, from `cursor` (keyset
    /// paging by issue time, then id).
    pub async fn invoices_page(
        &self,
        user_id: i64,
        cursor: &Cursor<Key<i64>>,
        limit: u32,
    ) -> sqlx::Result<Window<Invoice, Key<i64>>> {
        self.newest_first(
            (
                INVOICE_COLUMNS,
                "FROM invoices i JOIN currencies c ON c.code = i.currency WHERE i.user_id = $1",
            ),
            ("i.issued_at", "i.id"),
            user_id,
            cursor,
            limit,
            Invoice::key,
        )
        .await
    }

    pub async fn invoice(&self, user_id: i64, invoice_id: i64) -> sqlx::Result<Option<Invoice>> {
        sqlx::query_as(&format!(
            "SELECT {INVOICE_COLUMNS}
             FROM invoices i JOIN currencies c ON c.code = i.currency
             WHERE i.id = $1 AND i.user_id = $2"
        ))
        .bind(invoice_id)
        .bind(user_id)
        .fetch_optional(self.pool())
        .await
    }

    /// The unpaid invoices in the account's currency; `None` when all are paid. One statement
    /// and one pass: the oldest, with the count and sum of all as window functions over them.
    pub async fn owed(&self, user_id: i64, currency: &str) -> sqlx::Result<Option<Owed>> {
        #[derive(FromRow)]
        struct OwedRow {
            #[sqlx(flatten)]
            oldest: Invoice,
            owed_count: i64,
            owed_micros: i64,
        }
        let row: Option<OwedRow> = sqlx::query_as(&format!(
            "SELECT {INVOICE_COLUMNS}, COUNT(*) OVER () AS owed_count,
                    CAST(SUM(i.price_vat_micros) OVER () AS BIGINT) AS owed_micros
             FROM invoices i JOIN currencies c ON c.code = i.currency
             WHERE i.user_id = $1 AND i.paid_at IS NULL AND i.currency = $2
             ORDER BY i.issued_at, i.id LIMIT 1"
        ))
        .bind(user_id)
        .bind(currency)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|r| Owed {
            total_micros: r.owed_micros,
            count: r.owed_count,
            oldest: r.oldest,
        }))
    }

    pub async fn invoice_lines(
        &self,
        user_id: i64,
        invoice_id: i64,
    ) -> sqlx::Result<Vec<InvoiceLine>> {
        sqlx::query_as(
            "SELECT l.position, l.kind, l.description, l.quantity, l.seconds, l.amount_micros,
                    v.kind AS service_kind, v.number AS service_number
             FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id
             LEFT JOIN services v ON l.kind = 'subscription' AND v.name = l.description
             WHERE l.invoice_id = $1 AND i.user_id = $2
             ORDER BY l.position, l.id",
        )
        .bind(invoice_id)
        .bind(user_id)
        .fetch_all(self.pool())
        .await
    }

    pub async fn invoice_totals(&self, user_id: i64) -> sqlx::Result<Vec<InvoiceTotal>> {
        sqlx::query_as(
            "SELECT i.currency, c.decimals, COUNT(*) AS count,
                    CAST(COALESCE(SUM(i.price_micros), 0) AS BIGINT) AS price_micros,
                    CAST(COALESCE(SUM(i.price_vat_micros), 0) AS BIGINT) AS price_vat_micros,
                    CAST(COALESCE(SUM(CASE WHEN i.paid_at IS NULL THEN i.price_vat_micros ELSE 0 END), 0)
                         AS BIGINT) AS unpaid_vat_micros
             FROM invoices i JOIN currencies c ON c.code = i.currency
             WHERE i.user_id = $1
             GROUP BY i.currency, c.decimals
             ORDER BY i.currency",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await
    }
}
