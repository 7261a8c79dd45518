//! A period a subscriber asks for, parsed once at the edge.
//!
//! Subscribers think in their own calendar, so a period is typed in the subscriber's time zone
//! (`YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS`; `HH:MM` and a `T` separator are accepted as well) and
//! turned here into the UTC instants the database stores. A date alone means the whole day: as a
//! start, its first second; as an end, its last. The instants form a half-open range
//! `[from, until)`, so consecutive periods never share a call and `until - from` is the length.
//! Both the typed local times and the instants are kept: pages echo the former, queries use the
//! latter. An empty field takes a default that depends on the page (`Span`): the call pages show
//! a calendar month, the faxes the last 30 days.
//!
//! Where the clocks skip an hour (DST), a local time inside the gap does not exist: it reads as
//! the instant the clocks changed, so a later local time never gives an earlier instant.

use chrono::{
    Datelike, Days, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone,
};
use chrono_tz::Tz;

use crate::i18n::Lang;
use crate::input::echo;

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

/// What empty fields stand for: the period a page shows when none is asked for, and the
/// length the missing side of a half-given period is taken from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Span {
    /// Calendar months: nothing given is the current month.
    Month,
    /// Runs of this many days ending with a day: nothing given is today and the days before.
    Days(u32),
}

impl Span {
    /// The first and last day of the span that holds `day`: its calendar month, or the run of
    /// days that ends with it.
    fn around(self, day: NaiveDate) -> (NaiveDate, NaiveDate) {
        match self {
            Span::Month => (first_of_month(day), last_of_month(day)),
            Span::Days(n) => {
                let before = Days::new(u64::from(n.max(1) - 1));
                (day.checked_sub_days(before).unwrap_or(NaiveDate::MIN), day)
            }
        }
    }
}

/// Why a period was refused; `message` is the text shown to the subscriber.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeriodError {
    BadStart(String),
    BadEnd(String),
    EndBeforeStart,
}

impl PeriodError {
    /// The message in `lang`, with the refused text quoted (fit to be shown back).
    pub fn message(&self, lang: Lang) -> String {
        match self {
            PeriodError::BadStart(v) => format!("{}: \"{}\"", lang.t("period.bad_start"), echo(v)),
            PeriodError::BadEnd(v) => format!("{}: \"{}\"", lang.t("period.bad_end"), echo(v)),
            PeriodError::EndBeforeStart => lang.t("period.reversed").to_string(),
        }
    }
}

/// One side of a period as typed: a whole day, or a second (local, or as Unix time: MOR's
/// API clients send `period_start`/`period_end` as epoch seconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bound {
    Day(NaiveDate),
    At(NaiveDateTime),
}

impl Bound {
    fn date(self) -> NaiveDate {
        match self {
            Bound::Day(d) => d,
            Bound::At(t) => t.date(),
        }
    }
}

fn parse_bound(text: &str, tz: Tz) -> Option<Bound> {
    let t = text.trim();
    let bound = if !t.is_empty() && t.len() <= 12 && t.bytes().all(|b| b.is_ascii_digit()) {
        // Epoch seconds, read as the subscriber's local time of that instant.
        let at = chrono::DateTime::from_timestamp(t.parse().ok()?, 0)?;
        Bound::At(at.with_timezone(&tz).naive_local())
    } else if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        // `%Y` also takes five-digit and signed years; the length check keeps `YYYY`.
        (t.len() == 10).then_some(Bound::Day(d))?
    } else {
        let t = t.replacen('T', " ", 1);
        let at = NaiveDateTime::parse_from_str(&t, "%Y-%m-%d %H:%M:%S")
            .or_else(|_| NaiveDateTime::parse_from_str(&t, "%Y-%m-%d %H:%M"))
            .ok()?;
        (t.len() == 19 || t.len() == 16).then_some(Bound::At(at))?
    };
    (FIRST_YEAR..=LAST_YEAR)
        .contains(&bound.date().year())
        .then_some(bound)
}

/// The UTC instant of a local time. An ambiguous time (the clocks went back) takes its earlier
/// instant; a time the clocks skipped takes the instant they skipped at, the first whose local
/// time is later, so that instants follow the order of local times.
fn instant(local: NaiveDateTime, tz: Tz) -> i64 {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.timestamp(),
        LocalResult::None => {
            // UTC offsets lie between -12 and +14 hours, so 18 hours before `local` read as
            // UTC the zone's clock shows an earlier time, and 18 hours after a later one.
            // Bisect to the second at which it jumps past `local`: the change.
            let later = |at: i64| {
                chrono::DateTime::from_timestamp(at, 0)
                    .is_some_and(|t| t.with_timezone(&tz).naive_local() > local)
            };
            let as_utc = local.and_utc().timestamp();
            let (mut before, mut after) = (as_utc - 18 * 3600, as_utc + 18 * 3600);
            while after - before > 1 {
                let mid = before + (after - before) / 2;
                if later(mid) {
                    after = mid;
                } else {
                    before = mid;
                }
            }
            after
        }
    }
}

/// The last UTC instant whose local time is `local` or earlier, for the end of a period: an
/// ambiguous time takes its later instant, so that the hour the clocks repeat belongs to the
/// period that ends in it (a zone that turns back at midnight repeats the day's last hour); a
/// skipped time is the change, as for a start (so a period typed inside a gap is one second,
/// never empty).
fn last_instant(local: NaiveDateTime, tz: Tz) -> i64 {
    match tz.from_local_datetime(&local) {
        LocalResult::Ambiguous(_, later) => later.timestamp(),
        _ => instant(local, tz),
    }
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

/// The local date and time of an instant.
pub fn local_date_time(at: i64, tz: Tz) -> NaiveDateTime {
    chrono::DateTime::from_timestamp(at, 0)
        .unwrap_or_default()
        .with_timezone(&tz)
        .naive_local()
}

/// The local calendar day of an instant.
pub fn local_date(at: i64, tz: Tz) -> NaiveDate {
    local_date_time(at, tz).date()
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
            until: last_instant(end, tz) + 1,
        }
    }

    /// A period from the subscriber's two fields, at the instant `now`. Empty or absent fields
    /// take the span's defaults: neither given is the span around today (`Span::around`); no
    /// start is the first day of the span around the end's day; no end is the last day of the
    /// span around today, or around the start's day when that is later.
    ///
    /// With `Span::Month`: the current month; from the first of the end's month; until the end
    /// of this month (or of the start's month). With `Span::Days(30)`: today and the 29 days
    /// before; from 29 days before the end's day; until the end of today (or of the start's day).
    pub fn parse(
        start: Option<&str>,
        end: Option<&str>,
        tz: Tz,
        now: i64,
        span: Span,
    ) -> Result<Period, PeriodError> {
        fn given(s: Option<&str>) -> Option<&str> {
            s.map(str::trim).filter(|s| !s.is_empty())
        }
        let start = given(start)
            .map(|s| parse_bound(s, tz).ok_or_else(|| PeriodError::BadStart(s.to_string())))
            .transpose()?;
        let end = given(end)
            .map(|s| parse_bound(s, tz).ok_or_else(|| PeriodError::BadEnd(s.to_string())))
            .transpose()?;
        let today = local_date(now, tz);
        let start = match start {
            Some(Bound::Day(d)) => d.and_time(NaiveTime::MIN),
            Some(Bound::At(t)) => t,
            None => {
                let (first, _) = span.around(end.map_or(today, Bound::date));
                first.and_time(NaiveTime::MIN)
            }
        };
        let end = match end {
            Some(Bound::Day(d)) => last_second(d),
            Some(Bound::At(t)) => t,
            None => last_second(span.around(today.max(start.date())).1),
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
    fn epoch_seconds_are_instants() {
        // MOR's API clients: Unix time, both ends included, whatever the subscriber's zone.
        let from = utc("2024-07-01 10:00:00");
        let to = utc("2024-07-01 12:30:00");
        let p = Period::parse(
            Some(&from.to_string()),
            Some(&to.to_string()),
            LONDON,
            from,
            Span::Month,
        )
        .unwrap();
        assert_eq!(p.from(), from);
        assert_eq!(p.until(), to + 1);
        assert_eq!(p.start_text(), "2024-07-01 11:00:00");
        assert!(Period::parse(Some("-5"), None, LONDON, from, Span::Month).is_err());
        assert!(Period::parse(Some("99999999999999"), None, LONDON, from, Span::Month).is_err());
    }

    #[test]
    fn dates_are_whole_days_in_the_subscribers_zone() {
        let now = utc("2024-07-15 12:00:00");
        let p = Period::parse(
            Some("2024-07-01"),
            Some("2024-07-02"),
            LONDON,
            now,
            Span::Month,
        )
        .unwrap();
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
            Span::Month,
        )
        .unwrap();
        assert_eq!(p.from(), utc("2024-07-01 05:41:31"));
        assert_eq!(p.until(), utc("2024-07-01 08:42:00") + 1);
        assert_eq!(p.start_param(), "2024-07-01 05:41:31");
        assert_eq!(p.end_param(), "2024-07-01 08:42:00");
        // What a page prints parses back to the same period.
        let again = Period::parse(
            Some(&p.start_param()),
            Some(&p.end_param()),
            Tz::UTC,
            now,
            Span::Month,
        );
        assert_eq!(again, Ok(p));
    }

    #[test]
    fn the_default_is_the_current_local_month() {
        // 2024-03-01 02:00 UTC is still February in New York.
        let now = utc("2024-03-01 02:00:00");
        let ny = chrono_tz::America::New_York;
        let p = Period::parse(None, Some(""), ny, now, Span::Month).unwrap();
        assert_eq!(p.start_text(), "2024-02-01 00:00:00");
        assert_eq!(p.end_text(), "2024-02-29 23:59:59");
        assert_eq!(format_instant(p.from(), ny), "2024-02-01 00:00:00");
        assert_eq!(Period::month_of(now, ny), p);
        // Only a start: until the end of this month; only an end: from the first of its month.
        let p = Period::parse(Some("2024-01-10"), None, ny, now, Span::Month).unwrap();
        assert_eq!(p.end_text(), "2024-02-29 23:59:59");
        let p = Period::parse(Some("2024-05-10"), None, ny, now, Span::Month).unwrap();
        assert_eq!(p.end_text(), "2024-05-31 23:59:59");
        let p = Period::parse(None, Some("2023-12-05"), ny, now, Span::Month).unwrap();
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
            let e = Period::parse(Some(bad), None, Tz::UTC, now, Span::Month).unwrap_err();
            assert_eq!(e, PeriodError::BadStart(bad.to_string()), "{bad}");
            assert!(e.message(Lang::En).contains("YYYY-MM-DD"));
            let e = Period::parse(None, Some(bad), Tz::UTC, now, Span::Month).unwrap_err();
            assert_eq!(e, PeriodError::BadEnd(bad.to_string()), "{bad}");
        }
        assert_eq!(
            Period::parse(
                Some("2024-07-02"),
                Some("2024-07-01"),
                Tz::UTC,
                now,
                Span::Month
            ),
            Err(PeriodError::EndBeforeStart)
        );
        assert_eq!(
            Period::parse(
                Some("2024-07-01 10:00:01"),
                Some("2024-07-01 10:00:00"),
                Tz::UTC,
                now,
                Span::Month
            ),
            Err(PeriodError::EndBeforeStart)
        );
        // One second is a period.
        assert!(Period::parse(
            Some("2024-07-01 10:00:00"),
            Some("2024-07-01 10:00:00"),
            Tz::UTC,
            now,
            Span::Month
        )
        .is_ok());
    }

    #[test]
    fn a_span_of_days_ends_with_today_or_the_days_given() {
        // 2024-03-31 12:00 UTC, the day London's clocks went forward.
        let now = utc("2024-03-31 12:00:00");
        let days = Span::Days(30);
        let shown = |p: Period| (p.start_text(), p.end_text());
        let p = Period::parse(None, Some(" "), LONDON, now, days).unwrap();
        assert_eq!(
            shown(p.clone()),
            ("2024-03-02 00:00:00".into(), "2024-03-31 23:59:59".into())
        );
        assert_eq!(
            (p.from(), p.until()),
            (utc("2024-03-02 00:00:00"), utc("2024-03-31 23:00:00"))
        );
        assert_eq!(p.day_count(), 30);
        // Only a start: until the end of today, or of the start's day when that is later.
        let p = Period::parse(Some("2024-01-10 08:00"), None, LONDON, now, days).unwrap();
        assert_eq!(shown(p).1, "2024-03-31 23:59:59");
        let p = Period::parse(Some("2024-04-10"), None, LONDON, now, days).unwrap();
        assert_eq!(shown(p).1, "2024-04-10 23:59:59");
        // Only an end: the 30 days that end with it.
        let p = Period::parse(None, Some("2024-01-31"), LONDON, now, days).unwrap();
        assert_eq!(
            shown(p),
            ("2024-01-02 00:00:00".into(), "2024-01-31 23:59:59".into())
        );
        let p = Period::parse(None, Some("2024-01-31 10:00"), LONDON, now, days).unwrap();
        assert_eq!(
            shown(p),
            ("2024-01-02 00:00:00".into(), "2024-01-31 10:00:00".into())
        );
        // A span of one day (or, read as one, of none) is today.
        for n in [0, 1] {
            let p = Period::parse(None, None, LONDON, now, Span::Days(n)).unwrap();
            assert_eq!(p.day_count(), 1);
        }
    }

    #[test]
    fn a_time_the_clocks_skipped_is_the_instant_they_changed() {
        // London, 2024-03-31: 01:00 GMT became 02:00 BST at 01:00 UTC.
        let at = |local: &str| {
            let p = Period::parse(Some(local), None, LONDON, 0, Span::Month).unwrap();
            (p.from(), p.start_text())
        };
        let change = utc("2024-03-31 01:00:00");
        assert_eq!(at("2024-03-31 00:59:59").0, change - 1);
        for skipped in ["01:00", "01:10", "01:30:00", "01:44:59", "01:59:59"] {
            let (from, shown) = at(&format!("2024-03-31 {skipped}"));
            assert_eq!(from, change, "{skipped}");
            // Pages show what was typed.
            assert!(
                shown.starts_with(&format!("2024-03-31 {skipped}")),
                "{shown}"
            );
        }
        assert_eq!(at("2024-03-31 02:00:00").0, change);
        assert_eq!(at("2024-03-31 02:00:01").0, change + 1);
        // Both ends in the gap: one second, never an end before the start.
        let p = Period::parse(
            Some("2024-03-31 01:40"),
            Some("2024-03-31 01:50"),
            LONDON,
            0,
            Span::Month,
        )
        .unwrap();
        assert_eq!((p.from(), p.until()), (change, change + 1));
        // A repeated time (clocks back on 2024-10-27) is its first pass, in summer time.
        assert_eq!(at("2024-10-27 01:30:00").0, utc("2024-10-27 00:30:00"));
        // Havana skips midnight: the day starts when the clocks jump, and shows as typed.
        let havana = chrono_tz::America::Havana;
        let p = Period::parse(
            Some("2024-03-10"),
            Some("2024-03-10"),
            havana,
            0,
            Span::Month,
        )
        .unwrap();
        assert_eq!(p.from(), utc("2024-03-10 05:00:00"));
        assert_eq!(p.start_text(), "2024-03-10 00:00:00");
        assert_eq!(p.until() - p.from(), 23 * 3600);
        // Samoa skipped a whole day, 2011-12-30, at 10:00 UTC.
        let apia = chrono_tz::Pacific::Apia;
        let skipped = utc("2011-12-30 10:00:00");
        let p = Period::parse(Some("2011-12-30 12:00"), None, apia, 0, Span::Month).unwrap();
        assert_eq!(p.from(), skipped);
        let p =
            Period::parse(Some("2011-12-29"), Some("2011-12-31"), apia, 0, Span::Month).unwrap();
        let b = p.day_bounds(apia);
        assert_eq!(b[1].1 - b[0].1, 24 * 3600);
        assert_eq!((b[1].1, b[2].1), (skipped, skipped));
        assert_eq!(b[3].1 - b[2].1, 24 * 3600);
    }

    #[test]
    fn messages_are_in_the_subscribers_language() {
        let now = utc("2024-07-15 12:00:00");
        let e =
            Period::parse(Some("1969-12-31\u{1}"), None, Tz::UTC, now, Span::Month).unwrap_err();
        for lang in Lang::ALL {
            let m = e.message(lang);
            assert!(m.ends_with(": \"1969-12-31\""), "{m}");
            assert!(m.contains(&FIRST_YEAR.to_string()) && m.contains(&LAST_YEAR.to_string()));
        }
        assert!(e
            .message(Lang::En)
            .starts_with("The start of the period is not a date"));
        let e = Period::parse(None, Some("x"), Tz::UTC, now, Span::Month).unwrap_err();
        assert!(e.message(Lang::Ru).starts_with("Конец периода — не дата"));
        assert_eq!(
            PeriodError::EndBeforeStart.message(Lang::Ru),
            "Период заканчивается раньше, чем начинается"
        );
    }

    #[test]
    fn a_repeated_last_hour_belongs_to_its_day() {
        // Santiago turned its clocks back from 24:00 to 23:00 on 2024-04-06: that day's last
        // hour happened twice, and the next day starts after the second one.
        let tz: Tz = "America/Santiago".parse().unwrap();
        let day = NaiveDate::from_ymd_opt(2024, 4, 6).unwrap();
        let p = Period::days(day, day, tz);
        let next = Period::days(day.succ_opt().unwrap(), day.succ_opt().unwrap(), tz);
        assert_eq!(p.until(), next.from(), "the days meet");
        assert_eq!(p.until() - p.from(), 25 * 3600);
        // London's autumn change repeats 01:00–02:00, inside the day: unchanged.
        let oct = NaiveDate::from_ymd_opt(2024, 10, 27).unwrap();
        let p = Period::days(oct, oct, LONDON);
        assert_eq!(p.until() - p.from(), 25 * 3600);
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
            Span::Month,
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
            Span::Month,
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
