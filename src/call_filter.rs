//! Which calls a subscriber asked for: the one typed value behind the call list, the missed
//! calls and the CSV and PDF exports of the call list.
//!
//! Every way of asking arrives here as text — the seed's form fields (`period_start`,
//! `period_end`, `direction`, `calltype`, `device`), the export URL's names (`date_from`,
//! `date_till`, `call_type`) or a page's own query string — and leaves as a `CallFilter` whose
//! parts are closed enums and a checked period. The same `CallFilter` gives the same calls
//! wherever it is used: the store turns it into one `WHERE` clause (`store::call_list`), and
//! `query_pairs` writes it back as a URL that parses to an equal filter, so links (paging,
//! exports) carry the filter unchanged.
//!
//! The seed names the direction twice: `direction` and `calltype` (documented as `outgoing`,
//! `incoming`, `all`). Both are accepted with that meaning; `all` leaves the other in charge,
//! and two different directions are refused rather than guessed. The XML's `<status>` is the
//! hangup filter, set with `status` (`all`, `answered`, `unanswered`, `no_answer`, `busy`,
//! `failed`).
//!
//! The call list's exports take the same `CallFilter`: the CSV streams every call of it in one
//! ordered statement (`store::call_list::calls_query`), the PDF reads at most the configured
//! number of rows (`Store::calls_of_filter`) after counting them, and both show the totals of
//! `Store::call_totals` for the same filter.
//!
//! A device is named by id; `CallFilter::parse` only checks that it is a number. Whether it is
//! the subscriber's own is a question for the database: the page calls
//! `web::require(…, Resource::Device, id)` before using the filter.

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::i18n::Lang;
use crate::period::{Period, PeriodError, Span};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    #[default]
    All,
    Outgoing,
    Incoming,
}

impl Direction {
    pub fn parse(s: &str) -> Option<Direction> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "all" => Some(Direction::All),
            "outgoing" | "out" => Some(Direction::Outgoing),
            "incoming" | "in" => Some(Direction::Incoming),
            _ => None,
        }
    }

    /// The value in URLs and the XML: `all`, `outgoing`, `incoming`.
    pub fn code(self) -> &'static str {
        match self {
            Direction::All => "all",
            Direction::Outgoing => "outgoing",
            Direction::Incoming => "incoming",
        }
    }

    /// The stored `calls.direction`, when the filter names one.
    pub fn column_value(self) -> Option<&'static str> {
        match self {
            Direction::All => None,
            Direction::Outgoing => Some("out"),
            Direction::Incoming => Some("in"),
        }
    }
}

/// How the call ended, as a filter. `Unanswered` is no answer, busy and failed together.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    #[default]
    All,
    Answered,
    Unanswered,
    NoAnswer,
    Busy,
    Failed,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::All,
        Status::Answered,
        Status::Unanswered,
        Status::NoAnswer,
        Status::Busy,
        Status::Failed,
    ];

    pub fn parse(s: &str) -> Option<Status> {
        match s.trim().to_ascii_lowercase().replace(' ', "_").as_str() {
            "" | "all" => Some(Status::All),
            "answered" => Some(Status::Answered),
            "unanswered" | "missed" => Some(Status::Unanswered),
            "no_answer" | "noanswer" => Some(Status::NoAnswer),
            "busy" => Some(Status::Busy),
            "failed" => Some(Status::Failed),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Status::All => "all",
            Status::Answered => "answered",
            Status::Unanswered => "unanswered",
            Status::NoAnswer => "no_answer",
            Status::Busy => "busy",
            Status::Failed => "failed",
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DeviceChoice {
    #[default]
    All,
    One(i64),
}

impl DeviceChoice {
    pub fn parse(s: &str) -> Option<DeviceChoice> {
        let s = s.trim();
        if s.is_empty() || s.eq_ignore_ascii_case("all") {
            return Some(DeviceChoice::All);
        }
        s.parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .map(DeviceChoice::One)
    }

    /// `all` or the device id: the seed's `show_device`.
    pub fn code(self) -> String {
        match self {
            DeviceChoice::All => "all".to_string(),
            DeviceChoice::One(id) => id.to_string(),
        }
    }
}

/// The filter's fields as they arrive, from a query string or a form. Unknown fields (the
/// CSRF token, `format`, `lang`, paging) are ignored here.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct CallFilterParams {
    /// The seed sends the current user's id; another id is answered 404.
    #[serde(default)]
    pub userid: Option<String>,
    /// The seed's `search_on` (always 1): accepted and ignored.
    #[serde(default)]
    pub search_on: Option<String>,
    #[serde(default, alias = "date_from")]
    pub period_start: Option<String>,
    #[serde(default, alias = "date_till")]
    pub period_end: Option<String>,
    #[serde(default)]
    pub direction: Option<String>,
    #[serde(default, alias = "call_type")]
    pub calltype: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub device: Option<String>,
}

/// A filter that could not be read; `message(lang)` is shown in the page's format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FilterError {
    Period(PeriodError),
    Direction(String),
    Conflict { direction: String, calltype: String },
    Status(String),
    Device(String),
    UserId(String),
}

impl FilterError {
    /// The message in `lang`.
    pub fn message(&self, lang: Lang) -> String {
        match self {
            FilterError::Period(e) => e.message(lang),
            FilterError::Direction(v) => {
                lang.fill("filter.bad_direction", &[("value", &format!("{v:?}"))])
            }
            FilterError::Conflict {
                direction,
                calltype,
            } => lang.fill(
                "filter.conflict",
                &[
                    ("direction", &format!("{direction:?}")),
                    ("calltype", &format!("{calltype:?}")),
                ],
            ),
            FilterError::Status(v) => {
                lang.fill("filter.bad_status", &[("value", &format!("{v:?}"))])
            }
            FilterError::Device(v) => {
                lang.fill("filter.bad_device", &[("value", &format!("{v:?}"))])
            }
            FilterError::UserId(v) => lang.fill("filter.bad_user", &[("value", &format!("{v:?}"))]),
        }
    }
}

impl From<PeriodError> for FilterError {
    fn from(e: PeriodError) -> Self {
        FilterError::Period(e)
    }
}

/// Which of the subscriber's calls: a period, a direction, how they ended, a device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallFilter {
    pub period: Period,
    pub direction: Direction,
    pub status: Status,
    pub device: DeviceChoice,
}

impl CallFilter {
    /// Every call of a period.
    pub fn period(period: Period) -> CallFilter {
        CallFilter {
            period,
            direction: Direction::All,
            status: Status::All,
            device: DeviceChoice::All,
        }
    }

    /// Missed calls: incoming and not answered (the main page's definition).
    pub fn missed(period: Period) -> CallFilter {
        CallFilter {
            period,
            direction: Direction::Incoming,
            status: Status::Unanswered,
            device: DeviceChoice::All,
        }
    }

    /// Reads the fields, in the subscriber's zone `tz` at the instant `now` (for the default
    /// period, the current month). `user_id` is the logged-in user: a `userid` field naming
    /// anybody else is an error the page answers with 404.
    pub fn parse(
        p: &CallFilterParams,
        user_id: i64,
        tz: Tz,
        now: i64,
    ) -> Result<CallFilter, FilterError> {
        CallFilter::parse_in(p, user_id, tz, now, Span::Month)
    }

    /// [`CallFilter::parse`] with another default period (`Span::Days(30)`: the statistics).
    pub fn parse_in(
        p: &CallFilterParams,
        user_id: i64,
        tz: Tz,
        now: i64,
        span: Span,
    ) -> Result<CallFilter, FilterError> {
        if let Some(u) = p.userid.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
            if u.parse::<i64>().ok() != Some(user_id) {
                return Err(FilterError::UserId(u.to_string()));
            }
        }
        let period = Period::parse(
            p.period_start.as_deref(),
            p.period_end.as_deref(),
            tz,
            now,
            span,
        )?;
        let read_direction = |v: &Option<String>| match v.as_deref() {
            None => Ok(Direction::All),
            Some(s) => Direction::parse(s).ok_or_else(|| FilterError::Direction(s.to_string())),
        };
        let by_direction = read_direction(&p.direction)?;
        let by_calltype = read_direction(&p.calltype)?;
        let direction = match (by_direction, by_calltype) {
            (d, Direction::All) | (Direction::All, d) => d,
            (a, b) if a == b => a,
            _ => {
                return Err(FilterError::Conflict {
                    direction: p.direction.clone().unwrap_or_default(),
                    calltype: p.calltype.clone().unwrap_or_default(),
                })
            }
        };
        let status = match p.status.as_deref() {
            None => Status::All,
            Some(s) => Status::parse(s).ok_or_else(|| FilterError::Status(s.to_string()))?,
        };
        let device = match p.device.as_deref() {
            None => DeviceChoice::All,
            Some(s) => DeviceChoice::parse(s).ok_or_else(|| FilterError::Device(s.to_string()))?,
        };
        Ok(CallFilter {
            period,
            direction,
            status,
            device,
        })
    }

    /// The filter as URL fields that `parse` reads back to an equal filter. Fields at their
    /// default are left out, so URLs stay short.
    pub fn query_pairs(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![
            ("period_start", self.period.start_param()),
            ("period_end", self.period.end_param()),
        ];
        if self.direction != Direction::All {
            out.push(("direction", self.direction.code().to_string()));
        }
        if self.status != Status::All {
            out.push(("status", self.status.code().to_string()));
        }
        if let DeviceChoice::One(_) = self.device {
            out.push(("device", self.device.code()));
        }
        out
    }

    /// `query_pairs` as an encoded query string (without `?`).
    pub fn query_string(&self) -> String {
        serde_urlencoded::to_string(self.query_pairs()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_720_000_000; // 2024-07-03 09:46:40 UTC

    fn params(pairs: &[(&str, &str)]) -> CallFilterParams {
        let q = serde_urlencoded::to_string(pairs).unwrap();
        serde_urlencoded::from_str(&q).unwrap()
    }

    fn parse(pairs: &[(&str, &str)]) -> Result<CallFilter, FilterError> {
        CallFilter::parse(&params(pairs), 7, Tz::UTC, NOW)
    }

    #[test]
    fn the_seeds_fields_and_the_export_urls_names_mean_the_same() {
        let seed = parse(&[
            ("userid", "7"),
            ("search_on", "1"),
            ("period_start", "2024-06-01"),
            ("period_end", "2024-06-30"),
            ("direction", "all"),
            ("calltype", "outgoing"),
            ("device", "12"),
        ])
        .unwrap();
        let export = parse(&[
            ("call_type", "outgoing"),
            ("date_from", "2024-06-01"),
            ("date_till", "2024-06-30 23:59:59"),
            ("device", "12"),
        ])
        .unwrap();
        assert_eq!(seed, export);
        assert_eq!(seed.direction, Direction::Outgoing);
        assert_eq!(seed.device, DeviceChoice::One(12));
        assert_eq!(seed.status, Status::All);
    }

    #[test]
    fn nothing_given_is_every_call_of_this_month() {
        let f = parse(&[]).unwrap();
        assert_eq!(f, CallFilter::period(Period::month_of(NOW, Tz::UTC)));
        assert_eq!(f.period.start_text(), "2024-07-01 00:00:00");
        let blank = parse(&[("period_start", ""), ("device", ""), ("direction", "")]).unwrap();
        assert_eq!(blank, f);
    }

    #[test]
    fn a_filter_survives_its_own_url() {
        let f = parse(&[
            ("period_start", "2024-06-01 08:00:00"),
            ("period_end", "2024-06-03"),
            ("direction", "incoming"),
            ("status", "no answer"),
            ("device", "3"),
        ])
        .unwrap();
        let again: CallFilterParams = serde_urlencoded::from_str(&f.query_string()).unwrap();
        assert_eq!(CallFilter::parse(&again, 7, Tz::UTC, NOW), Ok(f));
    }

    #[test]
    fn bad_fields_are_refused_with_a_message() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("period_start", "2024-02-31")], "not a date"),
            (
                &[("period_start", "2024-06-02"), ("period_end", "2024-06-01")],
                "ends before",
            ),
            (&[("direction", "sideways")], "Unknown direction"),
            (&[("calltype", "both")], "Unknown direction"),
            (
                &[("direction", "incoming"), ("calltype", "outgoing")],
                "different calls",
            ),
            (&[("status", "ringing")], "Unknown call status"),
            (&[("device", "phone")], "Unknown device"),
            (&[("device", "-3")], "Unknown device"),
            (&[("userid", "8")], "Unknown user"),
            (&[("userid", "x")], "Unknown user"),
        ];
        for (fields, expected) in cases {
            let e = parse(fields).expect_err(expected);
            assert!(
                e.message(Lang::En).contains(expected),
                "{fields:?}: {}",
                e.message(Lang::En)
            );
        }
        assert_eq!(
            parse(&[("userid", "8")]),
            Err(FilterError::UserId("8".into()))
        );
    }

    #[test]
    fn the_same_direction_twice_is_fine() {
        let f = parse(&[("direction", "in"), ("calltype", "incoming")]).unwrap();
        assert_eq!(f.direction, Direction::Incoming);
    }
}
