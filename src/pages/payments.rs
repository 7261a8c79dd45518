//! Payments: the subscriber's payments, newest first, with the completed ones totalled per
//! currency in HTML (a total across currencies would mean nothing).
//!
//! Exports: PDF from the view model; CSV streamed from the database (years of top-ups can be a
//! long list) through the same query and the same row mapping (`PaymentView::new`).

use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Serialize;

use chrono_tz::Tz;

use crate::error::{AppError, AppResult};
use crate::export::{self, period_of, Column, Export, ExportRow, FileName, Owner};
use crate::i18n::Lang;
use crate::money::{format_percent, Money};
use crate::store::payments::{payments_query, Payment};
use crate::store::Store;
use crate::time;
use crate::web::{respond, Chrome, Ctx, CurrentUser, Format, Page};

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
    /// Whose payments: for the exports' title and file name.
    #[serde(skip)]
    pub owner: Owner,
    #[serde(skip)]
    pub notice: Option<String>,
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
    /// Beyond the seed: the payment's id (for a refund or a question), its state (pending,
    /// completed, declined, failed), why it was declined, and what of it was refunded.
    pub payment_id: i64,
    pub state: String,
    pub reason: String,
    pub refunded: String,
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
    fn export(&self, lang: Lang) -> Option<Export> {
        let period = period_of(self.payments.iter().map(|p| p.payment_date.as_str()));
        let mut e = Export::list(
            FileName::new("payments", &self.owner.username, &period),
            lang,
            lang.t("payments.title").to_string(),
            &self.payments,
        );
        e.subtitle.push(self.owner.label());
        e.subtitle.push(format!(
            "{}: {}",
            lang.t("export.period"),
            if period.is_empty() {
                lang.t("export.period.all").to_string()
            } else {
                period.replace('_', " – ")
            }
        ));
        for t in &self.totals {
            e.totals.push((
                lang.t("export.payments.total")
                    .replace("{currency}", &t.currency)
                    .replace("{count}", &t.count.to_string()),
                format!("{} {}", t.amount_vat, t.currency),
            ));
        }
        e.empty = lang.t("payments.empty").to_string();
        Some(e)
    }
}

impl PaymentView {
    fn new(p: Payment, tz: Tz) -> PaymentView {
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
            completed: if p.state == "completed" { "Yes" } else { "No" },
            payment_id: p.id,
            refunded: if p.refunded_micros > 0 {
                Money(p.refunded_micros).format(d)
            } else {
                String::new()
            },
            state: p.state,
            reason: p.failure_reason,
        }
    }
}

impl ExportRow for PaymentView {
    fn columns(lang: Lang) -> Vec<Column> {
        vec![
            Column::date_time("payment_date", lang.t("payments.date")),
            Column::date_time("confirmed_date", lang.t("payments.confirmed")),
            Column::text("payment_type", lang.t("payments.type")),
            Column::number("amount", lang.t("money.amount")),
            Column::number("vat", format!("{} %", lang.t("money.vat"))),
            Column::number("amount_vat", lang.t("money.amount_vat")),
            Column::text("currency", lang.t("invoice.currency")),
            Column::text("completed", lang.t("payments.completed")),
        ]
    }

    fn cells(&self) -> Vec<String> {
        vec![
            self.payment_date.clone(),
            self.confirmed_date.clone(),
            self.payment_type.clone(),
            self.amount.clone(),
            self.vat.clone(),
            self.amount_vat.clone(),
            self.currency.clone(),
            self.completed.to_string(),
        ]
    }

    fn into_cells(self) -> Vec<String> {
        vec![
            self.payment_date,
            self.confirmed_date,
            self.payment_type,
            self.amount,
            self.vat,
            self.amount_vat,
            self.currency,
            self.completed.to_string(),
        ]
    }
}

#[derive(serde::Deserialize)]
pub struct ShowQuery {
    done: Option<String>,
}

/// GET /payments/personal_payments
pub async fn show(
    ctx: Ctx,
    user: CurrentUser,
    store: web::Data<Store>,
    query: web::Query<ShowQuery>,
) -> AppResult<HttpResponse> {
    let account = store
        .account(user.id)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let tz = time::zone(&account.time_zone);
    if ctx.format == Format::Csv {
        let user_id = user.id;
        let period = match store.payment_span(user_id).await? {
            Some((first, last)) => period_of([
                time::format_instant(first, tz).as_str(),
                time::format_instant(last, tz).as_str(),
            ]),
            None => String::new(),
        };
        return Ok(export::csv::stream(
            FileName::new("payments", &account.username, &period),
            PaymentView::columns(ctx.lang),
            &store,
            payments_query(user_id),
            move |p| PaymentView::new(p, tz).into_cells(),
        ));
    }
    let payments = store
        .payments(user.id)
        .await?
        .into_iter()
        .map(|p| PaymentView::new(p, tz))
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
        owner: Owner::of(&account),
        notice: super::notice::text(
            ctx.lang,
            "payments",
            &["payment_completed", "payment_pending", "payment_declined"],
            query.done.as_deref(),
        ),
    };
    respond(&ctx, &page)
}
