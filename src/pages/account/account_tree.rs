//! The account tree (`/accounts/tree`): the subscriber's accounts (contracts) and the
//! subscriptions each is made of, with type, number, status, start, end and price, as the
//! customer tree of seed 001 (user → accounts → subscriptions). Built on the subscriptions
//! the portal already has; the operator makes accounts with `selfcare account`.

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
        web::resource("/accounts/tree")
            .name("account_tree")
            .route(web::get().to(show)),
    );
}

#[derive(Serialize, ToSchema)]
pub struct AccountTreePage {
    pub pagename: &'static str,
    pub language: &'static str,
    pub userid: i64,
    pub accounts: Vec<AccountNode>,
    /// Both `null`: a subscriber's accounts and their subscriptions are few, given whole.
    pub links: Links,
}

#[derive(Serialize, ToSchema)]
pub struct AccountNode {
    /// The XML's `<id>`.
    pub account_id: i64,
    /// The operator's name for it; empty for the main account.
    pub name: String,
    pub main: bool,
    /// `active` or `closed`.
    pub status: &'static str,
    /// The local day it was opened.
    pub created: chrono::NaiveDate,
    pub subscriptions: Vec<SubscriptionNode>,
    /// The name shown (the main account's in the page's language), HTML only.
    #[serde(skip)]
    pub title: String,
}

#[derive(Serialize, ToSchema)]
pub struct SubscriptionNode {
    /// The XML's `<id>`.
    pub subscription_id: i64,
    /// `number` (a number's fee) or `service` (the XML's `<type>`).
    pub kind: &'static str,
    pub service: String,
    /// The number in E.164 (`+442079460500`) for a number; `null` otherwise.
    pub number: Option<String>,
    /// `active`, `ended` or `upcoming`.
    pub status: &'static str,
    pub start: Moment,
    /// `null` when open-ended.
    pub end: Option<Moment>,
    /// The price per `period`, with its currency (the XML's `<price>` and `<currency>`).
    pub price: Amount,
    /// `month` or `once`.
    pub period: String,
}

#[derive(Template)]
#[template(path = "pages/account/account_tree.html")]
struct AccountTreeHtml<'a> {
    c: &'a Chrome,
    v: &'a AccountTreePage,
}

#[derive(Template)]
#[template(path = "xml/account/account_tree.xml")]
struct AccountTreeXml<'a> {
    v: &'a AccountTreePage,
}

impl Page for AccountTreePage {
    fn html(&self, c: &Chrome) -> askama::Result<String> {
        AccountTreeHtml { c, v: self }.render()
    }
    fn xml(&self) -> askama::Result<String> {
        AccountTreeXml { v: self }.render()
    }
}

/// The page in the JSON API's description.
pub fn api(doc: &mut ApiDoc) {
    doc.page::<AccountTreePage>("Account", "/accounts/tree", &[]);
}

/// GET /accounts/tree
pub async fn show(
    ctx: Ctx,
    user: CurrentUser,
    UserAccount(account): UserAccount,
    store: web::Data<Store>,
) -> AppResult<HttpResponse> {
    let tz = time::zone(&account.time_zone);
    let now = time::now();
    let mut subscriptions = store.tree_subscriptions(user.id).await?;
    let accounts = store
        .accounts_of(user.id)
        .await?
        .into_iter()
        .map(|a| {
            let (mine, rest) = subscriptions
                .drain(..)
                .partition::<Vec<_>, _>(|s| s.account_id == a.id);
            subscriptions = rest;
            AccountNode {
                account_id: a.id,
                main: a.name.is_empty(),
                title: if a.name.is_empty() {
                    ctx.lang.t("tree.main_account").to_string()
                } else {
                    a.name.clone()
                },
                name: a.name,
                status: if a.closed_at.is_some() {
                    "closed"
                } else {
                    "active"
                },
                created: crate::period::local_date(a.created_at, tz),
                subscriptions: mine
                    .into_iter()
                    .map(|s| SubscriptionNode {
                        subscription_id: s.id,
                        kind: if s.number.is_some() {
                            "number"
                        } else {
                            "service"
                        },
                        service: service_name(
                            ctx.lang,
                            &s.service,
                            s.kind.as_deref(),
                            s.service_number.as_deref(),
                        ),
                        number: s.number,
                        status: crate::pages::money::subscriptions::state(
                            s.active_from,
                            s.active_until,
                            now,
                        ),
                        start: Moment::new(s.active_from, tz),
                        end: s.active_until.map(|at| Moment::new(at, tz)),
                        price: Amount::new(Money(s.price_micros), s.decimals as u32, s.currency),
                        period: s.period,
                    })
                    .collect(),
            }
        })
        .collect();
    let page = AccountTreePage {
        pagename: "Account tree",
        language: ctx.lang.code(),
        userid: user.id,
        accounts,
        links: Links::whole(),
    };
    respond(&ctx, &page)
}
