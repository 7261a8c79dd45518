//! Recent activity: what happened to the account (logins, failed logins, logouts, password
//! changes and resets, changes of details, caller IDs and phonebook, callbacks, exports).

use actix_web::{web, HttpResponse};
use askama::Template;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{AppError, AppResult};
use crate::store::keyset_page::{self, Cursor, Key};
use crate::store::Store;
use crate::time;
use crate::web::openapi::ApiDoc;
use crate::web::values::{Links, Moment};
use crate::web::{respond, Chrome, Ctx, CurrentUser, Page, StrictQuery, UserAccount};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/users/activity")
            .name("activity")
            .route(web::get().to(show)),
    );
}

#[derive(Serialize, ToSchema)]
pub struct ActivityPage {
    pub pagename: &'static str,
    pub language: &'static str,
    pub userid: i64,
    /// Newest first, `per_page` of them.
    pub events: Vec<Event>,
    /// `next`: older events; `prev`: newer ones.
    pub links: Links,
}

#[derive(Serialize, ToSchema)]
pub struct Event {
    /// The event's id: with `date`, its place in the log (`before=` and `after=`).
    pub event_id: i64,
    pub date: Moment,
    /// A stable name: `login`, `login_failed`, `logout`, `password_changed`, …
    pub action: String,
    pub detail: String,
    pub address: String,
}

#[derive(Template)]
#[template(path = "pages/home/activity.html")]
struct ActivityHtml<'a> {
    c: &'a Chrome,
    v: &'a ActivityPage,
}

#[derive(Template)]
#[template(path = "xml/home/activity.xml")]
struct ActivityXml<'a> {
    v: &'a ActivityPage,
}

impl Page for ActivityPage {
    fn html(&self, c: &Chrome) -> askama::Result<String> {
        ActivityHtml { c, v: self }.render()
    }
    fn xml(&self) -> askama::Result<String> {
        ActivityXml { v: self }.render()
    }
}

impl Event {
    /// The event's name for people, in the page's language (an unknown name shows as it is).
    pub fn label<'a>(&'a self, c: &Chrome) -> &'a str {
        c.lang
            .lookup(&format!("event.{}", self.action))
            .unwrap_or(&self.action)
    }
}

/// The page's position: `before=AT_ID` (older events), `after=AT_ID` (newer), `per_page`.
#[derive(Deserialize)]
pub struct PageQuery {
    before: Option<String>,
    after: Option<String>,
    per_page: Option<String>,
}

/// The page in the JSON API's description.
pub fn api(doc: &mut ApiDoc) {
    doc.page::<ActivityPage>(
        "Account",
        "/users/activity",
        &[
            ("per_page", "Events a page, 1 to 500 (50)"),
            (
                "before",
                "`AT_ID` of an event: the events older than it (`links.next`)",
            ),
            (
                "after",
                "`AT_ID` of an event: the events newer than it (`links.prev`)",
            ),
        ],
    );
}

/// GET /users/activity[?per_page=&before=|after=]
pub async fn show(
    ctx: Ctx,
    user: CurrentUser,
    UserAccount(account): UserAccount,
    store: web::Data<Store>,
    query: StrictQuery<PageQuery>,
) -> AppResult<HttpResponse> {
    let q = query.0;
    let cursor = Cursor::<Key<i64>>::of(q.before.as_deref(), q.after.as_deref(), ctx.lang)
        .map_err(AppError::bad_input)?;
    let size =
        keyset_page::page_size(q.per_page.as_deref(), ctx.lang).map_err(AppError::bad_input)?;
    let tz = time::zone(&account.time_zone);
    let window = store.activity_page(user.id, &cursor, size).await?;
    let links = ctx.page_links(window.next, window.prev);
    let events = window
        .rows
        .into_iter()
        .map(|e| Event {
            event_id: e.id,
            date: Moment::new(e.at, tz),
            action: e.action,
            detail: e.detail,
            address: e.address,
        })
        .collect();
    let page = ActivityPage {
        pagename: "Recent activity",
        language: ctx.lang.code(),
        userid: user.id,
        events,
        links,
    };
    crate::web::render::with_link_header(respond(&ctx, &page)?, &page.links)
}
