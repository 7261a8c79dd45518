//! Spending limit, barrings and the lost-phone block: what a subscriber sets to protect himself
//! from a bill shock or toll fraud (`/services/spending_limit`, `/services/barrings`,
//! `/services/lost_phone`). The PBX hears of them through `/pbx/authorize`.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::config::Settings;
use crate::controls::decision::Barrings;
use crate::error::{AppError, AppResult};
use crate::login_gate::LoginGate;
use crate::money::Money;
use crate::pages::notice;
use crate::store::controls::{spend_since, UserControls};
use crate::store::Store;
use crate::time;
use crate::web::form::StrictForm;
use crate::web::openapi::ApiDoc;
use crate::web::values::{Amount, Moment};
use crate::web::{
    refuse_form, respond, respond_action, session, Chrome, Ctx, CurrentUser, Format, Page,
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/services/spending_limit")
            .name("spending_limit")
            .route(web::get().to(show))
            .route(web::post().to(set_limit)),
    )
    .service(
        web::resource("/services/barrings")
            .name("barrings")
            .route(web::get().to(show))
            .route(web::post().to(set_barrings)),
    )
    .service(
        web::resource("/services/lost_phone")
            .name("lost_phone")
            .route(web::post().to(lost_phone)),
    );
}

/// The names of the barrings, as forms and the XML name them.
pub const BARRINGS: [&str; 5] = [
    "outgoing",
    "international",
    "international_except_home",
    "premium",
    "incoming",
];

const NOTICES: &[&str] = &[
    "limit_saved",
    "limit_removed",
    "barrings_saved",
    "unblocked",
];

#[derive(Serialize, ToSchema)]
pub struct ControlsPage {
    pub pagename: &'static str,
    pub language: &'static str,
    pub userid: i64,
    pub currency: String,
    /// The monthly limit (`null`: none; the XML's empty `limit`).
    pub spending_limit: Option<Amount>,
    /// Spent this (local calendar) month.
    pub spent_month: Amount,
    /// Of the limit, in whole percent (`null` without a limit).
    pub spent_percent: Option<i64>,
    /// The highest limit the operator allows (`null`: no ceiling).
    pub limit_ceiling: Option<Amount>,
    /// Mail at 80 % and at 100 % (the XML's `1`/`0`).
    pub limit_mail: bool,
    pub barrings: Barrings,
    /// The lost-phone block: since when (`null`: not blocked; the XML's `lost_phone/since`,
    /// the main page's `blocked_since`).
    pub blocked_since: Option<Moment>,
    #[serde(skip)]
    pub notice: Option<String>,
    #[serde(skip)]
    pub error: Option<String>,
    /// The limit as typed, after a refusal.
    #[serde(skip)]
    pub typed_limit: Option<String>,
}

impl ControlsPage {
    pub fn blocked(&self) -> bool {
        self.blocked_since.is_some()
    }

    /// The bar's width in whole percent, at most 100.
    pub fn bar_percent(&self) -> i64 {
        self.spent_percent.unwrap_or(0).clamp(0, 100)
    }

    /// `full` at the limit, `high` from 80 %.
    pub fn spend_state(&self) -> &'static str {
        match self.spent_percent {
            Some(p) if p >= 100 => "full",
            Some(p) if p >= 80 => "high",
            _ => "",
        }
    }

    pub fn barring(&self, name: &str) -> bool {
        barring_of(&self.barrings, name)
    }
}

fn barring_of(b: &Barrings, name: &str) -> bool {
    match name {
        "outgoing" => b.outgoing,
        "international" => b.international,
        "international_except_home" => b.international_except_home,
        "premium" => b.premium,
        "incoming" => b.incoming,
        _ => false,
    }
}

fn set_barring(b: &mut Barrings, name: &str, on: bool) -> bool {
    match name {
        "outgoing" => b.outgoing = on,
        "international" => b.international = on,
        "international_except_home" => b.international_except_home = on,
        "premium" => b.premium = on,
        "incoming" => b.incoming = on,
        _ => return false,
    }
    true
}

#[derive(Template)]
#[template(path = "pages/money/controls.html")]
struct ControlsHtml<'a> {
    c: &'a Chrome,
    v: &'a ControlsPage,
}

#[derive(Template)]
#[template(path = "xml/money/controls.xml")]
struct ControlsXml<'a> {
    v: &'a ControlsPage,
}

impl Page for ControlsPage {
    fn html(&self, c: &Chrome) -> askama::Result<String> {
        ControlsHtml { c, v: self }.render()
    }
    fn xml(&self) -> askama::Result<String> {
        ControlsXml { v: self }.render()
    }
}

/// What the page shows of a subscriber, with the figures the limit needs.
struct Account {
    currency: String,
    decimals: u32,
    zone: chrono_tz::Tz,
    controls: UserControls,
    ceiling: Option<i64>,
}

async fn account(store: &Store, user: CurrentUser) -> AppResult<Account> {
    let a = store
        .account(user.id)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    Ok(Account {
        controls: store.user_controls(user.id).await?,
        ceiling: store.spending_limit_ceiling(&a.currency).await?,
        decimals: a.currency_decimals as u32,
        zone: time::zone(&a.time_zone),
        currency: a.currency,
    })
}

async fn load(ctx: &Ctx, store: &Store, user: CurrentUser) -> AppResult<ControlsPage> {
    let a = account(store, user).await?;
    let (_, month_start) = time::day_and_month_start(time::now(), a.zone);
    let mut c = store.pool().acquire().await.map_err(AppError::from)?;
    let spent = spend_since(&mut c, user.id, month_start).await?;
    let limit = a.controls.spending_limit_micros;
    let money = |m: i64| Amount::new(Money(m), a.decimals, a.currency.clone());
    Ok(ControlsPage {
        pagename: "Controls",
        language: ctx.lang.code(),
        userid: user.id,
        spending_limit: limit.map(&money),
        spent_month: money(spent),
        spent_percent: limit.map(|l| if l == 0 { 100 } else { spent * 100 / l }),
        limit_ceiling: a.ceiling.map(money),
        limit_mail: a.controls.limit_mail,
        barrings: a.controls.barrings,
        blocked_since: a.controls.lost_phone_at.map(|t| Moment::new(t, a.zone)),
        currency: a.currency,
        notice: None,
        error: None,
        typed_limit: None,
    })
}

/// The pages in the JSON API's description: one view model answers both.
pub fn api(doc: &mut ApiDoc) {
    for path in ["/services/spending_limit", "/services/barrings"] {
        doc.page::<ControlsPage>("Money", path, &[]);
    }
}

/// GET /services/spending_limit, /services/barrings
pub async fn show(
    ctx: Ctx,
    user: CurrentUser,
    store: web::Data<Store>,
    query: web::Query<notice::DoneQuery>,
) -> AppResult<HttpResponse> {
    let mut page = load(&ctx, &store, user).await?;
    page.notice = notice::text(ctx.lang, "controls", NOTICES, query.done.as_deref());
    respond(&ctx, &page)
}

/// A refusal: the page again with the message for a browser, the failed action for clients.
async fn refused(
    ctx: &Ctx,
    store: &Store,
    user: CurrentUser,
    message: String,
    typed_limit: Option<String>,
) -> AppResult<HttpResponse> {
    let page = async {
        let mut page = load(ctx, store, user).await?;
        page.error = Some(message.clone());
        page.typed_limit = typed_limit;
        Ok(page)
    };
    refuse_form(ctx, AppError::BadInput(message.clone()), page).await
}

/// The last value of `name` in a form (a form may send a hidden `0` before its checkbox's `1`).
fn last<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// POST /services/spending_limit (`limit`: an amount in the account's currency, empty for
/// none; `mail`: 1 for the 80 % and 100 % mail, 0 for none; a field not given stays as it is)
pub async fn set_limit(
    ctx: Ctx,
    user: CurrentUser,
    store: web::Data<Store>,
    form: StrictForm<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    let fields = form.into_inner();
    let a = account(&store, user).await?;
    // Not given: as it is; empty: none.
    let given = last(&fields, "limit");
    let typed = given.unwrap_or("").trim();
    let limit = if given.is_none() {
        a.controls.spending_limit_micros.map(Money)
    } else if typed.is_empty() {
        None
    } else {
        // No sign, at most the currency's decimals (`Money::parse`).
        match Money::parse(typed, a.decimals) {
            Ok(m) => Some(m),
            Err(e) => {
                let msg = format!("{}: {e}", ctx.lang.t("controls.limit"));
                return refused(&ctx, &store, user, msg, Some(typed.into())).await;
            }
        }
    };
    if let (Some(l), Some(max)) = (limit, a.ceiling) {
        if l.micros() > max {
            let msg = ctx.lang.fill(
                "controls.limit.above_ceiling",
                &[("max", &Money(max).with_currency(a.decimals, &a.currency))],
            );
            return refused(&ctx, &store, user, msg, Some(typed.into())).await;
        }
    }
    let mail = match last(&fields, "mail").map(str::trim) {
        None => a.controls.limit_mail,
        Some("1") => true,
        Some("0") | Some("") => false,
        Some(_) => {
            let msg = ctx.lang.t("controls.mail.bad").to_string();
            return refused(&ctx, &store, user, msg, Some(typed.into())).await;
        }
    };
    let show = |m: Option<i64>| {
        m.map(|v| Money(v).with_currency(a.decimals, &a.currency))
            .unwrap_or_else(|| "none".into())
    };
    let mut new = a.controls.clone();
    new.spending_limit_micros = limit.map(Money::micros);
    new.limit_mail = mail;
    let mut log = Vec::new();
    if new.spending_limit_micros != a.controls.spending_limit_micros {
        log.push((
            "limit_changed",
            format!(
                "{} → {}",
                show(a.controls.spending_limit_micros),
                show(new.spending_limit_micros)
            ),
        ));
    }
    if new.limit_mail != a.controls.limit_mail {
        log.push((
            "limit_mail_changed",
            format!("{} → {}", a.controls.limit_mail as u8, new.limit_mail as u8),
        ));
    }
    store
        .save_user_controls(user.id, &new, &log, &ctx.address)
        .await?;
    let (code, text) = if limit.is_some() {
        ("limit_saved", "Spending limit saved")
    } else {
        ("limit_removed", "Spending limit removed")
    };
    Ok(match ctx.format {
        Format::Html => notice::redirect("/services/spending_limit", code),
        f => respond_action(f, StatusCode::OK, "spending_limit", text),
    })
}

/// POST /services/barrings (`outgoing`, `international`, `international_except_home`,
/// `premium`, `incoming`: each `1` or `0`; one not given stays as it is; the last value of a
/// field counts, so a form can send a hidden `0` before its checkbox's `1`)
pub async fn set_barrings(
    ctx: Ctx,
    user: CurrentUser,
    store: web::Data<Store>,
    form: StrictForm<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    let old = store.user_controls(user.id).await?;
    let mut new = old.clone();
    for (name, value) in form.into_inner() {
        if name == "csrf_token" || name == "format" {
            continue;
        }
        let on = match value.trim() {
            "1" => true,
            "0" => false,
            _ => {
                let msg = ctx
                    .lang
                    .fill("controls.barring.bad_value", &[("name", &name)]);
                return refused(&ctx, &store, user, msg, None).await;
            }
        };
        if !set_barring(&mut new.barrings, &name, on) {
            let msg = ctx
                .lang
                .fill("controls.barring.unknown", &[("name", &name)]);
            return refused(&ctx, &store, user, msg, None).await;
        }
    }
    let log: Vec<(&str, String)> = BARRINGS
        .iter()
        .filter(|n| barring_of(&old.barrings, n) != barring_of(&new.barrings, n))
        .map(|n| {
            (
                "barring_changed",
                format!(
                    "{n}: {} → {}",
                    barring_of(&old.barrings, n) as u8,
                    barring_of(&new.barrings, n) as u8
                ),
            )
        })
        .collect();
    store
        .save_user_controls(user.id, &new, &log, &ctx.address)
        .await?;
    Ok(match ctx.format {
        Format::Html => notice::redirect("/services/barrings", "barrings_saved"),
        f => respond_action(f, StatusCode::OK, "barrings", "Barrings saved"),
    })
}

#[derive(Deserialize)]
pub struct LostPhoneFields {
    #[serde(default)]
    action: String,
    #[serde(default)]
    current_password: String,
}

/// POST /services/lost_phone (`action=block`, or `action=lift` with `current_password`).
/// Blocking stops every call at once and ends every session of the account, this one too, so
/// whoever holds the phone is logged out; only someone who logs in again with the password (or
/// the operator, `selfcare controls unblock`) lifts it.
#[allow(clippy::too_many_arguments)] // an actix handler names each thing it extracts
pub async fn lost_phone(
    ctx: Ctx,
    user: CurrentUser,
    session: Session,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
    gate: web::Data<LoginGate>,
    form: StrictForm<LostPhoneFields>,
) -> AppResult<HttpResponse> {
    let f = form.into_inner();
    let old = store.user_controls(user.id).await?;
    let mut new = old.clone();
    match f.action.trim() {
        "block" => {
            let now = time::now();
            new.lost_phone_at = Some(old.lost_phone_at.unwrap_or(now));
            store
                .save_user_controls(
                    user.id,
                    &new,
                    &[("lost_phone_blocked", "calls stopped, sessions ended".into())],
                    &ctx.address,
                )
                .await?;
            store.end_user_sessions(user.id, None).await?;
            session::log_out(&session);
            Ok(match ctx.format {
                Format::Html => notice::redirect("/callc/login", "blocked"),
                f => respond_action(
                    f,
                    StatusCode::OK,
                    "lost_phone",
                    "Account blocked: calls are refused and every session has ended",
                ),
            })
        }
        "lift" => {
            if old.lost_phone_at.is_none() {
                return Ok(match ctx.format {
                    Format::Html => notice::redirect("/services/barrings", "unblocked"),
                    f => respond_action(f, StatusCode::OK, "lost_phone", "Account not blocked"),
                });
            }
            let right = !f.current_password.is_empty()
                && crate::pages::account::login::current_password_is_right(
                    &store,
                    &settings.login,
                    &gate,
                    &ctx,
                    user.id,
                    f.current_password,
                )
                .await?;
            if !right {
                let msg = ctx.lang.t("controls.lost_phone.password").to_string();
                return refused(&ctx, &store, user, msg, None).await;
            }
            new.lost_phone_at = None;
            store
                .save_user_controls(
                    user.id,
                    &new,
                    &[("lost_phone_lifted", String::new())],
                    &ctx.address,
                )
                .await?;
            Ok(match ctx.format {
                Format::Html => notice::redirect("/services/barrings", "unblocked"),
                f => respond_action(f, StatusCode::OK, "lost_phone", "Block lifted"),
            })
        }
        _ => {
            let msg = ctx.lang.t("controls.lost_phone.bad_action").to_string();
            refused(&ctx, &store, user, msg, None).await
        }
    }
}
