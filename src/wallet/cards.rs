//! The stored card: one per subscriber (004: "an account can have only one stored payment
//! method"). The browser or client hands us a payment-method token made at the gateway; we keep
//! the token and what the gateway tells us may be shown (brand, last four, expiry), never a
//! card number.

use crate::i18n::Said;
use chrono::Datelike;

use super::gateway::{GatewayError, NewCustomer};
use super::{Wallet, WalletError};
use crate::store::audit;
use crate::store::wallet::{self as rows, Card};

/// Cards the gateway refused that a subscriber may offer in [`REFUSALS_WINDOW_S`].
pub const REFUSALS_ALLOWED: usize = 5;
pub const REFUSALS_WINDOW_S: i64 = 60 * 60;

/// A gateway's payment-method token as we accept it: `pm_…` (or an older `card_…`), letters,
/// digits and `_`, so nothing else ever reaches a URL path at the gateway.
pub fn parse_token(raw: &str) -> Result<&str, WalletError> {
    let t = raw.trim();
    let ok = (t.starts_with("pm_") || t.starts_with("card_"))
        && t.len() <= 255
        && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if ok {
        Ok(t)
    } else {
        Err(WalletError::Refused(Said::new("wallet.bad_card_token")))
    }
}

impl Wallet {
    /// The subscriber's customer id at the gateway, created on first use.
    pub async fn customer(&self, user_id: i64) -> Result<String, WalletError> {
        let gateway = self.gateway()?;
        if let Some(id) = self.store.customer_id(user_id, gateway.name()).await? {
            return Ok(id);
        }
        let who = self
            .store
            .contact(user_id)
            .await?
            .ok_or(WalletError::Refused(Said::new("wallet.no_account")))?;
        let id = gateway
            .create_customer(&NewCustomer {
                user_id,
                email: who.reg_email.clone(),
                name: who.username.clone(),
            })
            .await?;
        Ok(self
            .store
            .save_customer_id(user_id, gateway.name(), &id)
            .await?)
    }

    /// Opens the gateway's card form for the subscriber (Stripe: a SetupIntent).
    pub async fn card_setup(&self, user_id: i64) -> Result<super::gateway::CardSetup, WalletError> {
        let customer = self.customer(user_id).await?;
        Ok(self.gateway()?.setup_card(&customer).await?)
    }

    /// Stores the card of `token` in place of any other; the old one is detached at the gateway.
    pub async fn add_card(
        &self,
        user_id: i64,
        token: &str,
        address: &str,
    ) -> Result<Card, WalletError> {
        let token = parse_token(token)?;
        let gateway = self.gateway()?;
        // Trying card after card is how stolen cards are tested: a few refusals, then a pause.
        let now = crate::time::now();
        let refusals = self
            .store
            .recent_events(user_id, "card_refused", now - REFUSALS_WINDOW_S)
            .await?;
        if refusals.len() >= REFUSALS_ALLOWED {
            let oldest = refusals.iter().min().copied().unwrap_or(now);
            return Err(WalletError::Throttled(
                (oldest + REFUSALS_WINDOW_S - now).max(1),
            ));
        }
        let customer = self.customer(user_id).await?;
        let stored = match gateway.attach_method(&customer, token).await {
            Ok(card) => card,
            Err(e @ (GatewayError::Declined { .. } | GatewayError::Invalid(_))) => {
                self.store
                    .audit(Some(user_id), "card_refused", &e.to_string(), address)
                    .await?;
                return Err(e.into());
            }
            Err(e) => return Err(e.into()),
        };
        let today = chrono::Utc::now().date_naive();
        if (stored.exp_year as i64, stored.exp_month as i64)
            < (today.year() as i64, today.month() as i64)
        {
            return Err(WalletError::Refused(Said::new("wallet.card_expired")));
        }
        let card = Card {
            gateway: gateway.name().to_string(),
            token: stored.token.clone(),
            brand: stored.brand.clone(),
            last4: stored.last4.clone(),
            exp_month: stored.exp_month as i64,
            exp_year: stored.exp_year as i64,
            added_at: crate::time::now(),
        };
        let old = self.store.card(user_id).await?;
        let mut tx = self.store.begin_write().await?;
        rows::save_card(&mut tx, user_id, &card).await?;
        let action = if old.is_some() {
            "card_replaced"
        } else {
            "card_added"
        };
        audit::record(
            &mut tx,
            Some(user_id),
            action,
            &format!("{} •••• {}", card.brand, card.last4),
            address,
        )
        .await?;
        tx.commit().await?;
        if let Some(old) = old.filter(|o| o.token != card.token) {
            if let Err(e) = gateway.detach_method(&old.token).await {
                // The new card is stored; the old token is no longer ours to use either way.
                tracing::warn!(error = %e, "detaching the replaced card failed");
            }
        }
        Ok(card)
    }

    /// Removes the stored card (detached at the gateway first). An automatic top-up, which
    /// needs the card, is switched off with it. False when there was no card.
    pub async fn remove_card(&self, user_id: i64, address: &str) -> Result<bool, WalletError> {
        let Some(card) = self.store.card(user_id).await? else {
            return Ok(false);
        };
        if let Some(gateway) = &self.gateway {
            if gateway.name() == card.gateway {
                match gateway.detach_method(&card.token).await {
                    Ok(()) | Err(GatewayError::Invalid(_)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        let mut tx = self.store.begin_write().await?;
        rows::remove_card(&mut tx, user_id).await?;
        audit::record(
            &mut tx,
            Some(user_id),
            "card_removed",
            &format!("{} •••• {}", card.brand, card.last4),
            address,
        )
        .await?;
        if rows::disable_auto_topup(&mut tx, user_id).await? {
            audit::record(
                &mut tx,
                Some(user_id),
                "auto_topup_off",
                "the card was removed",
                address,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::parse_token;

    #[test]
    fn tokens_are_gateway_ids_only() {
        assert_eq!(parse_token(" pm_1Nabc_XYZ ").unwrap(), "pm_1Nabc_XYZ");
        assert!(parse_token("card_123").is_ok());
        for bad in [
            "",
            "4242424242424242",
            "pm_../../v1",
            "pm_a b",
            "cus_123",
            "pm_é",
        ] {
            assert!(parse_token(bad).is_err(), "{bad}");
        }
    }
}
