//! `selfcare currency …`: the currencies subscribers are billed in and their exchange rates
//! against the base currency (the first rate deck's). A price is converted at the rate in force
//! when the call began, so a dated rate changes the calls from that date on.

use anyhow::Context;
use chrono::NaiveDate;
use clap::Subcommand;

use crate::money::CurrencyCode;
use crate::store::Store;

#[derive(Subcommand)]
pub enum CurrencyCommand {
    /// Every currency with its newest exchange rate
    List,
    /// Units of CODE per one unit of the base currency (e.g. `EUR 0.92`), from --date on
    Set {
        code: String,
        rate: String,
        /// The first day it holds, YYYY-MM-DD (UTC) [default: always]
        #[arg(long)]
        date: Option<String>,
    },
}

pub async fn run(store: &Store, cmd: CurrencyCommand) -> anyhow::Result<()> {
    match cmd {
        CurrencyCommand::List => {
            let rows = store.currencies_with_rates().await?;
            if rows.is_empty() {
                println!("No currencies yet: the first rate deck's currency becomes the base.");
            }
            for (code, is_base, rate, from) in rows {
                let since = match from {
                    Some(0) | None => String::new(),
                    Some(t) => format!(
                        " since {}",
                        chrono::DateTime::from_timestamp(t, 0)
                            .map(|d| d.format("%Y-%m-%d").to_string())
                            .unwrap_or_default()
                    ),
                };
                match (is_base != 0, rate) {
                    (true, _) => println!("{code}  base currency"),
                    (false, Some(r)) => println!(
                        "{code}  {} per base unit{since}",
                        crate::money::Money(r).format(6)
                    ),
                    (false, None) => {
                        println!("{code}  no exchange rate: its subscribers' calls are not priced")
                    }
                }
            }
        }
        CurrencyCommand::Set { code, rate, date } => {
            let code = CurrencyCode::parse(&code).map_err(anyhow::Error::msg)?;
            let base = store.base_currency().await?.context(
                "there is no base currency yet: import a rate deck first (its currency becomes the base)",
            )?;
            anyhow::ensure!(
                base != code.as_str(),
                "{} is the base currency: its rate is 1 by definition",
                code.as_str()
            );
            let micros = crate::billing::deck::parse_amount(&rate)
                .map_err(|e| anyhow::anyhow!("RATE: {e}"))?
                .micros();
            anyhow::ensure!(micros > 0, "RATE: more than zero");
            let from = match date.as_deref().map(str::trim) {
                None | Some("") => 0,
                Some(d) => NaiveDate::parse_from_str(d, "%Y-%m-%d")
                    .map_err(|_| anyhow::anyhow!("--date {d:?} is not a date like 2026-12-01"))?
                    .and_hms_opt(0, 0, 0)
                    .unwrap_or_default()
                    .and_utc()
                    .timestamp(),
            };
            let created = store.set_exchange_rate(code.as_str(), micros, from).await?;
            println!(
                "{}{}: {} per {base}{}.",
                code.as_str(),
                if created { " (new currency)" } else { "" },
                crate::money::Money(micros).format(6),
                date.map(|d| format!(" from {d}")).unwrap_or_default()
            );
        }
    }
    Ok(())
}
