//! The wallet page: balance, the stored card, top-up (offered amounts or one's own), voucher,
//! automatic top-up. One view model answers `GET /payments/topup`, `/payments/methods` and
//! `/payments/auto_topup` (HTML: one page with a section each); each form posts to its route
//! and browsers come back here (or to the payments list) with a one-line notice. The money
//! rules are `crate::wallet`'s; this module parses the forms and shows the answers.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::i18n::Said;
use crate::money::Money;
use crate::pages::notice;
use crate::store::access::Resource;
use crate::store::wallet::Attempt;
use crate::wallet::{auto_topup, StripeSettings, Wallet, WalletError};
use crate::web::openapi::ApiDoc;
use crate::web::values::Amount;
use crate::web::{
    require, respond, respond_action, Chrome, Ctx, CurrentUser, Format, Page, StrictForm,
};

const PAGE: &str = "/payments/topup";
const PAYMENTS: &str = "/payments/personal_payments";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource(PAGE)
            .name("topup")
            .route(web::get().to(show))
            .route(web::post().to(top_up)),
    )
    .service(
        web::resource("/payments/methods")
            .name("payment_method")
            .route(web::get().to(show))
            .route(web::post().to(add_card)),
    )
    .service(
        web::resource("/payments/methods/remove")
            .name("remove_payment_method")
            .route(web::post().to(remove_card)),
    )
    .service(
        web::resource("/payments/auto_topup")
            .name("auto_topup")
            .route(web::get().to(show))
            .route(web::post().to(set_auto_topup)),
    )
    .service(
        web::resource("/payments/voucher")
            .name("voucher")
            .route(web::post().to(redeem_voucher)),
    )
    .service(
        web::resource("/accounting/user_invoices/{invoice_id}/pay")
            .name("pay_invoice")
            .route(web::post().to(pay_invoice)),
    );
}

#[derive(Serialize, ToSchema)]
pub struct WalletPage {
    pub pagename: &'static str,
    pub language: &'static str,
    pub userid: i64,
    /// The XML's `25.50 EUR`.
    pub balance: Amount,
    pub currency: String,
    /// Whether cards are taken (without a gateway, vouchers still are).
    pub card_payments: bool,
    /// The one stored card (`null`: none); a subscriber has one card at most, so it is not a
    /// list.
    pub card: Option<CardView>,
    pub topup: TopupView,
    pub auto_topup: AutoTopupView,
    #[serde(skip)]
    pub notice: Option<String>,
    /// Why the last form was refused (browsers; clients get the failed action).
    #[serde(skip)]
    pub error: Option<String>,
    /// The gateway's card form (Stripe.js) for browsers; `Err` when it cannot be had now.
    #[serde(skip)]
    pub card_entry: Option<Result<CardEntry, CardUnavailable>>,
}

/// The gateway could not set the card form up now (the page says so).
pub struct CardUnavailable;

/// What the browser's card form needs: the card number goes from it to the gateway, never here.
pub struct CardEntry {
    pub publishable_key: String,
    pub client_secret: String,
    pub js_url: String,
}

#[derive(Serialize, ToSchema)]
pub struct CardView {
    pub brand: String,
    pub last4: String,
    /// `MM/YYYY`
    pub expires: String,
}

/// `GetTopUpOptions`: what may be topped up, in the account's currency.
#[derive(Serialize, ToSchema)]
pub struct TopupView {
    pub min: Amount,
    pub max: Amount,
    /// The amounts offered, as the operator configured them (a fixed short list).
    pub options: Vec<Amount>,
}

#[derive(Serialize, ToSchema)]
pub struct AutoTopupView {
    pub enabled: bool,
    pub threshold: Amount,
    pub amount: Amount,
    pub monthly_cap: Amount,
}

#[derive(Template)]
#[template(path = "pages/money/wallet.html")]
struct WalletHtml<'a> {
    c: &'a Chrome,
    v: &'a WalletPage,
}

#[derive(Template)]
#[template(path = "xml/money/wallet.xml")]
struct WalletXml<'a> {
    v: &'a WalletPage,
}

impl Page for WalletPage {
    fn html(&self, c: &Chrome) -> askama::Result<String> {
        WalletHtml { c, v: self }.render()
    }
    fn xml(&self) -> askama::Result<String> {
        WalletXml { v: self }.render()
    }
}

impl WalletPage {
    async fn load(wallet: &Wallet, lang: Lang, user: CurrentUser) -> AppResult<WalletPage> {
        let store = &wallet.store;
        let account = store
            .account(user.id)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        let d = account.currency_decimals as u32;
        let s = &wallet.settings;
        let auto = store
            .auto_topup(user.id)
            .await?
            .map(auto_topup::Settings::from);
        let plain = |m: Money| Amount::new(m, d, account.currency.clone());
        Ok(WalletPage {
            pagename: "Wallet",
            language: lang.code(),
            userid: user.id,
            balance: plain(Money(account.balance_micros)),
            currency: account.currency.clone(),
            card_payments: wallet.gateway.is_some(),
            card: store.card(user.id).await?.map(|c| CardView {
                brand: brand_name(&c.brand),
                last4: c.last4,
                expires: format!("{:02}/{}", c.exp_month, c.exp_year),
            }),
            topup: TopupView {
                min: plain(s.topup_min),
                max: plain(s.topup_max),
                options: s.topup_options.iter().map(|m| plain(*m)).collect(),
            },
            auto_topup: match auto {
                Some(a) => AutoTopupView {
                    enabled: a.enabled,
                    threshold: plain(a.threshold),
                    amount: plain(a.amount),
                    monthly_cap: plain(a.monthly_cap),
                },
                None => AutoTopupView {
                    enabled: false,
                    threshold: plain(s.topup_min),
                    amount: s
                        .topup_options
                        .first()
                        .map(|m| plain(*m))
                        .unwrap_or_else(|| plain(s.topup_min)),
                    monthly_cap: plain(s.topup_max),
                },
            },
            notice: None,
            error: None,
            card_entry: None,
        })
    }
}

/// A card brand as people write it: `visa` → `Visa`, `amex` → `American Express`.
fn brand_name(brand: &str) -> String {
    match brand {
        "amex" => "American Express".to_string(),
        "mastercard" => "Mastercard".to_string(),
        "diners" => "Diners Club".to_string(),
        "jcb" | "unionpay" => brand.to_ascii_uppercase(),
        other => {
            let mut c = other.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect())
                .unwrap_or_default()
        }
    }
}

/// The pages in the JSON API's description: one view model answers all three.
pub fn api(doc: &mut ApiDoc) {
    for path in [
        "/payments/topup",
        "/payments/methods",
        "/payments/auto_topup",
    ] {
        doc.page::<WalletPage>("Money", path, &[]);
    }
}

#[derive(Deserialize)]
pub struct ShowQuery {
    done: Option<String>,
}

const NOTICES: &[&str] = &[
    "card_added",
    "card_removed",
    "auto_topup_saved",
    "voucher_redeemed",
    "topup_pending",
];

/// GET /payments/topup, /payments/methods, /payments/auto_topup
pub async fn show(
    ctx: Ctx,
    user: CurrentUser,
    wallet: web::Data<Wallet>,
    query: web::Query<ShowQuery>,
) -> AppResult<HttpResponse> {
    let mut page = WalletPage::load(&wallet, ctx.lang, user).await?;
    page.notice = notice::text(ctx.lang, "wallet", NOTICES, query.done.as_deref());
    html_page(&ctx, &wallet, user, page).await
}

/// Answers the page; for a browser, with the gateway's card form and the Content-Security-
/// Policy that lets that form (and only it) load its script and talk to the gateway.
async fn html_page(
    ctx: &Ctx,
    wallet: &Wallet,
    user: CurrentUser,
    mut page: WalletPage,
) -> AppResult<HttpResponse> {
    let stripe = wallet.settings.stripe.as_ref();
    let Some((s, pk)) = stripe.and_then(|s| Some((s, s.publishable_key.clone()?))) else {
        return respond(ctx, &page);
    };
    if ctx.format != Format::Html {
        return respond(ctx, &page);
    }
    page.card_entry = Some(match wallet.card_setup(user.id).await {
        Ok(setup) => Ok(CardEntry {
            publishable_key: pk,
            client_secret: setup.client_secret,
            js_url: s.js_url.clone(),
        }),
        Err(e) => {
            tracing::warn!(error = %e, "the card form cannot be set up");
            Err(CardUnavailable)
        }
    });
    let mut resp = respond(ctx, &page)?;
    let js = StripeSettings::origin(&s.js_url);
    let api = StripeSettings::origin(&s.api_url);
    let policy = format!(
        "default-src 'self'; img-src 'self' data: {js}; style-src 'self'; script-src 'self' {js}; \
         connect-src 'self' {api}; frame-src {js} https://hooks.stripe.com; \
         frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    );
    if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&policy) {
        resp.headers_mut()
            .insert(actix_web::http::header::CONTENT_SECURITY_POLICY, v);
    }
    Ok(resp)
}

/// A refused form: browsers see the wallet page again with the reason, clients the failed
/// action in the error's own status. Declines and an unreachable gateway keep their status.
async fn refused(
    ctx: &Ctx,
    wallet: &Wallet,
    user: CurrentUser,
    e: WalletError,
) -> AppResult<HttpResponse> {
    let e = e.into_app_error(ctx.lang);
    if ctx.format != Format::Html {
        return Err(e);
    }
    let status = actix_web::ResponseError::status_code(&e);
    if matches!(e, AppError::Internal(_) | AppError::Unavailable(_)) {
        return Err(e);
    }
    let mut page = WalletPage::load(wallet, ctx.lang, user).await?;
    page.error = Some(e.public_message());
    let mut resp = html_page(ctx, wallet, user, page).await?;
    *resp.status_mut() = status;
    Ok(resp)
}

#[derive(Deserialize)]
pub struct AmountField {
    #[serde(default)]
    amount: String,
}

/// Parses an amount typed in the account's currency.
async fn amount_of(wallet: &Wallet, user: CurrentUser, raw: &str) -> Result<Money, WalletError> {
    let who = wallet
        .store
        .contact(user.id)
        .await?
        .ok_or(WalletError::Refused(Said::new("wallet.no_account")))?;
    Money::parse(raw, who.decimals as u32).map_err(|e| WalletError::Refused(e.said()))
}

/// How a card payment ended, as the answer to the request that made it.
fn charged(ctx: &Ctx, name: &str, p: &Attempt, back: &str) -> AppResult<HttpResponse> {
    let amount = Money(p.amount_micros).with_currency(p.decimals as u32, &p.currency);
    match p.state.as_str() {
        "completed" => Ok(match ctx.format {
            Format::Html => notice::redirect(back, "payment_completed"),
            f => respond_action(
                f,
                StatusCode::OK,
                name,
                &format!("Payment #{} of {amount} completed", p.id),
            ),
        }),
        "pending" => Ok(match ctx.format {
            Format::Html => notice::redirect(back, "payment_pending"),
            f => respond_action(
                f,
                StatusCode::ACCEPTED,
                name,
                &format!(
                    "Payment #{} of {amount} is pending: the card's bank has not answered yet",
                    p.id
                ),
            ),
        }),
        _ => Ok(match ctx.format {
            Format::Html => notice::redirect(back, "payment_declined"),
            f => respond_action(
                f,
                StatusCode::PAYMENT_REQUIRED,
                name,
                &format!(
                    "Payment #{} of {amount} was declined: {}",
                    p.id, p.failure_reason
                ),
            ),
        }),
    }
}

/// POST /payments/topup (`amount`)
pub async fn top_up(
    ctx: Ctx,
    user: CurrentUser,
    wallet: web::Data<Wallet>,
    form: StrictForm<AmountField>,
) -> AppResult<HttpResponse> {
    let result = match amount_of(&wallet, user, &form.into_inner().amount).await {
        Ok(amount) => wallet.top_up(user.id, amount, &ctx.address).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(p) => charged(&ctx, "topup", &p, PAYMENTS),
        Err(e) => refused(&ctx, &wallet, user, e).await,
    }
}

/// POST /accounting/user_invoices/{invoice_id}/pay
pub async fn pay_invoice(
    ctx: Ctx,
    user: CurrentUser,
    wallet: web::Data<Wallet>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let invoice_id = path.into_inner();
    require(&wallet.store, user, Resource::Invoice, invoice_id).await?;
    let back = format!("/accounting/user_invoices/{invoice_id}");
    match wallet.pay_invoice(user.id, invoice_id, &ctx.address).await {
        Ok(p) => charged(&ctx, "pay_invoice", &p, &back),
        Err(e) => refused(&ctx, &wallet, user, e).await,
    }
}

#[derive(Deserialize)]
pub struct TokenField {
    #[serde(default)]
    token: String,
}

/// POST /payments/methods (`token`: a payment-method id made at the gateway)
pub async fn add_card(
    ctx: Ctx,
    user: CurrentUser,
    wallet: web::Data<Wallet>,
    form: StrictForm<TokenField>,
) -> AppResult<HttpResponse> {
    match wallet
        .add_card(user.id, &form.into_inner().token, &ctx.address)
        .await
    {
        Ok(card) => Ok(match ctx.format {
            Format::Html => notice::redirect("/payments/methods", "card_added"),
            f => respond_action(
                f,
                StatusCode::OK,
                "payment_method",
                &format!(
                    "Card {} •••• {} (expires {:02}/{}) stored",
                    brand_name(&card.brand),
                    card.last4,
                    card.exp_month,
                    card.exp_year
                ),
            ),
        }),
        Err(e) => refused(&ctx, &wallet, user, e).await,
    }
}

/// POST /payments/methods/remove
pub async fn remove_card(
    ctx: Ctx,
    user: CurrentUser,
    wallet: web::Data<Wallet>,
) -> AppResult<HttpResponse> {
    match wallet.remove_card(user.id, &ctx.address).await {
        Ok(true) => Ok(match ctx.format {
            Format::Html => notice::redirect("/payments/methods", "card_removed"),
            f => respond_action(f, StatusCode::OK, "remove_payment_method", "Card removed"),
        }),
        Ok(false) => Err(AppError::NotFound),
        Err(e) => refused(&ctx, &wallet, user, e).await,
    }
}

#[derive(Deserialize)]
pub struct AutoTopupFields {
    #[serde(default)]
    enabled: String,
    #[serde(default)]
    threshold: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    monthly_cap: String,
}

/// `1`, `yes`, `on`, `true` (a checkbox sends `on`); anything else is off.
fn yes(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "1" | "yes" | "on" | "true"
    )
}

/// POST /payments/auto_topup (`enabled`, `threshold`, `amount`, `monthly_cap`)
pub async fn set_auto_topup(
    ctx: Ctx,
    user: CurrentUser,
    wallet: web::Data<Wallet>,
    form: StrictForm<AutoTopupFields>,
) -> AppResult<HttpResponse> {
    let f = form.into_inner();
    let mut parsed = Vec::new();
    for (name, raw) in [
        ("threshold", &f.threshold),
        ("amount", &f.amount),
        ("monthly_cap", &f.monthly_cap),
    ] {
        match amount_of(&wallet, user, raw).await {
            Ok(m) => parsed.push(m),
            Err(WalletError::Refused(m)) => {
                let e = WalletError::Refused(
                    Said::new("wallet.field_problem")
                        .with("field", name)
                        .with_said("problem", m),
                );
                return refused(&ctx, &wallet, user, e).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
    let settings = auto_topup::Settings {
        enabled: yes(&f.enabled),
        threshold: parsed[0],
        amount: parsed[1],
        monthly_cap: parsed[2],
    };
    match wallet.set_auto_topup(user.id, settings, &ctx.address).await {
        Ok(()) => Ok(match ctx.format {
            Format::Html => notice::redirect("/payments/auto_topup", "auto_topup_saved"),
            f => respond_action(
                f,
                StatusCode::OK,
                "auto_topup",
                if settings.enabled {
                    "Automatic top-up on"
                } else {
                    "Automatic top-up off"
                },
            ),
        }),
        Err(e) => refused(&ctx, &wallet, user, e).await,
    }
}

#[derive(Deserialize)]
pub struct VoucherField {
    #[serde(default)]
    code: String,
}

/// POST /payments/voucher (`code`)
pub async fn redeem_voucher(
    ctx: Ctx,
    user: CurrentUser,
    wallet: web::Data<Wallet>,
    form: StrictForm<VoucherField>,
) -> AppResult<HttpResponse> {
    match wallet
        .redeem_voucher(user.id, &form.into_inner().code, &ctx.address)
        .await
    {
        Ok(amount) => Ok(match ctx.format {
            Format::Html => notice::redirect(PAGE, "voucher_redeemed"),
            f => {
                let who = wallet.store.contact(user.id).await?;
                let shown = who
                    .map(|w| amount.with_currency(w.decimals as u32, &w.currency))
                    .unwrap_or_default();
                respond_action(f, StatusCode::OK, "voucher", &format!("{shown} added"))
            }
        }),
        Err(e) => refused(&ctx, &wallet, user, e).await,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn brands_are_named_as_people_write_them() {
        assert_eq!(super::brand_name("visa"), "Visa");
        assert_eq!(super::brand_name("amex"), "American Express");
        assert_eq!(super::brand_name("unionpay"), "UNIONPAY");
        assert_eq!(super::brand_name(""), "");
    }

    #[test]
    fn checkboxes_and_words_turn_it_on() {
        for on in ["1", "on", "YES", "true"] {
            assert!(super::yes(on), "{on}");
        }
        for off in ["", "0", "off", "no", "nope"] {
            assert!(!super::yes(off), "{off}");
        }
    }
}
