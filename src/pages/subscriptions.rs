//! Subscriptions: the services the subscriber has, newest first, and in HTML what the active
//! monthly ones cost per currency.

use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Serialize;

use crate::error::{AppError, AppResult};
use crate::money::Money;
use crate::store::Store;
use crate::time;
use crate::web::{respond, Chrome, Ctx, CurrentUser, Page};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/services/user_subscriptions")
            .name("user_subscriptions")
            .route(web::get().to(show)),
    );
}

#[derive(Serialize)]
pub struct SubscriptionsPage {
    pub pagename: &'static str,
    pub language: &'static str,
    pub userid: i64,
    pub subscriptions: Vec<SubscriptionView>,
    /// Active monthly services per currency (HTML and JSON; the seed's XML has no totals).
    pub monthly_totals: Vec<MonthlyTotalView>,
}

#[derive(Serialize)]
pub struct SubscriptionView {
    pub service: String,
    pub date_added: String,
    /// The seed's spelling.
    pub acivation_start: String,
    /// Empty when open-ended.
    pub acivation_end: String,
    /// `10.00 USD`
    pub price: String,
    /// `month` or `once`.
    pub period: String,
    /// `active`, `ended` or `upcoming` at the time of the request.
    pub state: &'static str,
}

#[derive(Serialize)]
pub struct MonthlyTotalView {
    pub currency: String,
    pub count: i64,
    /// `12.00 USD`
    pub price: String,
}

#[derive(Template)]
#[template(path = "pages/subscriptions.html")]
struct SubscriptionsHtml<'a> {
    c: &'a Chrome,
    v: &'a SubscriptionsPage,
}

#[derive(Template)]
#[template(path = "xml/subscriptions.xml")]
struct SubscriptionsXml<'a> {
    v: &'a SubscriptionsPage,
}

impl Page for SubscriptionsPage {
    fn html(&self, c: &Chrome) -> askama::Result<String> {
        SubscriptionsHtml { c, v: self }.render()
    }
    fn xml(&self) -> askama::Result<String> {
        SubscriptionsXml { v: self }.render()
    }
}

/// `active`, `ended` or `upcoming` at `now`.
pub fn state(active_from: i64, active_until: Option<i64>, now: i64) -> &'static str {
    if active_from > now {
        "upcoming"
    } else if active_until.is_some_and(|until| until <= now) {
        "ended"
    } else {
        "active"
    }
}

/// GET /services/user_subscriptions
pub async fn show(ctx: Ctx, user: CurrentUser, store: web::Data<Store>) -> AppResult<HttpResponse> {
    let account = store
        .account(user.id)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let tz = time::zone(&account.time_zone);
    let now = time::now();
    let subscriptions = store
        .subscriptions(user.id)
        .await?
        .into_iter()
        .map(|s| SubscriptionView {
            service: s.service,
            date_added: time::format_instant(s.added_at, tz),
            acivation_start: time::format_instant(s.active_from, tz),
            acivation_end: s
                .active_until
                .map(|at| time::format_instant(at, tz))
                .unwrap_or_default(),
            price: Money(s.price_micros).with_currency(s.decimals as u32, &s.currency),
            period: s.period,
            state: state(s.active_from, s.active_until, now),
        })
        .collect();
    let monthly_totals = store
        .monthly_subscription_totals(user.id, now)
        .await?
        .into_iter()
        .map(|t| MonthlyTotalView {
            price: Money(t.price_micros).with_currency(t.decimals as u32, &t.currency),
            currency: t.currency,
            count: t.count,
        })
        .collect();
    let page = SubscriptionsPage {
        pagename: "User subscriptions",
        language: ctx.lang.code(),
        userid: user.id,
        subscriptions,
        monthly_totals,
    };
    respond(&ctx, &page)
}
