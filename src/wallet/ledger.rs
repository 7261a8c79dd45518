//! Posting to the ledger, with what a debit may set off: the low-balance mail and an automatic
//! top-up, each once per crossing of its threshold.
//!
//! A crossing is read from the balance before and after the posting, both taken under the
//! user's row lock (see `store::ledger`): of two debits that cross one threshold, whichever
//! transaction goes first crosses it and the other starts below it, so each effect happens once
//! however many imports run at the same time.

use sqlx::AnyConnection;

use super::Rules;
use crate::money::Money;
use crate::store::ledger::{self, Posted, Posting};
use crate::store::wallet as rows;

/// Applies `p` in the caller's transaction (see `store::ledger::post`); on a debit, queues the
/// low-balance mail and the automatic top-up when their thresholds are crossed. `None` when the
/// posting's key was applied before.
pub async fn post(
    c: &mut AnyConnection,
    rules: &Rules,
    p: &Posting,
) -> sqlx::Result<Option<Posted>> {
    let posted = ledger::post(c, p).await?;
    if let Some(done) = posted {
        if done.after < done.before {
            after_debit(c, rules, p.user_id, done).await?;
        }
    }
    Ok(posted)
}

/// [`post`], and the movement in the subscriber's activity log under `action` (with the amount
/// and the balance after it): for movements that no other event of the log tells of (calls
/// charged by an import or re-rating, an invoice issued).
pub async fn post_logged(
    c: &mut AnyConnection,
    rules: &Rules,
    p: &Posting,
    action: &str,
) -> sqlx::Result<Option<Posted>> {
    let posted = post(c, rules, p).await?;
    if let Some(done) = posted {
        if let Some(who) = rows::contact(c, p.user_id).await? {
            let d = who.decimals as u32;
            let detail = format!(
                "{}: {}, balance {}",
                p.note,
                p.amount.with_currency(d, &who.currency),
                done.after.with_currency(d, &who.currency)
            );
            crate::store::audit::record(c, Some(p.user_id), action, &detail, "").await?;
        }
    }
    Ok(posted)
}

/// True when a movement from `before` to `after` goes below `threshold` from at or above it.
pub fn crosses(before: Money, after: Money, threshold: Money) -> bool {
    before >= threshold && after < threshold
}

async fn after_debit(
    c: &mut AnyConnection,
    rules: &Rules,
    user_id: i64,
    done: Posted,
) -> sqlx::Result<()> {
    if let Some(threshold) = rules.low_balance {
        if crosses(done.before, done.after, threshold) {
            if let Some(who) = rows::contact(c, user_id).await? {
                if !who.reg_email.is_empty() {
                    let (subject, body) = super::mail::low_balance(&who, done.after);
                    crate::store::mail::queue(c, &who.reg_email, subject, &body).await?;
                }
            }
        }
    }
    super::auto_topup::on_debit(c, user_id, done).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crossing_is_from_at_or_above_to_below() {
        let t = Money(10_000_000);
        assert!(crosses(Money(10_000_000), Money(9_999_999), t));
        assert!(crosses(Money(50_000_000), Money(-5), t));
        assert!(!crosses(Money(9_000_000), Money(8_000_000), t)); // already below
        assert!(!crosses(Money(20_000_000), Money(10_000_000), t)); // still at it
    }
}
