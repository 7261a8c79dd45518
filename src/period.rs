//! A period a subscriber asks for, parsed once at the edge.
//!
//! Subscribers think in their own calendar, so a period is typed in the subscriber's time zone
//! (`YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS`; `HH:MM` and a `T` separator are accepted as well) and
//! turned here into the UTC instants the database stores. A date alone means the whole day: as a
//! start, its first second; as an end, its last. The instants form a half-open range
//! `[from, until)`, so consecutive periods never share a call and `until - from` is the length.
//! Both the typed local times and the instants are kept: pages echo the former, queries use the
//! latter.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use chrono_tz::Tz;
use serde::Serialize;

/// The accepted calendar: the database's instants are non-negative epoch seconds.
const FIRST_YEAR: i32 = 1970;
const LAST_YEAR: i32 = 9999;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Period {
    start: NaiveDateTime,
    end: NaiveDateTime,
    from: i64,
    until: i64,
}

/// Why a period was refused; `message` is the text shown to the subscriber.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum PeriodError {
    BadStart(String),
    BadEnd(String),
    EndBeforeStart,
}

impl PeriodError {
    pub fn message(&self) -> String {
        match self {
            PeriodError::BadStart(v) => format!(
                "The period start {v:?} is not a date: use YYYY-MM-DD or YYYY-MM-DD HH:MM:SS \
                 ({FIRST_YEAR} to {LAST_YEAR})"
            ),
            PeriodError::BadEnd(v) => format!(
                "The period end {v:?} is not a date: use YYYY-MM-DD or YYYY-MM-DD HH:MM:SS \
                 ({FIRST_YEAR} to {LAST_YEAR})"
            ),
            PeriodError::EndBeforeStart => "The period ends before it starts".to_string(),
        }
    }
}

impl std::fmt::Display for PeriodError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

/// One side of a period as typed: a whole day, or a second.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bound {
    Day(NaiveDate),
    At(NaiveDateTime),
}

fn parse_bound(text: &str) -> Option<Bound> {
    let t = text.trim();
    let bound = if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        // `%Y` also takes five-digit and signed years; the length check keeps `YYYY`.
        (t.len() == 10).then_some(Bound::Day(d))?
    } else {
        let t = t.replacen('T', " ", 1);
        let at = NaiveDateTime::parse_from_str(&t, "%Y-%m-%d %H:%M:%S")
            .or_else(|_| NaiveDateTime::parse_from_str(&t, "%Y-%m-%d %H:%M"))
            .ok()?;
        (t.len() == 19 || t.len() == 16).then_some(Bound::At(at))?
    };
    let year = match bound {
        Bound::Day(d) => d.year(),
        Bound::At(t) => t.year(),
    };
    (FIRST_YEAR..=LAST_YEAR).contains(&year).then_some(bound)
}

/// The UTC instant of a local time; a time skipped by a DST change moves forward to the
/// first local time that exists, an ambiguous one takes its earlier instant.
fn instant(local: NaiveDateTime, tz: Tz) -> i64 {
    let mut t = local;
    for _ in 0..8 {
        if let Some(dt) = tz.from_local_datetime(&t).earliest() {
            return dt.timestamp();
        }
        t += Duration::minutes(15);
    }
    tz.from_utc_datetime(&local).timestamp()
}

fn last_second(day: NaiveDate) -> NaiveDateTime {
    day.and_time(NaiveTime::from_hms_opt(23, 59, 59).unwrap_or_default())
}

fn first_of_month(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

fn last_of_month(day: NaiveDate) -> NaiveDate {
    let first = first_of_month(day);
    (first + chrono::Months::new(1)).pred_opt().unwrap_or(first)
}

/// The local calendar day of an instant.
pub fn local_date(at: i64, tz: Tz) -> NaiveDate {
    chrono::DateTime::from_timestamp(at, 0)
        .unwrap_or_default()
        .with_timezone(&tz)
        .date_naive()
}

impl Period {
    /// Whole local days `first..=last`.
    pub fn days(first: NaiveDate, last: NaiveDate, tz: Tz) -> Period {
        Period::build(first.and_time(NaiveTime::MIN), last_second(last), tz)
    }

    /// The local calendar month around the instant `now`, first to last day.
    pub fn month_of(now: i64, tz: Tz) -> Period {
        let today = local_date(now, tz);
        Period::days(first_of_month(today), last_of_month(today), tz)
    }

    fn build(start: NaiveDateTime, end: NaiveDateTime, tz: Tz) -> Period {
        Period {
            start,
            end,
            from: instant(start, tz),
            until: instant(end, tz) + 1,
        }
    }

    /// A period from the subscriber's two fields. Empty or absent fields take the defaults:
    /// neither given is the current month; no start is the first of the end's month; no end is
    /// the end of the current month (or of the start's month, when that is later).
    pub fn parse(
        start: Option<&str>,
        end: Option<&str>,
        tz: Tz,
        now: i64,
    ) -> Result<Period, PeriodError> {
        fn given(s: Option<&str>) -> Option<&str> {
            s.map(str::trim).filter(|s| !s.is_empty())
        }
        let start = given(start)
            .map(|s| parse_bound(s).ok_or_else(|| PeriodError::BadStart(s.to_string())))
            .transpose()?;
        let end = given(end)
            .map(|s| parse_bound(s).ok_or_else(|| PeriodError::BadEnd(s.to_string())))
            .transpose()?;
        let today = local_date(now, tz);
        let start = match (start, end) {
            (Some(Bound::Day(d)), _) => d.and_time(NaiveTime::MIN),
            (Some(Bound::At(t)), _) => t,
            (None, Some(Bound::Day(d))) => first_of_month(d).and_time(NaiveTime::MIN),
            (None, Some(Bound::At(t))) => first_of_month(t.date()).and_time(NaiveTime::MIN),
            (None, None) => first_of_month(today).and_time(NaiveTime::MIN),
        };
        let end = match end {
            Some(Bound::Day(d)) => last_second(d),
            Some(Bound::At(t)) => t,
            None => last_second(last_of_month(today.max(start.date()))),
        };
        if end < start {
            return Err(PeriodError::EndBeforeStart);
        }
        Ok(Period::build(start, end, tz))
    }

    /// First instant in the period (UTC epoch seconds).
    pub fn from(&self) -> i64 {
        self.from
    }

    /// First instant after the period (UTC epoch seconds).
    pub fn until(&self) -> i64 {
        self.until
    }

    pub fn start_local(&self) -> NaiveDateTime {
        self.start
    }

    pub fn end_local(&self) -> NaiveDateTime {
        self.end
    }

    pub fn first_day(&self) -> NaiveDate {
        self.start.date()
    }

    pub fn last_day(&self) -> NaiveDate {
        self.end.date()
    }

    /// Local calendar days the period touches.
    pub fn day_count(&self) -> i64 {
        (self.last_day() - self.first_day()).num_days() + 1
    }

    /// `YYYY-MM-DD HH:MM:SS`, the XML contract's form.
    pub fn start_text(&self) -> String {
        self.start.format("%Y-%m-%d %H:%M:%S").to_string()
    }

    pub fn end_text(&self) -> String {
        self.end.format("%Y-%m-%d %H:%M:%S").to_string()
    }

    /// The shortest text that parses back to the same start: the date alone at midnight.
    pub fn start_param(&self) -> String {
        if self.start.time() == NaiveTime::MIN {
            self.start.date().to_string()
        } else {
            self.start_text()
        }
    }

    /// The shortest text that parses back to the same end: the date alone at 23:59:59.
    pub fn end_param(&self) -> String {
        if self.end == last_second(self.end.date()) {
            self.end.date().to_string()
        } else {
            self.end_text()
        }
    }

    /// The start of each local day the period touches, from the first day's midnight to the
    /// midnight after the last day: `days + 1` instants. A day is `[b[i], b[i+1])`.
    pub fn day_bounds(&self, tz: Tz) -> Vec<(NaiveDate, i64)> {
        let mut out = Vec::with_capacity(self.day_count() as usize + 1);
        let mut d = self.first_day();
        loop {
            out.push((d, instant(d.and_time(NaiveTime::MIN), tz)));
            if d > self.last_day() {
                break;
            }
            d = match d.succ_opt() {
                Some(n) => n,
                None => break,
            };
        }
        out
    }
}

/// A stretch of a period in which the local day of an instant `t` is a simple function of `t`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DaySegment {
    /// First instant (UTC, inclusive).
    pub from: i64,
    /// First instant after (UTC, exclusive).
    pub until: i64,
    pub day: DayOf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DayOf {
    /// Every local day here has 24 hours and one UTC offset: the day of `t` is
    /// `(t + shift) / 86400` days after 1970-01-01 (what SQL can group by).
    Shift(i64),
    /// A day of a DST change (23 or 25 hours): all of the segment is this one day.
    Day(NaiveDate),
}

impl DayOf {
    /// The local date of day number `n` (days after 1970-01-01).
    pub fn date_of(n: i64) -> NaiveDate {
        NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default() + Duration::days(n)
    }
}

impl Period {
    /// Splits the period at the subscriber's DST changes, so that per-day figures can be
    /// grouped in SQL with one integer expression per segment. A zone without DST gives one
    /// segment; a year in a zone with DST gives five (three runs and the two change days).
    pub fn day_segments(&self, tz: Tz) -> Vec<DaySegment> {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
        let bounds = self.day_bounds(tz);
        let mut out: Vec<DaySegment> = Vec::new();
        for pair in bounds.windows(2) {
            let ((day, start), (_, next)) = (pair[0], pair[1]);
            let from = start.max(self.from);
            let until = next.min(self.until);
            if from >= until {
                continue;
            }
            let kind = if next - start == 86_400 {
                DayOf::Shift((day - epoch).num_days() * 86_400 - start)
            } else {
                DayOf::Day(day)
            };
            match out.last_mut() {
                Some(last)
                    if last.until == from
                        && matches!(kind, DayOf::Shift(_))
                        && last.day == kind =>
                {
                    last.until = until
                }
                _ => out.push(DaySegment {
                    from,
                    until,
                    day: kind,
                }),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::format_instant;

    fn utc(s: &str) -> i64 {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
            .unwrap()
            .and_utc()
            .timestamp()
    }

    const LONDON: Tz = chrono_tz::Europe::London;

    #[test]
    fn dates_are_whole_days_in_the_subscribers_zone() {
        let now = utc("2024-07-15 12:00:00");
        let p = Period::parse(Some("2024-07-01"), Some("2024-07-02"), LONDON, now).unwrap();
        // London is UTC+1 in summer.
        assert_eq!(p.from(), utc("2024-06-30 23:00:00"));
        assert_eq!(p.until(), utc("2024-07-02 23:00:00"));
        assert_eq!(p.start_text(), "2024-07-01 00:00:00");
        assert_eq!(p.end_text(), "2024-07-02 23:59:59");
        assert_eq!(
            (p.start_param().as_str(), p.end_param().as_str()),
            ("2024-07-01", "2024-07-02")
        );
        assert_eq!(p.day_count(), 2);
    }

    #[test]
    fn times_are_to_the_second_and_the_end_is_inclusive() {
        let now = utc("2024-07-15 12:00:00");
        let p = Period::parse(
            Some("2024-07-01 05:41:31"),
            Some(" 2024-07-01T08:42 "),
            Tz::UTC,
            now,
        )
        .unwrap();
        assert_eq!(p.from(), utc("2024-07-01 05:41:31"));
        assert_eq!(p.until(), utc("2024-07-01 08:42:00") + 1);
        assert_eq!(p.start_param(), "2024-07-01 05:41:31");
        assert_eq!(p.end_param(), "2024-07-01 08:42:00");
        // What a page prints parses back to the same period.
        let again = Period::parse(Some(&p.start_param()), Some(&p.end_param()), Tz::UTC, now);
        assert_eq!(again, Ok(p));
    }

    #[test]
    fn the_default_is_the_current_local_month() {
        // 2024-03-01 02:00 UTC is still February in New York.
        let now = utc("2024-03-01 02:00:00");
        let ny = chrono_tz::America::New_York;
        let p = Period::parse(None, Some(""), ny, now).unwrap();
        assert_eq!(p.start_text(), "2024-02-01 00:00:00");
        assert_eq!(p.end_text(), "2024-02-29 23:59:59");
        assert_eq!(format_instant(p.from(), ny), "2024-02-01 00:00:00");
        assert_eq!(Period::month_of(now, ny), p);
        // Only a start: until the end of this month; only an end: from the first of its month.
        let p = Period::parse(Some("2024-01-10"), None, ny, now).unwrap();
        assert_eq!(p.end_text(), "2024-02-29 23:59:59");
        let p = Period::parse(Some("2024-05-10"), None, ny, now).unwrap();
        assert_eq!(p.end_text(), "2024-05-31 23:59:59");
        let p = Period::parse(None, Some("2023-12-05"), ny, now).unwrap();
        assert_eq!(p.start_text(), "2023-12-01 00:00:00");
    }

    #[test]
    fn bad_dates_are_refused_with_a_message() {
        let now = utc("2024-07-15 12:00:00");
        for bad in [
            "yesterday",
            "2024-13-01",
            "2024-02-30",
            "2024-7-1x",
            "1969-12-31",
            "12024-01-01",
            "2024-07-01 25:00:00",
            "2024-07-01 10:00:00 extra",
            "<script>",
        ] {
            let e = Period::parse(Some(bad), None, Tz::UTC, now).unwrap_err();
            assert_eq!(e, PeriodError::BadStart(bad.to_string()), "{bad}");
            assert!(e.message().contains("YYYY-MM-DD"));
            let e = Period::parse(None, Some(bad), Tz::UTC, now).unwrap_err();
            assert_eq!(e, PeriodError::BadEnd(bad.to_string()), "{bad}");
        }
        assert_eq!(
            Period::parse(Some("2024-07-02"), Some("2024-07-01"), Tz::UTC, now),
            Err(PeriodError::EndBeforeStart)
        );
        assert_eq!(
            Period::parse(
                Some("2024-07-01 10:00:01"),
                Some("2024-07-01 10:00:00"),
                Tz::UTC,
                now
            ),
            Err(PeriodError::EndBeforeStart)
        );
        // One second is a period.
        assert!(Period::parse(
            Some("2024-07-01 10:00:00"),
            Some("2024-07-01 10:00:00"),
            Tz::UTC,
            now
        )
        .is_ok());
    }

    #[test]
    fn days_across_a_dst_change_have_their_real_length() {
        // London moved to summer time on 2024-03-31: that day has 23 hours.
        let p = Period::days(
            NaiveDate::from_ymd_opt(2024, 3, 30).unwrap(),
            NaiveDate::from_ymd_opt(2024, 3, 31).unwrap(),
            LONDON,
        );
        let b = p.day_bounds(LONDON);
        assert_eq!(b.len(), 3);
        assert_eq!(b[1].1 - b[0].1, 86_400);
        assert_eq!(b[2].1 - b[1].1, 23 * 3600);
        assert_eq!(b[2].1, p.until());
        // A local time inside the gap moves forward to the first that exists.
        let p = Period::parse(
            Some("2024-03-31 01:30:00"),
            None,
            LONDON,
            utc("2024-03-31 12:00:00"),
        )
        .unwrap();
        assert_eq!(p.from(), utc("2024-03-31 01:00:00"));
    }

    #[test]
    fn day_segments_put_every_instant_on_its_local_day() {
        let p = Period::days(
            NaiveDate::from_ymd_opt(2024, 3, 29).unwrap(),
            NaiveDate::from_ymd_opt(2024, 4, 2).unwrap(),
            LONDON,
        );
        let segs = p.day_segments(LONDON);
        assert_eq!(segs.len(), 3, "{segs:?}");
        assert_eq!(segs[0].from, p.from());
        assert_eq!(segs[2].until, p.until());
        assert!(
            matches!(segs[1].day, DayOf::Day(d) if d == NaiveDate::from_ymd_opt(2024, 3, 31).unwrap())
        );
        // Every 10 minutes of the period lands on the day the zone says.
        for seg in &segs {
            let mut t = seg.from;
            while t < seg.until {
                let day = match seg.day {
                    DayOf::Shift(s) => DayOf::date_of((t + s) / 86_400),
                    DayOf::Day(d) => d,
                };
                assert_eq!(day, local_date(t, LONDON), "{}", format_instant(t, Tz::UTC));
                t += 600;
            }
        }
        // Half-hour zones and partial days at the edges.
        let india = chrono_tz::Asia::Kolkata;
        let p = Period::parse(
            Some("2024-01-01 22:00:00"),
            Some("2024-01-03 01:00:00"),
            india,
            0,
        )
        .unwrap();
        let segs = p.day_segments(india);
        assert_eq!(segs.len(), 1);
        assert_eq!((segs[0].from, segs[0].until), (p.from(), p.until()));
        let DayOf::Shift(s) = segs[0].day else {
            panic!()
        };
        assert_eq!(
            DayOf::date_of((p.from() + s) / 86_400).to_string(),
            "2024-01-01"
        );
        assert_eq!(
            DayOf::date_of((p.until() - 1 + s) / 86_400).to_string(),
            "2024-01-03"
        );
    }
}
