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
    /// Exchange rates from the European Central Bank's CSV (daily `eurofxref.csv` or the history
    /// `eurofxref-hist.csv`): every currency of this database it has, from each row's date on
    Import { file: std::path::PathBuf },
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
        CurrencyCommand::Import { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let rows = ecb::read(&text).map_err(anyhow::Error::msg)?;
            let base = store.base_currency().await?.context(
                "there is no base currency yet: import a rate deck first (its currency becomes the base)",
            )?;
            let ours: Vec<String> = store
                .currencies_with_rates()
                .await?
                .into_iter()
                .map(|(code, ..)| code)
                .collect();
            let mut set = 0;
            let mut missing = std::collections::BTreeSet::new();
            for row in &rows {
                for code in ours.iter().filter(|c| **c != base) {
                    match ecb::per_base(row, code, &base) {
                        Some(micros) => {
                            store.set_exchange_rate(code, micros, row.date).await?;
                            set += 1;
                        }
                        None => {
                            missing.insert(code.clone());
                        }
                    }
                }
            }
            println!(
                "{} exchange rate(s) set from {} day(s) of the ECB's rates, against {base}.",
                set,
                rows.len()
            );
            if !missing.is_empty() {
                let list: Vec<String> = missing.into_iter().collect();
                println!(
                    "Not in the file (or not on every day): {}.",
                    list.join(", ")
                );
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

/// The European Central Bank's reference rates: units of each currency per euro, one row a day.
/// The daily file has `Date, USD, JPY, …` then `04 December 2026, 1.0543, 158.12, …`; the
/// history has `Date,USD,…` then `2026-12-04,1.0543,…` with `N/A` where there was none.
mod ecb {
    use chrono::NaiveDate;
    use std::collections::HashMap;

    pub struct Day {
        /// UTC seconds at the day's start.
        pub date: i64,
        /// Micro-units of the currency per euro.
        pub per_euro: HashMap<String, i64>,
    }

    pub fn read(text: &str) -> Result<Vec<Day>, String> {
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let header: Vec<String> = lines
            .next()
            .ok_or("the file is empty")?
            .split(',')
            .map(|h| h.trim().to_ascii_uppercase())
            .collect();
        if header.first().map(String::as_str) != Some("DATE") {
            return Err("not the ECB's layout: the first column is not Date".into());
        }
        let mut days = Vec::new();
        for (n, line) in lines.enumerate() {
            let cells: Vec<&str> = line.split(',').map(str::trim).collect();
            let raw = cells.first().copied().unwrap_or("");
            let date = NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                .or_else(|_| NaiveDate::parse_from_str(raw, "%d %B %Y"))
                .map_err(|_| format!("line {}: {raw:?} is not a date", n + 2))?;
            let mut per_euro = HashMap::new();
            for (code, cell) in header.iter().zip(cells.iter()).skip(1) {
                if code.len() != 3 || cell.is_empty() || *cell == "N/A" {
                    continue;
                }
                let m = crate::billing::deck::parse_amount(cell)
                    .map_err(|e| format!("line {}, {code}: {e}", n + 2))?;
                if m.micros() > 0 {
                    per_euro.insert(code.clone(), m.micros());
                }
            }
            per_euro.insert("EUR".into(), crate::money::MICROS);
            days.push(Day {
                date: date
                    .and_hms_opt(0, 0, 0)
                    .unwrap_or_default()
                    .and_utc()
                    .timestamp(),
                per_euro,
            });
        }
        if days.is_empty() {
            return Err("the file has no rates".into());
        }
        Ok(days)
    }

    /// Micro-units of `code` per unit of `base` that day (a cross rate through the euro),
    /// rounded half up; `None` when the day lacks either.
    pub fn per_base(day: &Day, code: &str, base: &str) -> Option<i64> {
        let c = *day.per_euro.get(code)? as i128;
        let b = *day.per_euro.get(base)? as i128;
        let micros = (c * 1_000_000 * 2 + b) / (2 * b);
        i64::try_from(micros).ok().filter(|m| *m > 0)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn both_layouts_and_cross_rates() {
            let daily = "Date, USD, JPY, GBP, \n04 December 2026, 1.0500, 160.00, 0.8400, \n";
            let days = read(daily).unwrap();
            assert_eq!(days.len(), 1);
            // Against the dollar: 1 / 1.05 euro, 0.84 / 1.05 pound.
            assert_eq!(per_base(&days[0], "EUR", "USD"), Some(952_381));
            assert_eq!(per_base(&days[0], "GBP", "USD"), Some(800_000));
            assert_eq!(per_base(&days[0], "USD", "EUR"), Some(1_050_000));
            assert_eq!(per_base(&days[0], "CHF", "USD"), None);
            let hist = "Date,USD,CYP,\n2026-12-04,1.05,N/A,\n2026-12-03,1.04,N/A,\n";
            let days = read(hist).unwrap();
            assert_eq!(days.len(), 2);
            assert_eq!(per_base(&days[1], "USD", "EUR"), Some(1_040_000));
            assert!(read("Code,USD\nx,1\n").is_err());
            assert!(read("Date,USD\nyesterday,1\n").is_err());
        }
    }
}
