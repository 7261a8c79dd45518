//! Recent activity: what happened to the account (logins, failed logins, logouts, password
//! changes and resets, changes of details, caller IDs and phonebook, callbacks, exports).

use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Serialize;

use crate::error::{AppError, AppResult};
use crate::store::Store;
use crate::time;
use crate::web::{respond, Chrome, Ctx, CurrentUser, Page};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/users/activity")
            .name("activity")
            .route(web::get().to(show)),
    );
}

const SHOWN: i64 = 100;

#[derive(Serialize)]
pub struct ActivityPage {
    pub pagename: &'static str,
    pub language: &'static str,
    pub userid: i64,
    pub events: Vec<Event>,
}

#[derive(Serialize)]
pub struct Event {
    /// `YYYY-MM-DD HH:MM:SS` in the subscriber's time zone.
    pub date: String,
    /// A stable name: `login`, `login_failed`, `logout`, `password_changed`, …
    pub action: String,
    pub detail: String,
    pub address: String,
}

#[derive(Template)]
#[template(path = "pages/activity.html")]
struct ActivityHtml<'a> {
    c: &'a Chrome,
    v: &'a ActivityPage,
}

#[derive(Template)]
#[template(path = "xml/activity.xml")]
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

/// GET /users/activity
pub async fn show(ctx: Ctx, user: CurrentUser, store: web::Data<Store>) -> AppResult<HttpResponse> {
    let account = store
        .account(user.id)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let tz = time::zone(&account.time_zone);
    let events = store
        .recent_activity(user.id, SHOWN)
        .await?
        .into_iter()
        .map(|e| Event {
            date: time::format_instant(e.at, tz),
            action: e.action,
            detail: e.detail,
            address: e.address,
        })
        .collect();
    respond(
        &ctx,
        &ActivityPage {
            pagename: "Recent activity",
            language: ctx.lang.code(),
            userid: user.id,
            events,
        },
    )
}
