//! Payments: the subscriber's payments, newest first, with the completed ones totalled per
//! currency in HTML (a total across currencies would mean nothing).
//!
//! The page is paged by keyset (`per_page`, `before=`/`after=` a payment's `<seconds>_<id>`,
//! `links.next` older, `links.prev` newer): payments grow with the account's history.
//!
//! Exports are whole, whatever the page: PDF from the view model of every payment; CSV streamed
//! from the database (years of top-ups can be a long list) through the same query and the same
//! row mapping (`PaymentView::new`).

use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Serialize;
use utoipa::ToSchema;

use chrono_tz::Tz;

use crate::error::{AppError, AppResult};
use crate::export::{
    self, key_in, period_of, Column, Export, ExportRow, FileName, Owner, WordTable,
};
use crate::i18n::Lang;
use crate::money::{format_percent, Money};
use crate::store::keyset_page::{page_size, Cursor, Key};
use crate::store::payments::{payments_query, Payment};
use crate::store::Store;
use crate::time;
use crate::web::openapi::ApiDoc;
use crate::web::values::{Amount, Links, Moment};
use crate::web::{respond, Chrome, Ctx, CurrentUser, Format, Page, UserAccount};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/payments/personal_payments")
            .name("personal_payments")
            .route(web::get().to(show)),
    );
}

#[derive(Serialize, ToSchema)]
pub struct PaymentsPage {
    pub pagename: &'static str,
    pub language: &'static str,
    pub userid: i64,
    /// This page of payments, newest first (an export has them all).
    pub payments: Vec<PaymentView>,
    /// Completed payments per currency, of all pages (HTML and JSON; the seed's XML has no
    /// totals).
    pub totals: Vec<PaymentTotalView>,
    /// `next`: older payments; `prev`: newer ones.
    pub links: Links,
    /// Whose payments: for the exports' title and file name.
    #[serde(skip)]
    pub owner: Owner,
    #[serde(skip)]
    pub notice: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PaymentView {
    pub payment_date: Moment,
    /// `null` while unconfirmed (the XML's empty element).
    pub confirmed_date: Option<Moment>,
    pub payment_type: String,
    pub amount: Amount,
    /// The VAT rate in percent, `20.0` (the XML's `vat`).
    pub vat_percent: String,
    pub amount_vat: Amount,
    pub currency: String,
    /// The XML's `Yes`/`No`.
    pub completed: bool,
    /// Beyond the seed: the payment's id (for a refund or a question), its state (pending,
    /// completed, declined, failed), why it was declined, and what of it was refunded (`null`:
    /// nothing).
    pub payment_id: i64,
    pub status: String,
    pub reason: String,
    pub refunded: Option<Amount>,
}

#[derive(Serialize, ToSchema)]
pub struct PaymentTotalView {
    pub currency: String,
    pub count: i64,
    pub amount: Amount,
    pub amount_vat: Amount,
}

#[derive(Template)]
#[template(path = "pages/money/payments.html")]
struct PaymentsHtml<'a> {
    c: &'a Chrome,
    v: &'a PaymentsPage,
}

#[derive(Template)]
#[template(path = "xml/money/payments.xml")]
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
        let dates: Vec<String> = self
            .payments
            .iter()
            .map(|p| p.payment_date.to_string())
            .collect();
        let period = period_of(dates.iter().map(String::as_str));
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
                crate::export::period_for_reader(lang, &period)
            }
        ));
        for t in &self.totals {
            e.totals.push((
                lang.fill(
                    "export.payments.total",
                    &[("currency", &t.currency), ("count", &t.count)],
                ),
                t.amount_vat.money(lang),
            ));
        }
        e.empty = lang.t("payments.empty").to_string();
        Some(e)
    }
}

impl PaymentView {
    fn new(p: Payment, tz: Tz) -> PaymentView {
        let d = p.decimals as u32;
        let money = |m: i64| Amount::new(Money(m), d, p.currency.clone());
        PaymentView {
            payment_date: Moment::new(p.paid_at, tz),
            confirmed_date: p.confirmed_at.map(|at| Moment::new(at, tz)),
            payment_type: p.payment_type,
            amount: money(p.amount_micros),
            vat_percent: format_percent(p.vat_percent_bp),
            amount_vat: money(p.amount_vat_micros),
            completed: p.state == "completed",
            payment_id: p.id,
            refunded: (p.refunded_micros > 0).then(|| money(p.refunded_micros)),
            currency: p.currency,
            status: p.state,
            reason: p.failure_reason,
        }
    }
}

impl ExportRow for PaymentView {
    fn columns(lang: Lang) -> Vec<Column> {
        vec![
            Column::date_time("payment_date", lang.t("payments.date")),
            Column::date_time("confirmed_date", lang.t("payments.confirmed")),
            Column::words("payment_type", lang.t("payments.type"), lang, PAYMENT_TYPES),
            Column::number("amount", lang.t("money.amount")),
            Column::number("vat", format!("{} %", lang.t("money.vat"))),
            Column::number("amount_vat", lang.t("money.amount_vat")),
            Column::text("currency", lang.t("invoice.currency")),
            Column::words(
                "completed",
                lang.t("payments.completed"),
                lang,
                crate::export::YES_NO,
            ),
        ]
    }

    fn cells(&self) -> Vec<String> {
        vec![
            self.payment_date.to_string(),
            self.confirmed_date
                .map(|m| m.to_string())
                .unwrap_or_default(),
            self.payment_type.clone(),
            self.amount.to_string(),
            self.vat_percent.clone(),
            self.amount_vat.to_string(),
            self.currency.clone(),
            yes_no(self.completed).to_string(),
        ]
    }
}

/// Our payment types as stored (`Bank transfer`), and their locale keys; an operator's own
/// type is shown as it is.
pub const PAYMENT_TYPES: WordTable = &[
    ("Manual", "payments.kind.manual"),
    ("Card", "payments.kind.card"),
    ("Card (automatic)", "payments.kind.card_automatic"),
    ("Bank transfer", "payments.kind.bank_transfer"),
    ("Voucher", "payments.kind.voucher"),
];

impl PaymentView {
    /// The payment type in the reader's language.
    pub fn type_in(&self, lang: Lang) -> &str {
        key_in(PAYMENT_TYPES, &self.payment_type).map_or(&self.payment_type, |k| lang.t(k))
    }
}

/// The seed's spelling of a yes/no cell (the XML's and the exports').
pub fn yes_no(b: bool) -> &'static str {
    if b {
        "Yes"
    } else {
        "No"
    }
}

#[derive(serde::Deserialize)]
pub struct ShowQuery {
    done: Option<String>,
    before: Option<String>,
    after: Option<String>,
    per_page: Option<String>,
}

/// The page in the JSON API's description.
pub fn api(doc: &mut ApiDoc) {
    doc.page::<PaymentsPage>(
        "Money",
        "/payments/personal_payments",
        &[
            ("per_page", "Payments per page: 1 to 500, 50 when not given"),
            (
                "before",
                "`<seconds>_<id>`: the page of payments older than that one (`links.next`)",
            ),
            (
                "after",
                "`<seconds>_<id>`: the page of payments newer than that one (`links.prev`)",
            ),
        ],
    );
}

/// GET /payments/personal_payments
pub async fn show(
    ctx: Ctx,
    user: CurrentUser,
    UserAccount(account): UserAccount,
    store: web::Data<Store>,
    query: web::Query<ShowQuery>,
) -> AppResult<HttpResponse> {
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
    // The PDF is of every payment (paging is for the page, not the export).
    let (rows, links) = if ctx.format == Format::Pdf {
        (store.payments(user.id).await?, Links::whole())
    } else {
        let cursor =
            Cursor::<Key<i64>>::of(query.before.as_deref(), query.after.as_deref(), ctx.lang)
                .map_err(AppError::bad_input)?;
        let size = page_size(query.per_page.as_deref(), ctx.lang).map_err(AppError::bad_input)?;
        let page = store.payments_page(user.id, &cursor, size).await?;
        (page.rows, ctx.page_links(page.next, page.prev))
    };
    let payments = rows.into_iter().map(|p| PaymentView::new(p, tz)).collect();
    let totals = store
        .payment_totals(user.id)
        .await?
        .into_iter()
        .map(|t| {
            let money = |m: i64| Amount::new(Money(m), t.decimals as u32, t.currency.clone());
            PaymentTotalView {
                amount: money(t.amount_micros),
                amount_vat: money(t.amount_vat_micros),
                currency: t.currency.clone(),
                count: t.count,
            }
        })
        .collect();
    let page = PaymentsPage {
        pagename: "Payments",
        language: ctx.lang.code(),
        userid: user.id,
        payments,
        totals,
        links,
        owner: Owner::of(&account),
        notice: crate::pages::notice::text(
            ctx.lang,
            "payments",
            &["payment_completed", "payment_pending", "payment_declined"],
            query.done.as_deref(),
        ),
    };
    respond(&ctx, &page)
}
