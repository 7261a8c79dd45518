//! Missed calls (`/stats/missed_calls`): incoming calls that were not answered (no answer, busy,
//! failed — the main page's definition), in a period, newest first, with the subscriber's
//! "processed" mark.
//!
//! `missed_total` counts the missed calls of the period, processed or not (the list shows both,
//! with `processed` true or false, the XML's 1 or 0); the HTML page also shows how many are still to process. `duration`
//! here is how long the call lasted before it ended (it rang), since a missed call has no talk
//! time. Marking a call processed is a POST with `processed` = the call's id: only the
//! subscriber's own missed calls can be marked (another user's id is 404, an answered or
//! outgoing call is refused), and every mark is written to the activity log.
//!
//! Pages are keyset pages as on the call list (`per_page`, `before`/`after`, `links`, the
//! XML's trailing `<paging>`).

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::call_filter::{CallFilter, CallFilterParams};
use crate::error::AppResult;
use crate::pages::calls::call_list::{
    call_price_decimals, checked_filter, link_base, period_shown, refused, CallView,
};
use crate::pages::calls::period_form::PeriodFields;
use crate::store::access::Resource;
use crate::store::call_list::Cursor;
use crate::store::keyset_page::{page_size, PAGE_SIZE};
use crate::store::Store;
use crate::time;
use crate::web::openapi::ApiDoc;
use crate::web::values::{Links, Moment};
use crate::web::{require, respond, Chrome, Ctx, CurrentUser, Format, Page, UserAccount};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/stats/missed_calls")
            .name("missed_calls")
            .route(web::get().to(show_get))
            .route(web::post().to(show_post)),
    );
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct MissedParams {
    #[serde(default)]
    pub userid: Option<String>,
    #[serde(default)]
    pub search_on: Option<String>,
    #[serde(default)]
    pub period_start: Option<String>,
    #[serde(default)]
    pub period_end: Option<String>,
    /// A call id to mark processed (POST only).
    #[serde(default)]
    pub processed: Option<String>,
    #[serde(default)]
    pub before: Option<String>,
    #[serde(default)]
    pub after: Option<String>,
    /// Calls a page (as the call list's).
    #[serde(default)]
    pub per_page: Option<String>,
    /// Set by the redirect after a mark: the call that was marked, for the notice.
    #[serde(default)]
    pub marked: Option<String>,
    /// Set by the redirect after `processed=all`: how many were marked, for the notice.
    #[serde(default)]
    pub marked_all: Option<String>,
}

impl MissedParams {
    /// Fields of the form, and of the query where the form has none.
    fn or(self, q: MissedParams) -> MissedParams {
        MissedParams {
            userid: self.userid.or(q.userid),
            search_on: self.search_on.or(q.search_on),
            period_start: self.period_start.or(q.period_start),
            period_end: self.period_end.or(q.period_end),
            processed: self.processed.or(q.processed),
            before: self.before.or(q.before),
            after: self.after.or(q.after),
            per_page: self.per_page.or(q.per_page),
            marked: self.marked.or(q.marked),
            marked_all: self.marked_all.or(q.marked_all),
        }
    }

    fn filter_params(&self) -> CallFilterParams {
        CallFilterParams {
            userid: self.userid.clone(),
            period_start: self.period_start.clone(),
            period_end: self.period_end.clone(),
            ..CallFilterParams::default()
        }
    }

    /// The query that shows the same page again (filter and position).
    fn same_page_query(&self) -> String {
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        for (name, v) in [
            ("period_start", &self.period_start),
            ("period_end", &self.period_end),
            ("before", &self.before),
            ("after", &self.after),
            ("per_page", &self.per_page),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.trim().is_empty()) {
                pairs.push((name, v));
            }
        }
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }
}

/// The missed calls: one keyset page of a period's unanswered incoming calls.
#[derive(Serialize, ToSchema)]
pub struct MissedPage {
    pub pagename: &'static str,
    pub language: &'static str,
    /// Why the input was refused (XML and HTML; JSON answers an error instead).
    #[serde(skip)]
    pub error_msg: String,
    pub userid: i64,
    /// Missed calls in the period, processed or not.
    pub missed_total: i64,
    /// Missed calls of any date not processed yet (the main page's `missed_total`).
    pub unprocessed: i64,
    pub username: String,
    /// `available_languages` in JSON, as on the login page (the XML keeps the seed's name).
    #[serde(rename = "available_languages")]
    pub aval_languages: Vec<&'static str>,
    /// The period's first second.
    pub period_start: Moment,
    /// The period's last second.
    pub period_end: Moment,
    /// The period as the XML and HTML write it, or as typed when it was refused.
    #[serde(skip)]
    pub period_text: PeriodFields,
    pub calls: Vec<CallView>,
    /// `next`: older missed calls; `prev`: newer ones.
    pub links: Links,
    /// Calls a page.
    pub per_page: u32,
    /// The period and page position as a query string: the mark forms post to it (HTML).
    #[serde(skip)]
    pub page_query: String,
    /// The call just marked processed (after the redirect), for the HTML notice.
    #[serde(skip)]
    pub marked: Option<i64>,
    /// How many calls "Mark all as processed" just marked (after the redirect), for the notice.
    #[serde(skip)]
    pub marked_all: Option<u64>,
    #[serde(skip)]
    pub form: PeriodFields,
}

#[derive(Template)]
#[template(path = "pages/calls/missed_calls.html")]
struct MissedHtml<'a> {
    c: &'a Chrome,
    v: &'a MissedPage,
}

#[derive(Template)]
#[template(path = "xml/calls/missed_calls.xml")]
struct MissedXml<'a> {
    v: &'a MissedPage,
}

impl Page for MissedPage {
    fn html(&self, c: &Chrome) -> askama::Result<String> {
        MissedHtml { c, v: self }.render()
    }
    fn xml(&self) -> askama::Result<String> {
        MissedXml { v: self }.render()
    }
}

/// The page in the JSON API's description.
pub fn api(doc: &mut ApiDoc) {
    doc.page::<MissedPage>(
        "Calls",
        "/stats/missed_calls",
        &[
            (
                "period_start",
                "`YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS` in the subscriber's zone (default: the \
                 month's start)",
            ),
            (
                "period_end",
                "`YYYY-MM-DD` (the whole day) or `YYYY-MM-DD HH:MM:SS`",
            ),
            ("per_page", "Calls a page, 1 to 500 (default 50)"),
            (
                "before",
                "A page position from `links.next`: the older calls",
            ),
            (
                "after",
                "A page position from `links.prev`: the newer calls",
            ),
        ],
    );
}

/// GET /stats/missed_calls
pub async fn show_get(
    ctx: Ctx,
    user: CurrentUser,
    account: UserAccount,
    store: web::Data<Store>,
    query: web::Query<MissedParams>,
) -> AppResult<HttpResponse> {
    show(ctx, user, account, &store, query.into_inner(), None, false).await
}

/// POST /stats/missed_calls: a new period, or `processed` = a call to mark processed.
pub async fn show_post(
    ctx: Ctx,
    user: CurrentUser,
    account: UserAccount,
    store: web::Data<Store>,
    query: web::Query<MissedParams>,
    form: Option<web::Form<MissedParams>>,
) -> AppResult<HttpResponse> {
    let params = match form {
        Some(f) => f.into_inner().or(query.into_inner()),
        None => query.into_inner(),
    };
    let mut problem = None;
    if params.processed.as_deref().map(str::trim) == Some("all") {
        let n = store.mark_all_processed(user.id).await?;
        if n > 0 {
            store
                .audit(
                    Some(user.id),
                    "calls_processed",
                    &format!("{n} missed calls"),
                    &ctx.address,
                )
                .await?;
        }
        if ctx.format == Format::Html {
            let mut q = params.same_page_query();
            q.push_str(if q.is_empty() {
                "marked_all="
            } else {
                "&marked_all="
            });
            q.push_str(&n.to_string());
            return Ok(HttpResponse::SeeOther()
                .insert_header((header::LOCATION, format!("/stats/missed_calls?{q}")))
                .finish());
        }
        return show(ctx, user, account, &store, params, None, true).await;
    }
    if let Some(raw) = params
        .processed
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        // Not a number is not an id of the user's: the same 404 as another user's call.
        let id: i64 = raw.parse().map_err(|_| crate::error::AppError::NotFound)?;
        require(&store, user, Resource::Call, id).await?;
        if store.mark_processed(user.id, id).await? {
            store
                .audit(
                    Some(user.id),
                    "call_processed",
                    &format!("call {id}"),
                    &ctx.address,
                )
                .await?;
            if ctx.format == Format::Html {
                let mut q = params.same_page_query();
                q.push_str(if q.is_empty() { "marked=" } else { "&marked=" });
                q.push_str(&id.to_string());
                return Ok(HttpResponse::SeeOther()
                    .insert_header((header::LOCATION, format!("/stats/missed_calls?{q}")))
                    .finish());
            }
        } else {
            problem = Some(format!("Call {id} is not a missed call"));
        }
    }
    show(ctx, user, account, &store, params, problem, true).await
}

/// `posted`: the fields may have come in a form body, which the page links turn into a query.
async fn show(
    ctx: Ctx,
    user: CurrentUser,
    UserAccount(account): UserAccount,
    store: &Store,
    params: MissedParams,
    problem: Option<String>,
    posted: bool,
) -> AppResult<HttpResponse> {
    let tz = time::zone(&account.time_zone);
    let typed = PeriodFields::typed(params.period_start.as_deref(), params.period_end.as_deref());
    let mut page = MissedPage {
        pagename: "Missed calls",
        language: ctx.lang.code(),
        error_msg: String::new(),
        userid: user.id,
        missed_total: 0,
        unprocessed: 0,
        username: account.display_name(),
        aval_languages: crate::pages::available_languages(),
        // Set from the period once it is read; a refused page shows `period_text`.
        period_start: Moment::new(time::now(), tz),
        period_end: Moment::new(time::now(), tz),
        period_text: typed.clone(),
        calls: Vec::new(),
        links: Links::default(),
        per_page: PAGE_SIZE,
        page_query: params.same_page_query(),
        marked: params.marked.as_deref().and_then(|m| m.trim().parse().ok()),
        marked_all: params
            .marked_all
            .as_deref()
            .and_then(|m| m.trim().parse().ok()),
        form: typed,
    };
    let filter = checked_filter(store, user, &params.filter_params(), tz).await?;
    let position = Cursor::of(params.before.as_deref(), params.after.as_deref(), ctx.lang)
        .and_then(|c| Ok((c, page_size(params.per_page.as_deref(), ctx.lang)?)));
    let (period, (cursor, size)) = match (filter, position) {
        (Ok(f), Ok(c)) => (f.period, c),
        (Err(e), _) => {
            page.error_msg = e.message(ctx.lang);
            return refused(&ctx, &page, &page.error_msg);
        }
        (_, Err(msg)) => {
            page.error_msg = msg;
            return refused(&ctx, &page, &page.error_msg);
        }
    };
    let filter = CallFilter::missed(period);
    let result = store.call_page(user.id, &filter, cursor, size).await?;
    let (total, unprocessed) = store.missed_counts(user.id, &filter.period).await?;
    let price_decimals = call_price_decimals(&account);
    page.missed_total = total;
    page.unprocessed = unprocessed;
    page.per_page = size;
    (page.period_start, page.period_end, page.period_text) = period_shown(&filter.period, &account);
    let calls = result
        .rows
        .iter()
        .map(|r| CallView::of(r, tz, price_decimals, &account.currency, true))
        .collect();
    page.calls = calls;
    // A POST's fields become the links' query: the neighbouring pages are GETs of the period.
    let fields = posted.then(|| {
        let mut pairs = vec![
            ("period_start", filter.period.start_param()),
            ("period_end", filter.period.end_param()),
        ];
        if size != PAGE_SIZE {
            pairs.push(("per_page", size.to_string()));
        }
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    });
    let base = link_base(
        &ctx,
        fields.as_deref(),
        &["marked", "marked_all", "processed"],
    );
    page.links = base.page_links(result.next, result.prev);
    page.form = PeriodFields::of(&filter.period);
    match problem {
        Some(msg) => {
            page.error_msg = msg;
            refused(&ctx, &page, &page.error_msg)
        }
        None => respond(&ctx, &page),
    }
}
