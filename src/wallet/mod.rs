//! The wallet: money that moves. Every movement of a balance is a ledger row (`ledger`); card
//! payments go through a [`gateway::Gateway`] (the first one speaks Stripe's HTTP API,
//! `stripe`, with its signed webhooks in `webhook`); `charge` runs a payment from its pending
//! record to completed or declined; `auto_topup` refills a balance that falls below the
//! subscriber's threshold; `vouchers` are the operator's prepaid codes.
//!
//! Pages and the command line call [`Wallet`]; SQL stays in `store::ledger` and
//! `store::wallet`.

pub mod auto_topup;
pub mod cards;
pub mod charge;
pub mod events;
pub mod gateway;
pub mod ledger;
pub mod mail;
pub mod refund;
pub mod stripe;
pub mod vouchers;
pub mod webhook;

use std::sync::Arc;

use crate::config::Secret;
use crate::i18n::{Lang, Said};
use crate::money::Money;
use crate::store::Store;
use gateway::{Gateway, GatewayError};

/// What the operator decides about balances, whoever moves them.
#[derive(Clone, Debug, Default)]
pub struct Rules {
    /// Mail the subscriber when the balance falls below this (in the account's currency).
    pub low_balance: Option<Money>,
}

/// The wallet's settings, checked at start.
#[derive(Clone, Debug)]
pub struct WalletSettings {
    pub rules: Rules,
    /// Stripe's API; `None`: card payments are not offered (vouchers still are).
    pub stripe: Option<StripeSettings>,
    /// Smallest and largest top-up, in the account's currency.
    pub topup_min: Money,
    pub topup_max: Money,
    /// The amounts offered as buttons (`GetTopUpOptions`).
    pub topup_options: Vec<Money>,
    /// Days from an invoice's issue to its due date.
    pub invoice_due_days: i64,
}

impl Default for WalletSettings {
    fn default() -> Self {
        WalletSettings {
            rules: Rules::default(),
            stripe: None,
            topup_min: Money(5 * crate::money::MICROS),
            topup_max: Money(500 * crate::money::MICROS),
            topup_options: [10, 20, 50, 100]
                .iter()
                .map(|n| Money(n * crate::money::MICROS))
                .collect(),
            invoice_due_days: 14,
        }
    }
}

#[derive(Clone, Debug)]
pub struct StripeSettings {
    pub api_url: String,
    pub secret_key: Secret,
    /// Signs the webhooks (`whsec_…`); without it `POST /payments/webhook/stripe` answers 404.
    pub webhook_secret: Option<Secret>,
    /// The publishable key (`pk_…`) for Stripe.js, the card form of the browser page; without
    /// it the page takes a payment-method token made elsewhere.
    pub publishable_key: Option<String>,
    /// Where Stripe.js is loaded from (a test gateway serves its own).
    pub js_url: String,
}

impl StripeSettings {
    pub const DEFAULT_URL: &'static str = "https://api.stripe.com";
    pub const DEFAULT_JS_URL: &'static str = "https://js.stripe.com/v3/";

    /// All or nothing: a secret key turns card payments on; a URL or webhook secret without it
    /// is a mistake said at start, naming the variable.
    pub fn new(
        api_url: Option<String>,
        secret_key: Option<String>,
        webhook_secret: Option<String>,
        publishable_key: Option<String>,
        js_url: Option<String>,
    ) -> anyhow::Result<Option<StripeSettings>> {
        let given = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        let (api_url, secret_key, webhook_secret) =
            (given(api_url), given(secret_key), given(webhook_secret));
        let (publishable_key, js_url) = (given(publishable_key), given(js_url));
        if let Some(pk) = &publishable_key {
            anyhow::ensure!(
                pk.starts_with("pk_") && pk.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'),
                "SELFCARE_STRIPE_PUBLISHABLE_KEY: a Stripe publishable key starts with pk_"
            );
        }
        let js_url = js_url.unwrap_or_else(|| Self::DEFAULT_JS_URL.to_string());
        anyhow::ensure!(
            secure_or_local(&js_url),
            "SELFCARE_STRIPE_JS_URL: {js_url:?} must be https:// (plain http only to this machine)"
        );
        let Some(secret_key) = secret_key else {
            anyhow::ensure!(
                webhook_secret.is_none(),
                "SELFCARE_STRIPE_WEBHOOK_SECRET is set but SELFCARE_STRIPE_SECRET_KEY is not: set both, or neither"
            );
            return Ok(None);
        };
        anyhow::ensure!(
            secret_key.starts_with("sk_") || secret_key.starts_with("rk_"),
            "SELFCARE_STRIPE_SECRET_KEY: a Stripe secret key starts with sk_ (or rk_ for a restricted key)"
        );
        let api_url = api_url.unwrap_or_else(|| Self::DEFAULT_URL.to_string());
        anyhow::ensure!(
            secure_or_local(&api_url),
            "SELFCARE_STRIPE_URL: {api_url:?} must be https:// (plain http only to this machine, for a test gateway)"
        );
        Ok(Some(StripeSettings {
            api_url: api_url.trim_end_matches('/').to_string(),
            secret_key: Secret::new(secret_key),
            webhook_secret: webhook_secret.map(Secret::new),
            publishable_key,
            js_url,
        }))
    }

    /// `scheme://host[:port]` of a URL, for a Content-Security-Policy.
    pub fn origin(url: &str) -> &str {
        let after = url.find("://").map_or(0, |i| i + 3);
        match url[after..].find('/') {
            Some(slash) => &url[..after + slash],
            None => url,
        }
    }
}

/// https, or plain http to this machine only (a test gateway).
fn secure_or_local(url: &str) -> bool {
    url.starts_with("https://")
        || url.starts_with("http://127.0.0.1")
        || url.starts_with("http://localhost")
}

/// Why a wallet operation did not go through.
#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    #[error("{}", Lang::En.t("wallet.not_offered"))]
    NotOffered,
    #[error("{}", Lang::En.t("wallet.no_card"))]
    NoCard,
    /// Input refused as it stands; the message says why.
    #[error("{0}")]
    Refused(Said),
    /// The request clashes with the state of things (an invoice paid already).
    #[error("{0}")]
    Conflict(Said),
    /// An operator's refund refused (the command line's English).
    #[error("{0}")]
    Refund(String),
    /// Too many wrong voucher codes or refused cards: try again after this many seconds.
    #[error("{}", Lang::En.t("wallet.throttled"))]
    Throttled(i64),
    #[error("{0}")]
    Gateway(#[from] GatewayError),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

impl From<WalletError> for crate::error::AppError {
    fn from(e: WalletError) -> Self {
        e.into_app_error(Lang::En)
    }
}

impl WalletError {
    /// The error as a page answers it, its words in `lang`.
    pub fn into_app_error(self, lang: Lang) -> crate::error::AppError {
        use crate::error::AppError;
        match self {
            WalletError::NotOffered => AppError::BadInput(lang.t("wallet.not_offered").into()),
            WalletError::NoCard => AppError::BadInput(lang.t("wallet.no_card").into()),
            WalletError::Refused(said) => AppError::BadInput(said.in_lang(lang)),
            WalletError::Refund(m) => AppError::BadInput(m),
            WalletError::Conflict(said) => AppError::Conflict(said.in_lang(lang)),
            WalletError::Throttled(retry_after_s) => AppError::TooManyRequests {
                message: lang.t("wallet.throttled").into(),
                retry_after_s,
            },
            WalletError::Gateway(GatewayError::Declined { reason, .. }) => {
                AppError::Declined(reason)
            }
            WalletError::Gateway(GatewayError::Invalid(m)) => AppError::BadInput(m),
            WalletError::Gateway(GatewayError::Unavailable(_)) => {
                AppError::PaymentService(lang.t("wallet.gateway_unavailable").into())
            }
            WalletError::Db(e) => e.into(),
        }
    }
}

/// The wallet as pages and commands use it: the store, the gateway (if any) and the rules.
#[derive(Clone)]
pub struct Wallet {
    pub store: Store,
    pub gateway: Option<Arc<dyn Gateway>>,
    pub settings: WalletSettings,
}

impl Wallet {
    pub fn new(store: Store, settings: WalletSettings) -> anyhow::Result<Wallet> {
        let gateway: Option<Arc<dyn Gateway>> = match &settings.stripe {
            Some(s) => Some(Arc::new(stripe::StripeClient::new(
                s.api_url.clone(),
                s.secret_key.clone(),
                std::time::Duration::from_secs(20),
            )?)),
            None => None,
        };
        Ok(Wallet {
            store,
            gateway,
            settings,
        })
    }

    pub fn rules(&self) -> &Rules {
        &self.settings.rules
    }

    pub fn gateway(&self) -> Result<&Arc<dyn Gateway>, WalletError> {
        self.gateway.as_ref().ok_or(WalletError::NotOffered)
    }
}

/// How often the portal looks for card payments left pending (the gateway was down, or an
/// automatic top-up waits to be charged).
pub const RECONCILE_EVERY: std::time::Duration = std::time::Duration::from_secs(30);

/// Runs [`Wallet::reconcile`] in the background for as long as the portal runs.
pub fn spawn_reconciler(wallet: Wallet) {
    if wallet.gateway.is_none() {
        return;
    }
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(RECONCILE_EVERY);
        loop {
            tick.tick().await;
            if let Err(e) = wallet.reconcile(60).await {
                tracing::warn!(error = %e, "reconciling pending payments");
            }
        }
    });
}
