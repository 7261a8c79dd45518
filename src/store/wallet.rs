//! The wallet's rows: the stored card, the gateway's customer, payment attempts and their
//! states, auto top-up settings, vouchers, refunds and applied webhook events. The rules that
//! move money are in `crate::wallet`; the ledger itself is `super::ledger`.

use sqlx::{AnyConnection, FromRow};

use super::Store;

/// The one stored card of a subscriber: what may be shown of it, and the gateway's token.
#[derive(Clone, Debug, FromRow)]
pub struct Card {
    pub gateway: String,
    pub token: String,
    pub brand: String,
    pub last4: String,
    pub exp_month: i64,
    pub exp_year: i64,
    pub added_at: i64,
}

/// A payment as the wallet handles it.
#[derive(Clone, Debug, FromRow)]
pub struct Attempt {
    pub id: i64,
    pub user_id: i64,
    pub purpose: String,
    pub state: String,
    pub amount_micros: i64,
    pub refunded_micros: i64,
    pub currency: String,
    pub decimals: i64,
    pub invoice_id: Option<i64>,
    pub gateway: String,
    pub gateway_ref: Option<String>,
    pub attempt_key: Option<String>,
    pub failure_reason: String,
    pub tries: i64,
    pub paid_at: i64,
}

const ATTEMPT: &str =
    "SELECT p.id, p.user_id, p.purpose, p.state, p.amount_micros, p.refunded_micros,
        p.currency, c.decimals, p.invoice_id, p.gateway, p.gateway_ref, p.attempt_key,
        p.failure_reason, p.tries, p.paid_at
     FROM payments p JOIN currencies c ON c.code = p.currency";

/// A new payment attempt, recorded as pending before the gateway is asked.
pub struct NewAttempt<'a> {
    pub user_id: i64,
    pub purpose: &'a str,
    pub payment_type: &'a str,
    pub amount_micros: i64,
    pub currency: &'a str,
    pub invoice_id: Option<i64>,
    pub gateway: &'a str,
    pub attempt_key: &'a str,
}

#[derive(Clone, Debug, FromRow)]
pub struct AutoTopup {
    pub enabled: i64,
    pub threshold_micros: i64,
    pub amount_micros: i64,
    pub monthly_cap_micros: i64,
}

/// What a subscriber's mail needs: address, language, account currency.
#[derive(Clone, Debug, FromRow)]
pub struct Contact {
    pub username: String,
    pub reg_email: String,
    pub language: String,
    pub currency: String,
    pub decimals: i64,
    pub account_type: String,
    pub time_zone: String,
}

impl Store {
    /// The decimals of a currency of this database.
    pub async fn currency_decimals(&self, code: &str) -> sqlx::Result<Option<i64>> {
        let row: Option<(i64,)> = sqlx::query_as("SELECT decimals FROM currencies WHERE code = $1")
            .bind(code)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| r.0))
    }

    pub async fn card(&self, user_id: i64) -> sqlx::Result<Option<Card>> {
        let mut c = self.pool().acquire().await?;
        card(&mut c, user_id).await
    }

    pub async fn customer_id(&self, user_id: i64, gateway: &str) -> sqlx::Result<Option<String>> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT customer_id FROM gateway_customers WHERE user_id = $1 AND gateway = $2",
        )
        .bind(user_id)
        .bind(gateway)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|r| r.0))
    }

    /// Keeps the gateway's customer id; a concurrent request that stored one first wins, and
    /// its id is returned.
    pub async fn save_customer_id(
        &self,
        user_id: i64,
        gateway: &str,
        customer_id: &str,
    ) -> sqlx::Result<String> {
        sqlx::query(
            "INSERT INTO gateway_customers (user_id, gateway, customer_id) VALUES ($1, $2, $3)
             ON CONFLICT (user_id, gateway) DO NOTHING",
        )
        .bind(user_id)
        .bind(gateway)
        .bind(customer_id)
        .execute(self.pool())
        .await?;
        Ok(self
            .customer_id(user_id, gateway)
            .await?
            .unwrap_or_else(|| customer_id.to_string()))
    }

    pub async fn contact(&self, user_id: i64) -> sqlx::Result<Option<Contact>> {
        let mut c = self.pool().acquire().await?;
        contact(&mut c, user_id).await
    }

    pub async fn auto_topup(&self, user_id: i64) -> sqlx::Result<Option<AutoTopup>> {
        let mut c = self.pool().acquire().await?;
        auto_topup(&mut c, user_id).await
    }

    /// Payments still waiting for the gateway, oldest first: what the reconciler looks at.
    pub async fn pending_attempts(&self, paid_before: i64) -> sqlx::Result<Vec<Attempt>> {
        sqlx::query_as(&format!(
            "{ATTEMPT} WHERE p.state = 'pending' AND p.gateway <> '' AND p.paid_at <= $1
             ORDER BY p.id LIMIT 100"
        ))
        .bind(paid_before)
        .fetch_all(self.pool())
        .await
    }

    /// The payments made for one of the user's invoices, newest first.
    pub async fn invoice_payments(
        &self,
        user_id: i64,
        invoice_id: i64,
    ) -> sqlx::Result<Vec<Attempt>> {
        sqlx::query_as(&format!(
            "{ATTEMPT} WHERE p.user_id = $1 AND p.invoice_id = $2 ORDER BY p.id DESC"
        ))
        .bind(user_id)
        .bind(invoice_id)
        .fetch_all(self.pool())
        .await
    }

    pub async fn attempt(&self, id: i64) -> sqlx::Result<Option<Attempt>> {
        let mut c = self.pool().acquire().await?;
        attempt(&mut c, id).await
    }

    /// A payment of the user's own (another user's id is `None`, like a missing one).
    pub async fn own_attempt(&self, user_id: i64, id: i64) -> sqlx::Result<Option<Attempt>> {
        sqlx::query_as(&format!("{ATTEMPT} WHERE p.id = $1 AND p.user_id = $2"))
            .bind(id)
            .bind(user_id)
            .fetch_optional(self.pool())
            .await
    }

    pub async fn attempt_by_key(&self, attempt_key: &str) -> sqlx::Result<Option<Attempt>> {
        sqlx::query_as(&format!("{ATTEMPT} WHERE p.attempt_key = $1"))
            .bind(attempt_key)
            .fetch_optional(self.pool())
            .await
    }

    pub async fn attempt_by_ref(
        &self,
        gateway: &str,
        gateway_ref: &str,
    ) -> sqlx::Result<Option<Attempt>> {
        sqlx::query_as(&format!(
            "{ATTEMPT} WHERE p.gateway = $1 AND p.gateway_ref = $2"
        ))
        .bind(gateway)
        .bind(gateway_ref)
        .fetch_optional(self.pool())
        .await
    }

    /// Counts a try of a pending attempt (the reconciler gives up after a few).
    pub async fn count_try(&self, id: i64) -> sqlx::Result<i64> {
        let (n,): (i64,) =
            sqlx::query_as("UPDATE payments SET tries = tries + 1 WHERE id = $1 RETURNING tries")
                .bind(id)
                .fetch_one(self.pool())
                .await?;
        Ok(n)
    }

    pub async fn set_gateway_ref(&self, id: i64, gateway_ref: &str) -> sqlx::Result<()> {
        sqlx::query("UPDATE payments SET gateway_ref = $1 WHERE id = $2 AND gateway_ref IS NULL")
            .bind(gateway_ref)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}

pub async fn card(c: &mut AnyConnection, user_id: i64) -> sqlx::Result<Option<Card>> {
    sqlx::query_as(
        "SELECT gateway, token, brand, last4, exp_month, exp_year, added_at
         FROM payment_methods WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(c)
    .await
}

/// Stores the subscriber's card in place of any other.
pub async fn save_card(c: &mut AnyConnection, user_id: i64, card: &Card) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM payment_methods WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *c)
        .await?;
    sqlx::query(
        "INSERT INTO payment_methods (user_id, gateway, token, brand, last4, exp_month, exp_year, added_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(user_id)
    .bind(&card.gateway)
    .bind(&card.token)
    .bind(&card.brand)
    .bind(&card.last4)
    .bind(card.exp_month)
    .bind(card.exp_year)
    .bind(card.added_at)
    .execute(c)
    .await?;
    Ok(())
}

pub async fn remove_card(c: &mut AnyConnection, user_id: i64) -> sqlx::Result<bool> {
    let r = sqlx::query("DELETE FROM payment_methods WHERE user_id = $1")
        .bind(user_id)
        .execute(c)
        .await?;
    Ok(r.rows_affected() > 0)
}

pub async fn contact(c: &mut AnyConnection, user_id: i64) -> sqlx::Result<Option<Contact>> {
    sqlx::query_as(
        "SELECT u.username, u.reg_email, u.language, u.currency, c.decimals, u.account_type, u.time_zone
         FROM users u JOIN currencies c ON c.code = u.currency WHERE u.id = $1",
    )
    .bind(user_id)
    .fetch_optional(c)
    .await
}

/// Records a pending payment; fails on a second attempt for an invoice already being paid
/// (the `payments_invoice` unique index).
pub async fn insert_attempt(c: &mut AnyConnection, a: &NewAttempt<'_>) -> sqlx::Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO payments (user_id, paid_at, payment_type, amount_micros, vat_percent_bp,
                               amount_vat_micros, currency, completed, state, purpose, invoice_id,
                               gateway, attempt_key)
         VALUES ($1, $2, $3, $4, 0, $4, $5, 0, 'pending', $6, $7, $8, $9) RETURNING id",
    )
    .bind(a.user_id)
    .bind(crate::time::now())
    .bind(a.payment_type)
    .bind(a.amount_micros)
    .bind(a.currency)
    .bind(a.purpose)
    .bind(a.invoice_id)
    .bind(a.gateway)
    .bind(a.attempt_key)
    .fetch_one(c)
    .await?;
    Ok(id)
}

/// Records a payment that is complete as it is written (a voucher).
pub async fn insert_completed(c: &mut AnyConnection, a: &NewAttempt<'_>) -> sqlx::Result<i64> {
    let now = crate::time::now();
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO payments (user_id, paid_at, confirmed_at, payment_type, amount_micros,
                               vat_percent_bp, amount_vat_micros, currency, completed, state,
                               purpose, invoice_id, gateway, attempt_key)
         VALUES ($1, $2, $2, $3, $4, 0, $4, $5, 1, 'completed', $6, $7, $8, $9) RETURNING id",
    )
    .bind(a.user_id)
    .bind(now)
    .bind(a.payment_type)
    .bind(a.amount_micros)
    .bind(a.currency)
    .bind(a.purpose)
    .bind(a.invoice_id)
    .bind(a.gateway)
    .bind(a.attempt_key)
    .fetch_one(c)
    .await?;
    Ok(id)
}

pub async fn attempt(c: &mut AnyConnection, id: i64) -> sqlx::Result<Option<Attempt>> {
    sqlx::query_as(&format!("{ATTEMPT} WHERE p.id = $1"))
        .bind(id)
        .fetch_optional(c)
        .await
}

/// Pending → completed; false when it was not pending (settled before).
pub async fn mark_completed(
    c: &mut AnyConnection,
    id: i64,
    gateway_ref: Option<&str>,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "UPDATE payments SET state = 'completed', completed = 1, confirmed_at = $1,
                gateway_ref = COALESCE(gateway_ref, $2)
         WHERE id = $3 AND state = 'pending'",
    )
    .bind(crate::time::now())
    .bind(gateway_ref)
    .bind(id)
    .execute(c)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Pending → declined or failed, with the reason in plain words; false when not pending.
pub async fn mark_refused(
    c: &mut AnyConnection,
    id: i64,
    state: &str,
    reason: &str,
    gateway_ref: Option<&str>,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "UPDATE payments SET state = $1, failure_reason = $2, gateway_ref = COALESCE(gateway_ref, $3)
         WHERE id = $4 AND state = 'pending'",
    )
    .bind(state)
    .bind(reason)
    .bind(gateway_ref)
    .bind(id)
    .execute(c)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Marks an invoice paid (once).
pub async fn mark_invoice_paid(c: &mut AnyConnection, invoice_id: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE invoices SET paid_at = $1 WHERE id = $2 AND paid_at IS NULL")
        .bind(crate::time::now())
        .bind(invoice_id)
        .execute(c)
        .await?;
    Ok(())
}

pub async fn auto_topup(c: &mut AnyConnection, user_id: i64) -> sqlx::Result<Option<AutoTopup>> {
    sqlx::query_as(
        "SELECT enabled, threshold_micros, amount_micros, monthly_cap_micros
         FROM auto_topup WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(c)
    .await
}

pub async fn save_auto_topup(
    c: &mut AnyConnection,
    user_id: i64,
    a: &AutoTopup,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO auto_topup (user_id, enabled, threshold_micros, amount_micros, monthly_cap_micros, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (user_id) DO UPDATE SET enabled = $2, threshold_micros = $3, amount_micros = $4,
                                             monthly_cap_micros = $5, updated_at = $6",
    )
    .bind(user_id)
    .bind(a.enabled)
    .bind(a.threshold_micros)
    .bind(a.amount_micros)
    .bind(a.monthly_cap_micros)
    .bind(crate::time::now())
    .execute(c)
    .await?;
    Ok(())
}

pub async fn disable_auto_topup(c: &mut AnyConnection, user_id: i64) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "UPDATE auto_topup SET enabled = 0, updated_at = $1 WHERE user_id = $2 AND enabled = 1",
    )
    .bind(crate::time::now())
    .bind(user_id)
    .execute(c)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Automatic top-ups asked for since `since` (pending or completed): what counts to the cap.
pub async fn auto_topups_since(
    c: &mut AnyConnection,
    user_id: i64,
    since: i64,
) -> sqlx::Result<i64> {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(amount_micros), 0) AS BIGINT) FROM payments
         WHERE user_id = $1 AND purpose = 'auto_topup' AND paid_at >= $2
           AND state IN ('pending', 'completed')",
    )
    .bind(user_id)
    .bind(since)
    .fetch_one(c)
    .await?;
    Ok(n)
}

/// A voucher that can be redeemed now, taken for `user_id`: (id, amount, currency). `None` for
/// an unknown, used or expired code.
pub async fn take_voucher(
    c: &mut AnyConnection,
    code_hash: &str,
    user_id: i64,
    now: i64,
) -> sqlx::Result<Option<(i64, i64, String)>> {
    sqlx::query_as(
        "UPDATE vouchers SET redeemed_by = $1, redeemed_at = $2
         WHERE code_hash = $3 AND redeemed_by IS NULL AND (expires_at IS NULL OR expires_at > $2)
         RETURNING id, amount_micros, currency",
    )
    .bind(user_id)
    .bind(now)
    .bind(code_hash)
    .fetch_optional(c)
    .await
}

pub async fn insert_voucher(
    c: &mut AnyConnection,
    code_hash: &str,
    amount_micros: i64,
    currency: &str,
    expires_at: Option<i64>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO vouchers (code_hash, amount_micros, currency, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(code_hash)
    .bind(amount_micros)
    .bind(currency)
    .bind(crate::time::now())
    .bind(expires_at)
    .execute(c)
    .await?;
    Ok(())
}

/// Sets `amount` of a completed payment aside for a refund, never past what was captured;
/// false when it does not fit (refunded before, or another refund is under way).
pub async fn reserve_refund(
    c: &mut AnyConnection,
    payment_id: i64,
    amount_micros: i64,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "UPDATE payments SET refunded_micros = refunded_micros + $1
         WHERE id = $2 AND state = 'completed' AND refunded_micros + $1 <= amount_micros",
    )
    .bind(amount_micros)
    .bind(payment_id)
    .execute(c)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Gives back a reservation whose refund the gateway did not make.
pub async fn release_refund(
    c: &mut AnyConnection,
    payment_id: i64,
    amount_micros: i64,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE payments SET refunded_micros = refunded_micros - $1 WHERE id = $2")
        .bind(amount_micros)
        .bind(payment_id)
        .execute(c)
        .await?;
    Ok(())
}

/// Records a refund the gateway made; returns its id.
pub async fn insert_refund(
    c: &mut AnyConnection,
    payment_id: i64,
    gateway_ref: &str,
    amount_micros: i64,
) -> sqlx::Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO refunds (payment_id, gateway_ref, amount_micros, created_at)
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(payment_id)
    .bind(gateway_ref)
    .bind(amount_micros)
    .bind(crate::time::now())
    .fetch_one(c)
    .await?;
    Ok(id)
}

/// True when this webhook event was applied before.
pub async fn event_seen(
    c: &mut AnyConnection,
    gateway: &str,
    event_id: &str,
) -> sqlx::Result<bool> {
    let row: Option<(i64,)> = sqlx::query_as(
        "SELECT received_at FROM webhook_events WHERE gateway = $1 AND event_id = $2",
    )
    .bind(gateway)
    .bind(event_id)
    .fetch_optional(c)
    .await?;
    Ok(row.is_some())
}

/// Remembers a webhook event; false when it was seen before.
pub async fn first_sight_of_event(
    c: &mut AnyConnection,
    gateway: &str,
    event_id: &str,
    kind: &str,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "INSERT INTO webhook_events (gateway, event_id, kind, received_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (gateway, event_id) DO NOTHING",
    )
    .bind(gateway)
    .bind(event_id)
    .bind(kind)
    .bind(crate::time::now())
    .execute(c)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// (redeemed by, expires at) of the voucher with this code, if there is one.
pub async fn voucher_state(
    c: &mut AnyConnection,
    code_hash: &str,
) -> sqlx::Result<Option<(Option<i64>, Option<i64>)>> {
    sqlx::query_as("SELECT redeemed_by, expires_at FROM vouchers WHERE code_hash = $1")
        .bind(code_hash)
        .fetch_optional(c)
        .await
}
