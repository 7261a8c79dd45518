//! The payment gateway as the wallet sees it: one small object-safe trait, so another gateway
//! than Stripe can be added. Only tokens and what may be shown of a card cross it.

pub type BoxFuture<'a, T> = futures_util::future::BoxFuture<'a, T>;

pub struct NewCustomer {
    pub user_id: i64,
    pub email: String,
    pub name: String,
}

/// What we keep of a card: the gateway's token and what may be shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCard {
    pub token: String,
    pub brand: String,
    pub last4: String,
    pub exp_month: u32,
    pub exp_year: i32,
}

/// An off-session charge of the stored card, confirmed at once.
#[derive(Clone, Debug)]
pub struct ChargeRequest {
    pub customer: String,
    pub method_token: String,
    /// In the currency's smallest unit (cents).
    pub amount_minor: i64,
    /// ISO 4217, lower-case.
    pub currency: String,
    pub idempotency_key: String,
    pub description: String,
    pub metadata: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChargeStatus {
    Succeeded,
    Pending,
    Declined { code: String, reason: String },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChargeOutcome {
    /// The gateway's id of the charge (Stripe: the PaymentIntent's `pi_…`).
    pub charge_id: String,
    pub status: ChargeStatus,
}

#[derive(Clone, Debug)]
pub struct RefundRequest {
    pub charge_id: String,
    pub amount_minor: Option<i64>,
    pub idempotency_key: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundOutcome {
    pub refund_id: String,
    pub amount_minor: i64,
    pub status: String,
}

/// Why the gateway did not do what was asked; the messages may be shown to a subscriber.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    #[error("{reason}")]
    Declined { code: String, reason: String },
    #[error("{0}")]
    Invalid(String),
    #[error("the payment service cannot be reached: {0}")]
    Unavailable(String),
}

pub trait Gateway: Send + Sync {
    fn name(&self) -> &'static str;
    fn create_customer<'a>(
        &'a self,
        c: &'a NewCustomer,
    ) -> BoxFuture<'a, Result<String, GatewayError>>;
    fn attach_method<'a>(
        &'a self,
        customer: &'a str,
        token: &'a str,
    ) -> BoxFuture<'a, Result<StoredCard, GatewayError>>;
    fn detach_method<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<(), GatewayError>>;
    fn charge<'a>(
        &'a self,
        req: &'a ChargeRequest,
    ) -> BoxFuture<'a, Result<ChargeOutcome, GatewayError>>;
    fn refund<'a>(
        &'a self,
        req: &'a RefundRequest,
    ) -> BoxFuture<'a, Result<RefundOutcome, GatewayError>>;
    fn retrieve_charge<'a>(
        &'a self,
        charge_id: &'a str,
    ) -> BoxFuture<'a, Result<ChargeOutcome, GatewayError>>;
}
