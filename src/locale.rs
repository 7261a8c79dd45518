//! Money, numbers, dates and country names as the subscriber's language writes them, from the
//! Unicode CLDR data that ICU4X compiles in (no table of ours): `€1,234.50` and `Dec 5, 2026,
//! 2:30 PM` in English, `1 234,50 €` and `5 дек. 2026 г., 14:30` in Russian, `Германия` for `de`.
//!
//! Only what a person reads goes through here: HTML pages and PDFs. The XML (the seed's
//! contract), the JSON (decimal strings, RFC 3339) and CSV (plain `12.50`, ISO dates) stay
//! machine-readable and never change with the language.
//!
//! The formatters are built once per language (and thread) and kept; a currency's way of being written
//! (`€` before or ` €` after, where the minus goes) is read from CLDR once per language and
//! currency and kept too.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use chrono_tz::Tz;
use fixed_decimal::Decimal;
use icu_calendar::Gregorian;
use icu_collator::CollatorBorrowed;
use icu_datetime::fieldsets::{YM, YMD, YMDT};
use icu_datetime::input::{Date, DateTime as IcuDateTime, Time};
use icu_datetime::FixedCalendarDateTimeFormatter;
use icu_decimal::DecimalFormatter;
use icu_experimental::dimension::currency::formatter::CurrencyFormatter;
use icu_experimental::dimension::currency::CurrencyType;
use icu_experimental::displaynames::multi::RegionDisplayNames;
use icu_locale_core::subtags::Region;
use icu_locale_core::{locale, Locale};

use crate::countries;
use crate::i18n::Lang;
use crate::money::Money;
use crate::period;

/// The CLDR formatters of one language.
struct Formats {
    decimal: DecimalFormatter,
    month: FixedCalendarDateTimeFormatter<Gregorian, YM>,
    date: FixedCalendarDateTimeFormatter<Gregorian, YMD>,
    date_time: FixedCalendarDateTimeFormatter<Gregorian, YMDT>,
    regions: RegionDisplayNames,
    collator: CollatorBorrowed<'static>,
}

fn cldr_locale(lang: Lang) -> Locale {
    match lang {
        Lang::En => locale!("en"),
        Lang::Ru => locale!("ru"),
    }
}

impl Formats {
    fn new(lang: Lang) -> Formats {
        let l = cldr_locale(lang);
        // The data is compiled in for every locale we name: a failure is a build mistake.
        Formats {
            decimal: DecimalFormatter::try_new((&l).into(), Default::default())
                .expect("CLDR decimal data"),
            month: FixedCalendarDateTimeFormatter::try_new((&l).into(), YM::medium())
                .expect("CLDR month data"),
            date: FixedCalendarDateTimeFormatter::try_new((&l).into(), YMD::medium())
                .expect("CLDR date data"),
            date_time: FixedCalendarDateTimeFormatter::try_new(
                (&l).into(),
                YMD::medium().with_time_hm(),
            )
            .expect("CLDR date-time data"),
            regions: RegionDisplayNames::try_new((&l).into(), Default::default())
                .expect("CLDR region names"),
            collator: CollatorBorrowed::try_new((&l).into(), Default::default())
                .expect("CLDR collation data"),
        }
    }
}

thread_local! {
    // Per thread: ICU4X's data handles are not `Sync` without its `sync` feature, and building
    // them from compiled data costs next to nothing (one per worker thread and language).
    static FORMATS: [Formats; 2] = [Formats::new(Lang::En), Formats::new(Lang::Ru)];
}

/// Runs `f` with the formatters of `lang`.
fn with<T>(lang: Lang, f: impl FnOnce(&Formats) -> T) -> T {
    FORMATS.with(|all| {
        f(match lang {
            Lang::En => &all[0],
            Lang::Ru => &all[1],
        })
    })
}

/// What to sort `text` by so that a list reads in the language's alphabetical order (CLDR
/// collation: in Russian `Ё` sorts with the `Е`s, not after `Я`; case and accents count only
/// after the letters).
pub fn sort_key(lang: Lang, text: &str) -> Vec<u8> {
    with(lang, |f| {
        let mut key = Vec::new();
        let Ok(()) = f.collator.write_sort_key_to(text, &mut key);
        key
    })
}

/// A decimal number as text (`-1234.5`, `0.0184`) with the language's separators and grouping
/// (`-1,234.5`, `-1 234,5`), every given decimal kept. Text that is not a number comes back as
/// it is.
pub fn number(lang: Lang, plain: &str) -> String {
    match plain.parse::<Decimal>() {
        Ok(d) => with(lang, |f| f.decimal.format(&d).to_string()),
        Err(_) => plain.to_string(),
    }
}

/// An amount of a currency as the language writes it: `€1,234.50`, `1 234,50 €`. `decimals` are
/// all shown (per-minute rates keep their four), rounded by the one rule of `crate::money`. An
/// unknown or malformed code is written after the number, as CLDR does for codes it has no
/// symbol for.
pub fn money(lang: Lang, amount: Money, decimals: u32, currency: &str) -> String {
    let plain = amount.format(decimals);
    let negative = plain.starts_with('-');
    let digits = number(lang, plain.trim_start_matches('-'));
    let affixes = currency_affixes(lang, currency);
    let (before, after) = if negative {
        &affixes.negative
    } else {
        &affixes.positive
    };
    format!("{before}{digits}{after}")
}

/// What CLDR writes around a currency's number, for positive and negative amounts.
#[derive(Clone, Debug)]
struct Affixes {
    positive: (String, String),
    negative: (String, String),
}

/// Read from CLDR by formatting one unit and minus one unit of the currency, and taking what
/// surrounds the number: the currency formatter itself rounds to the currency's minor unit, which
/// would turn a rate of 0.0184 into 0.02, so the number is formatted apart.
fn currency_affixes(lang: Lang, currency: &str) -> Affixes {
    static CACHE: OnceLock<Mutex<HashMap<(&'static str, String), Affixes>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key = (lang.code(), currency.to_string());
    if let Some(a) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return a;
    }
    let fallback = Affixes {
        positive: (String::new(), format!("\u{a0}{currency}")),
        negative: ("-".to_string(), format!("\u{a0}{currency}")),
    };
    let affixes = CurrencyType::try_from_str(currency)
        .ok()
        .and_then(|code| {
            CurrencyFormatter::try_new_symbol((&cldr_locale(lang)).into(), code, Default::default())
                .ok()
        })
        .and_then(|f| {
            let one = |text: &str| -> Option<(String, String)> {
                let written = f.format_fixed_decimal(&text.parse().ok()?).to_string();
                // The number as the currency writes it: 1, 1.00, 1,00 (its own decimals).
                let unit = written
                    .chars()
                    .skip_while(|c| !c.is_ascii_digit())
                    .take_while(|c| c.is_ascii_digit() || !c.is_alphabetic() && !c.is_whitespace())
                    .collect::<String>();
                let unit = unit.trim_end_matches(|c: char| !c.is_ascii_digit());
                let at = written.find(unit)?;
                Some((
                    written[..at].to_string(),
                    written[at + unit.len()..].to_string(),
                ))
            };
            Some(Affixes {
                positive: one("1")?,
                negative: one("-1")?,
            })
        })
        .unwrap_or(fallback);
    if let Ok(mut c) = cache.lock() {
        c.insert(key, affixes.clone());
    }
    affixes
}

fn icu_date(d: NaiveDate) -> Option<Date<Gregorian>> {
    Date::try_new_gregorian(d.year(), d.month() as u8, d.day() as u8).ok()
}

/// The local day of an instant: `Dec 5, 2026`, `5 дек. 2026 г.`.
pub fn date(lang: Lang, at: i64, tz: Tz) -> String {
    day(lang, period::local_date(at, tz))
}

/// A calendar day: `Dec 5, 2026`, `5 дек. 2026 г.`.
pub fn day(lang: Lang, d: NaiveDate) -> String {
    match icu_date(d) {
        Some(date) => with(lang, |f| f.date.format(&date).to_string()),
        None => d.to_string(),
    }
}

/// The month of a day: `Dec 2026`, `дек. 2026 г.`.
pub fn month(lang: Lang, d: NaiveDate) -> String {
    match icu_date(d) {
        Some(date) => with(lang, |f| f.month.format(&date).to_string()),
        None => d.format("%Y-%m").to_string(),
    }
}

/// An instant in the subscriber's zone, to the minute: `Dec 5, 2026, 2:30 PM`,
/// `5 дек. 2026 г., 14:30`.
pub fn date_time(lang: Lang, at: i64, tz: Tz) -> String {
    local_date_time(lang, period::local_date_time(at, tz))
}

/// A local date and time, to the minute.
pub fn local_date_time(lang: Lang, t: NaiveDateTime) -> String {
    let time = Time::try_new(t.hour() as u8, t.minute() as u8, t.second() as u8, 0);
    match (icu_date(t.date()), time) {
        (Some(date), Ok(time)) => with(lang, |f| {
            f.date_time.format(&IcuDateTime { date, time }).to_string()
        }),
        _ => t.to_string(),
    }
}

/// Local time written as the XML has it (`2026-12-05 14:30:00`, or a day `2026-12-05`) in the
/// language's way; other text comes back as it is. For values that reach a page or a PDF
/// already as text (an export's cells).
pub fn local_text(lang: Lang, text: &str) -> String {
    let t = text.trim();
    if let Ok(dt) = NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S") {
        local_date_time(lang, dt)
    } else if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        day(lang, d)
    } else {
        text.to_string()
    }
}

/// A country's name in the language, by its ISO 3166 alpha-2 code (either case).
pub fn country(lang: Lang, iso2: &str) -> Option<String> {
    let region = Region::try_from_str(iso2).ok()?;
    with(lang, |f| f.regions.of(region).map(str::to_string))
}

/// A destination's stored name with its country in the language: a name that begins with its
/// country's English name (`Germany`, `Germany Mobile`, `United Kingdom - Fixed`) gets the
/// country's CLDR name instead (`Германия`, `Германия, мобильные`); any other name (`Satellite`,
/// an operator's own wording) is shown as stored.
pub fn destination(lang: Lang, name: &str, iso2: &str) -> String {
    // Stored names are English: in English the operator's own spelling stays ("Aland
    // Islands", not CLDR's "Åland Islands"), as in the XML, JSON and CSV.
    if lang == Lang::En {
        return name.to_string();
    }
    let Some(local) = country(lang, iso2) else {
        return name.to_string();
    };
    let english = [
        countries::of_iso2(iso2).map(|c| c.name.clone()),
        country(Lang::En, iso2),
    ];
    for en in english.into_iter().flatten() {
        if let Some(rest) = strip_prefix_ignore_case(name, &en) {
            if rest.is_empty() || rest.starts_with([' ', '-', ',', '(', '/']) {
                return format!("{local}{}", kind(lang, rest));
            }
        }
    }
    name.to_string()
}

/// What follows the country in a destination's name: a kind of number the portal names
/// (`Mobile`, `Fixed`) in the language, anything else (a city) as stored.
fn kind(lang: Lang, rest: &str) -> String {
    let word = rest.trim_start_matches([' ', '-', ',']);
    match lang.lookup(&format!("destination.kind.{word}")) {
        Some(local) if local != word => format!(", {local}"),
        _ => rest.to_string(),
    }
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

/// The ISO codes (lower case) of the countries whose name, in English (the table's or CLDR's) or
/// in Russian (CLDR's), contains `query`, ignoring case: a search typed in either language
/// finds a country by its code. Empty for a blank query.
pub fn countries_named(query: &str) -> Vec<&'static str> {
    let q = query.trim().to_lowercase();
    if q.is_empty() {
        return Vec::new();
    }
    country_names()
        .iter()
        .filter(|(_, names)| names.iter().any(|n| n.contains(&q)))
        .map(|(iso, _)| *iso)
        .collect()
}

/// Every country of the table with its names in lower case, built once.
fn country_names() -> &'static [(&'static str, Vec<String>)] {
    static NAMES: OnceLock<Vec<(&'static str, Vec<String>)>> = OnceLock::new();
    NAMES.get_or_init(|| {
        countries::all()
            .iter()
            .map(|c| {
                let mut names = vec![c.name.to_lowercase()];
                for lang in Lang::ALL {
                    if let Some(n) = country(lang, &c.iso2) {
                        names.push(n.to_lowercase());
                    }
                }
                names.dedup();
                (c.iso2.as_str(), names)
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NBSP: char = '\u{a0}';

    #[test]
    fn names_sort_in_the_language_s_alphabetical_order() {
        fn sorted<'a>(lang: Lang, words: &[&'a str]) -> Vec<&'a str> {
            let mut v = words.to_vec();
            v.sort_by_cached_key(|w| sort_key(lang, w));
            v
        }
        // Code points put Ё after Я and every capital before every small letter.
        assert_eq!(
            sorted(Lang::Ru, &["Япония", "Ёлкино", "египет", "Жуковка", "Ель"]),
            ["египет", "Ёлкино", "Ель", "Жуковка", "Япония"]
        );
        assert_eq!(
            sorted(Lang::En, &["Zambia", "Åland Islands", "albania", "Chad"]),
            // By letters first: "Åland" (a-l-a) before "albania" (a-l-b).
            ["Åland Islands", "albania", "Chad", "Zambia"]
        );
    }

    #[test]
    fn money_is_written_as_cldr_says() {
        let m = Money(1_234_500_000);
        assert_eq!(money(Lang::En, m, 2, "EUR"), "€1,234.50");
        assert_eq!(money(Lang::En, m, 2, "USD"), "$1,234.50");
        assert_eq!(money(Lang::En, -m, 2, "USD"), "-$1,234.50");
        // Russian groups with a no-break space and puts the symbol after a no-break space.
        assert_eq!(
            money(Lang::Ru, m, 2, "EUR").replace(NBSP, " "),
            "1 234,50 €"
        );
        assert_eq!(money(Lang::Ru, Money(25_500_000), 2, "EUR"), "25,50\u{a0}€");
        assert_eq!(
            money(Lang::Ru, -m, 2, "RUB").replace(NBSP, " "),
            "-1 234,50 ₽"
        );
        assert_eq!(
            money(Lang::Ru, Money(-12_000_000), 2, "USD"),
            "-12,00\u{a0}$"
        );
        // Rates keep their four decimals; an unknown code follows the number.
        assert_eq!(money(Lang::Ru, Money(18_400), 4, "EUR"), "0,0184\u{a0}€");
        assert_eq!(money(Lang::En, Money(18_400), 4, "EUR"), "€0.0184");
        assert!(money(Lang::En, m, 2, "XQZ").contains("1,234.50"));
        assert!(money(Lang::En, m, 2, "??").ends_with("\u{a0}??"));
    }

    #[test]
    fn numbers_keep_their_decimals() {
        assert_eq!(number(Lang::En, "-1234.50"), "-1,234.50");
        assert_eq!(number(Lang::Ru, "-1234.50").replace(NBSP, " "), "-1 234,50");
        assert_eq!(number(Lang::Ru, "12.5"), "12,5");
        assert_eq!(number(Lang::En, "n/a"), "n/a");
    }

    /// CLDR's no-break spaces (U+00A0, and U+202F in dates) as plain ones, to compare.
    fn plain(s: String) -> String {
        s.replace([NBSP, '\u{202f}'], " ")
    }

    #[test]
    fn dates_are_written_in_the_language() {
        let riga: Tz = "Europe/Riga".parse().unwrap();
        // 2025-12-05 14:30 UTC, 16:30 in Riga.
        let at = 1_764_945_000;
        assert_eq!(plain(date(Lang::En, at, riga)), "Dec 5, 2025");
        assert_eq!(plain(date(Lang::Ru, at, riga)), "5 дек. 2025 г.");
        assert_eq!(plain(date_time(Lang::En, at, riga)), "Dec 5, 2025, 4:30 PM");
        assert_eq!(
            plain(date_time(Lang::Ru, at, riga)),
            "5 дек. 2025 г., 16:30"
        );
        assert_eq!(
            plain(local_text(Lang::Ru, "2025-12-05 16:30:00")),
            "5 дек. 2025 г., 16:30"
        );
        assert_eq!(plain(local_text(Lang::Ru, "2025-12-05")), "5 дек. 2025 г.");
        assert_eq!(local_text(Lang::Ru, "soon"), "soon");
        let dec = NaiveDate::from_ymd_opt(2025, 12, 5).unwrap();
        assert_eq!(plain(month(Lang::En, dec)), "Dec 2025");
        assert_eq!(plain(month(Lang::Ru, dec)), "дек. 2025 г.");
    }

    #[test]
    fn countries_have_their_names_in_each_language() {
        assert_eq!(country(Lang::Ru, "de").as_deref(), Some("Германия"));
        assert_eq!(country(Lang::En, "DE").as_deref(), Some("Germany"));
        assert_eq!(country(Lang::Ru, "zz1"), None);
        assert_eq!(destination(Lang::Ru, "Germany", "de"), "Германия");
        assert_eq!(
            destination(Lang::Ru, "Germany Mobile", "de"),
            "Германия, мобильные"
        );
        assert_eq!(
            destination(Lang::En, "Germany Mobile", "de"),
            "Germany Mobile"
        );
        assert_eq!(
            destination(Lang::Ru, "United Kingdom - Fixed", "gb"),
            "Великобритания, стационарные"
        );
        assert_eq!(
            destination(Lang::Ru, "Germany Berlin", "DE"),
            "Германия Berlin"
        );
        assert_eq!(destination(Lang::Ru, "Satellite", "de"), "Satellite");
        assert_eq!(
            destination(Lang::En, "Aland Islands", "ax"),
            "Aland Islands"
        );
        assert_eq!(
            destination(Lang::Ru, "Aland Islands", "ax"),
            "Аландские о-ва"
        );
        assert_eq!(destination(Lang::Ru, "Germanyland", "de"), "Germanyland");
        assert_eq!(destination(Lang::Ru, "Germany", ""), "Germany");
    }

    #[test]
    fn countries_are_found_by_name_in_either_language() {
        assert_eq!(countries_named("Германия"), vec!["de"]);
        assert_eq!(countries_named("germany"), vec!["de"]);
        assert_eq!(countries_named("  ГЕРМ "), vec!["de"]);
        assert!(countries_named("").is_empty());
        assert!(countries_named("qqqq").is_empty());
    }
}
