//! What the portal asks of a card payment gateway, whichever it is.
//!
//! The trait is object-safe (`Box<dyn Gateway>` / `Arc<dyn Gateway>`), so the application holds
//! one gateway chosen by configuration and tests can hand it a fake. Methods return boxed
//! futures instead of using `async fn`, which a trait object cannot carry without an extra crate.
//!
//! Amounts are in minor units (cents) as the gateways count them. A charge is made off-session
//! and confirmed at once: the subscriber is not there to pass a 3-D Secure challenge, so a card
//! that asks for one ends as a decline. Every charge and refund carries an idempotency key, so
//! a request repeated after a timeout moves the money once; `retrieve_charge` tells what became
//! of an attempt whose answer was lost.

pub type BoxFuture<'a, T> = futures_util::future::BoxFuture<'a, T>;

/// A card payment gateway.
pub trait Gateway: Send + Sync {
    /// A short lower-case name, stored next to the gateway's ids: `"stripe"`.
    fn name(&self) -> &'static str;

    /// Creates the gateway's customer for a user; answers the customer's id.
    fn create_customer<'a>(
        &'a self,
        customer: &'a NewCustomer,
    ) -> BoxFuture<'a, Result<String, GatewayError>>;

    /// Attaches a card token (made by the gateway's browser script) to our customer. A token
    /// that is unknown or belongs to another customer is `Invalid`; a card the issuer refuses
    /// is `Declined`.
    fn attach_method<'a>(
        &'a self,
        customer: &'a str,
        token: &'a str,
    ) -> BoxFuture<'a, Result<StoredCard, GatewayError>>;

    /// Detaches a card from its customer; it can no longer be charged.
    fn detach_method<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<(), GatewayError>>;

    /// Charges a stored card. A decline is an `Ok` outcome (the gateway answered); an `Err` is
    /// a request that was refused or never answered.
    fn charge<'a>(
        &'a self,
        request: &'a ChargeRequest,
    ) -> BoxFuture<'a, Result<ChargeOutcome, GatewayError>>;

    /// Refunds a charge in full (`amount_minor: None`) or in part.
    fn refund<'a>(
        &'a self,
        request: &'a RefundRequest,
    ) -> BoxFuture<'a, Result<RefundOutcome, GatewayError>>;

    /// The current state of a charge, for reconciling a pending or unanswered attempt.
    fn retrieve_charge<'a>(
        &'a self,
        charge_id: &'a str,
    ) -> BoxFuture<'a, Result<ChargeOutcome, GatewayError>>;

    /// Starts saving a card for off-session use: what the gateway's own card form in the
    /// browser needs (Stripe: a SetupIntent's client secret). The card number goes from the
    /// browser to the gateway; we receive the resulting token.
    fn setup_card<'a>(
        &'a self,
        customer: &'a str,
    ) -> BoxFuture<'a, Result<CardSetup, GatewayError>>;
}

/// A card form's session at the gateway.
#[derive(Clone, PartialEq, Eq)]
pub struct CardSetup {
    pub id: String,
    /// Given to the browser's card form only; never logged.
    pub client_secret: String,
}

impl std::fmt::Debug for CardSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardSetup").field("id", &self.id).finish()
    }
}

/// The user a gateway customer is made for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewCustomer {
    pub user_id: i64,
    pub email: String,
    pub name: String,
}

/// What we keep of a card: the gateway's token and what a subscriber recognises the card by.
/// Never a card number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCard {
    pub token: String,
    /// The gateway's brand word, e.g. `visa`, `mastercard`, `amex`.
    pub brand: String,
    pub last4: String,
    pub exp_month: u32,
    pub exp_year: i32,
}

/// An off-session charge of a stored card, confirmed at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChargeRequest {
    pub customer: String,
    pub method_token: String,
    /// In minor units (cents); more than zero.
    pub amount_minor: i64,
    /// ISO 4217 code, either case.
    pub currency: String,
    /// The same key for every retry of one payment attempt.
    pub idempotency_key: String,
    /// What the charge is for, as the operator reads it in the gateway's dashboard.
    pub description: String,
    /// Our references (e.g. `payment_id`), returned in webhooks.
    pub metadata: Vec<(String, String)>,
}

/// What a charge came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChargeOutcome {
    /// The gateway's id of the attempt (Stripe: the PaymentIntent, `pi_…`). Empty when a
    /// decline did not say which attempt it was.
    pub charge_id: String,
    pub status: ChargeStatus,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChargeStatus {
    /// The money is taken: credit the balance.
    Succeeded,
    /// Neither taken nor refused yet: wait for the webhook or reconcile later.
    Pending,
    /// Refused. `code` is the gateway's (for logs and decisions), `reason` plain words for the
    /// subscriber.
    Declined { code: String, reason: String },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundRequest {
    pub charge_id: String,
    /// None refunds what is left of the charge.
    pub amount_minor: Option<i64>,
    pub idempotency_key: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundOutcome {
    pub refund_id: String,
    pub amount_minor: i64,
    /// The gateway's word: `succeeded`, `pending`, `failed`, …
    pub status: String,
}

/// Why a gateway request did not give an answer we can use. `Display` is fit to show a
/// subscriber: no secrets, no card data. The text in `Invalid` and `Unavailable` says more,
/// for the log.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// The issuer refused the card (e.g. when attaching it).
    #[error("{reason}")]
    Declined { code: String, reason: String },
    /// The gateway refused the request: an unknown token, a token of another customer, a bad
    /// request.
    #[error("The payment service refused the request: {0}")]
    Invalid(String),
    /// No answer: network error, timeout, the gateway's own failure or rate limit. Worth
    /// trying again later.
    #[error("The payment service cannot be reached at the moment. Please try again later.")]
    Unavailable(String),
}

impl GatewayError {
    /// Worth trying again with the same idempotency key.
    pub fn is_transient(&self) -> bool {
        matches!(self, GatewayError::Unavailable(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gateway_is_usable_as_a_trait_object() {
        fn takes(_: Option<&dyn Gateway>) {}
        takes(None);
    }

    #[test]
    fn error_messages_show_no_internal_detail_when_the_gateway_is_unavailable() {
        let e = GatewayError::Unavailable("connect to 10.0.0.1:443: refused".into());
        assert_eq!(
            e.to_string(),
            "The payment service cannot be reached at the moment. Please try again later."
        );
        assert!(e.is_transient());
    }

    #[test]
    fn a_decline_reads_as_its_reason() {
        let e = GatewayError::Declined {
            code: "card_declined".into(),
            reason: "Your card was declined.".into(),
        };
        assert_eq!(e.to_string(), "Your card was declined.");
        assert!(!e.is_transient());
    }
}
