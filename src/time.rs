//! Instants are stored as UTC seconds since the epoch and shown in the subscriber's time zone.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

pub fn now() -> i64 {
    Utc::now().timestamp()
}

/// Parses a stored time-zone name; an unknown one falls back to UTC rather than failing a page.
pub fn zone(name: &str) -> Tz {
    name.parse().unwrap_or(Tz::UTC)
}

/// `YYYY-MM-DD HH:MM:SS` in the given zone, the form of the XML contract. (Written out rather
/// than with a `strftime` pattern: exports call it for every row, and parsing the pattern each
/// time was a visible share of a streamed CSV's cost.)
pub fn format_instant(at: i64, tz: Tz) -> String {
    use chrono::Timelike;
    match DateTime::<Utc>::from_timestamp(at, 0) {
        Some(t) => {
            let t = t.with_timezone(&tz);
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
                t.year(),
                t.month(),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            )
        }
        None => String::new(),
    }
}

/// `YYYY-MM-DD`: the local day of an instant (a due date).
pub fn format_date(at: i64, tz: Tz) -> String {
    format_instant(at, tz).chars().take(10).collect()
}

/// A call duration as `HH:MM:SS` (hours may exceed 24).
pub fn format_duration(seconds: i64) -> String {
    let s = seconds.max(0);
    format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

/// How long, as people read it on a call log: `5:07`, `1:05:07`; empty for no time at all
/// (a call not answered).
pub fn short_duration(seconds: i64) -> String {
    let s = seconds.max(0);
    match (s / 3600, (s / 60) % 60, s % 60) {
        (0, 0, 0) => String::new(),
        (0, m, s) => format!("{m}:{s:02}"),
        (h, m, s) => format!("{h}:{m:02}:{s:02}"),
    }
}

/// Start of the local day and of the local month containing `at`, as UTC instants.
pub fn day_and_month_start(at: i64, tz: Tz) -> (i64, i64) {
    let local = DateTime::<Utc>::from_timestamp(at, 0)
        .unwrap_or_default()
        .with_timezone(&tz)
        .date_naive();
    let month = NaiveDate::from_ymd_opt(local.year(), local.month(), 1).unwrap_or(local);
    (local_midnight(local, tz), local_midnight(month, tz))
}

/// The first instant of a local calendar day: a DST gap at midnight moves it forward to the first
/// local time that exists (in quarter hours: gaps are 30 minutes in some zones, and a whole day
/// when a zone crossed the date line).
pub fn local_midnight(date: NaiveDate, tz: Tz) -> i64 {
    let mut t = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    for _ in 0..=26 * 4 {
        if let Some(dt) = tz.from_local_datetime(&t).earliest() {
            return dt.timestamp();
        }
        t += chrono::Duration::minutes(15);
    }
    Utc.from_utc_datetime(&t).timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_durations_drop_what_is_zero() {
        assert_eq!(short_duration(0), "");
        assert_eq!(short_duration(7), "0:07");
        assert_eq!(short_duration(307), "5:07");
        assert_eq!(short_duration(3907), "1:05:07");
    }

    #[test]
    fn instants_are_shown_in_the_zone() {
        let moscow: Tz = "Europe/Moscow".parse().unwrap();
        assert_eq!(format_instant(0, Tz::UTC), "1970-01-01 00:00:00");
        assert_eq!(format_instant(1_735_689_599, moscow), "2025-01-01 02:59:59");
        assert_eq!(format_instant(-86_400, Tz::UTC), "1969-12-31 00:00:00");
    }

    #[test]
    fn durations_are_hours_minutes_seconds() {
        assert_eq!(format_duration(0), "00:00:00");
        assert_eq!(format_duration(1235), "00:20:35");
        assert_eq!(format_duration(360_000), "100:00:00");
    }

    #[test]
    fn day_and_month_follow_the_zone() {
        // 2024-03-01 02:00 UTC is still 29 February in New York.
        let at = Utc
            .with_ymd_and_hms(2024, 3, 1, 2, 0, 0)
            .unwrap()
            .timestamp();
        let ny: Tz = "America/New_York".parse().unwrap();
        let (day, month) = day_and_month_start(at, ny);
        assert_eq!(format_instant(day, ny), "2024-02-29 00:00:00");
        assert_eq!(format_instant(month, ny), "2024-02-01 00:00:00");
        let (day, month) = day_and_month_start(at, Tz::UTC);
        assert_eq!(format_instant(day, Tz::UTC), "2024-03-01 00:00:00");
        assert_eq!(month, day);
    }
}
