//! Refunds (the operator's `selfcare payment refund ID [--amount]`): always through the gateway
//! that took the payment, never more than it captured. The amount is set aside on the payment
//! row before the gateway is asked, so two refunds at once cannot together pass the captured
//! amount; a refund the gateway does not make gives its reservation back.

use super::gateway::RefundRequest;
use super::{Wallet, WalletError};
use crate::money::Money;
use crate::store::audit;
use crate::store::ledger::{EntryKind, Posting};
use crate::store::wallet as rows;

/// A refund made: its id at the gateway, the amount, and the balance after it.
#[derive(Debug)]
pub struct Refunded {
    pub gateway_ref: String,
    pub amount: Money,
    pub currency: String,
    pub decimals: u32,
    pub balance_after: Option<Money>,
}

impl Wallet {
    /// Refunds `amount` (default: all that is left) of a completed card payment.
    pub async fn refund(
        &self,
        payment_id: i64,
        amount: Option<Money>,
    ) -> Result<Refunded, WalletError> {
        let gateway = self.gateway()?;
        let p = self
            .store
            .attempt(payment_id)
            .await?
            .ok_or_else(|| WalletError::Refund(format!("No payment #{payment_id}")))?;
        let charge_id = match (&p.gateway_ref, p.state.as_str()) {
            (Some(r), "completed") if p.gateway == gateway.name() && !r.is_empty() => r.clone(),
            (_, "completed") => {
                return Err(WalletError::Refund(format!(
                    "Payment #{payment_id} was not made by card through {}; only card payments are refunded here",
                    gateway.name()
                )))
            }
            (_, state) => {
                return Err(WalletError::Refund(format!(
                    "Payment #{payment_id} is {state}; only a completed payment can be refunded"
                )))
            }
        };
        let d = p.decimals as u32;
        let left = Money(p.amount_micros - p.refunded_micros);
        let amount = amount.unwrap_or(left);
        if amount <= Money(0) || amount > left {
            return Err(WalletError::Refund(format!(
                "At most {} of payment #{payment_id} can be refunded ({} of {} refunded already)",
                left.with_currency(d, &p.currency),
                Money(p.refunded_micros).with_currency(d, &p.currency),
                Money(p.amount_micros).with_currency(d, &p.currency),
            )));
        }
        let amount_minor = amount
            .to_minor_units(d)
            .ok_or_else(|| WalletError::Refund(format!("{} has {d} decimal places", p.currency)))?;
        if !rows::reserve_refund(
            &mut *self.store.pool().acquire().await?,
            p.id,
            amount.micros(),
        )
        .await?
        {
            return Err(WalletError::Refund(format!(
                "Payment #{payment_id} changed meanwhile (another refund?); look at it again"
            )));
        }
        let made = gateway
            .refund(&RefundRequest {
                charge_id,
                amount_minor: Some(amount_minor),
                idempotency_key: format!("refund:{}:{}:{}", p.id, p.refunded_micros, amount_minor),
            })
            .await;
        let made = match made {
            Ok(r) => r,
            Err(e) => {
                rows::release_refund(
                    &mut *self.store.pool().acquire().await?,
                    p.id,
                    amount.micros(),
                )
                .await?;
                return Err(e.into());
            }
        };
        let mut tx = self.store.begin_write().await?;
        let refund_id =
            rows::insert_refund(&mut tx, p.id, &made.refund_id, amount.micros()).await?;
        let posted = super::ledger::post(
            &mut tx,
            self.rules(),
            &Posting {
                user_id: p.user_id,
                key: format!("refund:{refund_id}"),
                kind: EntryKind::Refund,
                amount: -amount,
                reference: p.id.to_string(),
                note: format!("Refund of payment #{}", p.id),
            },
        )
        .await?;
        audit::record(
            &mut tx,
            Some(p.user_id),
            "payment_refunded",
            &format!("#{}: {}", p.id, amount.with_currency(d, &p.currency)),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(Refunded {
            gateway_ref: made.refund_id,
            amount,
            currency: p.currency,
            decimals: d,
            balance_after: posted.map(|x| x.after),
        })
    }
}
