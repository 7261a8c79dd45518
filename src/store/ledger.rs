//! The balance ledger: one append-only row per movement of a subscriber's balance, with the
//! balance kept in `users.balance_micros` by the same transaction.
//!
//! How a posting stays exact under concurrency: it first takes the user's row lock with a no-op
//! `UPDATE … RETURNING` (PostgreSQL waits for any other transaction posting to the same user
//! and then reads its committed balance; SQLite has one writer at a time anyway). Only then is
//! the entry key looked up, so two transactions can never both find a key missing; a key that is
//! there means the cause was applied already and nothing is written.

use sqlx::{AnyConnection, FromRow};

use super::Store;
use crate::money::Money;

/// Why a balance moved (the `ledger.kind` column).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    Opening,
    Calls,
    Rerate,
    Invoice,
    Topup,
    InvoicePayment,
    Voucher,
    Refund,
    Adjustment,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Opening => "opening",
            EntryKind::Calls => "calls",
            EntryKind::Rerate => "rerate",
            EntryKind::Invoice => "invoice",
            EntryKind::Topup => "topup",
            EntryKind::InvoicePayment => "invoice_payment",
            EntryKind::Voucher => "voucher",
            EntryKind::Refund => "refund",
            EntryKind::Adjustment => "adjustment",
        }
    }
}

/// One movement to apply.
#[derive(Clone, Debug)]
pub struct Posting {
    pub user_id: i64,
    /// Names the cause (`payment:17`, `invoice:42`, …): applied at most once.
    pub key: String,
    pub kind: EntryKind,
    /// Positive: credit; negative: debit. In the account's currency.
    pub amount: Money,
    pub reference: String,
    pub note: String,
}

/// A posting as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Posted {
    pub entry_id: i64,
    pub before: Money,
    pub after: Money,
}

/// Applies `p` inside the caller's transaction; `None` when its key was applied before (or the
/// user does not exist). A zero amount is still written when asked: it records the cause.
pub async fn post(c: &mut AnyConnection, p: &Posting) -> sqlx::Result<Option<Posted>> {
    let locked: Option<(i64,)> = sqlx::query_as(
        "UPDATE users SET balance_micros = balance_micros WHERE id = $1 RETURNING balance_micros",
    )
    .bind(p.user_id)
    .fetch_optional(&mut *c)
    .await?;
    let Some((before,)) = locked else {
        return Ok(None);
    };
    let known: Option<(i64,)> = sqlx::query_as("SELECT id FROM ledger WHERE entry_key = $1")
        .bind(&p.key)
        .fetch_optional(&mut *c)
        .await?;
    if known.is_some() {
        return Ok(None);
    }
    let after = before
        .checked_add(p.amount.micros())
        .ok_or_else(|| sqlx::Error::Protocol("balance overflow".into()))?;
    let (entry_id,): (i64,) = sqlx::query_as(
        "INSERT INTO ledger (user_id, entry_key, kind, amount_micros, balance_after_micros,
                             reference, note, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(p.user_id)
    .bind(&p.key)
    .bind(p.kind.as_str())
    .bind(p.amount.micros())
    .bind(after)
    .bind(&p.reference)
    .bind(&p.note)
    .bind(crate::time::now())
    .fetch_one(&mut *c)
    .await?;
    sqlx::query("UPDATE users SET balance_micros = $1 WHERE id = $2")
        .bind(after)
        .bind(p.user_id)
        .execute(&mut *c)
        .await?;
    Ok(Some(Posted {
        entry_id,
        before: Money(before),
        after: Money(after),
    }))
}

/// True when a movement with this key was applied.
pub async fn applied(c: &mut AnyConnection, key: &str) -> sqlx::Result<bool> {
    let row: Option<(i64,)> = sqlx::query_as("SELECT id FROM ledger WHERE entry_key = $1")
        .bind(key)
        .fetch_optional(c)
        .await?;
    Ok(row.is_some())
}

/// A ledger row as the subscriber's statement shows it.
#[derive(Clone, Debug, FromRow)]
pub struct Entry {
    pub id: i64,
    pub kind: String,
    pub amount_micros: i64,
    pub balance_after_micros: i64,
    pub reference: String,
    pub note: String,
    pub created_at: i64,
}

impl Store {
    /// The user's latest movements, newest first.
    pub async fn ledger_entries(&self, user_id: i64, limit: i64) -> sqlx::Result<Vec<Entry>> {
        sqlx::query_as(
            "SELECT id, kind, amount_micros, balance_after_micros, reference, note, created_at
             FROM ledger WHERE user_id = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(user_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await
    }

    /// (balance kept on the users row, sum of the ledger): equal unless something bypassed it.
    pub async fn balance_and_ledger_sum(&self, user_id: i64) -> sqlx::Result<(i64, i64)> {
        sqlx::query_as(
            "SELECT u.balance_micros,
                    CAST(COALESCE((SELECT SUM(l.amount_micros) FROM ledger l WHERE l.user_id = u.id), 0) AS BIGINT)
             FROM users u WHERE u.id = $1",
        )
        .bind(user_id)
        .fetch_one(self.pool())
        .await
    }
}
