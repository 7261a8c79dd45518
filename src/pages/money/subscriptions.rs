//! Subscriptions: the services the subscriber has, newest first, and in HTML what the active
//! monthly ones cost per currency.

use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::AppResult;
use crate::money::Money;
use crate::numbers::service::service_name;
use crate::store::Store;
use crate::time;
use crate::web::openapi::ApiDoc;
use crate::web::values::{Amount, Links, Moment};
use crate::web::{respond, Chrome, Ctx, CurrentUser, Page, UserAccount};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/services/user_subscriptions")
            .name("user_subscriptions")
            .route(web::get().to(show)),
    );
}

#[derive(Serialize, ToSchema)]
pub struct SubscriptionsPage {
    pub pagename: &'static str,
    pub language: &'static str,
    pub userid: i64,
    pub subscriptions: Vec<SubscriptionView>,
    /// Active monthly services per currency (HTML and JSON; the seed's XML has no totals).
    pub monthly_totals: Vec<MonthlyTotalView>,
    /// Both `null`: a subscriber's services are a short list, given whole.
    pub links: Links,
}

#[derive(Serialize, ToSchema)]
pub struct SubscriptionView {
    pub service: String,
    pub date_added: Moment,
    /// The XML's `acivation_start` (the seed's spelling).
    pub activation_start: Moment,
    /// The XML's `acivation_end`; `null` when open-ended.
    pub activation_end: Option<Moment>,
    /// The XML's `10.00 USD`.
    pub price: Amount,
    /// `month` or `once`.
    pub period: String,
    /// `active`, `ended` or `upcoming` at the time of the request.
    pub status: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct MonthlyTotalView {
    pub currency: String,
    pub count: i64,
    pub price: Amount,
}

#[derive(Template)]
#[template(path = "pages/money/subscriptions.html")]
struct SubscriptionsHtml<'a> {
    c: &'a Chrome,
    v: &'a SubscriptionsPage,
}

#[derive(Template)]
#[template(path = "xml/money/subscriptions.xml")]
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

/// The page in the JSON API's description.
pub fn api(doc: &mut ApiDoc) {
    doc.page::<SubscriptionsPage>("Money", "/services/user_subscriptions", &[]);
}

/// GET /services/user_subscriptions
pub async fn show(
    ctx: Ctx,
    user: CurrentUser,
    UserAccount(account): UserAccount,
    store: web::Data<Store>,
) -> AppResult<HttpResponse> {
    let tz = time::zone(&account.time_zone);
    let now = time::now();
    let subscriptions = store
        .subscriptions(user.id)
        .await?
        .into_iter()
        .map(|s| SubscriptionView {
            service: service_name(
                ctx.lang,
                &s.service,
                s.kind.as_deref(),
                s.service_number.as_deref(),
            ),
            date_added: Moment::new(s.added_at, tz),
            activation_start: Moment::new(s.active_from, tz),
            activation_end: s.active_until.map(|at| Moment::new(at, tz)),
            price: Amount::new(Money(s.price_micros), s.decimals as u32, s.currency),
            period: s.period,
            status: state(s.active_from, s.active_until, now),
        })
        .collect();
    let monthly_totals = store
        .monthly_subscription_totals(user.id, now)
        .await?
        .into_iter()
        .map(|t| MonthlyTotalView {
            price: Amount::new(Money(t.price_micros), t.decimals as u32, t.currency.clone()),
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
        links: Links::whole(),
    };
    respond(&ctx, &page)
}
