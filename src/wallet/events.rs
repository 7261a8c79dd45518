//! The gateway's webhooks, applied: a signed event (checked in `webhook`) that says how a
//! payment ended settles it, once. A top-up is credited when the gateway says it succeeded,
//! never before; an event seen before (by its id) changes nothing, and neither does one about
//! a payment already settled by the charge's own answer.

use super::charge::Settlement;
use super::gateway::ChargeStatus;
use super::webhook::{self, WebhookError};
use super::{Wallet, WalletError};
use crate::store::wallet as rows;

/// What became of a webhook.
#[derive(Debug, PartialEq, Eq)]
pub enum Applied {
    /// Settled (or confirmed) the payment with this id.
    Payment(i64),
    /// The event was applied before.
    Duplicate,
    /// Not about a payment of ours, or of a kind we do not act on.
    Ignored,
}

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("webhooks are not configured")]
    NotConfigured,
    #[error("{0}")]
    Refused(#[from] WebhookError),
    #[error("{0}")]
    Wallet(#[from] WalletError),
}

impl From<sqlx::Error> for EventError {
    fn from(e: sqlx::Error) -> Self {
        EventError::Wallet(e.into())
    }
}

impl Wallet {
    /// Checks and applies one Stripe webhook (`body` exactly as received).
    pub async fn apply_stripe_event(
        &self,
        body: &[u8],
        signature: &str,
    ) -> Result<Applied, EventError> {
        let secret = self
            .settings
            .stripe
            .as_ref()
            .and_then(|s| s.webhook_secret.as_ref())
            .map(|s| s.expose())
            .ok_or(EventError::NotConfigured)?;
        let gateway = self.gateway()?.name();
        let event = webhook::verify_event(signature, body, secret, crate::time::now())?;
        let mut conn = self.store.pool().acquire().await?;
        if rows::event_seen(&mut conn, gateway, &event.id).await? {
            return Ok(Applied::Duplicate);
        }
        drop(conn);
        let applied = match event.payment_intent() {
            Some(pi) => self.apply_payment_event(gateway, &pi?).await?,
            None => Applied::Ignored,
        };
        // Remembered after it was applied: a crash between the two applies it again, which
        // settling allows (it is idempotent), rather than never.
        let mut conn = self.store.pool().acquire().await?;
        rows::first_sight_of_event(&mut conn, gateway, &event.id, &event.kind).await?;
        Ok(applied)
    }

    async fn apply_payment_event(
        &self,
        gateway: &str,
        pi: &webhook::PaymentIntentEvent,
    ) -> Result<Applied, EventError> {
        let by_ref = self.store.attempt_by_ref(gateway, &pi.charge_id).await?;
        let attempt = match by_ref {
            Some(a) => Some(a),
            // The charge's answer may not have been recorded yet: our attempt's own random key
            // is in the metadata (not its id, which another portal on the account may share).
            None => match pi.metadata.get("attempt") {
                Some(key) => self
                    .store
                    .attempt_by_key(key)
                    .await?
                    .filter(|a| a.gateway == gateway && a.gateway_ref.is_none()),
                None => None,
            },
        };
        let Some(a) = attempt else {
            return Ok(Applied::Ignored);
        };
        if a.gateway_ref.is_none() {
            self.store.set_gateway_ref(a.id, &pi.charge_id).await?;
        }
        match &pi.status {
            ChargeStatus::Succeeded => self.settle(a.id, Settlement::Succeeded).await?,
            ChargeStatus::Declined { reason, .. } => {
                self.settle(a.id, Settlement::Declined(reason.clone()))
                    .await?
            }
            ChargeStatus::Pending => {}
        }
        Ok(Applied::Payment(a.id))
    }
}
