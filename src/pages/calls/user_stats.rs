//! Detailed statistics (`/stats/user_stats`, and the seed's `POST /billing/stats/user_stats`, which
//! `web::request_line` brings here):
//! calls of a period by direction and result, per local day, with charts.
//!
//! Figures, all in the subscriber's time zone and counting calls in both directions whatever
//! their result:
//! - per day: `calls_count`; `duration` = talk time (billed seconds) in minutes with one
//!   decimal (`1.5`); `avg_time` = talk time per answered call, in minutes (0 without answered
//!   calls); days without calls are left out of the list (the charts show them as empty).
//! - **normative**: each user has a `daily_call_target` (calls a day that count as 100 %).
//!   `calls_normative` of a day = that day's calls / target × 100; `todays_normative` = today's
//!   calls / target × 100; `months_normative` = this month's calls / (target × days of the
//!   month elapsed, today included) × 100. Percentages are whole numbers, rounded half up, and
//!   may exceed 100. With no target set (0) every normative figure is 0. The two `main_details`
//!   figures are about today and this month whatever period is shown.
//! - `new_calls` = calls not seen yet (see `pages::calls::call_list` for when a call counts as seen).
//!
//! The period is `period_start`..`period_end` as on the call list, at most ten years; without
//! one, the last 30 days (today and the 29 days before, from local midnight, as the faxes page:
//! `Span::Days(30)`), so that early in a month the page is not nearly empty. A half-given period
//! takes its other side from the same 30 days. In JSON the period is `period_start`/`period_end` (days; the XML's
//! `start_date`/`end_date`), and the days are given whole (`links` both `null`): at most one row
//! a day of a period of at most ten years.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::call_filter::{CallFilter, CallFilterParams, FilterError};
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::pages::calls::charts::{Column, ColumnChart, StripChart};
use crate::pages::calls::period_form::PeriodFields;
use crate::period::{Period, Span};
use crate::store::call_list::{DayCalls, ResultCalls};
use crate::store::Store;
use crate::time;
use crate::web::openapi::ApiDoc;
use crate::web::values::Links;
use crate::web::{respond, Chrome, Ctx, CurrentUser, Format, Page, UserAccount};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/stats/user_stats")
            .name("user_stats")
            .route(web::get().to(show_get))
            .route(web::post().to(show_post)),
    );
}

/// Without a period: the last 30 days.
const DEFAULT_SPAN: Span = Span::Days(30);
/// The longest period the page draws.
const MAX_DAYS: i64 = 3660;
/// Longer periods are charted by month.
const DAILY_CHART_DAYS: i64 = 400;

#[derive(Clone, Debug, Default, Deserialize)]
pub struct StatsParams {
    #[serde(default)]
    pub userid: Option<String>,
    #[serde(default, alias = "start_date")]
    pub period_start: Option<String>,
    #[serde(default, alias = "end_date")]
    pub period_end: Option<String>,
}

/// Calls of one direction by result.
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq, Eq, ToSchema)]
#[schema(as = CallOutcomes)]
pub struct Outcomes {
    pub answered: i64,
    pub no_answer: i64,
    pub busy: i64,
    pub failed: i64,
}

impl Outcomes {
    fn add(&mut self, disposition: &str, n: i64) {
        match disposition {
            "ANSWERED" => self.answered += n,
            "NO ANSWER" => self.no_answer += n,
            "BUSY" => self.busy += n,
            _ => self.failed += n,
        }
    }

    pub fn total(&self) -> i64 {
        self.answered + self.no_answer + self.busy + self.failed
    }
}

/// One local day's calls.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, ToSchema)]
#[schema(as = CallDayStats)]
pub struct DayStats {
    pub date: NaiveDate,
    pub calls_count: i64,
    /// Talk time in minutes, one decimal.
    pub duration: String,
    /// Talk time per answered call in minutes, one decimal.
    pub avg_time: String,
    pub calls_normative: i64,
    pub answered: i64,
    /// Talk time in seconds.
    pub seconds: i64,
}

/// Detailed statistics of a period.
#[derive(Serialize, ToSchema)]
pub struct StatsPage {
    pub pagename: &'static str,
    pub language: &'static str,
    pub userid: i64,
    /// The period's first day (the XML's `start_date`).
    pub period_start: NaiveDate,
    /// The period's last day (the XML's `end_date`).
    pub period_end: NaiveDate,
    pub todays_normative: i64,
    pub months_normative: i64,
    pub new_calls: i64,
    pub incoming: Outcomes,
    pub outgoing: Outcomes,
    /// Days with calls, newest first.
    pub days: Vec<DayStats>,
    pub daily_call_target: i64,
    pub today_calls: i64,
    pub month_calls: i64,
    pub total_calls: i64,
    /// Talk time of the period in minutes, one decimal.
    pub total_minutes: String,
    /// The same in seconds.
    pub total_seconds: i64,
    /// Both `null`: the days are given whole.
    pub links: Links,
    #[serde(skip)]
    pub error_msg: String,
    #[serde(skip)]
    pub form: PeriodFields,
    /// Every day of the period, oldest first, for the charts.
    #[serde(skip)]
    pub all_days: Vec<DayStats>,
}

/// Minutes with one decimal, rounded half up: 90 s → `1.5`.
pub fn minutes(seconds: i64, per: i64) -> String {
    if per <= 0 {
        return "0".to_string();
    }
    let tenths = (seconds.max(0) * 10 + 30 * per) / (60 * per);
    format!("{}.{}", tenths / 10, tenths % 10)
}

/// `calls` as a whole percentage of `target`, rounded half up; 0 without a target.
pub fn percent(calls: i64, target: i64) -> i64 {
    if target <= 0 {
        return 0;
    }
    (calls * 200 + target) / (2 * target)
}

fn day_stats(day: NaiveDate, calls: i64, answered: i64, seconds: i64, target: i64) -> DayStats {
    DayStats {
        date: day,
        calls_count: calls,
        duration: minutes(seconds, 1),
        avg_time: minutes(seconds, answered),
        calls_normative: percent(calls, target),
        answered,
        seconds,
    }
}

struct Charts {
    calls: ColumnChart,
    talk: ColumnChart,
    incoming: StripChart,
    outgoing: StripChart,
    per_month: bool,
}

impl Charts {
    fn of(v: &StatsPage, lang: Lang) -> Charts {
        let per_month = v.all_days.len() as i64 > DAILY_CHART_DAYS;
        // Buckets: days, or months with their average day.
        let mut buckets: Vec<(String, f64, f64, f64, i64)> = Vec::new(); // label, answered, other, minutes, days
        for d in &v.all_days {
            // As the page's language writes a month or a day (`Dec 2026`, `5 дек. 2026 г.`).
            let label = if per_month {
                crate::locale::month(lang, d.date)
            } else {
                crate::locale::day(lang, d.date)
            };
            match buckets.last_mut() {
                Some(b) if b.0 == label => {
                    b.1 += d.answered as f64;
                    b.2 += (d.calls_count - d.answered) as f64;
                    b.3 += d.seconds as f64 / 60.0;
                    b.4 += 1;
                }
                _ => buckets.push((
                    label,
                    d.answered as f64,
                    (d.calls_count - d.answered) as f64,
                    d.seconds as f64 / 60.0,
                    1,
                )),
            }
        }
        let t = |k| lang.t(k);
        let calls_cols: Vec<Column> = buckets
            .iter()
            .map(|(label, ok, other, _, days)| {
                let n = *days as f64;
                Column {
                    label: label.clone(),
                    parts: vec![(ok / n, "ok"), (other / n, "miss")],
                    tip: format!(
                        "{label}: {} {}, {} {}",
                        ok + other,
                        t("stats.calls"),
                        ok,
                        t("calls.status.answered")
                    ),
                }
            })
            .collect();
        let talk_cols: Vec<Column> = buckets
            .iter()
            .map(|(label, _, _, mins, days)| Column {
                label: label.clone(),
                parts: vec![(mins / *days as f64, "talk")],
                tip: format!("{label}: {:.1} {}", mins, t("stats.minutes")),
            })
            .collect();
        let target = (v.daily_call_target > 0).then_some(v.daily_call_target as f64);
        let title_calls = if per_month {
            t("stats.chart.calls_month")
        } else {
            t("stats.chart.calls_day")
        };
        let title_talk = if per_month {
            t("stats.chart.talk_month")
        } else {
            t("stats.chart.talk_day")
        };
        let scale = v.incoming.total().max(v.outgoing.total()) as f64;
        let strip = |o: &Outcomes, title: &str| {
            StripChart::new(
                format!("{title}: {}", o.total()),
                &[
                    (
                        o.answered as f64,
                        "ok",
                        format!("{}: {}", t("calls.status.answered"), o.answered),
                    ),
                    (
                        o.no_answer as f64,
                        "noans",
                        format!("{}: {}", t("calls.status.no_answer"), o.no_answer),
                    ),
                    (
                        o.busy as f64,
                        "busy",
                        format!("{}: {}", t("calls.status.busy"), o.busy),
                    ),
                    (
                        o.failed as f64,
                        "fail",
                        format!("{}: {}", t("calls.status.failed"), o.failed),
                    ),
                ],
                scale,
            )
        };
        Charts {
            calls: ColumnChart::new(
                "chart-calls",
                title_calls.to_string(),
                format!(
                    "{} {} – {}: {} {}",
                    title_calls,
                    v.period_start,
                    v.period_end,
                    v.total_calls,
                    t("stats.calls")
                ),
                &calls_cols,
                target,
            ),
            talk: ColumnChart::new(
                "chart-talk",
                title_talk.to_string(),
                format!(
                    "{} {} – {}: {}",
                    title_talk, v.period_start, v.period_end, v.total_minutes
                ),
                &talk_cols,
                None,
            ),
            incoming: strip(&v.incoming, t("calls.direction.incoming")),
            outgoing: strip(&v.outgoing, t("calls.direction.outgoing")),
            per_month,
        }
    }
}

#[derive(Template)]
#[template(path = "pages/calls/user_stats.html")]
struct StatsHtml<'a> {
    c: &'a Chrome,
    v: &'a StatsPage,
    charts: Option<Charts>,
}

#[derive(Template)]
#[template(path = "xml/calls/user_stats.xml")]
struct StatsXml<'a> {
    v: &'a StatsPage,
}

impl Page for StatsPage {
    fn html(&self, c: &Chrome) -> askama::Result<String> {
        let charts = self.error_msg.is_empty().then(|| Charts::of(self, c.lang));
        StatsHtml { c, v: self, charts }.render()
    }
    fn xml(&self) -> askama::Result<String> {
        StatsXml { v: self }.render()
    }
}

/// The page in the JSON API's description.
pub fn api(doc: &mut ApiDoc) {
    doc.page::<StatsPage>(
        "Calls",
        "/stats/user_stats",
        &[
            (
                "period_start",
                "`YYYY-MM-DD` in the subscriber's zone (default: 29 days before the end, \
                 today's when neither is given; `start_date` is the same)",
            ),
            (
                "period_end",
                "`YYYY-MM-DD` (default: today, or the start's day when later; `end_date` is \
                 the same)",
            ),
        ],
    );
}

/// GET /stats/user_stats
pub async fn show_get(
    ctx: Ctx,
    user: CurrentUser,
    account: UserAccount,
    store: web::Data<Store>,
    query: web::Query<StatsParams>,
) -> AppResult<HttpResponse> {
    show(ctx, user, account, &store, query.into_inner()).await
}

/// POST /stats/user_stats (also as /billing/stats/user_stats): the seed's "change dates".
pub async fn show_post(
    ctx: Ctx,
    user: CurrentUser,
    account: UserAccount,
    store: web::Data<Store>,
    query: web::Query<StatsParams>,
    form: Option<web::Form<StatsParams>>,
) -> AppResult<HttpResponse> {
    let params = form.map(|f| f.into_inner()).unwrap_or(query.into_inner());
    show(ctx, user, account, &store, params).await
}

async fn show(
    ctx: Ctx,
    user: CurrentUser,
    UserAccount(account): UserAccount,
    store: &Store,
    params: StatsParams,
) -> AppResult<HttpResponse> {
    let tz = time::zone(&account.time_zone);
    let now = time::now();
    let fields = CallFilterParams {
        userid: params.userid.clone(),
        period_start: params.period_start.clone(),
        period_end: params.period_end.clone(),
        ..CallFilterParams::default()
    };
    let mut page = StatsPage {
        pagename: "Detailed statistics",
        language: ctx.lang.code(),
        userid: user.id,
        // Set from the period once it is read (a refused page shows the form as typed).
        period_start: crate::period::local_date(now, tz),
        period_end: crate::period::local_date(now, tz),
        todays_normative: 0,
        months_normative: 0,
        new_calls: 0,
        incoming: Outcomes::default(),
        outgoing: Outcomes::default(),
        days: Vec::new(),
        daily_call_target: 0,
        today_calls: 0,
        month_calls: 0,
        total_calls: 0,
        total_minutes: minutes(0, 1),
        total_seconds: 0,
        links: Links::whole(),
        error_msg: String::new(),
        form: PeriodFields::typed(params.period_start.as_deref(), params.period_end.as_deref()),
        all_days: Vec::new(),
    };
    let period = match CallFilter::parse_in(&fields, user.id, tz, now, DEFAULT_SPAN) {
        Err(FilterError::UserId(_)) => return Err(AppError::NotFound),
        Err(e) => return refused(&ctx, page, e.message(ctx.lang)),
        Ok(f) if f.period.day_count() > MAX_DAYS => {
            return refused(&ctx, page, ctx.lang.t("stats.period_too_long").to_string())
        }
        Ok(f) => f.period,
    };

    let today = crate::period::local_date(now, tz);
    let month_start = today.with_day(1).unwrap_or(today);
    let counters = store
        .call_counters(
            user.id,
            &Period::days(today, today, tz),
            &Period::days(month_start, today, tz),
        )
        .await?;
    let results = store.calls_by_result(user.id, &period).await?;
    let days = store.calls_by_day(user.id, &period, tz).await?;
    let target = counters.daily_call_target;

    page.period_start = period.first_day();
    page.period_end = period.last_day();
    page.form = PeriodFields::of(&period);
    page.daily_call_target = target;
    page.today_calls = counters.today;
    page.month_calls = counters.month;
    page.new_calls = counters.unseen;
    page.todays_normative = percent(counters.today, target);
    page.months_normative = percent(counters.month, target * today.day() as i64);
    fill(
        &mut page,
        &results,
        &days,
        period.first_day(),
        period.last_day(),
        target,
    );
    respond(&ctx, &page)
}

/// Folds the period's per-result and per-day rows into the page's figures.
fn fill(
    page: &mut StatsPage,
    results: &[ResultCalls],
    days: &[DayCalls],
    first: NaiveDate,
    last: NaiveDate,
    target: i64,
) {
    use std::collections::BTreeMap;
    let mut seconds = 0;
    for r in results {
        let o = if r.direction == "in" {
            &mut page.incoming
        } else {
            &mut page.outgoing
        };
        o.add(&r.disposition, r.calls);
        seconds += r.billsec;
    }
    // day → (calls, answered, seconds)
    let by_day: BTreeMap<NaiveDate, (i64, i64, i64)> = days
        .iter()
        .map(|d| (d.day, (d.calls, d.answered, d.billsec)))
        .collect();
    page.total_calls = page.incoming.total() + page.outgoing.total();
    page.total_minutes = minutes(seconds, 1);
    page.total_seconds = seconds;
    page.days = by_day
        .iter()
        .rev()
        .map(|(d, (n, ok, s))| day_stats(*d, *n, *ok, *s, target))
        .collect();
    let mut d = first;
    while d <= last {
        let (n, ok, s) = by_day.get(&d).copied().unwrap_or_default();
        page.all_days.push(day_stats(d, n, ok, s, target));
        match d.succ_opt() {
            Some(next) => d = next,
            None => break,
        }
    }
}

/// Bad dates: the form again with the message for browsers; the failed action for XML and
/// JSON clients (this page's XML has no `error_msg`).
fn refused(ctx: &Ctx, mut page: StatsPage, message: String) -> AppResult<HttpResponse> {
    if ctx.format != Format::Html {
        return Err(AppError::BadInput(message));
    }
    page.error_msg = message;
    let mut resp = respond(ctx, &page)?;
    *resp.status_mut() = StatusCode::BAD_REQUEST;
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_have_one_decimal() {
        assert_eq!(minutes(90, 1), "1.5");
        assert_eq!(minutes(0, 1), "0.0");
        assert_eq!(minutes(3, 1), "0.1"); // 0.05 rounds up
        assert_eq!(minutes(2, 1), "0.0");
        assert_eq!(minutes(7200, 1), "120.0");
        assert_eq!(minutes(180, 2), "1.5");
        assert_eq!(minutes(100, 0), "0");
    }

    #[test]
    fn normative_is_a_rounded_percentage_of_the_target() {
        assert_eq!(percent(1, 1), 100);
        assert_eq!(percent(0, 20), 0);
        assert_eq!(percent(1, 20), 5);
        assert_eq!(percent(1, 3), 33);
        assert_eq!(percent(2, 3), 67);
        assert_eq!(percent(45, 20), 225);
        assert_eq!(percent(5, 0), 0);
    }

    #[test]
    fn rows_fold_into_days_and_results() {
        let d1 = NaiveDate::from_ymd_opt(2024, 7, 1).unwrap();
        let d3 = NaiveDate::from_ymd_opt(2024, 7, 3).unwrap();
        let result = |dir: &str, disp: &str, calls, billsec| ResultCalls {
            direction: dir.into(),
            disposition: disp.into(),
            calls,
            billsec,
        };
        let results = vec![
            result("in", "ANSWERED", 2, 120),
            result("out", "BUSY", 1, 0),
            result("out", "ANSWERED", 1, 90),
            result("in", "NO ANSWER", 3, 0),
        ];
        let day = |day, calls, answered, billsec| DayCalls {
            day,
            calls,
            answered,
            billsec,
        };
        let days = vec![day(d1, 3, 2, 120), day(d3, 4, 1, 90)];
        let mut page = StatsPage {
            pagename: "",
            language: "en",
            userid: 1,
            period_start: d1,
            period_end: d3,
            todays_normative: 0,
            months_normative: 0,
            new_calls: 0,
            incoming: Outcomes::default(),
            outgoing: Outcomes::default(),
            days: vec![],
            daily_call_target: 0,
            today_calls: 0,
            month_calls: 0,
            total_calls: 0,
            total_minutes: String::new(),
            total_seconds: 0,
            links: Links::whole(),
            error_msg: String::new(),
            form: PeriodFields::default(),
            all_days: vec![],
        };
        page.daily_call_target = 4;
        fill(&mut page, &results, &days, d1, d3, 4);
        assert_eq!(
            page.incoming,
            Outcomes {
                answered: 2,
                no_answer: 3,
                busy: 0,
                failed: 0
            }
        );
        assert_eq!(
            page.outgoing,
            Outcomes {
                answered: 1,
                no_answer: 0,
                busy: 1,
                failed: 0
            }
        );
        assert_eq!(page.total_calls, 7);
        assert_eq!(page.total_minutes, "3.5");
        let dates: Vec<_> = page.days.iter().map(|d| d.date.to_string()).collect();
        assert_eq!(
            dates,
            ["2024-07-03", "2024-07-01"],
            "newest first, empty days left out"
        );
        assert_eq!(page.days[0].calls_count, 4);
        assert_eq!(page.days[0].duration, "1.5");
        assert_eq!(page.days[0].avg_time, "1.5");
        assert_eq!(page.days[0].calls_normative, 100);
        assert_eq!(page.days[1].avg_time, "1.0");
        assert_eq!(page.days[1].calls_normative, 75);
        assert_eq!(page.all_days.len(), 3);
        assert_eq!(page.all_days[1].calls_count, 0);
        // Charts draw every day; the SVG is well-formed and has no style attributes.
        let charts = Charts::of(&page, Lang::En);
        assert!(!charts.per_month);
        assert_eq!(charts.calls.width, "30");
        assert_eq!(charts.calls.target_y.as_deref(), Some("20"));
        assert!(!charts.calls.svg().contains("style"));
    }
}
