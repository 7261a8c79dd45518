//! Rate decks: a tariff's price list as CSV, one row per prefix, read by its header.
//!
//! **Columns** are found by their header ([`header::COLUMNS`] lists the synonyms: `prefix`,
//! `code`, `dial code`…, or `country code` + `area code`; `destination`, `name`,
//! `description`, `country`; `rate`, `price`, `rate per min`…; `connection fee`, `setup fee`…;
//! `initial increment`/`min time`/`minimum` and `increment`/`next interval`, or one `X/Y`
//! interval column; `effective date`/`valid from`; `type`, `service`, `risk`). A header we
//! cannot map is refused with every problem and the list of the columns we recognise; we never
//! guess. An unknown column is refused even when the rest maps, because we cannot tell whether it
//! changes the price (a "status: closed" or a "rate (per second)" would be misread): the columns
//! we know change no price (ASTPP's `prepend` and `precedence`, A2Billing's `buyrate…`, notes,
//! ISO codes) are ignored, and an empty column (ASTPP ends its rows with a comma) must stay
//! empty. A first line that starts with `#` is the header too (A2Billing skips `#` lines, so its
//! users keep their column list there); later `#` lines are comments.
//!
//! A deck **without a header** is read only when it is exactly the old positional layout:
//! comma-delimited, prefix, destination, rate, connection fee, increment, minimum seconds,
//! effective date, and optionally type, service and risk, and its first row reads as that.
//! Anything else is refused with a request for a header row.
//!
//! **Cells**: the delimiter (`,`, `;` or tab) is the most frequent one on the first line; in a
//! deck not delimited by commas an amount may have a decimal comma (`0,0125`). Amounts are
//! exact (at most 6 places). Billing intervals are the initial interval, then the subsequent
//! increment, as carriers bill (`60/60`, `30/6`, `1/1`; `min_time_s`, `increment_s`; empty:
//! 0 s, then 1 s). Dates are UTC; year-first and month-name dates need nothing, `03/04/2024`
//! needs the deck's `--date-order` (a day past 12 decides on its own; a date against the given
//! order is refused). An end date must be empty or to come (it is not stored: import the next
//! deck by then); a rate already ended is refused. Included seconds (ASTPP: free with the
//! connection fee) must be 0, a currency column the tariff's currency.
//!
//! **Schema**: a tariff prices destination *groups* by type (`rates` are per tariff, group,
//! type and date, and the rates page lists exactly those), and a tariff's prefixes are its own
//! (`destinations.tariff_id`, migration 0013): a deck creates and changes only the prefixes of
//! the tariff it is imported into, so another tariff's deck can name, type and group the same
//! prefix its own way, and the rater matches a subscriber's number against his tariff's
//! prefixes first (the shared ones, of no tariff, from the demo or older imports, price what
//! none of them match). Each destination name becomes a group (groups are shared by name, so
//! the calling plan's countries stay one per name). Two prefixes of one name priced differently
//! (a carrier's "Germany" at two prices) cannot share one group's rate, so the prefixes whose
//! prices (by date) differ from the first ones get a group of their own, named after the name
//! and its first prefix (`Germany (4930)`): the rates page shows both prices, and rating keeps
//! the price of each prefix. We chose this over a price per prefix because the rates page, the
//! calling plan and invoices are all by group and type.

mod cell;
mod header;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::Context;

pub use cell::{parse_amount, DateOrder};
pub use header::Field;
pub use header::Mapping;

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
    /// The destination group: the name, or `name (prefix)` for prefixes priced otherwise.
    pub group: String,
    pub dir_code: String,
    pub terms: RateTerms,
    /// UTC epoch seconds; 0 = always.
    pub effective_from: i64,
    /// The calling plan's service (`standard`/`premium`) of this destination's type, if given.
    pub service_type: Option<String>,
    /// Its risk (1 to 3), if given.
    pub risk: Option<i64>,
    /// The deck's currency column, if any.
    pub currency: Option<String>,
    /// An end date to come (not stored).
    pub ends_at: Option<i64>,
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

/// Why a deck was refused: its bad lines, and what would help (the recognised columns).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeckError {
    pub errors: Vec<LineError>,
    pub hint: Option<String>,
}

/// How to read a deck.
#[derive(Clone, Debug, Default)]
pub struct DeckOptions {
    /// The order of day and month in dates like 03/04/2024.
    pub date_order: Option<DateOrder>,
    /// Now (UTC seconds): an end date must be after it.
    pub now: i64,
    /// The names of the columns of a deck that has no header row (Freeside's, for one), read
    /// as its header would be (`--columns`).
    pub columns: Option<Vec<String>>,
}

/// A deck as read: how its columns were mapped, and its rows.
#[derive(Clone, Debug)]
pub struct Deck {
    pub delimiter: u8,
    /// The header row's line and cells; `None` for the positional layout.
    pub header: Option<(u64, Vec<String>)>,
    pub mapping: Mapping,
    pub rows: Vec<DeckRow>,
}

fn recognised_hint() -> String {
    format!(
        "Recognised columns — {}. A deck without a header row: name its columns with --columns.",
        header::recognised()
    )
}

const POSITIONAL: &str = "prefix, destination, rate, connection fee, increment, minimum seconds, effective date, and optionally type, service and risk";

/// Reads a whole deck (decks are small: a few hundred thousand rows at most). Every bad line is
/// reported; a deck with any is refused as a whole.
pub fn read_deck(text: &str, opts: &DeckOptions) -> Result<Deck, DeckError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first_line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let delimiter = header::detect_delimiter(first_line);
    let decimal_comma = delimiter != b',';
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut mapping: Option<Mapping> = None;
    let mut positional = false;
    let mut header_row = None;
    if let Some(columns) = &opts.columns {
        let cells: Vec<&str> = columns.iter().map(String::as_str).collect();
        mapping = Some(Mapping::from_header(&cells).map_err(|problems| {
            DeckError {
                errors: problems
                    .into_iter()
                    .map(|p| LineError {
                        line: 0,
                        message: format!("--columns: {p}"),
                    })
                    .collect(),
                hint: Some(recognised_hint()),
            }
        })?);
        header_row = Some((0, columns.clone()));
    }
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut record = csv::StringRecord::new();
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
        if record.iter().all(str::is_empty) {
            continue;
        }
        let first = record.get(0).unwrap_or("");
        let Some(map) = &mapping else {
            if first.starts_with('#') || !is_prefix(first) {
                let cells: Vec<&str> = record.iter().collect();
                match Mapping::from_header(&cells) {
                    Ok(m) => {
                        mapping = Some(m);
                        header_row = Some((line, cells.iter().map(|c| c.to_string()).collect()));
                        continue;
                    }
                    Err(problems) => {
                        return Err(DeckError {
                            errors: problems
                                .into_iter()
                                .map(|p| LineError {
                                    line,
                                    message: format!("the header row: {p}"),
                                })
                                .collect(),
                            hint: Some(recognised_hint()),
                        })
                    }
                }
            }
            let fits = if delimiter != b',' {
                Err(format!(
                    "it is not delimited by commas but by {:?}",
                    delimiter as char
                ))
            } else if !(7..=10).contains(&record.len()) {
                Err(format!("it has {} fields", record.len()))
            } else {
                parse_row(line, &record, &Mapping::positional(), opts, false).map(|_| ())
            };
            match fits {
                Ok(()) => {
                    mapping = Some(Mapping::positional());
                    positional = true;
                }
                Err(reason) => {
                    return Err(DeckError {
                        errors: vec![LineError {
                            line,
                            message: format!(
                                "the deck has no header row, and this row is not the positional layout ({POSITIONAL}): {reason}; give the deck a header row naming its columns"
                            ),
                        }],
                        hint: Some(recognised_hint()),
                    })
                }
            }
            let map = mapping.as_ref().expect("just set");
            push_row(
                line,
                &record,
                map,
                opts,
                decimal_comma,
                &mut rows,
                &mut errors,
            );
            continue;
        };
        if first.starts_with('#') {
            continue; // a comment
        }
        if positional && !(7..=10).contains(&record.len()) {
            errors.push(LineError {
                line,
                message: format!(
                    "{} fields; a deck row has 7 (prefix, destination, rate, connection fee, increment, minimum seconds, effective date), 8 (and the type), or 9 and 10 (and the calling plan's service, standard or premium, and its risk, 1 to 3)",
                    record.len()
                ),
            });
            continue;
        }
        push_row(
            line,
            &record,
            map,
            opts,
            decimal_comma,
            &mut rows,
            &mut errors,
        );
    }
    check_consistency(&rows, &mut errors);
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.line);
        return Err(DeckError { errors, hint: None });
    }
    assign_groups(&mut rows);
    Ok(Deck {
        delimiter,
        header: header_row,
        mapping: mapping.unwrap_or_default(),
        rows,
    })
}

fn push_row(
    line: u64,
    record: &csv::StringRecord,
    map: &Mapping,
    opts: &DeckOptions,
    decimal_comma: bool,
    rows: &mut Vec<DeckRow>,
    errors: &mut Vec<LineError>,
) {
    match parse_row(line, record, map, opts, decimal_comma) {
        Ok(mut r) => rows.append(&mut r),
        Err(message) => errors.push(LineError { line, message }),
    }
}

fn is_prefix(s: &str) -> bool {
    let s = s.strip_prefix('+').unwrap_or(s);
    !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit())
}

/// A prefix cell: digits, with a leading `+` and spaces allowed.
fn prefix_of(what: &str, s: &str) -> Result<String, String> {
    let p: String = s
        .trim_start_matches('+')
        .chars()
        .filter(|c| *c != ' ')
        .collect();
    if is_prefix(&p) {
        Ok(p)
    } else {
        Err(format!("{what} {s:?} is not 1 to 20 digits"))
    }
}

/// The prefixes a row gives.
fn prefixes<'a>(cell: &dyn Fn(Field) -> &'a str, map: &Mapping) -> Result<Vec<String>, String> {
    if map.has(Field::PrefixList) {
        // Freeside: "61", "52 33", "61 38,39" (whitespace, plus and dash ignored).
        let s = cell(Field::PrefixList);
        let cleaned: String = s.chars().filter(|c| !matches!(c, '+' | '-')).collect();
        let cleaned = cleaned.trim();
        let (cc, rest) = cleaned
            .split_once(char::is_whitespace)
            .unwrap_or((cleaned, ""));
        let cc = prefix_of("country code", cc)?;
        let rest = rest.trim();
        if rest.is_empty() {
            return Ok(vec![cc]);
        }
        return rest
            .split(',')
            .map(|p| {
                let p: String = p.chars().filter(|c| !c.is_whitespace()).collect();
                prefix_of("prefix", &format!("{cc}{p}"))
            })
            .collect();
    }
    let cc = if map.has(Field::CountryCode) {
        Some(prefix_of("country code", cell(Field::CountryCode))?)
    } else {
        None
    };
    if map.has(Field::Prefix) {
        let p = prefix_of("prefix", cell(Field::Prefix))?;
        if let Some(cc) = cc.filter(|cc| !p.starts_with(cc.as_str())) {
            return Err(format!(
                "prefix {p} does not begin with its country code {cc} (a column with the rest of the number is an \"area code\")"
            ));
        }
        return Ok(vec![p]);
    }
    let cc = cc.unwrap_or_default();
    let area = cell(Field::AreaCode);
    if area.is_empty() {
        return Ok(vec![cc]);
    }
    Ok(vec![prefix_of(
        "prefix",
        &format!("{cc}{}", area.replace(' ', "")),
    )?])
}

fn parse_row(
    line: u64,
    r: &csv::StringRecord,
    map: &Mapping,
    opts: &DeckOptions,
    decimal_comma: bool,
) -> Result<Vec<DeckRow>, String> {
    for (i, v) in r.iter().enumerate() {
        if !v.is_empty() && map.columns.get(i).is_none_or(|f| f.is_none()) {
            return Err(format!(
                "column {} holds {v:?} but has no header (the header names {} columns)",
                i + 1,
                map.columns.len()
            ));
        }
    }
    let cell = |f: Field| map.get(f).and_then(|i| r.get(i)).unwrap_or("");
    let prefixes = prefixes(&cell, map)?;
    let (name, country) = (cell(Field::Name), cell(Field::Country));
    let name = match (name.is_empty(), country.is_empty()) {
        (false, false) if !name.to_lowercase().contains(&country.to_lowercase()) => {
            format!("{country} - {name}")
        }
        (false, _) => name.to_string(),
        (true, false) => country.to_string(),
        (true, true) => return Err("the destination name is empty".to_string()),
    };
    if name.chars().count() > 100 {
        return Err("the destination name must be 1 to 100 characters".to_string());
    }
    let per_minute =
        cell::amount(cell(Field::Rate), decimal_comma).map_err(|e| format!("rate: {e}"))?;
    let connection_fee = match cell(Field::ConnectionFee) {
        "" => Money(0),
        s => cell::amount(s, decimal_comma).map_err(|e| format!("connection fee: {e}"))?,
    };
    let (min_time_s, increment_s) = if map.has(Field::Interval) {
        match cell(Field::Interval) {
            "" => (0, 1),
            s => cell::interval(s)?,
        }
    } else if cell(Field::Increment).contains('/') && !map.has(Field::Initial) {
        cell::interval(cell(Field::Increment))?
    } else {
        (
            cell::seconds("minimum seconds", cell(Field::Initial), 0, 0..=3600)?,
            cell::seconds("increment", cell(Field::Increment), 1, 1..=3600)?,
        )
    };
    let date = |f: Field| {
        let s = cell(f);
        cell::date(s, opts.date_order).map_err(|e| format!("{} {s:?}: {e}", f.label()))
    };
    let effective_from = date(Field::EffectiveDate)?;
    let ends_at = match date(Field::EndDate)? {
        0 => None,
        t if t <= opts.now => {
            return Err(format!(
                "end date {:?}: this rate has ended (a deck lists the rates in force or to come)",
                cell(Field::EndDate)
            ))
        }
        t => Some(t),
    };
    if !matches!(cell(Field::IncludedSeconds), "" | "0") {
        return Err(format!(
            "included seconds {:?}: seconds free with the connection fee cannot be priced here (only 0); use an initial interval instead",
            cell(Field::IncludedSeconds)
        ));
    }
    let currency = match cell(Field::Currency) {
        "" => None,
        c if c.len() == 3 && c.bytes().all(|b| b.is_ascii_alphabetic()) => {
            Some(c.to_ascii_uppercase())
        }
        c => return Err(format!("currency {c:?} is not a code like USD")),
    };
    let dir_code = match cell(Field::Type) {
        "" => dir_code_of(&name).to_string(),
        t => {
            let t = t.to_ascii_uppercase();
            if t.len() > 10 || !t.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(format!("type {t:?} is not a code like FIX or MOB"));
            }
            t
        }
    };
    let service_type = match cell(Field::Service) {
        "" => None,
        t => match t.to_ascii_lowercase().as_str() {
            s @ ("standard" | "premium") => Some(s.to_string()),
            _ => return Err(format!("service {t:?} is standard or premium")),
        },
    };
    let risk = match cell(Field::Risk) {
        "" => None,
        t => match t.parse::<i64>() {
            Ok(n) if (1..=3).contains(&n) => Some(n),
            _ => return Err(format!("risk {t:?} is 1 (low), 2 (medium) or 3 (high)")),
        },
    };
    let terms = RateTerms {
        per_minute,
        connection_fee,
        increment_s,
        min_time_s,
    };
    Ok(prefixes
        .into_iter()
        .map(|prefix| DeckRow {
            line,
            prefix,
            name: name.clone(),
            group: name.clone(),
            dir_code: dir_code.clone(),
            terms,
            effective_from,
            service_type: service_type.clone(),
            risk,
            currency: currency.clone(),
            ends_at,
        })
        .collect())
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

/// Rows that contradict each other: a prefix twice for one date, a prefix under two names or
/// types, one destination (name, type) with two calling-plan classes.
fn check_consistency(rows: &[DeckRow], errors: &mut Vec<LineError>) {
    let mut by_prefix_date: HashMap<(&str, i64), u64> = HashMap::new();
    let mut names: HashMap<&str, (&str, &str, u64)> = HashMap::new();
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
            }
            Some(_) => {}
            None => {
                names.insert(&r.prefix, (&r.name, &r.dir_code, r.line));
            }
        }
    }
}

/// Gives each prefix its destination group: the prefixes of one name and type whose prices (by
/// effective date) are the same share the name's group; a prefix priced otherwise gets the
/// first group of the name whose price for its type agrees, else a new one, `name (prefix)`.
fn assign_groups(rows: &mut [DeckRow]) {
    let mut schedules: HashMap<String, BTreeMap<i64, RateTerms>> = HashMap::new();
    let mut order: Vec<(String, String, String)> = Vec::new(); // prefix, name, dir
    for r in rows.iter() {
        let s = schedules.entry(r.prefix.clone()).or_default();
        if s.is_empty() {
            order.push((r.prefix.clone(), r.name.clone(), r.dir_code.clone()));
        }
        s.insert(r.effective_from, r.terms);
    }
    // name → its groups: (group name, the schedule of each type in it)
    type Groups = Vec<(String, HashMap<String, BTreeMap<i64, RateTerms>>)>;
    let mut by_name: HashMap<String, Groups> = HashMap::new();
    let mut group_of: HashMap<String, String> = HashMap::new();
    for (prefix, name, dir) in order {
        let schedule = &schedules[&prefix];
        let groups = by_name.entry(name.clone()).or_default();
        let found = groups
            .iter_mut()
            .find(|(_, types)| types.get(&dir).is_none_or(|s| s == schedule));
        let group = match found {
            Some((group, types)) => {
                types.entry(dir).or_insert_with(|| schedule.clone());
                group.clone()
            }
            None => {
                let group = if groups.is_empty() {
                    name.clone()
                } else {
                    format!("{name} ({prefix})")
                };
                groups.push((group.clone(), HashMap::from([(dir, schedule.clone())])));
                group
            }
        };
        group_of.insert(prefix, group);
    }
    for r in rows.iter_mut() {
        r.group = group_of[&r.prefix].clone();
    }
}

/// The deck's text (UTF-8; a byte order mark is allowed).
fn read_text(path: &Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..at].iter().filter(|b| **b == b'\n').count() + 1;
        anyhow::anyhow!(
            "{}:{line}: not UTF-8 text; nothing was imported (save the deck as UTF-8 CSV)",
            path.display()
        )
    })
}

fn refusal(path: &Path, e: DeckError) -> anyhow::Error {
    let list: Vec<String> = e
        .errors
        .iter()
        .take(50)
        .map(|e| format!("{}:{}: {}", path.display(), e.line, e.message))
        .collect();
    let more = if e.errors.len() > 50 {
        format!("\n… and {} more", e.errors.len() - 50)
    } else {
        String::new()
    };
    let hint = e.hint.map(|h| format!("\n{h}")).unwrap_or_default();
    anyhow::anyhow!(
        "{} bad line(s) in the rate deck; nothing was imported:\n{}{more}{hint}",
        e.errors.len(),
        list.join("\n")
    )
}

/// Reads the deck at `path`, refusing it with every bad line named.
pub fn load_deck(path: &Path, opts: &DeckOptions) -> anyhow::Result<Deck> {
    let text = read_text(path)?;
    let deck = read_deck(&text, opts).map_err(|e| refusal(path, e))?;
    anyhow::ensure!(
        !deck.rows.is_empty(),
        "{} has no rates; nothing was imported",
        path.display()
    );
    Ok(deck)
}

fn day(t: i64) -> String {
    if t == 0 {
        return "always".to_string();
    }
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// What `--dry-run` prints: which column went to which field, and the first rows as understood.
pub fn preview(deck: &Deck, first: usize) -> String {
    let mut out = String::new();
    let delimiter = match deck.delimiter {
        b'\t' => "tab".to_string(),
        d => format!("{:?}", d as char),
    };
    out += &format!(
        "Delimiter {delimiter}{}.\n",
        if deck.delimiter == b',' {
            ""
        } else {
            "; amounts may have a decimal comma"
        }
    );
    match &deck.header {
        Some((line, cells)) => {
            out += &format!("Columns (header on line {line}):\n");
            for (i, cell) in cells.iter().enumerate() {
                let field = match deck.mapping.columns.get(i).copied().flatten() {
                    Some(Field::Ignored) => "ignored (changes no price)",
                    Some(f) if deck.mapping.get(f) == Some(i) => f.label(),
                    Some(_) => "ignored",
                    None => "nothing (must stay empty)",
                };
                out += &format!("  {:>2} {cell:?} → {field}\n", i + 1);
            }
        }
        None => out += &format!("No header: the positional layout ({POSITIONAL}).\n"),
    }
    out += &format!("First rows as understood ({} in all):\n", deck.rows.len());
    for r in deck.rows.iter().take(first) {
        out += &format!(
            "  line {}: prefix {} → {:?} ({}{}): {} per minute, connection fee {}, billed {} s then every {} s, from {}{}\n",
            r.line,
            r.prefix,
            r.name,
            r.dir_code,
            if r.group == r.name { String::new() } else { format!(", group {:?}", r.group) },
            r.terms.per_minute.format(6),
            r.terms.connection_fee.format(6),
            r.terms.min_time_s,
            r.terms.increment_s,
            day(r.effective_from),
            r.ends_at.map(|t| format!(", ends {} (not stored)", day(t))).unwrap_or_default(),
        );
    }
    out += "Dry run: nothing was written.";
    out
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
    /// Rows with an end date to come (not stored).
    pub rows_with_end_date: usize,
}

/// Checks the tariff's name and the currency code given.
fn tariff_and_currency(
    tariff: &str,
    currency: Option<&str>,
) -> anyhow::Result<(String, Option<String>)> {
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
    Ok((tariff.to_string(), currency))
}

/// Reads the deck and applies it to the tariff (created in `currency` when missing; the
/// currency is created when missing, as the base currency of an empty database) in one
/// transaction: a bad deck changes nothing.
pub async fn import_deck(
    store: &Store,
    tariff: &str,
    currency: Option<&str>,
    path: &Path,
    opts: &DeckOptions,
) -> anyhow::Result<DeckSummary> {
    let (tariff, currency) = tariff_and_currency(tariff, currency)?;
    let deck = load_deck(path, opts)?;
    let rows = deck.rows;

    let mut s = DeckSummary {
        tariff: tariff.clone(),
        rows: rows.len(),
        rows_with_end_date: rows.iter().filter(|r| r.ends_at.is_some()).count(),
        ..DeckSummary::default()
    };
    let existing = store.tariff_by_name(&tariff).await?;
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
    let wrong_currency: Vec<String> = rows
        .iter()
        .filter(|r| r.currency.as_deref().is_some_and(|c| c != currency))
        .take(50)
        .map(|r| {
            format!(
                "{}:{}: currency {} is not the tariff's, {currency}",
                path.display(),
                r.line,
                r.currency.as_deref().unwrap_or_default()
            )
        })
        .collect();
    anyhow::ensure!(
        wrong_currency.is_empty(),
        "{} bad line(s) in the rate deck; nothing was imported:\n{}",
        wrong_currency.len(),
        wrong_currency.join("\n")
    );

    let mut tx = store.pool().begin().await?;
    s.currency_created = sql::ensure_currency(&mut tx, &currency).await?;
    s.currency_without_rate = !sql::has_exchange_rate(&mut tx, &currency).await?;
    let (tariff_id, _, created) = sql::ensure_tariff(&mut tx, &tariff, &currency).await?;
    s.tariff_created = created;
    s.currency = currency;

    let mut groups: HashMap<String, i64> =
        sql::groups_by_name(&mut tx).await?.into_iter().collect();
    let mut dests: HashMap<String, (i64, i64, String, String)> =
        sql::tariff_destinations(&mut tx, tariff_id)
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
        let group = match groups.get(&row.group) {
            Some(id) => *id,
            None => {
                // The country its first prefix is in gives the group its flag (ISO code) and
                // calling code: "international" and the calling plan go by them.
                let country = crate::countries::of_prefix(&row.prefix);
                let id = crate::store::seed::insert_destination_group(
                    &mut tx,
                    &row.group,
                    country.map_or("", |c| c.iso2.as_str()),
                )
                .await?;
                if let Some(c) = country {
                    sql::set_group_country_code(&mut tx, id, &c.calling_code).await?;
                }
                groups.insert(row.group.clone(), id);
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
                let id = sql::insert_tariff_destination(
                    &mut tx,
                    tariff_id,
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
        if let Some(group) = groups.get(&row.group) {
            classified.insert(
                (*group, row.dir_code.as_str()),
                (row.service_type.as_deref(), row.risk),
            );
        }
    }
    for ((group, dir_code), (service_type, risk)) in classified {
        sql::classify_plan_service(&mut tx, group, dir_code, service_type, risk).await?;
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
        if self.rows_with_end_date > 0 {
            write!(
                f,
                "\nNote: {} row(s) have an end date to come, which is not stored: import the next deck before then.",
                self.rows_with_end_date
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

    fn read(deck: &str) -> Result<Vec<DeckRow>, Vec<LineError>> {
        read_with(deck, None)
    }

    fn read_with(
        deck: &str,
        date_order: Option<DateOrder>,
    ) -> Result<Vec<DeckRow>, Vec<LineError>> {
        let opts = DeckOptions {
            date_order,
            now: 1_700_000_000,
            columns: None,
        };
        read_deck(deck, &opts).map(|d| d.rows).map_err(|e| e.errors)
    }

    #[test]
    fn reads_a_deck_with_a_header() {
        let deck = "prefix,destination,rate,connection fee,increment,minimum,effective\n\
                    44,United Kingdom,0.0100,,1,0,2024-01-01\n\
                    447,United Kingdom Mobile,0.0500,0.01,60,60,2024-01-01\n\
                    +4420,\"London, UK\",0.008,0,6,30,\n\
                    33,France,0.02,0,1,0,2024-02-01 12:00:00,FIX\n";
        let rows = read(deck).unwrap_err();
        // "effective" names the date; a row longer than the header is refused.
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert!(
            rows[0].message.contains("column 8 holds \"FIX\""),
            "{rows:?}"
        );
        let rows = read(&deck.replace(",FIX\n", "\n")).unwrap();
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
    fn columns_in_another_order_are_read_by_their_header() {
        // The deck that once imported with 60.00 connection fees.
        let deck = "Code,Destination,Rate,Increment,Connection Fee,Minimum,Effective Date\n\
                    4420,United Kingdom London,0.0080,60,0.0100,60,2024-01-01\n";
        let rows = read(deck).unwrap();
        assert_eq!(rows[0].terms.connection_fee, Money(10_000));
        assert_eq!(rows[0].terms.increment_s, 60);
        assert_eq!(rows[0].terms.min_time_s, 60);
    }

    #[test]
    fn semicolons_decimal_commas_intervals_and_day_first_dates() {
        let deck = "Dial Code;Description;Price per minute;Setup fee;Interval;Valid from\n\
                    4420;UK London;0,0125;0,05;30/6;03/04/2024\n";
        let errors = read(deck).unwrap_err();
        assert!(errors[0].message.contains("--date-order"), "{errors:?}");
        let rows = read_with(deck, Some(DateOrder::Dmy)).unwrap();
        assert_eq!(rows[0].terms.per_minute, Money(12_500));
        assert_eq!(rows[0].terms.connection_fee, Money(50_000));
        assert_eq!(
            (rows[0].terms.min_time_s, rows[0].terms.increment_s),
            (30, 6)
        );
        assert_eq!(rows[0].effective_from, 1_712_102_400); // 2024-04-03
        let tabs = deck.replace(';', "\t");
        assert_eq!(read_with(&tabs, Some(DateOrder::Dmy)).unwrap(), rows);
    }

    #[test]
    fn an_unknown_header_is_refused_with_what_we_recognise() {
        let e = read_deck(
            "Code,Destination,Rate,Status\n44,UK,0.01,closed\n",
            &DeckOptions::default(),
        )
        .unwrap_err();
        assert_eq!(e.errors.len(), 1);
        assert_eq!(e.errors[0].line, 1);
        assert!(e.errors[0].message.contains("column 4 \"Status\""), "{e:?}");
        assert!(e.hint.unwrap().contains("connection fee: connection"));
    }

    #[test]
    fn a_deck_without_header_must_be_the_positional_layout() {
        let rows = read("1212,USA New York,0.01,0,1,0,\n").unwrap();
        assert_eq!(rows[0].line, 1);
        for deck in [
            "44,United Kingdom,0.01\n",
            "44;United Kingdom;0,01;0;1;0;\n",
            "44,United Kingdom,0.01,60/60,0,0,\n",
        ] {
            let e = read(deck).unwrap_err();
            assert!(e[0].message.contains("no header row"), "{deck}: {e:?}");
        }
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
        let errors = read(deck).unwrap_err();
        let lines: Vec<u64> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 3, 4, 5, 6, 7, 9], "{errors:?}");
        let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert!(text[0].contains("prefix \"4x\""), "{text:?}");
        assert!(text[1].contains("rate: \"cheap\""), "{text:?}");
        assert!(text[2].contains("increment \"0\""), "{text:?}");
        assert!(text[3].contains("effective date \"yesterday\""), "{text:?}");
        assert!(text[4].contains("3 fields"), "{text:?}");
        assert!(text[5].contains("already on line 1"), "{text:?}");
        assert!(text[6].contains("type \"MOB ILE\""), "{text:?}");
    }

    #[test]
    fn prefixes_of_one_name_priced_otherwise_get_their_own_group() {
        let deck = "prefix,destination,rate\n\
                    49,Germany,0.01\n\
                    4930,Germany,0.02\n\
                    4940,Germany,0.01\n\
                    4989,Germany,0.02\n\
                    4915,Germany,0.10,\n";
        let rows = read(deck).unwrap();
        let groups: Vec<&str> = rows.iter().map(|r| r.group.as_str()).collect();
        assert_eq!(
            groups,
            [
                "Germany",
                "Germany (4930)",
                "Germany",
                "Germany (4930)",
                "Germany (4915)"
            ]
        );
    }

    #[test]
    fn a_prefix_keeps_one_name_and_new_dates_are_new_prices() {
        let deck = "44,UK,0.01,0,1,0,2024-01-01\n\
                    44,UK,0.02,0,1,0,2024-06-01\n";
        assert_eq!(read(deck).unwrap().len(), 2);
        let deck = "44,UK,0.01,0,1,0,2024-01-01\n\
                    44,Britain,0.02,0,1,0,2024-06-01\n";
        let errors = read(deck).unwrap_err();
        assert!(errors[0].message.contains("one prefix has one destination"));
    }

    #[test]
    fn country_and_area_codes_and_freeside_prefix_lists() {
        let deck =
            "Country,Country Code,Area Code,Rate\nUnited Kingdom,44,20,0.01\nFrance,33,,0.02\n";
        let rows = read(deck).unwrap();
        assert_eq!(
            (rows[0].prefix.as_str(), rows[0].name.as_str()),
            ("4420", "United Kingdom")
        );
        assert_eq!(rows[1].prefix, "33");
        let deck = "Destination name,Country code / Prefix,Rate (per minute)\n\
                    Australia Mobile,\"61 4,5\",0.12\nMexico Guadalajara,52 33,0.03\n";
        let rows = read(deck).unwrap();
        let prefixes: Vec<&str> = rows.iter().map(|r| r.prefix.as_str()).collect();
        assert_eq!(prefixes, ["614", "615", "5233"]);
        assert_eq!(rows[0].line, rows[1].line);
        let deck = "Country Code,Prefix,Destination,Rate\n44,20,London,0.01\n";
        assert!(read(deck).unwrap_err()[0].message.contains("area code"));
    }

    #[test]
    fn included_seconds_past_end_dates_and_stray_cells_are_refused() {
        let deck =
            "Code,Destination,Connect Cost,Included Seconds,Per Minute Cost,Increment,Precedence\n\
                    93,Afghanistan,0,0,0.2,60,0,\n\
                    94,Sri Lanka,0.1,30,0.2,60,0\n\
                    95,Myanmar,0,0,0.2,60,0,x\n";
        let e = read(deck).unwrap_err();
        assert_eq!(
            e.iter().map(|e| e.line).collect::<Vec<_>>(),
            [3, 4],
            "{e:?}"
        );
        let deck = "prefix,name,rate,end date\n44,UK,0.01,2020-01-01\n33,France,0.01,2099-01-01\n";
        let e = read(deck).unwrap_err();
        assert_eq!(e.len(), 1);
        assert!(e[0].message.contains("has ended"));
    }

    #[test]
    fn the_type_follows_the_name_when_not_given() {
        assert_eq!(dir_code_of("Germany Mobile"), "MOB");
        assert_eq!(dir_code_of("UK - Cellular Vodafone"), "MOB");
        assert_eq!(dir_code_of("Afghanistan"), "FIX");
    }
}
