//! The dial plan's local patterns, the calls that have no price, and the calls an invoice was
//! made without (`calls_left_out`: unpriced when it was made, or imported after it), which a
//! later bill takes once they are priced.

use sqlx::{AnyConnection, FromRow};

use super::Store;
use crate::billing::dialplan::DialPlan;

/// How long `/pbx/authorize` trusts the dial plan it read: `selfcare dialplan` changes reach a
/// running portal within this time, and a question costs no query for it meanwhile.
const DIAL_PLAN_TTL: std::time::Duration = std::time::Duration::from_secs(5);

/// The dial plan as read at a moment.
#[derive(Debug)]
pub struct CachedPlan {
    read_at: std::time::Instant,
    plan: std::sync::Arc<DialPlan>,
}

/// A call without a price, as `selfcare calls unmatched` lists it.
#[derive(Clone, Debug, FromRow)]
pub struct UnpricedCall {
    pub id: i64,
    pub username: String,
    pub started_at: i64,
    pub dst: String,
    pub billsec: i64,
    /// `unmatched` or `no_rate` (NULL for a call that was never rated).
    pub rating_status: Option<String>,
    /// On an invoice already made without it.
    pub left_out: i64,
}

impl Store {
    /// The dial plan, read again when the copy in hand is older than [`DIAL_PLAN_TTL`].
    pub async fn dial_plan(&self) -> sqlx::Result<std::sync::Arc<DialPlan>> {
        if let Some(c) = self
            .dial_plan
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            if c.read_at.elapsed() < DIAL_PLAN_TTL {
                return Ok(c.plan.clone());
            }
        }
        let patterns: Vec<String> = self
            .local_patterns()
            .await?
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        let plan = std::sync::Arc::new(DialPlan::new(&patterns));
        *self.dial_plan.lock().unwrap_or_else(|e| e.into_inner()) = Some(CachedPlan {
            read_at: std::time::Instant::now(),
            plan: plan.clone(),
        });
        Ok(plan)
    }

    /// (pattern, note) of the dial plan.
    pub async fn local_patterns(&self) -> sqlx::Result<Vec<(String, String)>> {
        sqlx::query_as("SELECT pattern, note FROM local_patterns ORDER BY pattern")
            .fetch_all(self.pool())
            .await
    }

    /// Adds a pattern (or changes its note); true when it is new.
    pub async fn add_local_pattern(&self, pattern: &str, note: &str) -> sqlx::Result<bool> {
        let known = self
            .local_patterns()
            .await?
            .iter()
            .any(|(p, _)| p == pattern);
        sqlx::query(
            "INSERT INTO local_patterns (pattern, note) VALUES ($1, $2)
             ON CONFLICT (pattern) DO UPDATE SET note = excluded.note",
        )
        .bind(pattern)
        .bind(note)
        .execute(self.pool())
        .await?;
        Ok(!known)
    }

    pub async fn remove_local_pattern(&self, pattern: &str) -> sqlx::Result<bool> {
        let n = sqlx::query("DELETE FROM local_patterns WHERE pattern = $1")
            .bind(pattern)
            .execute(self.pool())
            .await?
            .rows_affected();
        Ok(n > 0)
    }

    /// The calls without a price (of one subscriber, when given), oldest first, at most `limit`,
    /// and how many there are in all.
    pub async fn unpriced_calls(
        &self,
        user_id: Option<i64>,
        limit: i64,
    ) -> sqlx::Result<(Vec<UnpricedCall>, i64)> {
        let calls = sqlx::query_as(
            "SELECT c.id, u.username, c.started_at, c.dst, c.billsec, c.rating_status,
                    CASE WHEN l.call_id IS NULL THEN 0 ELSE 1 END AS left_out
             FROM calls c JOIN users u ON u.id = c.user_id
             LEFT JOIN calls_left_out l ON l.call_id = c.id
             WHERE c.price_micros IS NULL AND ($1 IS NULL OR c.user_id = $1)
             ORDER BY c.started_at, c.id LIMIT $2",
        )
        .bind(user_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM calls WHERE price_micros IS NULL AND ($1 IS NULL OR user_id = $1)",
        )
        .bind(user_id)
        .fetch_one(self.pool())
        .await?;
        Ok((calls, n))
    }

    /// Ids of the calls a bill left out that are still waiting for a later bill.
    pub async fn left_out_call_ids(&self) -> sqlx::Result<Vec<i64>> {
        let rows: Vec<(i64,)> = sqlx::query_as("SELECT call_id FROM calls_left_out")
            .fetch_all(self.pool())
            .await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }
}

/// Records the user's unpriced calls in `[start, end]` as left out of `invoice_id` (None when
/// the bill made no invoice); returns how many there are.
pub async fn leave_out_unpriced(
    c: &mut AnyConnection,
    user_id: i64,
    start: i64,
    end: i64,
) -> sqlx::Result<u64> {
    sqlx::query(
        "INSERT INTO calls_left_out (call_id, user_id)
         SELECT id, user_id FROM calls
         WHERE user_id = $1 AND started_at >= $2 AND started_at <= $3 AND price_micros IS NULL
         ON CONFLICT (call_id) DO NOTHING",
    )
    .bind(user_id)
    .bind(start)
    .bind(end)
    .execute(&mut *c)
    .await?;
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM calls
         WHERE user_id = $1 AND started_at >= $2 AND started_at <= $3 AND price_micros IS NULL",
    )
    .bind(user_id)
    .bind(start)
    .bind(end)
    .fetch_one(c)
    .await?;
    Ok(n as u64)
}

/// Records the calls added after call `after` that fall in a month already invoiced for their
/// subscriber: they are not on that invoice, so the next one takes them (like calls a bill left
/// out for want of a price).
pub async fn leave_out_late(c: &mut AnyConnection, after: i64) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO calls_left_out (call_id, user_id, invoice_id)
         SELECT c.id, c.user_id, i.id FROM calls c
         JOIN invoices i ON i.user_id = c.user_id
                        AND c.started_at >= i.period_start AND c.started_at <= i.period_end
         WHERE c.id > $1
         ON CONFLICT (call_id) DO NOTHING",
    )
    .bind(after)
    .execute(c)
    .await?;
    Ok(())
}

/// Notes the invoice the calls were left out of.
pub async fn note_left_out_of(
    c: &mut AnyConnection,
    user_id: i64,
    start: i64,
    end: i64,
    invoice_id: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE calls_left_out SET invoice_id = $1
         WHERE user_id = $2 AND invoice_id IS NULL AND call_id IN
             (SELECT id FROM calls WHERE user_id = $2 AND started_at >= $3 AND started_at <= $4)",
    )
    .bind(invoice_id)
    .bind(user_id)
    .bind(start)
    .bind(end)
    .execute(c)
    .await?;
    Ok(())
}

/// Calls of the user left out of an earlier bill and priced since, that started before
/// `start`: (count, billed seconds, amount). Every priced left-out call up to `end` is taken off
/// the list, as the invoice being written for `[start, end]` holds them all.
pub async fn take_priced_left_out(
    c: &mut AnyConnection,
    user_id: i64,
    start: i64,
    end: i64,
) -> sqlx::Result<(i64, i64, i64)> {
    let (n, secs, amount): (i64, i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), CAST(COALESCE(SUM(c.billsec), 0) AS BIGINT),
                CAST(COALESCE(SUM(c.price_micros), 0) AS BIGINT)
         FROM calls_left_out l JOIN calls c ON c.id = l.call_id
         WHERE l.user_id = $1 AND c.price_micros IS NOT NULL AND c.started_at < $2",
    )
    .bind(user_id)
    .bind(start)
    .fetch_one(&mut *c)
    .await?;
    sqlx::query(
        "DELETE FROM calls_left_out WHERE user_id = $1 AND call_id IN
             (SELECT id FROM calls WHERE user_id = $1 AND price_micros IS NOT NULL AND started_at <= $2)",
    )
    .bind(user_id)
    .bind(end)
    .execute(c)
    .await?;
    Ok((n, secs, amount))
}
