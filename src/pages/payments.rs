//! Payments: the subscriber's payments, newest first, with the completed ones totalled per
//! currency in HTML (a total across currencies would mean nothing).

use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Serialize;

use crate::error::{AppError, AppResult};
use crate::money::{format_percent, Money};
use crate::store::Store;
use crate::time;
use crate::web::{respond, Chrome, Ctx, CurrentUser, Page};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/payments/personal_payments")
            .name("personal_payments")
            .route(web::get().to(show)),
    );
}

#[derive(Serialize)]
pub struct PaymentsPage {
    pub pagename: &'static str,
    pub language: &'static str,
    pub userid: i64,
    pub payments: Vec<PaymentView>,
    /// Completed payments per currency (HTML and JSON; the seed's XML has no totals).
    pub totals: Vec<PaymentTotalView>,
}

#[derive(Serialize)]
pub struct PaymentView {
    pub payment_date: String,
    /// Empty while unconfirmed.
    pub confirmed_date: String,
    pub payment_type: String,
    pub amount: String,
    /// `20.0`
    pub vat: String,
    pub amount_vat: String,
    pub currency: String,
    /// `Yes` or `No`.
    pub completed: &'static str,
}

#[derive(Serialize)]
pub struct PaymentTotalView {
    pub currency: String,
    pub count: i64,
    pub amount: String,
    pub amount_vat: String,
}

#[derive(Template)]
#[template(path = "pages/payments.html")]
struct PaymentsHtml<'a> {
    c: &'a Chrome,
    v: &'a PaymentsPage,
}

#[derive(Template)]
#[template(path = "xml/payments.xml")]
struct PaymentsXml<'a> {
    v: &'a PaymentsPage,
}

impl Page for PaymentsPage {
    fn html(&self, c: &Chrome) -> askama::Result<String> {
        PaymentsHtml { c, v: self }.render()
    }
    fn xml(&self) -> askama::Result<String> {
        PaymentsXml { v: self }.render()
    }
}

/// GET /payments/personal_payments
pub async fn show(ctx: Ctx, user: CurrentUser, store: web::Data<Store>) -> AppResult<HttpResponse> {
    let account = store
        .account(user.id)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let tz = time::zone(&account.time_zone);
    let payments = store
        .payments(user.id)
        .await?
        .into_iter()
        .map(|p| {
            let d = p.decimals as u32;
            PaymentView {
                payment_date: time::format_instant(p.paid_at, tz),
                confirmed_date: p
                    .confirmed_at
                    .map(|at| time::format_instant(at, tz))
                    .unwrap_or_default(),
                payment_type: p.payment_type,
                amount: Money(p.amount_micros).format(d),
                vat: format_percent(p.vat_percent_bp),
                amount_vat: Money(p.amount_vat_micros).format(d),
                currency: p.currency,
                completed: if p.completed == 1 { "Yes" } else { "No" },
            }
        })
        .collect();
    let totals = store
        .payment_totals(user.id)
        .await?
        .into_iter()
        .map(|t| PaymentTotalView {
            amount: Money(t.amount_micros).format(t.decimals as u32),
            amount_vat: Money(t.amount_vat_micros).format(t.decimals as u32),
            currency: t.currency,
            count: t.count,
        })
        .collect();
    let page = PaymentsPage {
        pagename: "Payments",
        language: ctx.lang.code(),
        userid: user.id,
        payments,
        totals,
    };
    respond(&ctx, &page)
}
