//! Rate decks: the operator's price list as CSV, one row per prefix.
//!
//! Columns, in this order: prefix, destination name, rate per minute, connection fee, billing
//! increment (seconds), minimum seconds, effective date, and optionally the type (`FIX`, `MOB`,
//! …), then for the calling plan the service (`standard` or `premium`) and its risk (1 low, 2
//! medium, 3 high; empty cells leave the plan as it is). A first row that does not start with a prefix is a header and is skipped. Amounts are
//! decimals with a dot and at most 6 places (micro-units, exact); an empty fee is 0, an empty
//! increment 1 s, an empty minimum 0 s, an empty date "always". Dates are `YYYY-MM-DD` (or with
//! `HH:MM:SS`), UTC. Without a type column, a name that says mobile/cellular/GSM is `MOB`,
//! anything else `FIX`.
//!
//! How a deck maps onto the schema (tariffs price destination *groups* by type, and the rates
//! page lists exactly those rows): each destination name is one destination group; each prefix is
//! a destination of that group, with the name as its details and the type as its dir code; the
//! price goes on the (tariff, group, type, effective date) rate. So one destination name has one
//! price per type and date: a deck that prices two prefixes of one name differently is refused
//! with both lines named (split the name instead). Destinations are shared by all tariffs, as the
//! schema has them: a later deck that names a prefix differently moves it to its new group.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use anyhow::Context;

use chrono::{NaiveDate, NaiveDateTime};

use super::RateTerms;
use crate::money::Money;
use crate::store::billing as sql;
use crate::store::Store;

/// One priced prefix of a deck.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeckRow {
    pub line: u64,
    pub prefix: String,
    pub name: String,
    pub dir_code: String,
    pub terms: RateTerms,
    /// UTC epoch seconds; 0 = always.
    pub effective_from: i64,
    /// The calling plan's service (`standard`/`premium`) of this destination's type, if given.
    pub service_type: Option<String>,
    /// Its risk (1 to 3), if given.
    pub risk: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineError {
    pub line: u64,
    pub message: String,
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Reads a whole deck (decks are small: a few hundred thousand rows at most). Every bad line is
/// reported; a deck with any is refused as a whole.
pub fn read_deck<R: Read>(input: R) -> Result<Vec<DeckRow>, Vec<LineError>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(input);
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut record = csv::StringRecord::new();
    let mut first = true;
    loop {
        let line = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                errors.push(LineError {
                    line: e.position().map(|p| p.line()).unwrap_or(line),
                    message: format!("not readable as CSV text: {e}"),
                });
                break;
            }
        }
        let line = record.position().map(|p| p.line()).unwrap_or(line);
        if std::mem::take(&mut first) && !is_prefix(record.get(0).unwrap_or("")) {
            continue; // the header
        }
        match parse_row(line, &record) {
            Ok(row) => rows.push(row),
            Err(message) => errors.push(LineError { line, message }),
        }
    }
    check_consistency(&rows, &mut errors);
    if errors.is_empty() {
        Ok(rows)
    } else {
        errors.sort_by_key(|e| e.line);
        Err(errors)
    }
}

fn is_prefix(s: &str) -> bool {
    let s = s.strip_prefix('+').unwrap_or(s);
    !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit())
}

fn parse_row(line: u64, r: &csv::StringRecord) -> Result<DeckRow, String> {
    if !(7..=10).contains(&r.len()) {
        return Err(format!(
            "{} fields; a deck row has 7 (prefix, destination, rate, connection fee, increment, minimum seconds, effective date), 8 (and the type), or 9 and 10 (and the calling plan's service, standard or premium, and its risk, 1 to 3)",
            r.len()
        ));
    }
    let prefix = &r[0];
    if !is_prefix(prefix) {
        return Err(format!("prefix {prefix:?} is not 1 to 20 digits"));
    }
    let prefix = prefix.trim_start_matches('+').to_string();
    let name = r[1].to_string();
    if name.is_empty() || name.chars().count() > 100 {
        return Err("the destination name must be 1 to 100 characters".to_string());
    }
    let per_minute = parse_amount(&r[2]).map_err(|e| format!("rate: {e}"))?;
    let connection_fee = if r[3].is_empty() {
        Money(0)
    } else {
        parse_amount(&r[3]).map_err(|e| format!("connection fee: {e}"))?
    };
    let increment_s = whole("increment", &r[4], 1, 1..=3600)?;
    let min_time_s = whole("minimum seconds", &r[5], 0, 0..=3600)?;
    let effective_from = parse_date(&r[6])?;
    let dir_code = match r.get(7).filter(|t| !t.is_empty()) {
        Some(t) => {
            let t = t.to_ascii_uppercase();
            if t.len() > 10 || !t.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(format!("type {t:?} is not a code like FIX or MOB"));
            }
            t
        }
        None => dir_code_of(&name).to_string(),
    };
    let service_type = match r.get(8).filter(|t| !t.is_empty()) {
        Some(t) => match t.to_ascii_lowercase().as_str() {
            s @ ("standard" | "premium") => Some(s.to_string()),
            _ => return Err(format!("service {t:?} is standard or premium")),
        },
        None => None,
    };
    let risk = match r.get(9).filter(|t| !t.is_empty()) {
        Some(t) => match t.parse::<i64>() {
            Ok(n) if (1..=3).contains(&n) => Some(n),
            _ => return Err(format!("risk {t:?} is 1 (low), 2 (medium) or 3 (high)")),
        },
        None => None,
    };
    Ok(DeckRow {
        line,
        prefix,
        name,
        dir_code,
        terms: RateTerms {
            per_minute,
            connection_fee,
            increment_s,
            min_time_s,
        },
        effective_from,
        service_type,
        risk,
    })
}

/// A deck row's calling-plan class: (service type, risk), each when given.
type PlanClass<'a> = (Option<&'a str>, Option<i64>);

/// The type a destination name implies when the deck has no type column.
pub fn dir_code_of(name: &str) -> &'static str {
    let n = name.to_lowercase();
    if ["mobile", "cellular", "gsm"].iter().any(|w| n.contains(w)) {
        "MOB"
    } else {
        "FIX"
    }
}

fn whole(
    what: &str,
    s: &str,
    empty: i64,
    range: std::ops::RangeInclusive<i64>,
) -> Result<i64, String> {
    if s.is_empty() {
        return Ok(empty);
    }
    match s.parse::<i64>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(format!(
            "{what} {s:?} is not a whole number of seconds from {} to {}",
            range.start(),
            range.end()
        )),
    }
}

fn parse_date(s: &str) -> Result<i64, String> {
    if s.is_empty() {
        return Ok(0);
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default()
            .and_utc()
            .timestamp());
    }
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
        .map(|t| t.and_utc().timestamp())
        .map_err(|_| format!("effective date {s:?} is not a date like 2024-03-01"))
}

/// A non-negative decimal amount with at most 6 places, exactly: `0.0123` → 12,300 micro-units.
pub fn parse_amount(s: &str) -> Result<Money, String> {
    let bad = || format!("{s:?} is not an amount like 0.0125");
    let (units, frac) = s.split_once('.').unwrap_or((s, ""));
    if (units.is_empty() && frac.is_empty())
        || !units.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || units.len() > 9
    {
        return Err(bad());
    }
    let frac = frac.trim_end_matches('0');
    if frac.len() > 6 {
        return Err(format!("{s:?} has more than 6 decimal places"));
    }
    let units: i64 = if units.is_empty() {
        0
    } else {
        units.parse().map_err(|_| bad())?
    };
    let frac_micros: i64 = if frac.is_empty() {
        0
    } else {
        frac.parse::<i64>().map_err(|_| bad())? * 10_i64.pow(6 - frac.len() as u32)
    };
    Ok(Money(units * crate::money::MICROS + frac_micros))
}

/// Rows that contradict each other: a prefix twice for one date, a prefix under two names, one
/// destination (name, type, date) with two prices.
fn check_consistency(rows: &[DeckRow], errors: &mut Vec<LineError>) {
    let mut by_prefix_date: HashMap<(&str, i64), u64> = HashMap::new();
    let mut names: HashMap<&str, (&str, &str, u64)> = HashMap::new();
    let mut prices: HashMap<(&str, &str, i64), (RateTerms, u64)> = HashMap::new();
    let mut classes: HashMap<(&str, &str), (PlanClass, u64)> = HashMap::new();
    for r in rows {
        if r.service_type.is_some() || r.risk.is_some() {
            let class = (r.service_type.as_deref(), r.risk);
            match classes.get(&(r.name.as_str(), r.dir_code.as_str())) {
                Some((c, line)) if *c != class => errors.push(LineError {
                    line: r.line,
                    message: format!(
                        "destination {:?} ({}) has another service or risk on line {line}: the calling plan has one per destination and type",
                        r.name, r.dir_code
                    ),
                }),
                Some(_) => {}
                None => {
                    classes.insert((&r.name, &r.dir_code), (class, r.line));
                }
            }
        }
        if let Some(first) = by_prefix_date.insert((&r.prefix, r.effective_from), r.line) {
            errors.push(LineError {
                line: r.line,
                message: format!(
                    "prefix {} is already on line {first} for the same effective date",
                    r.prefix
                ),
            });
            continue;
        }
        match names.get(r.prefix.as_str()) {
            Some((name, dir, line)) if (*name, *dir) != (r.name.as_str(), r.dir_code.as_str()) => {
                errors.push(LineError {
                    line: r.line,
                    message: format!(
                        "prefix {} is {name:?} ({dir}) on line {line}: one prefix has one destination",
                        r.prefix
                    ),
                });
                continue;
            }
            Some(_) => {}
            None => {
                names.insert(&r.prefix, (&r.name, &r.dir_code, r.line));
            }
        }
        match prices.get(&(r.name.as_str(), r.dir_code.as_str(), r.effective_from)) {
            Some((terms, line)) if *terms != r.terms => errors.push(LineError {
                line: r.line,
                message: format!(
                    "destination {:?} ({}) has other terms on line {line}: a destination has one price per type and date (give differently priced prefixes their own name)",
                    r.name, r.dir_code
                ),
            }),
            Some(_) => {}
            None => {
                prices.insert(
                    (&r.name, &r.dir_code, r.effective_from),
                    (r.terms, r.line),
                );
            }
        }
    }
}

/// What a deck import changed.
#[derive(Debug, Default)]
pub struct DeckSummary {
    pub tariff: String,
    pub currency: String,
    pub rows: usize,
    pub tariff_created: bool,
    pub currency_created: bool,
    /// A currency other than the base one, with no exchange rate yet.
    pub currency_without_rate: bool,
    pub groups_created: usize,
    pub destinations_created: usize,
    pub destinations_changed: usize,
    pub rates_created: usize,
    pub rates_updated: usize,
    /// Calling-plan services given a type or risk by the deck.
    pub services_classified: usize,
}

/// Reads the deck and applies it to the tariff (created in `currency` when missing; the
/// currency is created when missing, as the base currency of an empty database) in one
/// transaction: a bad deck changes nothing.
pub async fn import_deck(
    store: &Store,
    tariff: &str,
    currency: Option<&str>,
    path: &Path,
) -> anyhow::Result<DeckSummary> {
    let tariff = tariff.trim();
    anyhow::ensure!(
        !tariff.is_empty() && tariff.chars().count() <= 100,
        "a tariff name is 1 to 100 characters"
    );
    let currency = currency.map(|c| c.trim().to_ascii_uppercase());
    if let Some(c) = &currency {
        anyhow::ensure!(
            c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()),
            "currency {c:?} is not a code like USD"
        );
    }
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let rows = read_deck(std::io::BufReader::new(file)).map_err(|errors| {
        let list: Vec<String> = errors
            .iter()
            .take(50)
            .map(|e| format!("{}:{}: {}", path.display(), e.line, e.message))
            .collect();
        let more = if errors.len() > 50 {
            format!("\n… and {} more", errors.len() - 50)
        } else {
            String::new()
        };
        anyhow::anyhow!(
            "{} bad line(s) in the rate deck; nothing was imported:\n{}{more}",
            errors.len(),
            list.join("\n")
        )
    })?;
    anyhow::ensure!(!rows.is_empty(), "{} has no rates", path.display());

    let mut s = DeckSummary {
        tariff: tariff.to_string(),
        rows: rows.len(),
        ..DeckSummary::default()
    };
    let mut tx = store.pool().begin().await?;
    let existing = store.tariff_by_name(tariff).await?;
    let currency = match (&existing, currency) {
        (Some((_, have)), Some(want)) if *have != want => {
            anyhow::bail!("tariff {tariff:?} is in {have}, not {want}; a tariff keeps its currency")
        }
        (Some((_, have)), _) => have.clone(),
        (None, Some(want)) => want,
        (None, None) => match store.base_currency().await? {
            Some(base) => base,
            None => anyhow::bail!(
                "name the tariff's currency with --currency (the database has none yet)"
            ),
        },
    };
    s.currency_created = sql::ensure_currency(&mut tx, &currency).await?;
    s.currency_without_rate = !sql::has_exchange_rate(&mut tx, &currency).await?;
    let (tariff_id, _, created) = sql::ensure_tariff(&mut tx, tariff, &currency).await?;
    s.tariff_created = created;
    s.currency = currency;

    let mut groups: HashMap<String, i64> =
        sql::groups_by_name(&mut tx).await?.into_iter().collect();
    let mut dests: HashMap<String, (i64, i64, String, String)> =
        sql::destinations_by_prefix(&mut tx)
            .await?
            .into_iter()
            .map(|(prefix, id, group, details, dir)| (prefix, (id, group, details, dir)))
            .collect();
    let mut rates: HashMap<(i64, String, i64), (i64, RateTerms)> =
        sql::tariff_rates(&mut tx, tariff_id)
            .await?
            .into_iter()
            .map(|(id, group, kind, from, terms)| ((group, kind, from), (id, terms)))
            .collect();
    for row in &rows {
        let group = match groups.get(&row.name) {
            Some(id) => *id,
            None => {
                // The country its first prefix is in gives the group its flag (ISO code) and
                // calling code: "international" and the calling plan go by them.
                let country = crate::countries::of_prefix(&row.prefix);
                let id = crate::store::seed::insert_destination_group(
                    &mut tx,
                    &row.name,
                    country.map_or("", |c| c.iso2.as_str()),
                )
                .await?;
                if let Some(c) = country {
                    sqlx::query("UPDATE destination_groups SET country_code = $1 WHERE id = $2")
                        .bind(&c.calling_code)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
                groups.insert(row.name.clone(), id);
                s.groups_created += 1;
                id
            }
        };
        match dests.get(&row.prefix) {
            Some((id, g, details, dir)) => {
                if (*g, details.as_str(), dir.as_str())
                    != (group, row.name.as_str(), row.dir_code.as_str())
                {
                    sql::update_destination(&mut tx, *id, group, &row.name, &row.dir_code).await?;
                    dests.insert(
                        row.prefix.clone(),
                        (*id, group, row.name.clone(), row.dir_code.clone()),
                    );
                    s.destinations_changed += 1;
                }
            }
            None => {
                let id = crate::store::seed::insert_destination(
                    &mut tx,
                    group,
                    &row.prefix,
                    &row.name,
                    &row.dir_code,
                )
                .await?;
                dests.insert(
                    row.prefix.clone(),
                    (id, group, row.name.clone(), row.dir_code.clone()),
                );
                s.destinations_created += 1;
            }
        }
        let key = (group, row.dir_code.clone(), row.effective_from);
        match rates.get(&key) {
            Some((_, terms)) if *terms == row.terms => {}
            Some((id, _)) => {
                sql::update_rate(&mut tx, *id, &row.terms).await?;
                rates.insert(key, (*id, row.terms));
                s.rates_updated += 1;
            }
            None => {
                sql::insert_rate(
                    &mut tx,
                    tariff_id,
                    group,
                    &row.dir_code,
                    row.effective_from,
                    &row.terms,
                )
                .await?;
                rates.insert(key, (0, row.terms));
                s.rates_created += 1;
            }
        }
    }
    crate::store::controls::sync_plan_services(&mut tx).await?;
    // The calling plan's service of each (destination, type) the deck classifies.
    let mut classified: HashMap<(i64, &str), PlanClass> = HashMap::new();
    for row in rows
        .iter()
        .filter(|r| r.service_type.is_some() || r.risk.is_some())
    {
        if let Some(group) = groups.get(&row.name) {
            classified.insert(
                (*group, row.dir_code.as_str()),
                (row.service_type.as_deref(), row.risk),
            );
        }
    }
    for ((group, dir_code), (service_type, risk)) in classified {
        sqlx::query(
            "UPDATE plan_services SET service_type = COALESCE($1, service_type),
                    risk = COALESCE($2, risk)
             WHERE group_id = $3 AND dir_code = $4",
        )
        .bind(service_type)
        .bind(risk)
        .bind(group)
        .bind(dir_code)
        .execute(&mut *tx)
        .await?;
        s.services_classified += 1;
    }
    tx.commit().await?;
    Ok(s)
}

impl std::fmt::Display for DeckSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Tariff {} ({}{}): {} deck rows; destination groups: {} new; prefixes: {} new, {} changed; rates: {} new, {} updated.",
            self.tariff,
            self.currency,
            if self.tariff_created { ", new" } else { "" },
            self.rows,
            self.groups_created,
            self.destinations_created,
            self.destinations_changed,
            self.rates_created,
            self.rates_updated,
        )?;
        if self.services_classified > 0 {
            write!(
                f,
                "\nCalling plan: {} service(s) given their type or risk.",
                self.services_classified
            )?;
        }
        if self.currency_created {
            write!(f, "\nCurrency {} created.", self.currency)?;
        }
        if self.currency_without_rate {
            write!(
                f,
                "\nWarning: {} has no exchange rate; calls of subscribers in other currencies cannot be priced with this tariff.",
                self.currency
            )?;
        }
        if self.rates_created + self.rates_updated + self.destinations_changed > 0 {
            write!(
                f,
                "\nStored calls keep their prices: run `selfcare rate` to price them again."
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_exact() {
        assert_eq!(parse_amount("0.0123"), Ok(Money(12_300)));
        assert_eq!(parse_amount("1"), Ok(Money(1_000_000)));
        assert_eq!(parse_amount(".5"), Ok(Money(500_000)));
        assert_eq!(parse_amount("0.123456"), Ok(Money(123_456)));
        assert_eq!(parse_amount("0.12345600"), Ok(Money(123_456)));
        assert_eq!(parse_amount("12."), Ok(Money(12_000_000)));
        for bad in [
            "",
            ".",
            "-0.1",
            "1,5",
            "0.1234567",
            "abc",
            "1e-3",
            "9999999999",
        ] {
            assert!(parse_amount(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reads_a_deck_with_a_header() {
        let deck = "prefix,destination,rate,connection fee,increment,minimum,effective\n\
                    44,United Kingdom,0.0100,,1,0,2024-01-01\n\
                    447,United Kingdom Mobile,0.0500,0.01,60,60,2024-01-01\n\
                    +4420,\"London, UK\",0.008,0,6,30,\n\
                    33,France,0.02,0,1,0,2024-02-01 12:00:00,FIX\n";
        let rows = read_deck(deck.as_bytes()).unwrap();
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[0].prefix, "44");
        assert_eq!(rows[0].dir_code, "FIX");
        assert_eq!(rows[0].terms.per_minute, Money(10_000));
        assert_eq!(rows[0].terms.increment_s, 1);
        assert_eq!(rows[0].effective_from, 1_704_067_200);
        assert_eq!(rows[1].dir_code, "MOB");
        assert_eq!(rows[1].terms.connection_fee, Money(10_000));
        assert_eq!(
            (rows[1].terms.increment_s, rows[1].terms.min_time_s),
            (60, 60)
        );
        assert_eq!(rows[2].prefix, "4420");
        assert_eq!(rows[2].name, "London, UK");
        assert_eq!(rows[2].effective_from, 0);
        assert_eq!(rows[3].effective_from, 1_706_788_800);
    }

    #[test]
    fn a_deck_without_header_starts_on_line_one() {
        let rows = read_deck("1212,USA New York,0.01,0,1,0,\n".as_bytes()).unwrap();
        assert_eq!(rows[0].line, 1);
    }

    #[test]
    fn bad_lines_are_all_named() {
        let deck = "44,UK,0.01,0,1,0,\n\
                    4x,UK,0.01,0,1,0,\n\
                    45,Denmark,cheap,0,1,0,\n\
                    46,Sweden,0.01,0,0,0,\n\
                    47,Norway,0.01,0,1,0,yesterday\n\
                    48,Poland,0.01\n\
                    44,UK,0.01,0,1,0,\n\
                    4420,UK,0.02,0,1,0,\n\
                    49,Germany Mobile,0.01,0,1,0,,mob ile\n";
        let errors = read_deck(deck.as_bytes()).unwrap_err();
        let lines: Vec<u64> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 3, 4, 5, 6, 7, 8, 9], "{errors:?}");
        let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert!(text[0].contains("prefix \"4x\""), "{text:?}");
        assert!(text[1].contains("rate: \"cheap\""), "{text:?}");
        assert!(text[2].contains("increment \"0\""), "{text:?}");
        assert!(text[3].contains("effective date \"yesterday\""), "{text:?}");
        assert!(text[4].contains("3 fields"), "{text:?}");
        assert!(text[5].contains("already on line 1"), "{text:?}");
        assert!(text[6].contains("other terms on line 1"), "{text:?}");
        assert!(text[7].contains("type \"MOB ILE\""), "{text:?}");
    }

    #[test]
    fn a_prefix_keeps_one_name_and_new_dates_are_new_prices() {
        let deck = "44,UK,0.01,0,1,0,2024-01-01\n\
                    44,UK,0.02,0,1,0,2024-06-01\n";
        assert_eq!(read_deck(deck.as_bytes()).unwrap().len(), 2);
        let deck = "44,UK,0.01,0,1,0,2024-01-01\n\
                    44,Britain,0.02,0,1,0,2024-06-01\n";
        let errors = read_deck(deck.as_bytes()).unwrap_err();
        assert!(errors[0].message.contains("one prefix has one destination"));
    }

    #[test]
    fn the_type_follows_the_name_when_not_given() {
        assert_eq!(dir_code_of("Germany Mobile"), "MOB");
        assert_eq!(dir_code_of("UK - Cellular Vodafone"), "MOB");
        assert_eq!(dir_code_of("Afghanistan"), "FIX");
    }
}
