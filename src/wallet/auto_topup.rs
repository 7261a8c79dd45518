//! Automatic top-up: when a debit takes the balance below the subscriber's threshold, the
//! refill amount is charged to the stored card, at most up to a monthly cap. The crossing is
//! decided in the debit's own transaction (`wallet::ledger`), which records the top-up as a
//! pending payment keyed by the debit's ledger row; the charge itself happens after the commit
//! (`Wallet::reconcile`), so a slow gateway never holds an import's transaction. A decline
//! switches the automatic top-up off and tells the subscriber by mail.

use crate::i18n::Said;
use sqlx::AnyConnection;

use super::ledger::crosses;
use super::{Wallet, WalletError};
use crate::money::Money;
use crate::store::audit;
use crate::store::ledger::Posted;
use crate::store::wallet::{self as rows, AutoTopup, NewAttempt};

/// The subscriber's settings, checked: refill within the operator's top-up limits, a cap of at
/// least one refill, a threshold not below zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    pub enabled: bool,
    pub threshold: Money,
    pub amount: Money,
    pub monthly_cap: Money,
}

impl Settings {
    pub fn check(&self, min: Money, max: Money) -> Result<(), Said> {
        if self.amount < min || self.amount > max {
            return Err(Said::new("auto_topup.amount_range")
                .with("min", min.format(2))
                .with("max", max.format(2)));
        }
        if self.monthly_cap < self.amount {
            return Err(Said::new("auto_topup.cap_below_amount"));
        }
        if self.threshold < Money(0) {
            return Err(Said::new("auto_topup.threshold_negative"));
        }
        Ok(())
    }
}

impl From<AutoTopup> for Settings {
    fn from(a: AutoTopup) -> Self {
        Settings {
            enabled: a.enabled == 1,
            threshold: Money(a.threshold_micros),
            amount: Money(a.amount_micros),
            monthly_cap: Money(a.monthly_cap_micros),
        }
    }
}

impl Wallet {
    /// Saves the settings. Switching it on needs a card and a gateway.
    pub async fn set_auto_topup(
        &self,
        user_id: i64,
        s: Settings,
        address: &str,
    ) -> Result<(), WalletError> {
        s.check(self.settings.topup_min, self.settings.topup_max)
            .map_err(WalletError::Refused)?;
        if s.enabled {
            self.gateway()?;
            if self.store.card(user_id).await?.is_none() {
                return Err(WalletError::NoCard);
            }
        }
        let mut tx = self.store.begin_write().await?;
        rows::save_auto_topup(
            &mut tx,
            user_id,
            &AutoTopup {
                enabled: s.enabled as i64,
                threshold_micros: s.threshold.micros(),
                amount_micros: s.amount.micros(),
                monthly_cap_micros: s.monthly_cap.micros(),
            },
        )
        .await?;
        let detail = format!(
            "{}: below {} add {}, at most {} a month",
            if s.enabled { "on" } else { "off" },
            s.threshold.format(2),
            s.amount.format(2),
            s.monthly_cap.format(2)
        );
        audit::record(&mut tx, Some(user_id), "auto_topup_set", &detail, address).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Called for every debit inside its transaction: records the automatic top-up when this
/// debit crossed the threshold and the month's cap allows it.
pub async fn on_debit(c: &mut AnyConnection, user_id: i64, done: Posted) -> sqlx::Result<()> {
    let Some(s) = rows::auto_topup(c, user_id).await? else {
        return Ok(());
    };
    let s = Settings::from(s);
    if !s.enabled || !crosses(done.before, done.after, s.threshold) {
        return Ok(());
    }
    let Some(card) = rows::card(c, user_id).await? else {
        return Ok(());
    };
    let Some(who) = rows::contact(c, user_id).await? else {
        return Ok(());
    };
    let (_, month_start) =
        crate::time::day_and_month_start(crate::time::now(), crate::time::zone(&who.time_zone));
    let used = Money(rows::auto_topups_since(c, user_id, month_start).await?);
    if used + s.amount > s.monthly_cap {
        let detail = format!(
            "not made: {} this month already, cap {}",
            used.with_currency(who.decimals as u32, &who.currency),
            s.monthly_cap
                .with_currency(who.decimals as u32, &who.currency)
        );
        return audit::record(c, Some(user_id), "auto_topup_capped", &detail, "").await;
    }
    rows::insert_attempt(
        c,
        &NewAttempt {
            user_id,
            purpose: "auto_topup",
            payment_type: "Card (automatic)",
            amount_micros: s.amount.micros(),
            currency: &who.currency,
            invoice_id: None,
            gateway: &card.gateway,
            // One per crossing: the debit's ledger row is unique.
            attempt_key: &format!("auto_topup:{}", done.entry_id),
        },
    )
    .await?;
    let detail = format!(
        "balance {} fell below {}: {} to the card •••• {}",
        done.after.with_currency(who.decimals as u32, &who.currency),
        s.threshold
            .with_currency(who.decimals as u32, &who.currency),
        s.amount.with_currency(who.decimals as u32, &who.currency),
        card.last4
    );
    audit::record(c, Some(user_id), "auto_topup_started", &detail, "").await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::MICROS;

    fn s(threshold: i64, amount: i64, cap: i64) -> Settings {
        Settings {
            enabled: true,
            threshold: Money(threshold * MICROS),
            amount: Money(amount * MICROS),
            monthly_cap: Money(cap * MICROS),
        }
    }

    #[test]
    fn settings_are_checked() {
        let (min, max) = (Money(5 * MICROS), Money(500 * MICROS));
        assert!(s(10, 20, 100).check(min, max).is_ok());
        assert!(s(10, 20, 20).check(min, max).is_ok());
        assert!(s(10, 2, 100).check(min, max).is_err()); // below the minimum top-up
        assert!(s(10, 600, 1000).check(min, max).is_err()); // above the maximum
        assert!(s(10, 50, 40).check(min, max).is_err()); // cap below the refill
        assert!(s(-1, 20, 100).check(min, max).is_err());
    }
}
