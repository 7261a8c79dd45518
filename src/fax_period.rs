//! Periods of the faxes list (the call pages use `crate::period`; the two should become one).
//! A reporting period typed by a subscriber: `period_start` and `period_end` as local dates or
//! date-times in the subscriber's zone, parsed once at the edge into a half-open range of UTC
//! instants. A date alone means the whole day on either side, so `2024-05-01`…`2024-05-31` is
//! all of May.

use chrono::{NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;

use crate::time;

/// `[start, end)` in UTC epoch seconds; never empty, never reversed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    start: i64,
    end: i64,
}

/// Why typed bounds are not a period. The variants name the i18n key of their message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeriodError {
    BadStart(String),
    BadEnd(String),
    EndsBeforeStart,
}

impl PeriodError {
    /// The message in `lang`, with the offending text quoted.
    pub fn message(&self, lang: crate::i18n::Lang) -> String {
        match self {
            PeriodError::BadStart(v) => format!("{}: \"{v}\"", lang.t("period.bad_start")),
            PeriodError::BadEnd(v) => format!("{}: \"{v}\"", lang.t("period.bad_end")),
            PeriodError::EndsBeforeStart => lang.t("period.reversed").to_string(),
        }
    }
}

impl Period {
    /// The last `days` local calendar days, today included: from midnight `days - 1` days ago
    /// to the end of today.
    pub fn last_days(now: i64, tz: Tz, days: u32) -> Period {
        let today = local_date(now, tz);
        let first = today - chrono::Days::new(u64::from(days.max(1)) - 1);
        Period {
            start: time::local_midnight(first, tz),
            end: time::local_midnight(next_day(today), tz),
        }
    }

    /// Parses the typed bounds; an empty or missing bound takes the default's.
    pub fn parse(
        start: Option<&str>,
        end: Option<&str>,
        tz: Tz,
        default: Period,
    ) -> Result<Period, PeriodError> {
        let start = match given(start) {
            None => default.start,
            Some(s) => parse_bound(s, tz, Side::Start)
                .ok_or_else(|| PeriodError::BadStart(s.to_string()))?,
        };
        let end = match given(end) {
            None => default.end,
            Some(s) => {
                parse_bound(s, tz, Side::End).ok_or_else(|| PeriodError::BadEnd(s.to_string()))?
            }
        };
        if end <= start {
            return Err(PeriodError::EndsBeforeStart);
        }
        Ok(Period { start, end })
    }

    /// The first instant of the period.
    pub fn start(&self) -> i64 {
        self.start
    }

    /// The first instant after the period.
    pub fn end(&self) -> i64 {
        self.end
    }

    /// The last whole second of the period, as pages show the end (`… 23:59:59`).
    pub fn last_second(&self) -> i64 {
        self.end - 1
    }
}

/// A bound that was typed: trimmed, not empty.
fn given(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

#[derive(Clone, Copy)]
enum Side {
    Start,
    End,
}

/// `YYYY-MM-DD`, `YYYY-MM-DD HH:MM[:SS]` or the same with a `T` (what a browser's
/// datetime-local field sends). An end date-time includes its own second.
fn parse_bound(s: &str, tz: Tz, side: Side) -> Option<i64> {
    if let Ok(date) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        if !(1900..=9999).contains(&chrono::Datelike::year(&date)) {
            return None;
        }
        return Some(match side {
            Side::Start => time::local_midnight(date, tz),
            Side::End => time::local_midnight(next_day(date), tz),
        });
    }
    let formats = [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ];
    let local = formats
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())?;
    if !(1900..=9999).contains(&chrono::Datelike::year(&local)) {
        return None;
    }
    let at = local_instant(local, tz);
    Some(match side {
        Side::Start => at,
        Side::End => at + 1,
    })
}

/// A local wall-clock time as a UTC instant: the earlier of two in a repeated hour, and the
/// first valid time after a skipped one.
fn local_instant(local: NaiveDateTime, tz: Tz) -> i64 {
    let mut t = local;
    for _ in 0..4 {
        if let Some(dt) = tz.from_local_datetime(&t).earliest() {
            return dt.timestamp();
        }
        t += chrono::Duration::hours(1);
    }
    chrono::Utc.from_utc_datetime(&local).timestamp()
}

fn local_date(at: i64, tz: Tz) -> NaiveDate {
    chrono::DateTime::<chrono::Utc>::from_timestamp(at, 0)
        .unwrap_or_default()
        .with_timezone(&tz)
        .date_naive()
}

fn next_day(d: NaiveDate) -> NaiveDate {
    d.succ_opt().unwrap_or(NaiveDate::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::format_instant;

    fn london() -> Tz {
        "Europe/London".parse().unwrap()
    }

    fn default() -> Period {
        Period { start: 0, end: 10 }
    }

    fn shown(p: Period, tz: Tz) -> (String, String) {
        (
            format_instant(p.start(), tz),
            format_instant(p.last_second(), tz),
        )
    }

    #[test]
    fn dates_cover_whole_local_days() {
        let p = Period::parse(Some("2024-05-01"), Some("2024-05-31"), london(), default()).unwrap();
        assert_eq!(
            shown(p, london()),
            (
                "2024-05-01 00:00:00".to_string(),
                "2024-05-31 23:59:59".to_string()
            )
        );
        // British Summer Time: local midnight is 23:00 UTC the day before.
        assert_eq!(format_instant(p.start(), Tz::UTC), "2024-04-30 23:00:00");
    }

    #[test]
    fn date_times_include_their_last_second() {
        let p = Period::parse(
            Some("2024-05-01 08:30:00"),
            Some("2024-05-01T09:15"),
            Tz::UTC,
            default(),
        )
        .unwrap();
        assert_eq!(p.end() - p.start(), 45 * 60 + 1);
        assert_eq!(
            shown(p, Tz::UTC),
            (
                "2024-05-01 08:30:00".to_string(),
                "2024-05-01 09:15:00".to_string()
            )
        );
    }

    #[test]
    fn missing_bounds_take_the_default() {
        let p = Period::parse(None, Some("  "), Tz::UTC, default()).unwrap();
        assert_eq!(p, default());
        let p = Period::parse(Some("1970-01-01 00:00:05"), None, Tz::UTC, default()).unwrap();
        assert_eq!((p.start(), p.end()), (5, 10));
    }

    #[test]
    fn bad_input_is_named() {
        let bad = [
            ("2024-13-01", "2024-12-01"),
            ("yesterday", ""),
            ("2024-02-30", ""),
            ("2024-05-01 25:00:00", ""),
            ("0001-01-01", ""),
            ("2024-05-01'; DROP", ""),
        ];
        for (s, e) in bad {
            assert_eq!(
                Period::parse(Some(s), Some(e), Tz::UTC, default()),
                Err(PeriodError::BadStart(s.to_string())),
                "{s}"
            );
        }
        assert_eq!(
            Period::parse(Some("2024-01-01"), Some("01/02/2024"), Tz::UTC, default()),
            Err(PeriodError::BadEnd("01/02/2024".to_string()))
        );
    }

    #[test]
    fn a_period_ending_before_it_starts_is_refused() {
        assert_eq!(
            Period::parse(Some("2024-05-02"), Some("2024-05-01"), Tz::UTC, default()),
            Err(PeriodError::EndsBeforeStart)
        );
        assert_eq!(
            Period::parse(
                Some("2024-05-01 10:00:00"),
                Some("2024-05-01 09:59:59"),
                Tz::UTC,
                default()
            ),
            Err(PeriodError::EndsBeforeStart)
        );
        // One second is a period.
        assert!(Period::parse(
            Some("2024-05-01 10:00:00"),
            Some("2024-05-01 10:00:00"),
            Tz::UTC,
            default()
        )
        .is_ok());
    }

    #[test]
    fn last_days_ends_with_today() {
        let at = chrono::Utc
            .with_ymd_and_hms(2024, 3, 31, 12, 0, 0)
            .unwrap()
            .timestamp();
        let p = Period::last_days(at, london(), 30);
        // The clocks went forward on 31 March 2024: the period still starts at local midnight.
        assert_eq!(
            shown(p, london()),
            (
                "2024-03-02 00:00:00".to_string(),
                "2024-03-31 23:59:59".to_string()
            )
        );
    }

    #[test]
    fn a_skipped_local_hour_moves_forward() {
        // 2024-03-31 01:30 does not exist in London.
        let p = Period::parse(
            Some("2024-03-31 01:30:00"),
            Some("2024-03-31 03:00:00"),
            london(),
            default(),
        )
        .unwrap();
        assert_eq!(format_instant(p.start(), london()), "2024-03-31 02:30:00");
    }
}
