//! The operator's wallet commands and settings: `topup options`, `voucher create`,
//! `payment refund`, `balance adjust`; the `SELFCARE_STRIPE_*`, `SELFCARE_TOPUP_*`,
//! `SELFCARE_LOW_BALANCE` and `SELFCARE_INVOICE_DUE_DAYS` settings every command shares.

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::money::{CurrencyCode, Money};
use crate::store::ledger::{EntryKind, Posting};
use crate::store::Store;
use crate::wallet::{Rules, StripeSettings, Wallet, WalletSettings};

/// Card payments and balances (shared by `serve` and the commands that move money).
#[derive(Args, Clone)]
pub struct WalletArgs {
    /// Stripe's API base URL (a test gateway such as localstripe: http://127.0.0.1:PORT)
    #[arg(long, global = true, env = "SELFCARE_STRIPE_URL")]
    pub stripe_url: Option<String>,
    /// Stripe secret key (sk_…); without it card payments are not offered
    #[arg(
        long,
        global = true,
        env = "SELFCARE_STRIPE_SECRET_KEY",
        hide_env_values = true
    )]
    pub stripe_secret_key: Option<String>,
    /// Secret that signs Stripe's webhooks (whsec_…), for POST /payments/webhook/stripe
    #[arg(
        long,
        global = true,
        env = "SELFCARE_STRIPE_WEBHOOK_SECRET",
        hide_env_values = true
    )]
    pub stripe_webhook_secret: Option<String>,
    /// Stripe publishable key (pk_…): the portal's card form uses Stripe.js with it
    #[arg(long, global = true, env = "SELFCARE_STRIPE_PUBLISHABLE_KEY")]
    pub stripe_publishable_key: Option<String>,
    /// Where the card form loads Stripe.js from [default: https://js.stripe.com/v3/]
    #[arg(long, global = true, env = "SELFCARE_STRIPE_JS_URL")]
    pub stripe_js_url: Option<String>,
    /// Smallest top-up, in the account's currency
    #[arg(long, global = true, env = "SELFCARE_TOPUP_MIN", default_value = "5")]
    pub topup_min: String,
    /// Largest top-up, in the account's currency
    #[arg(long, global = true, env = "SELFCARE_TOPUP_MAX", default_value = "500")]
    pub topup_max: String,
    /// Top-up amounts offered as buttons, comma-separated
    #[arg(
        long,
        global = true,
        env = "SELFCARE_TOPUP_OPTIONS",
        default_value = "10,20,50,100"
    )]
    pub topup_options: String,
    /// Mail a subscriber whose balance falls below this (account's currency) [default: never]
    #[arg(long, global = true, env = "SELFCARE_LOW_BALANCE")]
    pub low_balance: Option<String>,
    /// Days from an invoice's issue to its due date
    #[arg(
        long,
        global = true,
        env = "SELFCARE_INVOICE_DUE_DAYS",
        default_value_t = 14
    )]
    pub invoice_due_days: i64,
}

impl WalletArgs {
    /// The settings, checked all at once; a bad value names its variable.
    pub fn settings(&self) -> anyhow::Result<WalletSettings> {
        let amount = |name: &str, v: &str| {
            Money::parse(v, 2).map_err(|e| anyhow::anyhow!("{name}: {v:?}: {e}"))
        };
        let topup_min = amount("SELFCARE_TOPUP_MIN / --topup-min", &self.topup_min)?;
        let topup_max = amount("SELFCARE_TOPUP_MAX / --topup-max", &self.topup_max)?;
        anyhow::ensure!(
            topup_min > Money(0) && topup_min <= topup_max,
            "SELFCARE_TOPUP_MIN / SELFCARE_TOPUP_MAX: the minimum must be above zero and at most the maximum"
        );
        let mut topup_options = Vec::new();
        for v in self
            .topup_options
            .split(',')
            .filter(|v| !v.trim().is_empty())
        {
            let m = amount("SELFCARE_TOPUP_OPTIONS / --topup-options", v)?;
            anyhow::ensure!(
                m >= topup_min && m <= topup_max,
                "SELFCARE_TOPUP_OPTIONS: {v} is outside SELFCARE_TOPUP_MIN..SELFCARE_TOPUP_MAX"
            );
            topup_options.push(m);
        }
        let low_balance = match self.low_balance.as_deref().map(str::trim) {
            Some(v) if !v.is_empty() => Some(amount("SELFCARE_LOW_BALANCE / --low-balance", v)?),
            _ => None,
        };
        anyhow::ensure!(
            (0..=365).contains(&self.invoice_due_days),
            "SELFCARE_INVOICE_DUE_DAYS / --invoice-due-days: 0 to 365 days"
        );
        Ok(WalletSettings {
            rules: Rules { low_balance },
            stripe: StripeSettings::new(
                self.stripe_url.clone(),
                self.stripe_secret_key.clone(),
                self.stripe_webhook_secret.clone(),
                self.stripe_publishable_key.clone(),
                self.stripe_js_url.clone(),
            )?,
            topup_min,
            topup_max,
            topup_options,
            invoice_due_days: self.invoice_due_days,
        })
    }
}

#[derive(Subcommand)]
pub enum TopupCommand {
    /// Show the top-up amounts offered, the minimum and maximum, and whether cards are taken
    Options,
}

#[derive(Subcommand)]
pub enum VoucherCommand {
    /// Issue vouchers; their codes are printed once (only a digest is stored)
    Create {
        /// How many codes
        #[arg(long, default_value_t = 1)]
        count: u32,
        /// The amount each is worth (e.g. 10 or 10.50)
        #[arg(long)]
        amount: String,
        /// Its currency (a subscriber redeems it onto an account of this currency)
        #[arg(long)]
        currency: String,
        /// Last day it can be redeemed (YYYY-MM-DD, UTC, included) [default: no end]
        #[arg(long)]
        expires: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum PaymentCommand {
    /// Refund a card payment through the gateway (never more than it captured)
    Refund {
        /// The payment's id (as /payments/personal_payments lists it)
        id: i64,
        /// Amount to refund [default: all that is not refunded yet]
        #[arg(long)]
        amount: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum BalanceCommand {
    /// Credit (positive) or debit (negative, e.g. -5.00) a subscriber's balance
    Adjust {
        user: String,
        /// In the account's currency; a leading - debits
        #[arg(allow_hyphen_values = true)]
        amount: String,
        /// Why (shown to the subscriber in the activity log)
        #[arg(long)]
        reason: String,
    },
}

pub async fn topup(wallet: &Wallet, cmd: TopupCommand) -> anyhow::Result<()> {
    match cmd {
        TopupCommand::Options => {
            let s = &wallet.settings;
            let options: Vec<String> = s.topup_options.iter().map(|m| m.format(2)).collect();
            println!(
                "Top-up: from {} to {} in the account's currency; offered: {}.",
                s.topup_min.format(2),
                s.topup_max.format(2),
                if options.is_empty() {
                    "none".to_string()
                } else {
                    options.join(", ")
                }
            );
            match &s.stripe {
                Some(st) => println!(
                    "Cards: taken through Stripe at {}; webhooks {}.",
                    st.api_url,
                    if st.webhook_secret.is_some() {
                        "checked"
                    } else {
                        "not configured (set SELFCARE_STRIPE_WEBHOOK_SECRET)"
                    }
                ),
                None => {
                    println!("Cards: not taken (set SELFCARE_STRIPE_SECRET_KEY); vouchers work.")
                }
            }
        }
    }
    Ok(())
}

pub async fn voucher(store: &Store, cmd: VoucherCommand) -> anyhow::Result<()> {
    match cmd {
        VoucherCommand::Create {
            count,
            amount,
            currency,
            expires,
        } => {
            anyhow::ensure!((1..=10_000).contains(&count), "--count: 1 to 10,000");
            let currency = CurrencyCode::parse(&currency).map_err(anyhow::Error::msg)?;
            let decimals = store
                .currency_decimals(currency.as_str())
                .await?
                .with_context(|| {
                    format!("--currency: {currency} is not a currency of this database")
                })?;
            let amount = Money::parse(&amount, decimals as u32)
                .map_err(|e| anyhow::anyhow!("--amount: {e}"))?;
            anyhow::ensure!(amount > Money(0), "--amount: above zero");
            let expires_at = match expires {
                Some(d) => Some(super::day_start(&d)? + 86_400),
                None => None,
            };
            let mut tx = store.begin_write().await?;
            let codes = crate::wallet::vouchers::create(
                &mut tx,
                count,
                amount,
                currency.as_str(),
                expires_at,
            )
            .await?;
            tx.commit().await?;
            eprintln!(
                "{count} voucher(s) of {} — the codes are shown only now:",
                amount.with_currency(decimals as u32, currency.as_str())
            );
            for c in codes {
                println!("{c}");
            }
        }
    }
    Ok(())
}

pub async fn payment(wallet: &Wallet, cmd: PaymentCommand) -> anyhow::Result<()> {
    match cmd {
        PaymentCommand::Refund { id, amount } => {
            let p = wallet
                .store
                .attempt(id)
                .await?
                .with_context(|| format!("no payment #{id}"))?;
            let amount = match amount {
                Some(a) => Some(
                    Money::parse(&a, p.decimals as u32)
                        .map_err(|e| anyhow::anyhow!("--amount: {e}"))?,
                ),
                None => None,
            };
            let r = wallet.refund(id, amount).await?;
            println!(
                "Refunded {} of payment #{id} (gateway refund {}); balance now {}.",
                r.amount.with_currency(r.decimals, &r.currency),
                r.gateway_ref,
                r.balance_after
                    .map(|b| b.with_currency(r.decimals, &r.currency))
                    .unwrap_or_default()
            );
        }
    }
    Ok(())
}

pub async fn balance(wallet: &Wallet, cmd: BalanceCommand) -> anyhow::Result<()> {
    match cmd {
        BalanceCommand::Adjust {
            user,
            amount,
            reason,
        } => {
            let reason = reason.trim().to_string();
            anyhow::ensure!(
                !reason.is_empty() && reason.chars().count() <= 200,
                "--reason: say why, in 200 characters at most"
            );
            let store = &wallet.store;
            let user_id = store
                .user_id_by_name(&user)
                .await?
                .with_context(|| format!("no user {user:?}"))?;
            let who = store.contact(user_id).await?.context("no such user")?;
            let (negative, digits) = match amount.trim().strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, amount.trim().trim_start_matches('+')),
            };
            let m = Money::parse(digits, who.decimals as u32)
                .map_err(|e| anyhow::anyhow!("AMOUNT: {e}"))?;
            anyhow::ensure!(m > Money(0), "AMOUNT: not zero");
            let m = if negative { -m } else { m };
            let mut tx = store.begin_write().await?;
            let posted = crate::wallet::ledger::post(
                &mut tx,
                wallet.rules(),
                &Posting {
                    user_id,
                    key: format!("adjustment:{}", crate::tokens::random_token()),
                    kind: EntryKind::Adjustment,
                    amount: m,
                    reference: String::new(),
                    note: reason.clone(),
                },
            )
            .await?
            .context("the adjustment was not applied")?;
            let shown = m.with_currency(who.decimals as u32, &who.currency);
            crate::store::audit::record(
                &mut tx,
                Some(user_id),
                "balance_adjusted",
                &format!("{shown} by the operator: {reason}"),
                "",
            )
            .await?;
            tx.commit().await?;
            println!(
                "{user}: {shown}; balance now {}.",
                posted
                    .after
                    .with_currency(who.decimals as u32, &who.currency)
            );
            run_pending(wallet).await;
        }
    }
    Ok(())
}

/// Charges the automatic top-ups a command's debits set off (when cards are taken), and other
/// payments left pending for a minute (younger ones may still be in a portal's hands).
pub async fn run_pending(wallet: &Wallet) {
    if wallet.gateway.is_none() {
        return;
    }
    match wallet.reconcile(60).await {
        Ok(0) => {}
        Ok(n) => println!("{n} pending card payment(s) sent to the gateway."),
        Err(e) => eprintln!("pending card payments not sent: {e}"),
    }
}
