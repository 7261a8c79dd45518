//! `selfcare controls …`: the operator's side of the subscriber controls. The operator's own
//! country (for "international"), the highest risk subscribers may switch on, the highest
//! spending limit per currency, a country's risk, a service's type and risk, and lifting a
//! subscriber's lost-phone block.

use anyhow::Context;
use clap::Subcommand;

use crate::money::{CurrencyCode, Money};
use crate::store::Store;

#[derive(Subcommand)]
pub enum ControlsCommand {
    /// Show the operator's settings
    Show,
    /// The operator's own country (ISO 3166 alpha-2, e.g. GB): calls elsewhere are international
    NationalCountry { iso: String },
    /// The highest risk (1 low, 2 medium, 3 high) a subscriber may switch on in the calling plan
    RiskCeiling { risk: i64 },
    /// The highest monthly spending limit subscribers in CURRENCY may set; `none` removes it
    LimitCeiling { currency: String, amount: String },
    /// A country's risk (1 to 3), by its ISO code
    CountryRisk { iso: String, risk: i64 },
    /// A service of the calling plan: the numbers of one type (FIX, MOB, PRM …) in a country
    Service {
        iso: String,
        /// The destinations' type, as the rate deck names it (FIX, MOB, PRM …)
        dir_code: String,
        /// standard or premium
        #[arg(long = "type")]
        service_type: String,
        /// 1 low, 2 medium, 3 high
        #[arg(long)]
        risk: i64,
    },
    /// Lift a subscriber's lost-phone block
    Unblock { user: String },
}

fn risk(r: i64) -> anyhow::Result<i64> {
    anyhow::ensure!(
        (1..=3).contains(&r),
        "a risk is 1 (low), 2 (medium) or 3 (high)"
    );
    Ok(r)
}

fn iso(code: &str) -> anyhow::Result<String> {
    let c = code.trim();
    anyhow::ensure!(
        c.len() == 2 && c.chars().all(|ch| ch.is_ascii_alphabetic()),
        "{code:?} is not an ISO 3166 alpha-2 country code such as GB"
    );
    Ok(c.to_ascii_uppercase())
}

pub async fn run(store: &Store, cmd: ControlsCommand) -> anyhow::Result<()> {
    match cmd {
        ControlsCommand::Show => {
            let s = store.control_settings().await?;
            println!(
                "National country: {}; risk ceiling: {}.",
                if s.national_country.is_empty() {
                    "not set (every call is national)"
                } else {
                    &s.national_country
                },
                s.risk_ceiling
            );
        }
        ControlsCommand::NationalCountry { iso: code } => {
            let code = iso(&code)?;
            store.set_national_country(&code).await?;
            println!("National country: {code}.");
        }
        ControlsCommand::RiskCeiling { risk: r } => {
            store.set_risk_ceiling(risk(r)?).await?;
            println!("Subscribers may switch on services up to risk {r}.");
        }
        ControlsCommand::LimitCeiling { currency, amount } => {
            let code = CurrencyCode::parse(&currency).map_err(anyhow::Error::msg)?;
            let decimals = store
                .currency_decimals(code.as_str())
                .await?
                .with_context(|| format!("no currency {} in this database", code.as_str()))?;
            let max = match amount.trim() {
                "none" => None,
                a => {
                    let m = Money::parse(a, decimals as u32)
                        .map_err(|e| anyhow::anyhow!("AMOUNT: {e}"))?;
                    anyhow::ensure!(m > Money(0), "AMOUNT: more than zero, or none");
                    Some(m)
                }
            };
            store
                .set_spending_limit_ceiling(code.as_str(), max.map(Money::micros))
                .await?;
            match max {
                Some(m) => println!(
                    "Spending limits in {} at most {}.",
                    code.as_str(),
                    m.format(decimals as u32)
                ),
                None => println!("No ceiling on spending limits in {}.", code.as_str()),
            }
        }
        ControlsCommand::CountryRisk { iso: code, risk: r } => {
            let code = iso(&code)?;
            let n = store.set_country_risk(&code, risk(r)?).await?;
            anyhow::ensure!(n > 0, "no destination group has the flag {code}");
            println!("{code}: risk {r} ({n} destination group(s)).");
        }
        ControlsCommand::Service {
            iso: code,
            dir_code,
            service_type,
            risk: r,
        } => {
            let code = iso(&code)?;
            anyhow::ensure!(
                service_type == "standard" || service_type == "premium",
                "--type: standard or premium"
            );
            let dir = dir_code.trim().to_ascii_uppercase();
            let n = store
                .set_plan_service(&code, &dir, &service_type, risk(r)?)
                .await?;
            anyhow::ensure!(n > 0, "{code} has no {dir} destinations");
            println!("{code} {dir}: {service_type}, risk {r}.");
        }
        ControlsCommand::Unblock { user } => {
            let user_id = store
                .user_id_by_name(&user)
                .await?
                .with_context(|| format!("no user {user:?}"))?;
            let mut controls = store.user_controls(user_id).await?;
            if controls.lost_phone_at.take().is_none() {
                println!("{user} is not blocked.");
                return Ok(());
            }
            store
                .save_user_controls(
                    user_id,
                    &controls,
                    &[("lost_phone_lifted", "by the operator".into())],
                    "",
                )
                .await?;
            println!("{user}: the lost-phone block is lifted.");
        }
    }
    Ok(())
}
