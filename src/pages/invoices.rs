//! Invoices: the subscriber's invoices, newest first, totalled per currency in HTML, and one
//! invoice with its lines. An invoice id that is not the user's is 404.

use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Serialize;

use crate::error::{AppError, AppResult};
use crate::money::{format_percent, Money};
use crate::store::access::Resource;
use crate::store::invoices::Invoice;
use crate::store::Store;
use crate::time;
use crate::web::{require, respond, Chrome, Ctx, CurrentUser, Page};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/accounting/user_invoices")
            .name("user_invoices")
            .route(web::get().to(list)),
    )
    .service(
        web::resource("/accounting/user_invoices/{invoice_id}")
            .name("user_invoice")
            .route(web::get().to(detail)),
    );
}

#[derive(Serialize)]
pub struct InvoicesPage {
    pub pagename: &'static str,
    pub language: &'static str,
    pub userid: i64,
    pub invoices: Vec<InvoiceView>,
    /// Per currency (HTML and JSON; the seed's XML has no totals).
    pub totals: Vec<InvoiceTotalView>,
}

#[derive(Serialize)]
pub struct InvoiceView {
    /// Who the invoice is for: the subscriber's name.
    pub user: String,
    pub inv_number: String,
    pub period_start: String,
    pub period_end: String,
    pub issue_date: String,
    /// `Yes` or `No`.
    pub paid: &'static str,
    /// Empty while unpaid.
    pub paid_date: String,
    pub price: String,
    /// `20.0`
    pub vat: String,
    pub price_vat: String,
    /// Not in the seed: every amount is in this currency.
    pub currency: String,
    /// Not in the seed: for `/accounting/user_invoices/{invoice_id}`.
    pub invoice_id: i64,
}

#[derive(Serialize)]
pub struct InvoiceTotalView {
    pub currency: String,
    pub count: i64,
    pub price: String,
    pub price_vat: String,
    pub unpaid: String,
}

impl InvoiceView {
    /// The period's first and last calendar days, for HTML (`2025-01-01`).
    fn start_day(&self) -> &str {
        self.period_start.get(..10).unwrap_or(&self.period_start)
    }
    fn end_day(&self) -> &str {
        self.period_end.get(..10).unwrap_or(&self.period_end)
    }

    fn new(i: Invoice, user: &str, tz: chrono_tz::Tz) -> InvoiceView {
        let d = i.decimals as u32;
        InvoiceView {
            user: user.to_string(),
            inv_number: i.number,
            period_start: time::format_instant(i.period_start, tz),
            period_end: time::format_instant(i.period_end, tz),
            issue_date: time::format_instant(i.issued_at, tz),
            paid: if i.paid_at.is_some() { "Yes" } else { "No" },
            paid_date: i
                .paid_at
                .map(|at| time::format_instant(at, tz))
                .unwrap_or_default(),
            price: Money(i.price_micros).format(d),
            vat: format_percent(i.vat_percent_bp),
            price_vat: Money(i.price_vat_micros).format(d),
            currency: i.currency,
            invoice_id: i.id,
        }
    }
}

#[derive(Template)]
#[template(path = "pages/invoices.html")]
struct InvoicesHtml<'a> {
    c: &'a Chrome,
    v: &'a InvoicesPage,
}

#[derive(Template)]
#[template(path = "xml/invoices.xml")]
struct InvoicesXml<'a> {
    v: &'a InvoicesPage,
}

impl Page for InvoicesPage {
    fn html(&self, c: &Chrome) -> askama::Result<String> {
        InvoicesHtml { c, v: self }.render()
    }
    fn xml(&self) -> askama::Result<String> {
        InvoicesXml { v: self }.render()
    }
}

/// GET /accounting/user_invoices
pub async fn list(ctx: Ctx, user: CurrentUser, store: web::Data<Store>) -> AppResult<HttpResponse> {
    let account = store
        .account(user.id)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let tz = time::zone(&account.time_zone);
    let name = account.display_name();
    let invoices = store
        .invoices(user.id)
        .await?
        .into_iter()
        .map(|i| InvoiceView::new(i, &name, tz))
        .collect();
    let totals = store
        .invoice_totals(user.id)
        .await?
        .into_iter()
        .map(|t| {
            let d = t.decimals as u32;
            InvoiceTotalView {
                currency: t.currency,
                count: t.count,
                price: Money(t.price_micros).format(d),
                price_vat: Money(t.price_vat_micros).format(d),
                unpaid: Money(t.unpaid_vat_micros).format(d),
            }
        })
        .collect();
    let page = InvoicesPage {
        pagename: "Invoices",
        language: ctx.lang.code(),
        userid: user.id,
        invoices,
        totals,
    };
    respond(&ctx, &page)
}

/// One invoice with its lines (not in the seed; its XML follows the list's names).
#[derive(Serialize)]
pub struct InvoicePage {
    pub pagename: &'static str,
    pub language: &'static str,
    pub userid: i64,
    pub invoice: InvoiceView,
    pub lines: Vec<LineView>,
    /// `price_vat − price`, the VAT charged.
    pub vat_amount: String,
}

#[derive(Serialize)]
pub struct LineView {
    /// `calls` or `subscription`.
    pub kind: String,
    pub description: String,
    pub quantity: i64,
    /// `HH:MM:SS` billed for calls; empty for other lines.
    pub duration: String,
    pub amount: String,
}

#[derive(Template)]
#[template(path = "pages/invoice.html")]
struct InvoiceHtml<'a> {
    c: &'a Chrome,
    v: &'a InvoicePage,
}

#[derive(Template)]
#[template(path = "xml/invoice.xml")]
struct InvoiceXml<'a> {
    v: &'a InvoicePage,
}

impl Page for InvoicePage {
    fn html(&self, c: &Chrome) -> askama::Result<String> {
        InvoiceHtml { c, v: self }.render()
    }
    fn xml(&self) -> askama::Result<String> {
        InvoiceXml { v: self }.render()
    }
}

/// GET /accounting/user_invoices/{invoice_id}
pub async fn detail(
    ctx: Ctx,
    user: CurrentUser,
    store: web::Data<Store>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let invoice_id = path.into_inner();
    require(&store, user, Resource::Invoice, invoice_id).await?;
    let account = store
        .account(user.id)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let tz = time::zone(&account.time_zone);
    let invoice = store
        .invoice(user.id, invoice_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let d = invoice.decimals as u32;
    let vat_amount = Money(invoice.price_vat_micros - invoice.price_micros).format(d);
    let lines = store
        .invoice_lines(user.id, invoice_id)
        .await?
        .into_iter()
        .map(|l| LineView {
            duration: if l.kind == "calls" {
                time::format_duration(l.seconds)
            } else {
                String::new()
            },
            kind: l.kind,
            description: l.description,
            quantity: l.quantity,
            amount: Money(l.amount_micros).format(d),
        })
        .collect();
    let page = InvoicePage {
        pagename: "Invoice",
        language: ctx.lang.code(),
        userid: user.id,
        invoice: InvoiceView::new(invoice, &account.display_name(), tz),
        lines,
        vat_amount,
    };
    respond(&ctx, &page)
}
