//! A deck's columns by their header: the synonyms carriers and billing systems use, the
//! delimiter, and the mapping of each column to what we read from it.
//!
//! A header cell is compared in a normal form (lower case, anything but letters and digits a
//! single space, a leading `#` dropped), so `Connect Fee`, `connect_fee` and `CONNECT-FEE` are
//! one name. A column whose name we do not know is refused, never guessed; the few we know and
//! can safely ignore (routing and bookkeeping columns that do not change a price) are listed in
//! [`COLUMNS`] as [`Field::Ignored`].

use std::collections::HashMap;

/// What a deck column gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    /// The whole prefix (with its country code).
    Prefix,
    /// The country code, alone or followed by an [`Field::AreaCode`] column.
    CountryCode,
    /// The rest of the prefix after the country code.
    AreaCode,
    /// Freeside's "country code / prefix": `61`, `52 33`, `61 38,39` (several prefixes).
    PrefixList,
    /// The destination's name.
    Name,
    /// The country's name (prepended to the destination's name when both are given).
    Country,
    /// Price per minute.
    Rate,
    ConnectionFee,
    /// Initial interval (minimum billed seconds).
    Initial,
    /// Subsequent increment (seconds).
    Increment,
    /// Both intervals as `X/Y` (`60/60`, `30/6`, `1/1`).
    Interval,
    EffectiveDate,
    /// Accepted only when empty or in the future (see the module doc of `deck`).
    EndDate,
    /// FIX, MOB, …
    Type,
    Service,
    Risk,
    /// Seconds included with the connection fee: only 0 can be priced here.
    IncludedSeconds,
    /// Must be the tariff's currency.
    Currency,
    /// Known, and safe to ignore: it changes no price.
    Ignored,
}

impl Field {
    /// The field's name in messages and the dry run.
    pub fn label(self) -> &'static str {
        match self {
            Field::Prefix => "prefix",
            Field::CountryCode => "country code",
            Field::AreaCode => "area code",
            Field::PrefixList => "country code / prefixes",
            Field::Name => "destination",
            Field::Country => "country",
            Field::Rate => "rate per minute",
            Field::ConnectionFee => "connection fee",
            Field::Initial => "initial interval",
            Field::Increment => "subsequent increment",
            Field::Interval => "billing interval X/Y",
            Field::EffectiveDate => "effective date",
            Field::EndDate => "end date",
            Field::Type => "type",
            Field::Service => "service",
            Field::Risk => "risk",
            Field::IncludedSeconds => "included seconds",
            Field::Currency => "currency",
            Field::Ignored => "ignored",
        }
    }
}

/// Every header we recognise, by field (in normal form).
pub const COLUMNS: &[(Field, &[&str])] = &[
    (
        Field::Prefix,
        &[
            "prefix",
            "prefixes",
            "code",
            "codes",
            "dial code",
            "dialcode",
            "dial codes",
            "dialing code",
            "dialling code",
            "dial prefix",
            "dialprefix",
            "destination code",
            "dest code",
            "number prefix",
            "e164 prefix",
        ],
    ),
    (Field::CountryCode, &["country code", "countrycode", "cc"]),
    (
        Field::AreaCode,
        &["area code", "areacode", "city code", "npa", "area prefix"],
    ),
    (
        Field::PrefixList,
        &[
            "country code prefix",
            "countrycode prefix",
            "country code prefixes",
        ],
    ),
    (
        Field::Name,
        &[
            "destination",
            "destination name",
            "dest name",
            "destination country",
            "name",
            "description",
            "zone",
        ],
    ),
    (Field::Country, &["country", "country name"]),
    (
        Field::Rate,
        &[
            "rate",
            "price",
            "price per minute",
            "price per min",
            "price min",
            "rate per minute",
            "rate per min",
            "rate min",
            "per minute",
            "per minute cost",
            "cost per minute",
            "rateinitial",
            "rate initial",
            "sell rate",
            "selling rate",
        ],
    ),
    (
        Field::ConnectionFee,
        &[
            "connection",
            "connection fee",
            "connection charge",
            "connection cost",
            "connect fee",
            "connect charge",
            "connect cost",
            "connectcharge",
            "connectcost",
            "setup",
            "setup fee",
            "setup charge",
            "set up fee",
            "fee",
        ],
    ),
    (
        Field::Initial,
        &[
            "initial increment",
            "initial interval",
            "initial period",
            "first interval",
            "first increment",
            "initblock",
            "init block",
            "min time",
            "minimum time",
            "minimum",
            "minimum seconds",
            "min seconds",
            "minimum duration",
            "min duration",
        ],
    ),
    (
        Field::Increment,
        &[
            "increment",
            "subsequent increment",
            "subsequent interval",
            "next interval",
            "next increment",
            "additional increment",
            "billingblock",
            "billing block",
            "inc",
        ],
    ),
    (
        Field::Interval,
        &[
            "interval",
            "intervals",
            "increments",
            "billing interval",
            "billing increment",
            "billing increments",
            "billing",
            "billing cycle",
            "pulse",
            "min inc",
        ],
    ),
    (
        Field::EffectiveDate,
        &[
            "effective date",
            "effective",
            "effective from",
            "valid from",
            "date",
            "start date",
            "startdate",
            "begin date",
            "activation date",
        ],
    ),
    (
        Field::EndDate,
        &[
            "end date",
            "stopdate",
            "stop date",
            "valid to",
            "valid until",
            "expiry date",
            "expiration date",
        ],
    ),
    (
        Field::Type,
        &[
            "type",
            "dir code",
            "rate type",
            "number type",
            "destination type",
        ],
    ),
    (Field::Service, &["service", "service type"]),
    (Field::Risk, &["risk"]),
    (
        Field::IncludedSeconds,
        &["included seconds", "includedseconds", "free seconds"],
    ),
    (Field::Currency, &["currency"]),
    (
        Field::Ignored,
        &[
            // ASTPP's termination rates: what is dialled before the number, and the route's order.
            "prepend",
            "precedence",
            // A2Billing's buying side (what the carrier charges us), not the subscriber's price.
            "buyrate",
            "buy rate",
            "buyrateinitblock",
            "buyrateincrement",
            "comment",
            "comments",
            "note",
            "notes",
            "remarks",
            "iso",
            "iso code",
            "iso country code",
        ],
    ),
];

/// A header cell in normal form.
pub fn normalise(cell: &str) -> String {
    let cell = cell
        .trim()
        .trim_start_matches('\u{feff}')
        .trim_start_matches('#');
    let mut out = String::with_capacity(cell.len());
    for ch in cell.chars().flat_map(char::to_lowercase) {
        if ch.is_alphanumeric() {
            out.push(ch);
        } else if !out.is_empty() && !out.ends_with(' ') {
            out.push(' ');
        }
    }
    out.trim_end().to_string()
}

/// The field a header cell names.
pub fn field_of(cell: &str) -> Option<Field> {
    let n = normalise(cell);
    COLUMNS
        .iter()
        .find(|(_, names)| names.contains(&n.as_str()))
        .map(|(f, _)| *f)
}

/// The recognised headers, for a message.
pub fn recognised() -> String {
    COLUMNS
        .iter()
        .map(|(f, names)| format!("{}: {}", f.label(), names.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The delimiter of a deck from its first line: the most frequent of tab, `;` and `,` outside
/// quotes (a comma when none).
pub fn detect_delimiter(line: &str) -> u8 {
    let (mut tabs, mut semis, mut commas, mut quoted) = (0, 0, 0, false);
    for b in line.bytes() {
        match b {
            b'"' => quoted = !quoted,
            b'\t' if !quoted => tabs += 1,
            b';' if !quoted => semis += 1,
            b',' if !quoted => commas += 1,
            _ => {}
        }
    }
    if tabs > 0 && tabs >= semis && tabs >= commas {
        b'\t'
    } else if semis > commas {
        b';'
    } else {
        b','
    }
}

/// Which column gives what.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mapping {
    /// Per column: its field (`None` for an unnamed column that must stay empty).
    pub columns: Vec<Option<Field>>,
    index: HashMap<Field, usize>,
}

impl Mapping {
    /// The old positional layout: prefix, destination, rate, connection fee, increment,
    /// minimum, effective date, type, service, risk.
    pub fn positional() -> Mapping {
        Mapping::of(vec![
            Some(Field::Prefix),
            Some(Field::Name),
            Some(Field::Rate),
            Some(Field::ConnectionFee),
            Some(Field::Increment),
            Some(Field::Initial),
            Some(Field::EffectiveDate),
            Some(Field::Type),
            Some(Field::Service),
            Some(Field::Risk),
        ])
    }

    fn of(columns: Vec<Option<Field>>) -> Mapping {
        let mut index = HashMap::new();
        for (i, f) in columns.iter().enumerate() {
            if let Some(f) = f.filter(|f| *f != Field::Ignored) {
                index.entry(f).or_insert(i);
            }
        }
        Mapping { columns, index }
    }

    /// The column of a field.
    pub fn get(&self, f: Field) -> Option<usize> {
        self.index.get(&f).copied()
    }

    pub fn has(&self, f: Field) -> bool {
        self.index.contains_key(&f)
    }

    /// Maps a header row; every problem is named (the caller adds the recognised columns).
    pub fn from_header(cells: &[&str]) -> Result<Mapping, Vec<String>> {
        let mut problems = Vec::new();
        let mut columns = Vec::with_capacity(cells.len());
        let mut seen: HashMap<Field, usize> = HashMap::new();
        for (i, cell) in cells.iter().enumerate() {
            if normalise(cell).is_empty() {
                columns.push(None);
                continue;
            }
            match field_of(cell) {
                None => problems.push(format!(
                    "column {} {cell:?} is not a column we know, nor one we can safely ignore",
                    i + 1
                )),
                Some(Field::Ignored) => {}
                Some(f) => {
                    if let Some(first) = seen.insert(f, i) {
                        problems.push(format!(
                            "columns {} {:?} and {} {cell:?} both give the {}",
                            first + 1,
                            cells[first],
                            i + 1,
                            f.label()
                        ));
                    }
                }
            }
            columns.push(field_of(cell));
        }
        let has = |f| seen.contains_key(&f);
        if !(has(Field::Prefix) || has(Field::CountryCode) || has(Field::PrefixList)) {
            problems.push("no prefix column".to_string());
        }
        if has(Field::PrefixList) && (has(Field::Prefix) || has(Field::CountryCode)) {
            problems.push(
                "a \"country code / prefix\" column gives the prefixes; no other prefix column may"
                    .to_string(),
            );
        }
        if has(Field::AreaCode) && !has(Field::CountryCode) {
            problems.push("an area code column needs a country code column".to_string());
        }
        if has(Field::AreaCode) && has(Field::Prefix) {
            problems.push(
                "a prefix column and an area code column: give the prefix one way".to_string(),
            );
        }
        if !(has(Field::Name) || has(Field::Country)) {
            problems.push("no destination (name) column".to_string());
        }
        if !has(Field::Rate) {
            problems.push("no rate (per minute) column".to_string());
        }
        if has(Field::Interval) && (has(Field::Initial) || has(Field::Increment)) {
            problems.push(
                "an X/Y interval column gives both intervals; no initial or increment column may"
                    .to_string(),
            );
        }
        if problems.is_empty() {
            Ok(Mapping::of(columns))
        } else {
            Err(problems)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_compared_in_normal_form() {
        assert_eq!(normalise("  Connect_Fee (USD) "), "connect fee usd");
        assert_eq!(normalise("#dialprefix"), "dialprefix");
        assert_eq!(field_of("Dial Code"), Some(Field::Prefix));
        assert_eq!(field_of("RATE/MIN"), Some(Field::Rate));
        assert_eq!(field_of("Setup-Fee"), Some(Field::ConnectionFee));
        assert_eq!(field_of("Valid From"), Some(Field::EffectiveDate));
        assert_eq!(field_of("Country Code / Prefix"), Some(Field::PrefixList));
        assert_eq!(field_of("Status"), None);
    }

    #[test]
    fn the_delimiter_is_the_most_frequent_outside_quotes() {
        assert_eq!(detect_delimiter("prefix,destination,rate"), b',');
        assert_eq!(detect_delimiter("Code;Destination;Rate"), b';');
        assert_eq!(detect_delimiter("Code\tDestination\tRate"), b'\t');
        assert_eq!(detect_delimiter("\"a;b\",\"c;d\",e"), b',');
        assert_eq!(detect_delimiter("prefix"), b',');
    }

    #[test]
    fn a_header_is_mapped_or_every_problem_named() {
        let m =
            Mapping::from_header(&["Rate", "Code", "Destination", "Interval", "Notes"]).unwrap();
        assert_eq!(m.get(Field::Rate), Some(0));
        assert_eq!(m.get(Field::Prefix), Some(1));
        assert_eq!(m.get(Field::Interval), Some(3));
        assert_eq!(m.columns[4], Some(Field::Ignored));
        let problems =
            Mapping::from_header(&["Code", "Price", "Rate", "Status", "Interval", "Increment"])
                .unwrap_err();
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems[0].contains("both give the rate per minute"));
        assert!(problems[1].contains("column 4 \"Status\""));
        assert!(problems[2].contains("no destination"));
        assert!(problems[3].contains("X/Y interval"));
    }
}
