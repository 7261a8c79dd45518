//! The call list (`/stats/call_list`) and the new calls (`/stats/new_calls_list`).
//!
//! The call list reads every filter field into one `CallFilter` (`crate::call_filter`), from the
//! query string on GET and from the form on POST, so a filtered view is a URL. Pages are keyset
//! pages of `per_page` calls (default 50, at most 500), newest first; `links.next` (older calls,
//! `before=STARTED_AT.ID`) and `links.prev` (newer calls, `after=STARTED_AT.ID`) are this
//! request's address with the page key replaced, in every format (the XML's trailing `<paging>`,
//! the HTML's older/newer links). Totals cover the whole filter, not the page.
//!
//! What the call pages show of a call: `duration` is its talk time (billed seconds, the time
//! that is priced, as on the main page); `price` is the call's price in the account's currency
//! with `max(3, currency decimals)` decimals, since call prices are often fractions of a cent
//! (the seed shows `0.049`); totals are shown with the currency's own decimals. A call without a
//! price (not rated yet) shows an empty price and is counted apart. `destination` is the matched
//! destination's details, or the dialled number when none matched (incoming calls).
//!
//! **Seen and new calls.** A call is *new* until the subscriber has seen it. The calls listed on
//! an HTML page of the call list or of the new calls are marked seen when the page is answered;
//! only the rows of that page, never the rest of the filter. Reading the same pages as XML or
//! JSON changes nothing (a program polling the list must not empty the subscriber's New calls
//! page); a program marks calls seen with `POST /stats/new_calls_list/mark_seen` (`ids`, or
//! every unseen call), as the page's "Mark all as seen" does. Counts, statistics and exports do
//! not mark calls seen. The new-calls page lists the 50 newest unseen calls (`per_page`), with
//! the number of unseen calls before this visit; the next visit shows the next 50 older ones, if
//! any, and a program reads further with `links.next` (keyset pages of the unseen calls).
//!
//! In JSON, a refused filter or page position is an error (`invalid_input`), never a page: the
//! XML and HTML pages carry `error_msg` instead.

use std::borrow::Borrow;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::call_filter::{
    CallFilter, CallFilterParams, DeviceChoice, Direction, FilterError, Status,
};
use crate::error::{AppError, AppResult};
use crate::export::{self, key_in, Column, Export, ExportRow, FileName, Owner, WordTable};
use crate::i18n::Lang;
use crate::input::echo;
use crate::money::Money;
use crate::numbers;
use crate::pages::calls::period_form::PeriodFields;
use crate::pages::notice;
use crate::period::Period;
use crate::store::access::Resource;
use crate::store::call_list::{calls_query, CallListing, CallRow, CallTotals, Cursor, DeviceName};
use crate::store::keyset_page::{page_size, PAGE_SIZE};
use crate::store::users::Account;
use crate::store::Store;
use crate::time;
use crate::web::openapi::ApiDoc;
use crate::web::values::{Amount, Links, Moment};
use crate::web::{
    require, respond, respond_action, respond_as, too_long_for_pdf, Chrome, Ctx, CurrentUser,
    Format, OwnUserId, Page, StrictForm, UserAccount,
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/stats/call_list")
            .name("call_list")
            .route(web::get().to(list_get))
            .route(web::post().to(list_post)),
    )
    .service(
        web::resource("/stats/new_calls_list")
            .name("new_calls_list")
            .route(web::get().to(new_calls)),
    )
    .service(
        web::resource("/stats/new_calls_list/mark_seen")
            .name("mark_seen")
            .route(web::post().to(mark_seen)),
    )
    // The seed's export links: the call list with a fixed format (`?format=` still wins).
    .service(
        web::resource("/stats/call_list_to_pdf/{userid}")
            .name("call_list_to_pdf")
            .route(web::get().to(pdf)),
    )
    .service(
        web::resource("/stats/call_list_to_csv/{userid}")
            .name("call_list_to_csv")
            .route(web::get().to(csv)),
    );
}

/// One call as the lists show it; the seed's fields plus raw values for JSON.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CallView {
    pub call_id: i64,
    /// When it started (the XML's `YYYY-MM-DD HH:MM:SS` in the subscriber's zone).
    pub date: Moment,
    pub called_from: String,
    pub called_to: String,
    /// The phonebook's name for `called_from` (`null`: none).
    pub from_name: Option<String>,
    /// The phonebook's name for `called_to` (`null`: none).
    pub to_name: Option<String>,
    pub destination: String,
    /// `HH:MM:SS`: talk time, or on the missed calls how long it rang.
    pub duration: String,
    /// The same in seconds.
    pub seconds: i64,
    /// `Answered`, `No Answer`, `Busy` or `Failed`, as the seed spells them.
    pub hangup_cause: &'static str,
    /// `outgoing` or `incoming`.
    pub direction: &'static str,
    /// `null` when the call has no price yet (the XML's empty `<price>`); at least 3 decimals.
    pub price: Option<Amount>,
    /// Marked processed on the missed calls (the XML's `1`/`0`).
    pub processed: bool,
    /// Not seen before this page showed it.
    pub new: bool,
}

impl CallView {
    /// `ring_time`: show the whole duration (missed calls) rather than the talk time.
    pub fn of(
        row: &CallRow,
        tz: Tz,
        price_decimals: u32,
        currency: &str,
        ring_time: bool,
    ) -> CallView {
        let seconds = if ring_time {
            row.duration_s
        } else {
            row.billsec
        };
        CallView {
            call_id: row.id,
            date: Moment::new(row.started_at, tz),
            called_from: row.src.clone(),
            called_to: row.dst.clone(),
            from_name: row.src_name.clone(),
            to_name: row.dst_name.clone(),
            destination: row.destination.clone().unwrap_or_else(|| row.dst.clone()),
            duration: time::format_duration(seconds),
            seconds,
            hangup_cause: hangup_cause(&row.disposition),
            direction: if row.direction == "in" {
                "incoming"
            } else {
                "outgoing"
            },
            price: row
                .price_micros
                .map(|p| Amount::new(Money(p), price_decimals, currency)),
            processed: row.processed != 0,
            new: row.seen == 0,
        }
    }

    /// The caller as people read numbers (`+` before an international one).
    pub fn from_shown(&self) -> String {
        numbers::shown(&self.called_from)
    }

    /// The number called as people read numbers.
    pub fn to_shown(&self) -> String {
        numbers::shown(&self.called_to)
    }

    /// The talk time on the pages: `5:07`, empty when there was none.
    pub fn duration_shown(&self) -> String {
        time::short_duration(self.seconds)
    }

    /// How long a missed call rang, on its page: `0:25`; `0:00` for a call refused at once.
    pub fn ring_shown(&self) -> String {
        match time::short_duration(self.seconds) {
            s if s.is_empty() => "0:00".to_string(),
            s => s,
        }
    }

    /// The price on the pages: no more decimals than it has (`0.74`, `0.068`), at least the
    /// currency's `decimals`.
    pub fn price_shown(&self, lang: impl Borrow<Lang>, decimals: impl Borrow<u32>) -> String {
        self.price
            .as_ref()
            .map(|p| p.trimmed(*decimals.borrow()).number(lang))
            .unwrap_or_else(|| "—".into())
    }

    /// The locale key of the hangup cause.
    pub fn cause_key(&self) -> &'static str {
        key_in(CAUSES, self.hangup_cause).unwrap_or("calls.status.failed")
    }

    /// The CSS class of the hangup cause.
    pub fn cause_class(&self) -> &'static str {
        match self.hangup_cause {
            "Answered" => "answered",
            "No Answer" => "no_answer",
            "Busy" => "busy",
            _ => "failed",
        }
    }

    /// The locale key of the call's direction (`Incoming call`).
    pub fn direction_key(&self) -> &'static str {
        key_in(DIRECTIONS, self.direction).unwrap_or("calls.call.outgoing")
    }

    pub fn is_incoming(&self) -> bool {
        self.direction == "incoming"
    }

    /// The price as the XML, HTML and exports write it: `0.049`, empty when not rated.
    pub fn price_text(&self) -> String {
        self.price.as_ref().map(Amount::value).unwrap_or_default()
    }
}

/// A call in the exports: the page's columns, in the page's words for the PDF; the CSV's
/// header is the XML's field names.
impl ExportRow for CallView {
    fn columns(lang: Lang) -> Vec<Column> {
        vec![
            Column::date_time("date", lang.t("calls.date")),
            Column::phone("called_from", lang.t("calls.called_from")),
            Column::phone("called_to", lang.t("calls.called_to")),
            Column::text("destination", lang.t("calls.destination")),
            Column::words("direction", lang.t("calls.in_or_out"), lang, DIRECTIONS),
            Column::words("hangup_cause", lang.t("calls.result"), lang, CAUSES),
            Column::text("duration", lang.t("calls.duration")),
            Column::number("seconds", lang.t("export.calls.seconds")),
            Column::number("price", lang.t("calls.price")),
        ]
    }

    fn cells(&self) -> Vec<String> {
        vec![
            self.date.to_string(),
            self.called_from.clone(),
            self.called_to.clone(),
            self.destination.clone(),
            self.direction.to_string(),
            self.hangup_cause.to_string(),
            self.duration.clone(),
            self.seconds.to_string(),
            self.price_text(),
        ]
    }

    fn into_cells(self) -> Vec<String> {
        let price = self.price_text();
        vec![
            self.date.to_string(),
            self.called_from,
            self.called_to,
            self.destination,
            self.direction.to_string(),
            self.hangup_cause.to_string(),
            self.duration,
            self.seconds.to_string(),
            price,
        ]
    }
}

/// Hangup causes as the seed spells them, and their locale keys.
pub const CAUSES: WordTable = &[
    ("Answered", "calls.status.answered"),
    ("No Answer", "calls.status.no_answer"),
    ("Busy", "calls.status.busy"),
    ("Failed", "calls.status.failed"),
];

/// A call's direction codes, and their locale keys (for one call).
pub const DIRECTIONS: WordTable = &[
    ("incoming", "calls.call.incoming"),
    ("outgoing", "calls.call.outgoing"),
];

/// The seed's spelling of a stored disposition.
pub fn hangup_cause(disposition: &str) -> &'static str {
    match disposition {
        "ANSWERED" => "Answered",
        "NO ANSWER" => "No Answer",
        "BUSY" => "Busy",
        _ => "Failed",
    }
}

/// Decimals of a single call's price: at least 3 (see the module doc).
pub fn call_price_decimals(account: &Account) -> u32 {
    (account.currency_decimals.clamp(0, 6) as u32).max(3)
}

/// Reads a filter, answering another user's `userid` and device with 404.
pub async fn checked_filter(
    store: &Store,
    user: CurrentUser,
    params: &CallFilterParams,
    tz: Tz,
) -> AppResult<Result<CallFilter, FilterError>> {
    match CallFilter::parse(params, user.id, tz, time::now()) {
        Err(FilterError::UserId(_)) => Err(AppError::NotFound),
        Ok(f) => {
            if let DeviceChoice::One(id) = f.device {
                require(store, user, Resource::Device, id).await?;
            }
            Ok(Ok(f))
        }
        Err(e) => Ok(Err(e)),
    }
}

/// The page's fields: the filter, a page position and a page size.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ListParams {
    #[serde(flatten)]
    pub filter: CallFilterParams,
    /// `STARTED_AT.ID`: the page of calls older than this.
    #[serde(default)]
    pub before: Option<String>,
    /// `STARTED_AT.ID`: the page of calls newer than this.
    #[serde(default)]
    pub after: Option<String>,
    #[serde(default)]
    pub per_page: Option<String>,
}

impl ListParams {
    pub fn cursor(&self, lang: Lang) -> Result<Cursor, String> {
        Cursor::of(self.before.as_deref(), self.after.as_deref(), lang)
    }

    pub fn page_size(&self, lang: Lang) -> Result<u32, String> {
        page_size(self.per_page.as_deref(), lang)
    }
}

/// The request as the page links repeat it: `fields` (a form's, on POST, as a query string)
/// join the query so the neighbouring pages are GETs of the same filter, and the `drop` keys
/// (one-time notices) are left out.
pub fn link_base(ctx: &Ctx, fields: Option<&str>, drop: &[&str]) -> Ctx {
    let fields: Vec<(String, String)> = fields
        .and_then(|f| serde_urlencoded::from_str(f).ok())
        .unwrap_or_default();
    let mut pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(&ctx.query).unwrap_or_default();
    pairs.retain(|(k, _)| !drop.contains(&k.as_str()) && !fields.iter().any(|(f, _)| f == k));
    pairs.extend(fields);
    let mut base = ctx.clone();
    base.query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    base
}

/// A page refused for its input: JSON answers the one error shape (`invalid_input`); XML and
/// HTML show the page itself with its `error_msg`, as 400 (an export's refusal comes as the
/// page it was asked from).
pub fn refused<P: Page>(ctx: &Ctx, page: &P, message: &str) -> AppResult<HttpResponse> {
    if ctx.error_format() == Format::Json {
        return Err(AppError::BadInput(message.to_string()));
    }
    let mut resp = respond_as(ctx.error_format(), ctx, page)?;
    *resp.status_mut() = StatusCode::BAD_REQUEST;
    Ok(resp)
}

/// The filter form's fields as the subscriber typed them, so a refused form keeps them.
#[derive(Clone, Debug, Default)]
pub struct FilterForm {
    pub period: PeriodFields,
    pub direction: String,
    pub status: String,
    pub device: String,
}

impl FilterForm {
    pub fn of(f: &CallFilter) -> FilterForm {
        FilterForm {
            period: PeriodFields::of(&f.period),
            direction: f.direction.code().to_string(),
            status: f.status.code().to_string(),
            device: f.device.code(),
        }
    }

    pub fn typed(p: &CallFilterParams) -> FilterForm {
        let s = |v: &Option<String>| echo(v.as_deref().unwrap_or_default());
        FilterForm {
            period: PeriodFields::typed(p.period_start.as_deref(), p.period_end.as_deref()),
            direction: s(&p.direction.clone().or_else(|| p.calltype.clone())),
            status: s(&p.status),
            device: s(&p.device),
        }
    }

    pub fn direction_is(&self, code: &str) -> bool {
        Direction::parse(&self.direction).map(Direction::code) == Some(code)
    }

    pub fn status_is(&self, code: &str) -> bool {
        Status::parse(&self.status).map(Status::code) == Some(code)
    }

    pub fn device_is(&self, id: &str) -> bool {
        self.device == id
    }
}

/// A device the filter can choose.
#[derive(Clone, Debug, Serialize)]
pub struct DeviceOption {
    pub id: String,
    pub name: String,
}

/// The call list: one keyset page of the filter's calls with the filter's totals.
#[derive(Serialize, ToSchema)]
pub struct CallListPage {
    pub pagename: &'static str,
    pub language: &'static str,
    /// Why the filter was refused (XML and HTML; JSON answers an error instead).
    #[serde(skip)]
    pub error_msg: String,
    pub userid: i64,
    /// `all` or a device id.
    pub show_device: String,
    /// The hangup filter: `all`, `answered`, …
    pub status: String,
    /// `all`, `outgoing` or `incoming`.
    pub direction: String,
    pub total_calls: i64,
    pub username: String,
    pub currency: String,
    /// `available_languages` in JSON, as on the login page (the XML keeps the seed's name).
    #[serde(rename = "available_languages")]
    pub aval_languages: Vec<&'static str>,
    /// The period's first second.
    pub period_start: Moment,
    /// The period's last second.
    pub period_end: Moment,
    /// The period as the XML and HTML write it (`2024-05-01 00:00:00`), or as typed when it
    /// was refused.
    #[serde(skip)]
    pub period_text: PeriodFields,
    pub calls: Vec<CallView>,
    /// Talk time of all calls of the filter, `HH:MM:SS`.
    pub total_duration: String,
    pub total_seconds: i64,
    /// Price of all calls of the filter, with the currency's decimals.
    pub total_price: Amount,
    pub unrated_calls: i64,
    /// `next`: older calls; `prev`: newer calls.
    pub links: Links,
    /// Calls a page.
    pub per_page: u32,
    /// The filter as a query string, for links that keep it.
    pub filter_query: String,
    #[serde(skip)]
    pub form: FilterForm,
    #[serde(skip)]
    pub devices: Vec<DeviceOption>,
    /// Whose calls: for the exports' title and file name.
    #[serde(skip)]
    pub owner: Owner,
    /// The period as days (`2025-01-01_2025-01-31`), for the exports' file name.
    #[serde(skip)]
    pub period_days: String,
}

#[derive(Template)]
#[template(path = "pages/calls/call_list.html")]
struct CallListHtml<'a> {
    c: &'a Chrome,
    v: &'a CallListPage,
}

#[derive(Template)]
#[template(path = "xml/calls/call_list.xml")]
struct CallListXml<'a> {
    v: &'a CallListPage,
}

impl Page for CallListPage {
    fn html(&self, c: &Chrome) -> askama::Result<String> {
        CallListHtml { c, v: self }.render()
    }
    fn xml(&self) -> askama::Result<String> {
        CallListXml { v: self }.render()
    }
    /// The PDF of the calls of the filter (the handler has put them all in `calls`, the length
    /// capped); the CSV is streamed by the handler instead.
    fn export(&self, lang: Lang) -> Option<Export> {
        let mut e = Export::list(
            FileName::new("calls", &self.owner.username, &self.period_days),
            lang,
            lang.t("calls.title").to_string(),
            &self.calls,
        );
        e.subtitle.push(self.owner.label());
        e.subtitle.push(self.filter_summary(lang));
        e.subtitle.push(format!(
            "{}: {} – {}",
            lang.t("export.period"),
            crate::locale::local_text(lang, &self.period_text.start),
            crate::locale::local_text(lang, &self.period_text.end)
        ));
        e.totals = vec![
            (
                lang.t("calls.count").to_string(),
                self.total_calls.to_string(),
            ),
            (
                lang.t("calls.talk_time").to_string(),
                self.total_duration.clone(),
            ),
            (
                lang.t("calls.price").to_string(),
                self.total_price.money(lang),
            ),
        ];
        if self.unrated_calls > 0 {
            e.totals.push((
                lang.t("calls.unrated").to_string(),
                self.unrated_calls.to_string(),
            ));
        }
        e.empty = lang.t("calls.empty").to_string();
        Some(e)
    }
}

impl CallListPage {
    /// `Direction: Outgoing · Result: Busy · Device: SIP/101`, in the reader's words.
    fn filter_summary(&self, lang: Lang) -> String {
        let pick = |choices: &[(&str, &'static str)], code: &str| {
            choices
                .iter()
                .find(|(c, _)| *c == code)
                .map(|(_, key)| lang.t(key).to_string())
                .unwrap_or_else(|| code.to_string())
        };
        let device = self
            .devices
            .iter()
            .find(|d| d.id == self.show_device)
            .map(|d| d.name.clone())
            .unwrap_or_else(|| lang.t("calls.device.all").to_string());
        format!(
            "{}: {} · {}: {} · {}: {device}",
            lang.t("calls.direction"),
            pick(&Self::directions(), &self.direction),
            lang.t("calls.result"),
            pick(&Self::statuses(), &self.status),
            lang.t("calls.device"),
        )
    }

    /// The exports of this filter, for the page's download links.
    pub fn export_url(&self, format: &str) -> String {
        format!(
            "/stats/call_list_to_{format}/{}?{}",
            self.userid, self.filter_query
        )
    }

    /// The direction choices: (value, locale key).
    pub fn directions() -> [(&'static str, &'static str); 3] {
        [
            (Direction::All.code(), "calls.direction.all"),
            (Direction::Outgoing.code(), "calls.direction.outgoing"),
            (Direction::Incoming.code(), "calls.direction.incoming"),
        ]
    }

    /// The result choices: (value, locale key).
    pub fn statuses() -> [(&'static str, &'static str); 6] {
        Status::ALL.map(|s| {
            (
                s.code(),
                match s {
                    Status::All => "calls.status.all",
                    Status::Answered => "calls.status.answered",
                    Status::Unanswered => "calls.status.unanswered",
                    Status::NoAnswer => "calls.status.no_answer",
                    Status::Busy => "calls.status.busy",
                    Status::Failed => "calls.status.failed",
                },
            )
        })
    }
}

/// The devices of the filter's device list, `Type/extension – description`.
pub async fn device_options(store: &Store, user_id: i64) -> AppResult<Vec<DeviceOption>> {
    Ok(store
        .device_choices(user_id)
        .await?
        .into_iter()
        .map(DeviceOption::of)
        .collect())
}

impl DeviceOption {
    fn of(d: DeviceName) -> DeviceOption {
        DeviceOption {
            id: d.id.to_string(),
            name: if d.description.is_empty() {
                format!("{}/{}", d.device_type, d.extension)
            } else {
                format!("{}/{} – {}", d.device_type, d.extension, d.description)
            },
        }
    }
}

/// GET /stats/call_list_to_pdf/{userid}?call_type=…&date_from=…&date_till=…[&status=…][&device=…]
pub async fn pdf(
    ctx: Ctx,
    user: OwnUserId,
    account: UserAccount,
    store: web::Data<Store>,
    query: web::Query<ListParams>,
) -> AppResult<HttpResponse> {
    list(
        ctx.exporting(Format::Pdf),
        user.0,
        account,
        &store,
        query.into_inner(),
        false,
    )
    .await
}

/// GET /stats/call_list_to_csv/{userid}?call_type=…&date_from=…&date_till=…[&status=…][&device=…]
pub async fn csv(
    ctx: Ctx,
    user: OwnUserId,
    account: UserAccount,
    store: web::Data<Store>,
    query: web::Query<ListParams>,
) -> AppResult<HttpResponse> {
    list(
        ctx.exporting(Format::Csv),
        user.0,
        account,
        &store,
        query.into_inner(),
        false,
    )
    .await
}

/// GET /stats/call_list
pub async fn list_get(
    ctx: Ctx,
    user: CurrentUser,
    account: UserAccount,
    store: web::Data<Store>,
    query: web::Query<ListParams>,
) -> AppResult<HttpResponse> {
    list(ctx, user, account, &store, query.into_inner(), false).await
}

/// POST /stats/call_list: the seed's "change period"; the same fields in a form.
pub async fn list_post(
    ctx: Ctx,
    user: CurrentUser,
    account: UserAccount,
    store: web::Data<Store>,
    query: web::Query<ListParams>,
    form: Option<web::Form<ListParams>>,
) -> AppResult<HttpResponse> {
    let posted = form.is_some();
    let params = form.map(|f| f.into_inner()).unwrap_or(query.into_inner());
    list(ctx, user, account, &store, params, posted).await
}

/// `posted`: the filter came in a form body, which the page links turn into a query.
async fn list(
    ctx: Ctx,
    user: CurrentUser,
    UserAccount(account): UserAccount,
    store: &Store,
    params: ListParams,
    posted: bool,
) -> AppResult<HttpResponse> {
    let tz = time::zone(&account.time_zone);
    let mut page = CallListPage {
        pagename: "Calls",
        language: ctx.lang.code(),
        error_msg: String::new(),
        userid: user.id,
        show_device: "all".into(),
        status: "all".into(),
        direction: "all".into(),
        total_calls: 0,
        username: account.display_name(),
        currency: account.currency.clone(),
        aval_languages: crate::pages::available_languages(),
        // Set from the period once it is read; a refused page shows `period_text`.
        period_start: Moment::new(time::now(), tz),
        period_end: Moment::new(time::now(), tz),
        period_text: PeriodFields::typed(
            params.filter.period_start.as_deref(),
            params.filter.period_end.as_deref(),
        ),
        calls: Vec::new(),
        total_duration: time::format_duration(0),
        total_seconds: 0,
        total_price: Amount::new(
            Money(0),
            account.currency_decimals as u32,
            account.currency.clone(),
        ),
        unrated_calls: 0,
        links: Links::default(),
        per_page: PAGE_SIZE,
        filter_query: String::new(),
        form: FilterForm::typed(&params.filter),
        // Read with the page's calls, or alone for a refusal or a PDF.
        devices: Vec::new(),
        owner: Owner::of(&account),
        period_days: String::new(),
    };
    let filter = checked_filter(store, user, &params.filter, tz).await?;
    let paging = params
        .cursor(ctx.lang)
        .and_then(|c| Ok((c, params.page_size(ctx.lang)?)));
    let (filter, (cursor, size)) = match (filter, paging) {
        (Ok(f), Ok(p)) => (f, p),
        (Err(e), _) => return refuse_list(&ctx, store, page, e.message(ctx.lang)).await,
        (_, Err(msg)) => return refuse_list(&ctx, store, page, msg).await,
    };
    let price_decimals = call_price_decimals(&account);
    let currency = account.currency.clone();
    page.period_days = format!("{}_{}", filter.period.first_day(), filter.period.last_day());
    page.per_page = size;
    match ctx.format {
        // Every call of the filter, streamed; paging fields do not apply to an export.
        Format::Csv => {
            return Ok(export::csv::stream(
                FileName::new("calls", &account.username, &page.period_days),
                CallView::columns(ctx.lang),
                store,
                calls_query(user.id, &filter),
                move |row| CallView::of(&row, tz, price_decimals, &currency, false).into_cells(),
            ));
        }
        Format::Pdf => {
            page.devices = device_options(store, user.id).await?;
            return pdf_of_filter(&ctx, store, &account, page, &filter).await;
        }
        _ => {}
    }
    let CallListing {
        page: result,
        totals,
        devices,
    } = store.call_listing(user.id, &filter, cursor, size).await?;
    page.devices = devices.into_iter().map(DeviceOption::of).collect();
    if ctx.format == Format::Html {
        let unseen: Vec<i64> = result
            .rows
            .iter()
            .filter(|r| r.seen == 0)
            .map(|r| r.id)
            .collect();
        store.mark_seen(user.id, &unseen).await?;
    }

    let rows = result
        .rows
        .iter()
        .map(|r| CallView::of(r, tz, price_decimals, &currency, false))
        .collect();
    fill(&mut page, &filter, &account, totals, rows);
    let fields = posted.then(|| {
        let mut q = filter.query_string();
        if size != PAGE_SIZE {
            q.push_str(&format!("&per_page={size}"));
        }
        q
    });
    let base = link_base(&ctx, fields.as_deref(), &[]);
    page.links = base.page_links(result.next, result.prev);
    respond(&ctx, &page)
}

/// The page's figures for a filter: its fields, totals and the calls shown.
fn fill(
    page: &mut CallListPage,
    filter: &CallFilter,
    account: &Account,
    totals: CallTotals,
    calls: Vec<CallView>,
) {
    page.show_device = filter.device.code();
    page.status = filter.status.code().into();
    page.direction = filter.direction.code().into();
    page.total_calls = totals.calls;
    (page.period_start, page.period_end, page.period_text) = period_shown(&filter.period, account);
    page.calls = calls;
    page.total_duration = time::format_duration(totals.billsec);
    page.total_seconds = totals.billsec;
    page.total_price = Amount::new(
        Money(totals.price_micros),
        account.currency_decimals as u32,
        account.currency.clone(),
    );
    page.unrated_calls = totals.unrated;
    page.filter_query = filter.query_string();
    page.form = FilterForm::of(filter);
}

/// A period's first and last second, and its text as the XML and HTML write it.
pub fn period_shown(period: &Period, account: &Account) -> (Moment, Moment, PeriodFields) {
    let tz = time::zone(&account.time_zone);
    (
        Moment::new(period.from(), tz),
        Moment::new(period.until() - 1, tz),
        PeriodFields {
            start: period.start_text(),
            end: period.end_text(),
        },
    )
}

/// The PDF of every call of the filter, or, past the configured cap, the offer of its CSV.
/// The count comes first (from the hourly roll-up), so a long list is refused before any row
/// is read.
async fn pdf_of_filter(
    ctx: &Ctx,
    store: &Store,
    account: &Account,
    mut page: CallListPage,
    filter: &CallFilter,
) -> AppResult<HttpResponse> {
    let totals = store.call_totals(account.id, filter).await?;
    if totals.calls > ctx.pdf_max_rows as i64 {
        return Ok(too_long_for_pdf(ctx, totals.calls as usize));
    }
    let tz = time::zone(&account.time_zone);
    let price_decimals = call_price_decimals(account);
    let calls = store
        .calls_of_filter(account.id, filter, ctx.pdf_max_rows as i64)
        .await?
        .iter()
        .map(|r| CallView::of(r, tz, price_decimals, &account.currency, false))
        .collect();
    fill(&mut page, filter, account, totals, calls);
    respond(ctx, &page)
}

/// The page with why its input was refused.
async fn refuse_list(
    ctx: &Ctx,
    store: &Store,
    mut page: CallListPage,
    message: String,
) -> AppResult<HttpResponse> {
    page.devices = device_options(store, page.userid).await?;
    page.error_msg = message.clone();
    refused(ctx, &page, &message)
}

/// The new calls: one keyset page of the calls not seen yet.
#[derive(Serialize, ToSchema)]
pub struct NewCallsPage {
    pub pagename: &'static str,
    pub language: &'static str,
    /// Why the page position was refused (XML and HTML; JSON answers an error instead).
    #[serde(skip)]
    pub error_msg: String,
    pub userid: i64,
    /// Unseen calls before this page marked its own calls seen.
    pub total_calls: i64,
    pub calls: Vec<CallView>,
    pub currency: String,
    /// `next`: older unseen calls; `prev`: newer ones.
    pub links: Links,
    /// Calls a page.
    pub per_page: u32,
    /// After "Mark all as seen" (`?done=marked&n=`), HTML only.
    #[serde(skip)]
    pub notice: Option<String>,
}

#[derive(Template)]
#[template(path = "pages/calls/new_calls.html")]
struct NewCallsHtml<'a> {
    c: &'a Chrome,
    v: &'a NewCallsPage,
}

#[derive(Template)]
#[template(path = "xml/calls/new_calls.xml")]
struct NewCallsXml<'a> {
    v: &'a NewCallsPage,
}

impl Page for NewCallsPage {
    fn html(&self, c: &Chrome) -> askama::Result<String> {
        NewCallsHtml { c, v: self }.render()
    }
    fn xml(&self) -> askama::Result<String> {
        NewCallsXml { v: self }.render()
    }
}

impl NewCallsPage {
    /// Unseen calls this page did not show.
    pub fn remaining(&self) -> i64 {
        (self.total_calls - self.calls.len() as i64).max(0)
    }
}

/// The most calls one `mark_seen` names (two pages of the largest size).
const MARK_SEEN_MAX: usize = 1000;

#[derive(Deserialize)]
pub struct MarkSeenFields {
    /// Call ids separated by commas; absent or empty: every unseen call.
    #[serde(default)]
    ids: String,
}

/// POST /stats/new_calls_list/mark_seen (`ids`, optional): marks the named calls seen (each
/// checked as the subscriber's), or every unseen call; browsers return to New calls.
pub async fn mark_seen(
    ctx: Ctx,
    user: CurrentUser,
    store: web::Data<Store>,
    form: StrictForm<MarkSeenFields>,
) -> AppResult<HttpResponse> {
    let ids = parse_ids(&form.into_inner().ids).map_err(AppError::bad_input)?;
    let marked = if ids.is_empty() {
        store.mark_all_seen(user.id).await?
    } else {
        for id in &ids {
            require(&store, user, Resource::Call, *id).await?;
        }
        store.mark_seen(user.id, &ids).await?
    };
    Ok(match ctx.format {
        Format::Html => notice::redirect_count("/stats/new_calls_list", "marked", marked),
        f => respond_action(
            f,
            StatusCode::OK,
            "mark_seen",
            &format!("{marked} calls marked as seen"),
        ),
    })
}

/// `12,13, 14` → [12, 13, 14]; at most [`MARK_SEEN_MAX`], each a positive number.
fn parse_ids(text: &str) -> Result<Vec<i64>, String> {
    let ids = text
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            t.parse::<i64>()
                .ok()
                .filter(|id| *id > 0)
                .ok_or_else(|| format!("ids: {t:?} is not a call id"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if ids.len() > MARK_SEEN_MAX {
        return Err(format!("ids: at most {MARK_SEEN_MAX} calls at a time"));
    }
    Ok(ids)
}

/// GET /stats/new_calls_list[?before=|after=STARTED_AT.ID][&per_page=]
pub async fn new_calls(
    ctx: Ctx,
    user: CurrentUser,
    UserAccount(account): UserAccount,
    store: web::Data<Store>,
    query: web::Query<NewCallsQuery>,
) -> AppResult<HttpResponse> {
    let tz = time::zone(&account.time_zone);
    let mut page = NewCallsPage {
        pagename: "Calls",
        language: ctx.lang.code(),
        error_msg: String::new(),
        userid: user.id,
        total_calls: 0,
        calls: Vec::new(),
        currency: account.currency.clone(),
        links: Links::default(),
        per_page: PAGE_SIZE,
        notice: notice::text_count(
            ctx.lang,
            "new_calls",
            &["marked"],
            query.done.as_deref(),
            query.n.as_deref(),
        ),
    };
    let position = Cursor::of(query.before.as_deref(), query.after.as_deref(), ctx.lang)
        .and_then(|c| Ok((c, page_size(query.per_page.as_deref(), ctx.lang)?)));
    let (cursor, size) = match position {
        Ok(p) => p,
        Err(msg) => {
            page.error_msg = msg.clone();
            return refused(&ctx, &page, &msg);
        }
    };
    let total = store.unseen_count(user.id).await?;
    let result = store.unseen_page(user.id, cursor, size).await?;
    if ctx.format == Format::Html {
        let ids: Vec<i64> = result.rows.iter().map(|r| r.id).collect();
        store.mark_seen(user.id, &ids).await?;
    }
    let price_decimals = call_price_decimals(&account);
    page.total_calls = total;
    page.per_page = size;
    let calls = result
        .rows
        .iter()
        .map(|r| CallView::of(r, tz, price_decimals, &account.currency, false))
        .collect();
    page.calls = calls;
    page.links = link_base(&ctx, None, &["done", "n"]).page_links(result.next, result.prev);
    respond(&ctx, &page)
}

#[derive(Deserialize)]
pub struct NewCallsQuery {
    done: Option<String>,
    n: Option<String>,
    #[serde(default)]
    before: Option<String>,
    #[serde(default)]
    after: Option<String>,
    #[serde(default)]
    per_page: Option<String>,
}

/// The call pages in the JSON API's description.
pub fn api(doc: &mut ApiDoc) {
    let filter = [
        (
            "period_start",
            "`YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS` in the subscriber's zone (default: the \
             month's start; `date_from` is the same)",
        ),
        (
            "period_end",
            "`YYYY-MM-DD` (the whole day) or `YYYY-MM-DD HH:MM:SS` (`date_till` is the same)",
        ),
        (
            "direction",
            "`all`, `outgoing` or `incoming` (`calltype`, `call_type`)",
        ),
        (
            "status",
            "`all`, `answered`, `unanswered`, `no_answer`, `busy` or `failed`",
        ),
        ("device", "`all` or one of the subscriber's device ids"),
    ];
    let paging = [
        ("per_page", "Calls a page, 1 to 500 (default 50)"),
        (
            "before",
            "A page position from `links.next`: the older calls",
        ),
        (
            "after",
            "A page position from `links.prev`: the newer calls",
        ),
    ];
    doc.page::<CallListPage>(
        "Calls",
        "/stats/call_list",
        &[filter.as_slice(), paging.as_slice()].concat(),
    );
    doc.page::<NewCallsPage>("Calls", "/stats/new_calls_list", &paging);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::call_list::Key;

    #[test]
    fn paging_fields_are_checked() {
        let p: ListParams =
            serde_urlencoded::from_str("before=1720000000.5&per_page=20&direction=in").unwrap();
        assert_eq!(
            p.cursor(Lang::En),
            Ok(Cursor::Before(Key {
                started_at: 1_720_000_000,
                id: 5
            }))
        );
        assert_eq!(p.page_size(Lang::En), Ok(20));
        assert_eq!(p.filter.direction.as_deref(), Some("in"));
        let p: ListParams = serde_urlencoded::from_str("after=x&per_page=0").unwrap();
        assert!(p.cursor(Lang::En).is_err());
        assert!(p.page_size(Lang::En).is_err());
        let p: ListParams = serde_urlencoded::from_str("").unwrap();
        assert_eq!(
            (p.cursor(Lang::En), p.page_size(Lang::En)),
            (Ok(Cursor::First), Ok(PAGE_SIZE))
        );
    }

    #[test]
    fn dispositions_read_as_the_seed_spells_them() {
        assert_eq!(hangup_cause("ANSWERED"), "Answered");
        assert_eq!(hangup_cause("NO ANSWER"), "No Answer");
        assert_eq!(hangup_cause("BUSY"), "Busy");
        assert_eq!(hangup_cause("FAILED"), "Failed");
    }
}
