//! `selfcare did …`: the operator's side of the number pool. Numbers come in from a CSV file;
//! the operator frees, reserves, terminates or takes back numbers, and sets the quarantine and
//! the price of calls between subscribers.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;

use crate::money::{CurrencyCode, Money};
use crate::numbers::E164;
use crate::store::numbers::{NewNumber, OperatorAction};
use crate::store::Store;

#[derive(Subcommand)]
pub enum NumbersCommand {
    /// Load numbers from a CSV file with the header `number,country,region,monthly_fee,setup_fee`
    /// and optionally `currency` (default: the base currency). Known numbers get the file's
    /// fees and region; their state is kept. One bad line: nothing is loaded.
    Import { file: PathBuf },
    /// The pool by country, region and state, or every number with --all
    List {
        #[arg(long)]
        all: bool,
    },
    /// Offer a reserved or closed number again at once
    Free { number: String },
    /// Keep a number back from the pool
    Reserve { number: String },
    /// Take a number out of service for good
    Terminate { number: String },
    /// Take a number back from its subscriber (it goes into quarantine)
    Release { number: String },
    /// Days a released number rests before it is offered again (default 90)
    Quarantine { days: i64 },
    /// The price per minute of a call between two subscribers (0: free), in CURRENCY
    /// [default: the base currency]
    OnNetRate {
        amount: String,
        currency: Option<String>,
    },
}

pub async fn run(store: &Store, cmd: NumbersCommand) -> anyhow::Result<()> {
    let act = |number: String, action| async move {
        let n = E164::parse(&number).map_err(|e| anyhow::anyhow!("{number:?}: the number {e}"))?;
        let state = store.operator_number_action(&n, action).await?;
        println!("{n}: {state}.");
        anyhow::Ok(())
    };
    match cmd {
        NumbersCommand::Import { file } => {
            let numbers = read_file(store, &file).await?;
            let (added, updated) = store.import_numbers(&numbers).await?;
            println!("{added} number(s) added, {updated} updated.");
        }
        NumbersCommand::List { all: false } => {
            let counts = store.number_counts().await?;
            if counts.is_empty() {
                println!("The pool is empty (selfcare did import FILE adds numbers).");
            }
            for (country, region, state, n) in counts {
                println!("{country}\t{region}\t{state}\t{n}");
            }
        }
        NumbersCommand::List { all: true } => {
            for (number, state, owner) in store.all_numbers().await? {
                println!("{number}\t{state}\t{}", owner.unwrap_or_default());
            }
        }
        NumbersCommand::Free { number } => act(number, OperatorAction::Free).await?,
        NumbersCommand::Reserve { number } => act(number, OperatorAction::Reserve).await?,
        NumbersCommand::Terminate { number } => act(number, OperatorAction::Terminate).await?,
        NumbersCommand::Release { number } => act(number, OperatorAction::Release).await?,
        NumbersCommand::Quarantine { days } => {
            anyhow::ensure!((0..=3650).contains(&days), "DAYS: 0 to 3650");
            store.set_quarantine_days(days).await?;
            println!("Released numbers rest {days} day(s) before they are offered again.");
        }
        NumbersCommand::OnNetRate { amount, currency } => {
            let code = match currency {
                Some(c) => CurrencyCode::parse(&c)
                    .map_err(anyhow::Error::msg)?
                    .as_str()
                    .to_string(),
                None => store
                    .base_currency()
                    .await?
                    .context("no base currency in this database")?,
            };
            let decimals = store
                .currency_decimals(&code)
                .await?
                .with_context(|| format!("no currency {code} in this database"))?;
            // A per-minute rate may be finer than the currency's cents, as rate decks are.
            let rate =
                Money::parse(amount.trim(), 6).map_err(|e| anyhow::anyhow!("AMOUNT: {e}"))?;
            store.set_on_net_rate(rate.micros(), &code).await?;
            if rate.micros() == 0 {
                println!("Calls between subscribers are free.");
            } else {
                println!(
                    "Calls between subscribers cost {} {code} a minute (per second; stored calls change with selfcare rate).",
                    rate.format(decimals.max(4) as u32)
                );
            }
        }
    }
    Ok(())
}

/// Reads and checks the whole file before anything is stored.
async fn read_file(store: &Store, file: &PathBuf) -> anyhow::Result<Vec<NewNumber>> {
    let base = store.base_currency().await?.unwrap_or_default();
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(file)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let headers = reader.headers()?.clone();
    let column = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let need = |name: &str| {
        column(name).with_context(|| {
            format!("{}: no column {name:?} (the header is number,country,region,monthly_fee,setup_fee[,currency])", file.display())
        })
    };
    let (c_number, c_country, c_region, c_monthly, c_setup) = (
        need("number")?,
        need("country")?,
        need("region")?,
        need("monthly_fee")?,
        need("setup_fee")?,
    );
    let c_currency = column("currency");
    let mut decimals: HashMap<String, Option<i64>> = HashMap::new();
    let mut numbers = Vec::new();
    let mut errors = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, row) in reader.records().enumerate() {
        let line = i + 2;
        let row = row.with_context(|| format!("{}:{line}", file.display()))?;
        let field = |c: usize| row.get(c).unwrap_or("");
        let mut bad = |why: String| errors.push(format!("{}:{line}: {why}", file.display()));
        let number = match E164::parse(field(c_number)) {
            Ok(n) => n,
            Err(e) => {
                bad(format!("the number {:?} {e}", field(c_number)));
                continue;
            }
        };
        if !seen.insert(number.clone()) {
            bad(format!("{number} is in the file twice"));
            continue;
        }
        let country = field(c_country);
        if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_alphabetic()) {
            bad(format!(
                "the country {country:?} is not an ISO 3166 code such as GB"
            ));
            continue;
        }
        let currency = c_currency
            .map(field)
            .filter(|c| !c.is_empty())
            .unwrap_or(&base);
        let currency = currency.to_ascii_uppercase();
        let d = match decimals.get(&currency) {
            Some(d) => *d,
            None => {
                let d = store.currency_decimals(&currency).await?;
                decimals.insert(currency.clone(), d);
                d
            }
        };
        let Some(d) = d else {
            bad(format!("no currency {currency:?} in this database"));
            continue;
        };
        let fee = |what: &str, s: &str| {
            Money::parse(s, d as u32).map_err(|e| format!("{what} {s:?}: {e}"))
        };
        let (monthly, setup) = match (
            fee("monthly_fee", field(c_monthly)),
            fee("setup_fee", field(c_setup)),
        ) {
            (Ok(m), Ok(s)) => (m, s),
            (Err(e), _) | (_, Err(e)) => {
                bad(e);
                continue;
            }
        };
        let region = field(c_region);
        if region.len() > 100 || region.chars().any(char::is_control) {
            bad("the region is longer than 100 characters".into());
            continue;
        }
        numbers.push(NewNumber {
            number,
            country: country.to_ascii_uppercase(),
            region: region.to_string(),
            monthly_fee_micros: monthly.micros(),
            setup_fee_micros: setup.micros(),
            currency,
        });
    }
    if !errors.is_empty() {
        let shown: Vec<&String> = errors.iter().take(20).collect();
        anyhow::bail!(
            "{} bad line(s); nothing was loaded:\n{}",
            errors.len(),
            shown
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    Ok(numbers)
}
