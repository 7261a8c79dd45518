//! A billing month: a calendar month as the subscriber lives it, in their time zone.
//!
//! Operators bill in the subscriber's calendar, so the month of an invoice starts at the local
//! midnight of its 1st and ends at the last second before the next month's local midnight, as
//! UTC epoch seconds: a Moscow subscriber's October is 2024-09-30 21:00:00 UTC to 2024-10-31
//! 20:59:59 UTC. A month can be an hour longer or shorter than its days (a DST change), and its
//! bounds are whatever the zone's rules say at those midnights (chrono-tz, never a fixed offset):
//! a midnight that a DST change skips starts the day at its first local time that exists.

use chrono::{Datelike, NaiveDate};
use chrono_tz::Tz;

use crate::time;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    first: NaiveDate,
}

impl Month {
    /// Parses `YYYY-MM`.
    pub fn parse(s: &str) -> Result<Month, String> {
        let bad = || format!("period {s:?} is not a month like 2024-03");
        let (y, m) = s.trim().split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        let y: i32 = y.parse().map_err(|_| bad())?;
        let m: u32 = m.parse().map_err(|_| bad())?;
        NaiveDate::from_ymd_opt(y, m, 1)
            .map(|first| Month { first })
            .ok_or_else(bad)
    }

    /// The local month the instant `at` falls in.
    pub fn of(at: i64, tz: Tz) -> Month {
        let day = crate::period::local_date(at, tz);
        Month {
            first: day.with_day(1).unwrap_or(day),
        }
    }

    /// The month `k` months before this one.
    pub fn before(self, k: u32) -> Month {
        Month {
            first: self.first - chrono::Months::new(k),
        }
    }

    /// The month after this one.
    pub fn next(self) -> Month {
        Month {
            first: self.first + chrono::Months::new(1),
        }
    }

    /// The first instant of the month in `tz` and its last second (UTC epoch seconds): the next
    /// month starts one second after the end, so consecutive months share no call and miss none.
    pub fn bounds(self, tz: Tz) -> (i64, i64) {
        (
            time::local_midnight(self.first, tz),
            time::local_midnight(self.next().first, tz) - 1,
        )
    }

    pub fn year(self) -> i32 {
        self.first.year()
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.first.format("%Y-%m"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::period::local_date;
    use crate::time::format_instant;

    fn utc(s: &str) -> i64 {
        chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
            .unwrap()
            .and_utc()
            .timestamp()
    }

    fn month(s: &str) -> Month {
        Month::parse(s).unwrap()
    }

    #[test]
    fn months_parse_and_print_as_year_and_month() {
        assert_eq!(month("2024-02").to_string(), "2024-02");
        assert_eq!(month(" 2024-12 ").next().to_string(), "2025-01");
        assert_eq!(month("2024-02").before(3).to_string(), "2023-11");
        for bad in [
            "2024-13", "2024-2", "24-02", "2024/02", "", "2024-00", "march",
        ] {
            assert!(Month::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_month_is_the_subscribers_calendar_month() {
        // UTC: the calendar month itself (a leap February).
        assert_eq!(
            month("2024-02").bounds(Tz::UTC),
            (utc("2024-02-01 00:00:00"), utc("2024-02-29 23:59:59"))
        );
        // Moscow, UTC+3 all year.
        let moscow = chrono_tz::Europe::Moscow;
        assert_eq!(
            month("2024-10").bounds(moscow),
            (utc("2024-09-30 21:00:00"), utc("2024-10-31 20:59:59"))
        );
        // New York leaves summer time on 2024-11-03: November starts at UTC−4, ends at UTC−5,
        // and has 30 days and one hour.
        let ny = chrono_tz::America::New_York;
        let (start, end) = month("2024-11").bounds(ny);
        assert_eq!(
            (start, end),
            (utc("2024-11-01 04:00:00"), utc("2024-12-01 04:59:59"))
        );
        assert_eq!(end + 1 - start, 30 * 86_400 + 3600);
        assert_eq!(format_instant(end, ny), "2024-11-30 23:59:59");
        // A half-hour zone: Kolkata, UTC+5:30.
        assert_eq!(
            month("2024-05").bounds(chrono_tz::Asia::Kolkata),
            (utc("2024-04-30 18:30:00"), utc("2024-05-31 18:29:59"))
        );
        // Paraguay moved to summer time at midnight on 2023-10-01: October starts at 01:00 local,
        // the moment September's last second (23:59:59, UTC−4) is over.
        let asuncion = chrono_tz::America::Asuncion;
        let (start, _) = month("2023-10").bounds(asuncion);
        assert_eq!(start, utc("2023-10-01 04:00:00"));
        assert_eq!(format_instant(start, asuncion), "2023-10-01 01:00:00");
        assert_eq!(month("2023-09").bounds(asuncion).1, start - 1);
        assert_eq!(format_instant(start - 1, asuncion), "2023-09-30 23:59:59");
    }

    #[test]
    fn every_instant_belongs_to_the_month_of_its_local_date() {
        // Zones with DST changes at or near midnight, half- and quarter-hour offsets, and a day
        // that never happened (Samoa skipped 2011-12-30).
        for tz in [
            chrono_tz::Europe::Moscow,
            chrono_tz::America::New_York,
            chrono_tz::America::Asuncion,
            chrono_tz::America::Santiago,
            chrono_tz::America::Havana,
            chrono_tz::Asia::Tehran,
            chrono_tz::Asia::Kolkata,
            chrono_tz::Asia::Kathmandu,
            chrono_tz::Australia::Lord_Howe,
            chrono_tz::Pacific::Chatham,
            chrono_tz::Pacific::Apia,
            chrono_tz::Pacific::Kiritimati,
        ] {
            let mut m = month("1990-01");
            while m < month("2036-01") {
                let (start, end) = m.bounds(tz);
                let next = m.next().bounds(tz).0;
                assert_eq!(end + 1, next, "{tz} {m}: months must meet");
                assert_eq!(Month::of(start, tz), m, "{tz} {m}: first instant");
                assert_eq!(Month::of(end, tz), m, "{tz} {m}: last second");
                assert_eq!(Month::of(start - 1, tz), m.before(1), "{tz} {m}: before");
                assert_eq!(local_date(start, tz).day(), 1, "{tz} {m}");
                m = m.next();
            }
        }
    }
}
