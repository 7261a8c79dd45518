//! The main page: missed calls, calls this month and today, and the account's finances.

use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Serialize;
use utoipa::ToSchema;

use crate::config::Settings;
use crate::error::AppResult;
use crate::money::Money;
use crate::store::Store;
use crate::time;
use crate::web::openapi::ApiDoc;
use crate::web::values::{Amount, Moment};
use crate::web::{respond, Chrome, Ctx, CurrentUser, Page, UserAccount};

#[derive(Serialize, ToSchema)]
pub struct MainPage {
    pub pagename: &'static str,
    pub username: String,
    pub userid: i64,
    pub language: &'static str,
    pub missed_today: i64,
    pub missed_total: i64,
    pub calls: Vec<PeriodCalls>,
    /// `Prepaid` or `Postpaid`.
    pub account: &'static str,
    pub balance: Amount,
    /// The credit limit; `null`: no limit (the XML's `No Limit`).
    pub credit: Option<Amount>,
    /// What this month's calls cost so far (JSON and HTML).
    pub spend_month: Amount,
    /// The unpaid invoices, the oldest first named (JSON and HTML); `null` when none.
    pub owed: Option<OwedView>,
    /// Whether a card top-up is offered (vouchers always are).
    pub card_payments: bool,
    /// The monthly spending limit (JSON and HTML; `null`: none).
    pub spending_limit: Option<Amount>,
    /// The lost-phone block: since when (JSON and HTML; `null`: not blocked).
    pub blocked_since: Option<Moment>,
    /// The newest calls, newest first (JSON and HTML): what happened lately.
    pub recent_calls: Vec<RecentCallView>,
}

#[derive(Serialize, ToSchema)]
pub struct RecentCallView {
    pub call_id: i64,
    pub date: Moment,
    /// `incoming` or `outgoing`.
    pub direction: &'static str,
    pub answered: bool,
    /// The other party, international numbers with `+`.
    pub number: String,
    /// The phonebook's name for that number (`null`: not in the phonebook).
    pub name: Option<String>,
    /// Talk time, `HH:MM:SS`.
    pub duration: String,
    /// `null` until the call is priced.
    pub price: Option<Amount>,
}

#[derive(Serialize, ToSchema)]
pub struct OwedView {
    /// All unpaid invoices together.
    pub total: Amount,
    pub invoices: i64,
    pub oldest_invoice_id: i64,
    pub oldest_number: String,
    pub oldest_amount: Amount,
    /// The local day it is due.
    pub oldest_due_date: chrono::NaiveDate,
    pub overdue: bool,
}

#[derive(Serialize, ToSchema)]
pub struct PeriodCalls {
    /// `Month` or `Day`, as the XML contract names them.
    pub period: &'static str,
    pub call_counts: i64,
    /// `HH:MM:SS` of talk time (billed seconds of answered calls).
    pub call_duration: String,
    pub seconds: i64,
}

#[derive(Template)]
#[template(path = "pages/home/main.html")]
struct MainHtml<'a> {
    c: &'a Chrome,
    v: &'a MainPage,
}

#[derive(Template)]
#[template(path = "xml/home/main.xml")]
struct MainXml<'a> {
    v: &'a MainPage,
}

impl Page for MainPage {
    fn html(&self, c: &Chrome) -> askama::Result<String> {
        MainHtml { c, v: self }.render()
    }
    fn xml(&self) -> askama::Result<String> {
        MainXml { v: self }.render()
    }
}

/// How many of the newest calls the page lists.
const RECENT_CALLS: i64 = 5;

/// The page in the JSON API's description.
pub fn api(doc: &mut ApiDoc) {
    doc.page::<MainPage>("Home", "/callc/main", &[]);
}

/// GET /callc/main
pub async fn show(
    ctx: Ctx,
    user: CurrentUser,
    UserAccount(account): UserAccount,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
) -> AppResult<HttpResponse> {
    let tz = time::zone(&account.time_zone);
    let (day_start, month_start) = time::day_and_month_start(time::now(), tz);
    let stats = store.main_stats(user.id, day_start, month_start).await?;
    let controls = store.user_controls(user.id).await?;
    let decimals = account.currency_decimals as u32;
    let money = |m: i64| Amount::new(Money(m), decimals, account.currency.clone());
    let now = time::now();
    let recent_calls = store
        .recent_calls(user.id, RECENT_CALLS)
        .await?
        .into_iter()
        .map(|r| RecentCallView {
            call_id: r.id,
            date: Moment::new(r.started_at, tz),
            direction: if r.direction == "in" {
                "incoming"
            } else {
                "outgoing"
            },
            answered: r.disposition == "ANSWERED",
            number: crate::numbers::shown(&r.other),
            name: r.name,
            duration: time::format_duration(r.billsec),
            price: r.price_micros.map(money),
        })
        .collect();
    let owed = store.owed(user.id, &account.currency).await?.map(|o| {
        let due = o.oldest.due_at.unwrap_or(o.oldest.issued_at);
        OwedView {
            total: money(o.total_micros),
            invoices: o.count,
            oldest_invoice_id: o.oldest.id,
            oldest_number: o.oldest.number,
            oldest_amount: money(o.oldest.price_vat_micros),
            oldest_due_date: crate::period::local_date(due, tz),
            overdue: due < now,
        }
    });
    let page = MainPage {
        pagename: "Main page",
        username: account.display_name(),
        userid: account.id,
        language: ctx.lang.code(),
        missed_today: stats.missed_today,
        missed_total: stats.missed_total,
        calls: vec![
            PeriodCalls {
                period: "Month",
                call_counts: stats.month_calls,
                call_duration: time::format_duration(stats.month_seconds),
                seconds: stats.month_seconds,
            },
            PeriodCalls {
                period: "Day",
                call_counts: stats.day_calls,
                call_duration: time::format_duration(stats.day_seconds),
                seconds: stats.day_seconds,
            },
        ],
        account: if account.account_type == "postpaid" {
            "Postpaid"
        } else {
            "Prepaid"
        },
        balance: money(account.balance_micros),
        credit: account.credit_limit_micros.map(money),
        spend_month: money(stats.month_spend_micros),
        owed,
        card_payments: settings.wallet.stripe.is_some(),
        spending_limit: controls.spending_limit_micros.map(money),
        blocked_since: controls.lost_phone_at.map(|at| Moment::new(at, tz)),
        recent_calls,
    };
    respond(&ctx, &page)
}
