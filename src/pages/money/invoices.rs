//! Invoices: the subscriber's invoices, newest first, totalled per currency in HTML, and one
//! invoice with its lines. An invoice id that is not the user's is 404.
//!
//! The list is paged by keyset (`per_page`, `before=`/`after=` an invoice's `<seconds>_<id>`
//! of its issue, `links.next` older, `links.prev` newer): invoices grow with the account's
//! history. Its CSV and PDF are of every invoice.
//!
//! An invoice's PDF (`?format=pdf`) is the document a subscriber files or forwards: the seller
//! (the operator, from the settings) and the buyer (the subscriber's registration details),
//! number, dates, lines, VAT and totals: the figures of its HTML and XML, from the same view
//! model.

use actix_web::{web, HttpResponse};
use askama::Template;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::billing::invoice::LATE_CALLS;
use crate::config::{Operator, Settings};
use crate::error::{AppError, AppResult};
use crate::export::{period_of, Column, Export, ExportRow, FileName, Owner, Party};
use crate::i18n::Lang;
use crate::money::{format_percent, Money};
use crate::numbers::service::service_name;
use crate::store::access::Resource;
use crate::store::invoices::Invoice;
use crate::store::keyset_page::{page_size, Cursor, Key};
use crate::store::users::BillingDetails;
use crate::store::Store;
use crate::time;
use crate::web::openapi::ApiDoc;
use crate::web::values::{Amount, Links, Moment};
use crate::web::{require, respond, Chrome, Ctx, CurrentUser, Format, Page, UserAccount};

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

#[derive(Serialize, ToSchema)]
pub struct InvoicesPage {
    pub pagename: &'static str,
    pub language: &'static str,
    pub userid: i64,
    /// This page of invoices, newest first (the exports have them all).
    pub invoices: Vec<InvoiceView>,
    /// Per currency, of all pages (HTML and JSON; the seed's XML has no totals).
    pub totals: Vec<InvoiceTotalView>,
    /// `next`: older invoices; `prev`: newer ones.
    pub links: Links,
    /// Whose invoices: for the exports' title and file name.
    #[serde(skip)]
    pub owner: Owner,
}

#[derive(Serialize, ToSchema)]
pub struct InvoiceView {
    /// Who the invoice is for: the subscriber's name.
    pub user: String,
    pub inv_number: String,
    pub period_start: Moment,
    pub period_end: Moment,
    pub issue_date: Moment,
    /// The XML's `Yes`/`No`.
    pub paid: bool,
    /// `null` while unpaid (the XML's empty element).
    pub paid_date: Option<Moment>,
    pub price: Amount,
    /// The VAT rate in percent, `20.0` (the XML's `vat`).
    pub vat_percent: String,
    pub price_vat: Amount,
    /// Not in the seed: every amount is in this currency.
    pub currency: String,
    /// Not in the seed: for `/accounting/user_invoices/{invoice_id}`.
    pub invoice_id: i64,
    /// Not in the seed: the local day it is due (`null` when not set).
    pub due_date: Option<chrono::NaiveDate>,
}

#[derive(Serialize, ToSchema)]
pub struct InvoiceTotalView {
    pub currency: String,
    pub count: i64,
    pub price: Amount,
    pub price_vat: Amount,
    pub unpaid: Amount,
}

impl InvoiceView {
    /// The period's first and last calendar days, for HTML (`2025-01-01`).
    fn start_day(&self) -> String {
        self.period_start.date()
    }
    fn end_day(&self) -> String {
        self.period_end.date()
    }

    fn new(i: Invoice, user: &str, tz: chrono_tz::Tz) -> InvoiceView {
        let d = i.decimals as u32;
        let money = |m: i64| Amount::new(Money(m), d, i.currency.clone());
        InvoiceView {
            user: user.to_string(),
            period_start: Moment::new(i.period_start, tz),
            period_end: Moment::new(i.period_end, tz),
            issue_date: Moment::new(i.issued_at, tz),
            paid: i.paid_at.is_some(),
            paid_date: i.paid_at.map(|at| Moment::new(at, tz)),
            price: money(i.price_micros),
            vat_percent: format_percent(i.vat_percent_bp),
            price_vat: money(i.price_vat_micros),
            invoice_id: i.id,
            due_date: i.due_at.map(|at| crate::period::local_date(at, tz)),
            inv_number: i.number,
            currency: i.currency,
        }
    }
}

#[derive(Template)]
#[template(path = "pages/money/invoices.html")]
struct InvoicesHtml<'a> {
    c: &'a Chrome,
    v: &'a InvoicesPage,
}

#[derive(Template)]
#[template(path = "xml/money/invoices.xml")]
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
    fn export(&self, lang: Lang) -> Option<Export> {
        let days: Vec<String> = self
            .invoices
            .iter()
            .flat_map(|i| [i.start_day(), i.end_day()])
            .collect();
        let period = period_of(days.iter().map(String::as_str));
        let mut e = Export::list(
            FileName::new("invoices", &self.owner.username, &period),
            lang,
            lang.t("invoices.title").to_string(),
            &self.invoices,
        );
        e.subtitle.push(self.owner.label());
        if !period.is_empty() {
            e.subtitle.push(format!(
                "{}: {}",
                lang.t("export.period"),
                crate::export::period_for_reader(lang, &period)
            ));
        }
        for t in &self.totals {
            e.totals.push((
                lang.fill(
                    "export.invoices.total",
                    &[("currency", &t.currency), ("count", &t.count)],
                ),
                t.price_vat.money(lang),
            ));
            e.totals.push((
                lang.fill("export.invoices.unpaid", &[("currency", &t.currency)]),
                t.unpaid.money(lang),
            ));
        }
        e.empty = lang.t("invoices.empty").to_string();
        Some(e)
    }
}

impl ExportRow for InvoiceView {
    fn columns(lang: Lang) -> Vec<Column> {
        vec![
            Column::text("inv_number", lang.t("invoices.number")),
            Column::date_time("period_start", lang.t("export.period.start")),
            Column::date_time("period_end", lang.t("export.period.end")),
            Column::date_time("issue_date", lang.t("invoices.issued")),
            Column::number("price", lang.t("money.amount")),
            Column::number("vat", format!("{} %", lang.t("money.vat"))),
            Column::number("price_vat", lang.t("money.amount_vat")),
            Column::text("currency", lang.t("invoice.currency")),
            Column::words("paid", lang.t("invoices.paid"), lang, crate::export::YES_NO),
            Column::date_time("paid_date", lang.t("invoices.paid_date")),
        ]
    }

    fn cells(&self) -> Vec<String> {
        vec![
            self.inv_number.clone(),
            self.period_start.to_string(),
            self.period_end.to_string(),
            self.issue_date.to_string(),
            self.price.to_string(),
            self.vat_percent.clone(),
            self.price_vat.to_string(),
            self.currency.clone(),
            crate::pages::money::payments::yes_no(self.paid).to_string(),
            self.paid_date.map(|m| m.to_string()).unwrap_or_default(),
        ]
    }
}

#[derive(Deserialize)]
pub struct ListQuery {
    before: Option<String>,
    after: Option<String>,
    per_page: Option<String>,
}

/// The pages in the JSON API's description.
pub fn api(doc: &mut ApiDoc) {
    doc.page::<InvoicesPage>(
        "Money",
        "/accounting/user_invoices",
        &[
            ("per_page", "Invoices per page: 1 to 500, 50 when not given"),
            (
                "before",
                "`<seconds>_<id>`: the page of invoices issued before that one (`links.next`)",
            ),
            (
                "after",
                "`<seconds>_<id>`: the page of invoices issued after that one (`links.prev`)",
            ),
        ],
    );
    doc.page::<InvoicePage>("Money", "/accounting/user_invoices/{invoice_id}", &[]);
}

/// GET /accounting/user_invoices
pub async fn list(
    ctx: Ctx,
    user: CurrentUser,
    UserAccount(account): UserAccount,
    store: web::Data<Store>,
    query: web::Query<ListQuery>,
) -> AppResult<HttpResponse> {
    let tz = time::zone(&account.time_zone);
    let name = account.display_name();
    // The exports are of every invoice (paging is for the page, not the export).
    let (rows, links) = if matches!(ctx.format, Format::Csv | Format::Pdf) {
        (store.invoices(user.id).await?, Links::whole())
    } else {
        let cursor =
            Cursor::<Key<i64>>::of(query.before.as_deref(), query.after.as_deref(), ctx.lang)
                .map_err(AppError::bad_input)?;
        let size = page_size(query.per_page.as_deref(), ctx.lang).map_err(AppError::bad_input)?;
        let page = store.invoices_page(user.id, &cursor, size).await?;
        (page.rows, ctx.page_links(page.next, page.prev))
    };
    let invoices = rows
        .into_iter()
        .map(|i| InvoiceView::new(i, &name, tz))
        .collect();
    let totals = store
        .invoice_totals(user.id)
        .await?
        .into_iter()
        .map(|t| {
            let money = |m: i64| Amount::new(Money(m), t.decimals as u32, t.currency.clone());
            InvoiceTotalView {
                count: t.count,
                price: money(t.price_micros),
                price_vat: money(t.price_vat_micros),
                unpaid: money(t.unpaid_vat_micros),
                currency: t.currency.clone(),
            }
        })
        .collect();
    let page = InvoicesPage {
        pagename: "Invoices",
        language: ctx.lang.code(),
        userid: user.id,
        invoices,
        totals,
        links,
        owner: Owner::of(&account),
    };
    respond(&ctx, &page)
}

/// One invoice with its lines (not in the seed; its XML follows the list's names).
#[derive(Serialize, ToSchema)]
pub struct InvoicePage {
    pub pagename: &'static str,
    pub language: &'static str,
    pub userid: i64,
    pub invoice: InvoiceView,
    pub lines: Vec<LineView>,
    /// `price_vat − price`, the VAT charged.
    pub vat_amount: Amount,
    /// The operator, as the settings name it.
    pub seller: PartyView,
    /// The subscriber, as registered.
    pub buyer: PartyView,
    /// Card payments made for this invoice, newest first (with their state).
    pub payments: Vec<InvoicePaymentView>,
    /// Unpaid, and the subscriber can pay it by card here.
    pub can_pay: bool,
    /// How to pay it otherwise (the operator's bank details), while it is unpaid; empty when
    /// paid or not configured.
    pub payment_instructions: Vec<String>,
    #[serde(skip)]
    pub owner: Owner,
    #[serde(skip)]
    pub notice: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct InvoicePaymentView {
    pub payment_id: i64,
    pub payment_date: Moment,
    pub amount: Amount,
    /// pending, completed, declined, failed (as on the payments page).
    pub status: String,
    pub reason: String,
}

/// A party to an invoice: name, address and registration numbers (empty when not on record).
#[derive(Serialize, ToSchema)]
pub struct PartyView {
    pub name: String,
    pub address: Vec<String>,
    pub vat_number: String,
    pub personal_id: String,
    pub agreement: String,
    pub email: String,
    pub phone: String,
}

impl PartyView {
    fn seller(o: &Operator) -> PartyView {
        PartyView {
            name: o.name.clone(),
            address: o.address.clone(),
            vat_number: o.vat_number.clone(),
            personal_id: String::new(),
            agreement: String::new(),
            email: o.email.clone(),
            phone: o.phone.clone(),
        }
    }

    fn buyer(b: BillingDetails) -> PartyView {
        let name = format!("{} {}", b.first_name, b.last_name)
            .trim()
            .to_string();
        let city = format!("{} {}", b.reg_postcode, b.reg_city)
            .trim()
            .to_string();
        PartyView {
            name: if name.is_empty() { b.username } else { name },
            address: [b.reg_address, city, b.reg_country]
                .into_iter()
                .filter(|l| !l.trim().is_empty())
                .collect(),
            vat_number: b.vat_reg_number,
            personal_id: b.personal_id,
            agreement: b.agreement_number,
            email: b.reg_email,
            phone: String::new(),
        }
    }

    /// Name, address, then the numbers and contacts on record, labelled.
    fn lines(&self, lang: &Lang) -> Vec<String> {
        let mut lines = vec![self.name.clone()];
        lines.extend(self.address.iter().cloned());
        for (key, value) in [
            ("invoice.vat_number", &self.vat_number),
            ("invoice.personal_id", &self.personal_id),
            ("invoice.agreement", &self.agreement),
            ("invoice.email", &self.email),
            ("invoice.phone", &self.phone),
        ] {
            if !value.is_empty() {
                lines.push(format!("{}: {value}", lang.t(key)));
            }
        }
        lines
    }
}

#[derive(Serialize, ToSchema)]
pub struct LineView {
    /// `calls` (one line per destination) or `subscription`.
    pub kind: String,
    /// The destination's or the service's name as stored; "Other destinations" (translated)
    /// for the calls to no known destination.
    pub description: String,
    pub quantity: i64,
    /// `HH:MM:SS` billed for calls; empty for other lines.
    pub duration: String,
    /// The same in seconds; `null` for other lines.
    pub seconds: Option<i64>,
    pub amount: Amount,
}

#[derive(Template)]
#[template(path = "pages/money/invoice.html")]
struct InvoiceHtml<'a> {
    c: &'a Chrome,
    v: &'a InvoicePage,
}

#[derive(Template)]
#[template(path = "xml/money/invoice.xml")]
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
    fn export(&self, lang: Lang) -> Option<Export> {
        let i = &self.invoice;
        let cur = &i.currency;
        let period = format!("{}_{}", i.start_day(), i.end_day());
        let mut e = Export::list(
            FileName::new(
                &format!("invoice-{}", i.inv_number),
                &self.owner.username,
                &period,
            ),
            lang,
            format!("{} {}", lang.t("invoice.title"), i.inv_number),
            &self.lines,
        );
        e.parties = vec![
            Party {
                heading: lang.t("invoice.seller").to_string(),
                lines: self.seller.lines(&lang),
            },
            Party {
                heading: lang.t("invoice.buyer").to_string(),
                lines: self.buyer.lines(&lang),
            },
        ];

        let status = if i.paid {
            format!(
                "{} {}",
                lang.t("invoices.paid"),
                i.paid_date.map(|m| m.day(lang)).unwrap_or_default()
            )
        } else {
            lang.t("invoices.unpaid.one").to_string()
        };
        e.facts = vec![
            (lang.t("invoice.number").to_string(), i.inv_number.clone()),
            // The day it was issued: the instant is the period's end, not a time worth printing.
            (
                lang.t("invoices.issued").to_string(),
                i.issue_date.day(lang),
            ),
            (
                lang.t("invoices.period").to_string(),
                format!("{} – {}", i.period_start.day(lang), i.period_end.day(lang)),
            ),
            (lang.t("invoice.currency").to_string(), cur.clone()),
            (lang.t("invoices.status").to_string(), status),
        ];
        if let (Some(due), false) = (i.due_date, i.paid) {
            e.facts.push((
                lang.t("invoice.due").to_string(),
                crate::locale::day(lang, due),
            ));
        }
        // The bank details at the full width of the page (a party's column would cut them).
        for (n, line) in self.payment_instructions.iter().enumerate() {
            let label = if n == 0 {
                lang.t("invoice.how_to_pay")
            } else {
                ""
            };
            e.facts.push((label.to_string(), line.clone()));
        }
        e.totals = vec![
            (lang.t("money.net").to_string(), i.price.money(lang)),
            (
                format!("{} {} %", lang.t("money.vat"), i.vat_percent),
                self.vat_amount.money(lang),
            ),
            (lang.t("invoice.total").to_string(), i.price_vat.money(lang)),
        ];
        e.grand_total = true;
        e.empty = lang.t("invoice.no_lines").to_string();
        Some(e)
    }
}

impl ExportRow for LineView {
    fn columns(lang: Lang) -> Vec<Column> {
        vec![
            Column::text("description", lang.t("invoice.description")),
            Column::number("quantity", lang.t("invoice.quantity")),
            Column::text("duration", lang.t("invoice.duration")),
            Column::number("amount", lang.t("money.amount")),
        ]
    }

    fn cells(&self) -> Vec<String> {
        vec![
            self.description.clone(),
            self.quantity.to_string(),
            self.duration.clone(),
            self.amount.to_string(),
        ]
    }
}

#[derive(serde::Deserialize)]
pub struct DetailQuery {
    done: Option<String>,
}

/// GET /accounting/user_invoices/{invoice_id}[?format=pdf|csv|…]
pub async fn detail(
    ctx: Ctx,
    user: CurrentUser,
    UserAccount(account): UserAccount,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
    path: web::Path<i64>,
    query: web::Query<DetailQuery>,
) -> AppResult<HttpResponse> {
    let invoice_id = path.into_inner();
    require(&store, user, Resource::Invoice, invoice_id).await?;
    let tz = time::zone(&account.time_zone);
    let invoice = store
        .invoice(user.id, invoice_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let d = invoice.decimals as u32;
    let money = |m: i64| Amount::new(Money(m), d, invoice.currency.clone());
    let vat_amount = money(invoice.price_vat_micros - invoice.price_micros);
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
            seconds: (l.kind == "calls").then_some(l.seconds),
            // Calls to no known destination are stored without words of ours (see
            // `billing::invoice::call_lines`), and the services the portal made by their stored
            // name: named here, in the reader's language.
            description: match l.kind.as_str() {
                "calls" if l.description.is_empty() => {
                    ctx.lang.t("invoice.other_destinations").to_string()
                }
                "calls" if l.description == LATE_CALLS => {
                    ctx.lang.t("invoice.late_calls").to_string()
                }
                "subscription" => service_name(
                    ctx.lang,
                    &l.description,
                    l.service_kind.as_deref(),
                    l.service_number.as_deref(),
                ),
                _ => l.description,
            },
            kind: l.kind,
            quantity: l.quantity,
            amount: money(l.amount_micros),
        })
        .collect();
    let buyer = store
        .billing_details(user.id)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let payments = store
        .invoice_payments(user.id, invoice_id)
        .await?
        .into_iter()
        .map(|p| InvoicePaymentView {
            payment_id: p.id,
            payment_date: Moment::new(p.paid_at, tz),
            amount: Amount::new(Money(p.amount_micros), p.decimals as u32, p.currency),
            status: p.state,
            reason: p.failure_reason,
        })
        .collect();
    let paid = invoice.paid_at.is_some();
    let can_pay = !paid && invoice.currency == account.currency && settings.wallet.stripe.is_some();
    let page = InvoicePage {
        pagename: "Invoice",
        language: ctx.lang.code(),
        userid: user.id,
        invoice: InvoiceView::new(invoice, &account.display_name(), tz),
        lines,
        vat_amount,
        seller: PartyView::seller(&settings.operator),
        buyer: PartyView::buyer(buyer),
        payments,
        can_pay,
        payment_instructions: if paid {
            Vec::new()
        } else {
            settings.operator.payment_instructions.clone()
        },
        owner: Owner::of(&account),
        notice: crate::pages::notice::text(
            ctx.lang,
            "invoice",
            &["payment_completed", "payment_pending", "payment_declined"],
            query.done.as_deref(),
        ),
    };
    respond(&ctx, &page)
}
