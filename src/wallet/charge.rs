//! A card payment from start to end: recorded as pending BEFORE the gateway is asked (so an
//! attempt is never lost, whatever happens next), charged off-session with the stored card under
//! an idempotency key that is the attempt's own, then settled once: completed (the balance is
//! credited, an invoice marked paid), declined (with the gateway's reason in plain words) or
//! left pending while the gateway cannot be reached, for the reconciler to finish.
//!
//! Settling is idempotent: the state moves out of `pending` once, and the credit's ledger key is
//! the payment's id, so the answer of the charge and the gateway's webhook may both arrive.

use super::gateway::{ChargeRequest, ChargeStatus, GatewayError};
use super::{Wallet, WalletError};
use crate::i18n::Said;
use crate::money::Money;
use crate::store::audit;
use crate::store::ledger::{EntryKind, Posting};
use crate::store::wallet::{self as rows, Attempt, NewAttempt};

/// What a payment is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    Topup,
    AutoTopup,
    Invoice(i64),
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Topup => "topup",
            Purpose::AutoTopup => "auto_topup",
            Purpose::Invoice(_) => "invoice",
        }
    }
}

/// Tries of a pending payment before it is marked failed.
pub const MAX_TRIES: i64 = 5;

/// How a charge ended, as the charge's answer or a webhook says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Settlement {
    Succeeded,
    Declined(String),
    /// Refused for good for another reason than a decline (an unknown card at the gateway).
    Failed(String),
}

impl Wallet {
    /// Tops up the balance by `amount` with the stored card. Returns the payment as it stands
    /// after the gateway answered: completed, declined, or pending.
    pub async fn top_up(
        &self,
        user_id: i64,
        amount: Money,
        address: &str,
    ) -> Result<Attempt, WalletError> {
        let s = &self.settings;
        let who = self
            .store
            .contact(user_id)
            .await?
            .ok_or(WalletError::Refused(Said::new("wallet.no_account")))?;
        let (min, max) = (s.topup_min, s.topup_max);
        let d = who.decimals as u32;
        if amount < min || amount > max {
            return Err(WalletError::Refused(
                Said::new("wallet.topup_range")
                    .with("min", min.with_currency(d, &who.currency))
                    .with("max", max.with_currency(d, &who.currency)),
            ));
        }
        let attempt = self
            .start(user_id, Purpose::Topup, amount, &who.currency, address)
            .await?;
        self.execute(attempt).await
    }

    /// Pays an unpaid invoice of the user in full with the stored card.
    pub async fn pay_invoice(
        &self,
        user_id: i64,
        invoice_id: i64,
        address: &str,
    ) -> Result<Attempt, WalletError> {
        let invoice = self
            .store
            .invoice(user_id, invoice_id)
            .await?
            .ok_or(WalletError::Refused(Said::new("error.not_found")))?;
        if invoice.paid_at.is_some() {
            return Err(WalletError::Conflict(Said::new("wallet.invoice_paid")));
        }
        let who = self
            .store
            .contact(user_id)
            .await?
            .ok_or(WalletError::Refused(Said::new("wallet.no_account")))?;
        if invoice.currency != who.currency {
            return Err(WalletError::Refused(
                Said::new("wallet.invoice_currency")
                    .with("invoice", &invoice.currency)
                    .with("account", &who.currency),
            ));
        }
        // What the invoice shows as its total (rounded to the currency's decimals) is what is
        // owed and what is charged; `bill` debits the same rounded total.
        let amount = Money(invoice.price_vat_micros).round_to(invoice.decimals as u32);
        let attempt = self
            .start(
                user_id,
                Purpose::Invoice(invoice_id),
                amount,
                &invoice.currency,
                address,
            )
            .await?;
        self.execute(attempt).await
    }

    /// Records a pending card payment (nothing is charged yet).
    async fn start(
        &self,
        user_id: i64,
        purpose: Purpose,
        amount: Money,
        currency: &str,
        address: &str,
    ) -> Result<Attempt, WalletError> {
        let gateway = self.gateway()?;
        let card = self.store.card(user_id).await?.ok_or(WalletError::NoCard)?;
        if card.gateway != gateway.name() {
            return Err(WalletError::NoCard);
        }
        let key = format!("{}:{}", purpose.as_str(), crate::tokens::random_token());
        let invoice_id = match purpose {
            Purpose::Invoice(id) => Some(id),
            _ => None,
        };
        let mut tx = self.store.begin_write().await?;
        let id = match rows::insert_attempt(
            &mut tx,
            &NewAttempt {
                user_id,
                purpose: purpose.as_str(),
                payment_type: "Card",
                amount_micros: amount.micros(),
                currency,
                invoice_id,
                gateway: gateway.name(),
                attempt_key: &key,
            },
        )
        .await
        {
            Ok(id) => id,
            // The partial unique index on payments(invoice_id): one payment in flight or done.
            Err(sqlx::Error::Database(d)) if d.is_unique_violation() => {
                return Err(WalletError::Conflict(Said::new("wallet.invoice_paying")))
            }
            Err(e) => return Err(e.into()),
        };
        let p = rows::attempt(&mut tx, id).await?.expect("just written");
        audit::record(
            &mut tx,
            Some(user_id),
            "payment_started",
            &format!(
                "{} #{id}: {}, card •••• {}",
                describe(purpose),
                amount_text(&p),
                card.last4
            ),
            address,
        )
        .await?;
        tx.commit().await?;
        Ok(p)
    }

    /// Asks the gateway to charge a pending payment and settles what it answers. A gateway that
    /// cannot be reached leaves the payment pending (the reconciler tries again with the same
    /// idempotency key, so it is never charged twice); after [`MAX_TRIES`] it is failed.
    pub async fn execute(&self, attempt: Attempt) -> Result<Attempt, WalletError> {
        if attempt.state != "pending" {
            return Ok(attempt);
        }
        let gateway = self.gateway()?;
        let tries = self.store.count_try(attempt.id).await?;
        let result = match &attempt.gateway_ref {
            // The gateway has it already: ask how it went rather than charging again.
            Some(charge_id) if !charge_id.is_empty() => gateway.retrieve_charge(charge_id).await,
            _ => self.charge_card(&attempt).await,
        };
        match result {
            Ok(outcome) => {
                if !outcome.charge_id.is_empty() {
                    self.store
                        .set_gateway_ref(attempt.id, &outcome.charge_id)
                        .await?;
                }
                match outcome.status {
                    ChargeStatus::Succeeded => {
                        self.settle(attempt.id, Settlement::Succeeded).await?
                    }
                    ChargeStatus::Declined { reason, .. } => {
                        self.settle(attempt.id, Settlement::Declined(reason))
                            .await?
                    }
                    ChargeStatus::Pending => {}
                }
            }
            Err(GatewayError::Declined { reason, .. }) => {
                self.settle(attempt.id, Settlement::Declined(reason))
                    .await?
            }
            Err(GatewayError::Invalid(m)) => self.settle(attempt.id, Settlement::Failed(m)).await?,
            Err(GatewayError::Unavailable(m)) => {
                tracing::warn!(payment = attempt.id, tries, error = %m, "payment gateway unavailable");
                if tries >= MAX_TRIES {
                    self.settle(
                        attempt.id,
                        Settlement::Failed(
                            "The payment service could not be reached; nothing was charged"
                                .to_string(),
                        ),
                    )
                    .await?;
                } else {
                    let now = self.store.attempt(attempt.id).await?.unwrap_or(attempt);
                    if now.state == "pending" && now.gateway_ref.is_none() {
                        return Err(WalletError::Gateway(GatewayError::Unavailable(m)));
                    }
                    return Ok(now);
                }
            }
        }
        Ok(self.store.attempt(attempt.id).await?.unwrap_or(attempt))
    }

    async fn charge_card(
        &self,
        attempt: &Attempt,
    ) -> Result<super::gateway::ChargeOutcome, GatewayError> {
        let gateway = self
            .gateway()
            .map_err(|e| GatewayError::Invalid(e.to_string()))?;
        let card = self
            .store
            .card(attempt.user_id)
            .await
            .map_err(|e| GatewayError::Unavailable(e.to_string()))?
            .ok_or_else(|| GatewayError::Invalid("The card was removed".to_string()))?;
        let customer = self
            .store
            .customer_id(attempt.user_id, gateway.name())
            .await
            .map_err(|e| GatewayError::Unavailable(e.to_string()))?
            .ok_or_else(|| GatewayError::Invalid("No customer at the gateway".to_string()))?;
        let decimals = attempt.decimals as u32;
        let amount_minor = Money(attempt.amount_micros)
            .to_minor_units(decimals)
            .ok_or_else(|| GatewayError::Invalid("The amount has a fraction of a cent".into()))?;
        gateway
            .charge(&ChargeRequest {
                customer,
                method_token: card.token,
                amount_minor,
                currency: attempt.currency.to_ascii_lowercase(),
                idempotency_key: attempt.attempt_key.clone().unwrap_or_default(),
                description: format!("{} #{}", attempt.purpose, attempt.id),
                metadata: vec![
                    ("payment_id".to_string(), attempt.id.to_string()),
                    (
                        "attempt".to_string(),
                        attempt.attempt_key.clone().unwrap_or_default(),
                    ),
                    ("user_id".to_string(), attempt.user_id.to_string()),
                    ("purpose".to_string(), attempt.purpose.clone()),
                ],
            })
            .await
    }

    /// Ends a pending payment once; later calls (a webhook after the answer) change nothing.
    pub async fn settle(&self, payment_id: i64, how: Settlement) -> Result<(), WalletError> {
        let mut tx = self.store.begin_write().await?;
        let Some(p) = rows::attempt(&mut tx, payment_id).await? else {
            return Ok(());
        };
        let refused = match how {
            Settlement::Succeeded => None,
            Settlement::Declined(reason) => Some(("declined", reason)),
            Settlement::Failed(reason) => Some(("failed", reason)),
        };
        match refused {
            None => {
                if !rows::mark_completed(&mut tx, p.id, None).await? {
                    return Ok(());
                }
                let (kind, note) = match p.invoice_id {
                    Some(inv) => {
                        rows::mark_invoice_paid(&mut tx, inv).await?;
                        (
                            EntryKind::InvoicePayment,
                            format!("Invoice payment #{}", p.id),
                        )
                    }
                    None => (EntryKind::Topup, format!("Card top-up #{}", p.id)),
                };
                super::ledger::post(
                    &mut tx,
                    self.rules(),
                    &Posting {
                        user_id: p.user_id,
                        key: format!("payment:{}", p.id),
                        kind,
                        amount: Money(p.amount_micros),
                        reference: p.id.to_string(),
                        note,
                    },
                )
                .await?;
                audit::record(
                    &mut tx,
                    Some(p.user_id),
                    "payment_completed",
                    &format!("#{}: {}", p.id, amount_text(&p)),
                    "",
                )
                .await?;
            }
            Some((state, reason)) => {
                if !rows::mark_refused(&mut tx, p.id, state, &reason, None).await? {
                    return Ok(());
                }
                audit::record(
                    &mut tx,
                    Some(p.user_id),
                    "payment_declined",
                    &format!("#{}: {} — {reason}", p.id, amount_text(&p)),
                    "",
                )
                .await?;
                if p.purpose == Purpose::AutoTopup.as_str()
                    && rows::disable_auto_topup(&mut tx, p.user_id).await?
                {
                    audit::record(
                        &mut tx,
                        Some(p.user_id),
                        "auto_topup_off",
                        &format!("the card was declined: {reason}"),
                        "",
                    )
                    .await?;
                    if let Some(who) = rows::contact(&mut tx, p.user_id).await? {
                        if !who.reg_email.is_empty() {
                            let (subject, body) = super::mail::auto_topup_declined(&who, &reason);
                            crate::store::mail::queue(&mut tx, &who.reg_email, subject, &body)
                                .await?;
                        }
                    }
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Finishes payments left pending (the gateway was down, or it answered "processing"):
    /// automatic top-ups at once, others once `min_age_s` old so a request in flight is not
    /// raced. Returns how many were looked at.
    pub async fn reconcile(&self, min_age_s: i64) -> Result<usize, WalletError> {
        if self.gateway.is_none() {
            return Ok(0);
        }
        let now = crate::time::now();
        let pending = self.store.pending_attempts(now).await?;
        let mut n = 0;
        for p in pending {
            if p.purpose != Purpose::AutoTopup.as_str() && p.paid_at > now - min_age_s {
                continue;
            }
            n += 1;
            match self.execute(p).await {
                Ok(_) | Err(WalletError::Gateway(GatewayError::Unavailable(_))) => {}
                Err(e) => tracing::warn!(error = %e, "settling a pending payment"),
            }
        }
        Ok(n)
    }
}

fn describe(purpose: Purpose) -> String {
    match purpose {
        Purpose::Topup => "Top-up".to_string(),
        Purpose::AutoTopup => "Automatic top-up".to_string(),
        Purpose::Invoice(id) => format!("Invoice {id}"),
    }
}

fn amount_text(p: &Attempt) -> String {
    Money(p.amount_micros).with_currency(p.decimals as u32, &p.currency)
}
