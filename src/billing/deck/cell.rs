//! A deck's cells: amounts (decimal point, or a decimal comma in decks not delimited by
//! commas), seconds and `X/Y` intervals, and dates in the orders carriers write them.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

use crate::money::Money;

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

/// An amount of a deck: with `decimal_comma` (decks delimited by `;` or tabs) `0,0125` is read
/// as `0.0125`; an amount with both a comma and a point is refused (a thousands separator is
/// never guessed).
pub fn amount(s: &str, decimal_comma: bool) -> Result<Money, String> {
    if s.contains(',') {
        if !decimal_comma {
            return Err(format!(
                "{s:?} is not an amount like 0.0125 (a decimal comma is read only in decks delimited by semicolons or tabs)"
            ));
        }
        if s.contains('.') || s.matches(',').count() > 1 {
            return Err(format!(
                "{s:?} is not an amount like 0,0125 (no thousands separators)"
            ));
        }
        return parse_amount(&s.replace(',', "."))
            .map_err(|_| format!("{s:?} is not an amount like 0,0125"));
    }
    parse_amount(s)
}

/// Whole seconds in `range`; `empty` when the cell is empty.
pub fn seconds(
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

/// `X/Y` (initial interval X, then increments of Y), or a single `N` meaning `N/N`.
pub fn interval(s: &str) -> Result<(i64, i64), String> {
    let (x, y) = s.split_once('/').unwrap_or((s, s));
    let x = seconds("initial interval", x.trim(), 0, 0..=3600)
        .map_err(|e| format!("interval {s:?}: {e}"))?;
    let y =
        seconds("increment", y.trim(), 1, 1..=3600).map_err(|e| format!("interval {s:?}: {e}"))?;
    Ok((x, y))
}

/// The order of day, month and year in a deck's dates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DateOrder {
    /// 31/12/2024
    Dmy,
    /// 12/31/2024
    Mdy,
    /// 2024/12/31
    Ymd,
}

/// A date (and optional time, `HH:MM[:SS]`) as UTC epoch seconds; empty = 0 ("always"). The
/// error says why, without the cell (the caller names the column).
/// Year-first dates (`2024-03-01`, `2024/03/01`, `20240301`) and dates with a month's name
/// (`01-Mar-2024`, `1 Mar 2024`) need nothing; `03/04/2024` needs `order` unless the day is
/// past 12.
pub fn date(s: &str, order: Option<DateOrder>) -> Result<i64, String> {
    if s.is_empty() {
        return Ok(0);
    }
    // A month's name: 01-Mar-2024, 1 Mar 2024.
    for f in ["%d-%b-%Y", "%d %b %Y", "%d-%B-%Y", "%d %B %Y"] {
        if let Ok(d) = NaiveDate::parse_from_str(s, f) {
            return Ok(d.and_time(NaiveTime::MIN).and_utc().timestamp());
        }
    }
    let (day, time) = match s.split_once([' ', 'T']) {
        Some((d, t)) => (d.trim(), Some(t.trim())),
        None => (s, None),
    };
    let time = match time {
        None | Some("") => NaiveTime::MIN,
        Some(t) => NaiveTime::parse_from_str(t, "%H:%M:%S")
            .or_else(|_| NaiveTime::parse_from_str(t, "%H:%M"))
            .map_err(|_| "the time is not HH:MM:SS".to_string())?,
    };
    let d = numeric_date(day, order)?;
    Ok(NaiveDateTime::new(d, time).and_utc().timestamp())
}

fn numeric_date(s: &str, order: Option<DateOrder>) -> Result<NaiveDate, String> {
    let like = "not a date like 2024-03-01";
    if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        return NaiveDate::parse_from_str(s, "%Y%m%d").map_err(|_| like.to_string());
    }
    let parts: Vec<&str> = s.split(['-', '/', '.']).collect();
    if parts.len() != 3
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(like.to_string());
    }
    let n = |p: &str| p.parse::<u32>().map_err(|_| like.to_string());
    let ymd = |y: &str, m: &str, d: &str| -> Result<NaiveDate, String> {
        if y.len() != 4 {
            return Err(format!("{like} (the year has 4 digits)"));
        }
        NaiveDate::from_ymd_opt(n(y)? as i32, n(m)?, n(d)?).ok_or_else(|| "no such day".to_string())
    };
    if parts[0].len() == 4 {
        return ymd(parts[0], parts[1], parts[2]);
    }
    let (a, b) = (n(parts[0])?, n(parts[1])?);
    let order = match order {
        Some(DateOrder::Ymd) => return Err(format!("{like}: the year is not first, as --date-order ymd says")),
        Some(o) => o,
        None if a > 12 && b <= 12 => DateOrder::Dmy,
        None if b > 12 && a <= 12 => DateOrder::Mdy,
        None => {
            return Err(
                "day and month could be either way round: give the deck's date order with --date-order dmy or --date-order mdy"
                    .to_string(),
            )
        }
    };
    match order {
        DateOrder::Dmy => ymd(parts[2], parts[1], parts[0]),
        _ => ymd(parts[2], parts[0], parts[1]),
    }
    .map_err(|e| {
        format!(
            "{e} (read as {})",
            if order == DateOrder::Dmy {
                "day/month/year"
            } else {
                "month/day/year"
            }
        )
    })
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
    fn a_decimal_comma_is_read_only_where_commas_do_not_delimit() {
        assert_eq!(amount("0,0125", true), Ok(Money(12_500)));
        assert_eq!(amount("0.0125", true), Ok(Money(12_500)));
        assert!(amount("0,0125", false).is_err());
        assert!(amount("1.000,50", true).is_err());
        assert!(amount("1,000,50", true).is_err());
    }

    #[test]
    fn intervals_are_initial_then_increment() {
        assert_eq!(interval("60/60"), Ok((60, 60)));
        assert_eq!(interval("30/6"), Ok((30, 6)));
        assert_eq!(interval("1/1"), Ok((1, 1)));
        assert_eq!(interval("60"), Ok((60, 60)));
        assert_eq!(interval("0/1"), Ok((0, 1)));
        assert!(interval("60/0").is_err());
        assert!(interval("1/2/3").is_err());
        assert!(interval("a/b").is_err());
    }

    #[test]
    fn dates_need_an_order_only_when_ambiguous() {
        let day = |y, m, d| {
            NaiveDate::from_ymd_opt(y, m, d)
                .unwrap()
                .and_time(NaiveTime::MIN)
                .and_utc()
                .timestamp()
        };
        assert_eq!(date("", None), Ok(0));
        assert_eq!(date("2024-03-04", None), Ok(day(2024, 3, 4)));
        assert_eq!(date("2024/03/04", None), Ok(day(2024, 3, 4)));
        assert_eq!(date("20240304", None), Ok(day(2024, 3, 4)));
        assert_eq!(
            date("2024-03-04 12:00:00", None),
            Ok(day(2024, 3, 4) + 43_200)
        );
        assert_eq!(date("04-Mar-2024", None), Ok(day(2024, 3, 4)));
        assert_eq!(date("25/03/2024", None), Ok(day(2024, 3, 25)));
        assert_eq!(date("03/25/2024", None), Ok(day(2024, 3, 25)));
        let e = date("03/04/2024", None).unwrap_err();
        assert!(e.contains("--date-order"), "{e}");
        assert_eq!(
            date("03/04/2024", Some(DateOrder::Dmy)),
            Ok(day(2024, 4, 3))
        );
        assert_eq!(
            date("03.04.2024", Some(DateOrder::Dmy)),
            Ok(day(2024, 4, 3))
        );
        assert_eq!(
            date("03/04/2024", Some(DateOrder::Mdy)),
            Ok(day(2024, 3, 4))
        );
        assert!(date("25/03/2024", Some(DateOrder::Mdy)).is_err());
        assert!(date("03/04/24", Some(DateOrder::Dmy)).is_err());
        assert!(date("yesterday", None).is_err());
    }
}
