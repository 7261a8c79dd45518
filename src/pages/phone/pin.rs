//! The calling-card PIN (`/users/pin`): whether one is set (never the PIN), since when, and
//! whether wrong tries have locked it; setting the first PIN, changing it (the current PIN
//! needed, a wrong one counts towards the lock), and a reset that mails a new PIN to the
//! registered address, so a stolen session cannot learn it. The PBX checks PINs through
//! `/pbx/pin` (`web::pbx_pin`); the rules are in `crate::pin`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::mail::Outbox;
use crate::pages::notice;
use crate::password;
use crate::pin::{self, Outcome, Pin};
use crate::store::pins::{NewPin, Replace};
use crate::store::Store;
use crate::time;
use crate::web::form::StrictForm;
use crate::web::openapi::ApiDoc;
use crate::web::values::Moment;
use crate::web::{refuse_form, respond, respond_action, Chrome, Ctx, CurrentUser, Format, Page};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/users/pin")
            .name("pin")
            .route(web::get().to(show))
            .route(web::post().to(set)),
    )
    .service(
        web::resource("/users/pin/reset")
            .name("pin_reset")
            .route(web::post().to(reset)),
    )
    .service(
        web::resource("/users/pin/delete")
            .name("pin_delete")
            .route(web::post().to(delete)),
    );
}

const NOTICES: &[&str] = &["set", "changed", "sent", "deleted"];

/// PIN resets one subscriber may ask for in [`RESET_WINDOW_S`].
const RESETS_PER_WINDOW: usize = 3;
const RESET_WINDOW_S: i64 = 3600;

#[derive(Serialize, ToSchema)]
pub struct PinPage {
    pub pagename: &'static str,
    pub language: &'static str,
    pub userid: i64,
    /// A PIN is set.
    pub pin_set: bool,
    /// When it was set (`null`: none).
    pub set_at: Option<Moment>,
    /// Wrong tries have locked it.
    pub locked: bool,
    /// Until when (`null`: not locked).
    pub locked_until: Option<Moment>,
    /// Where a reset is mailed, masked (`d***@e***.com`; `null`: no address, no reset).
    pub reset_email: Option<String>,
    #[serde(skip)]
    pub notice: Option<String>,
    #[serde(skip)]
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "pages/phone/pin.html")]
struct PinHtml<'a> {
    c: &'a Chrome,
    v: &'a PinPage,
}

#[derive(Template)]
#[template(path = "xml/phone/pin.xml")]
struct PinXml<'a> {
    v: &'a PinPage,
}

impl Page for PinPage {
    fn html(&self, c: &Chrome) -> askama::Result<String> {
        PinHtml { c, v: self }.render()
    }
    fn xml(&self) -> askama::Result<String> {
        PinXml { v: self }.render()
    }
}

/// The subscriber's time zone and registered address.
struct Account {
    zone: chrono_tz::Tz,
    email: String,
    mail_lang: String,
}

async fn account(store: &Store, user: CurrentUser) -> AppResult<Account> {
    let a = store
        .account(user.id)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let (email, mail_lang) = store
        .pin_mail_of(user.id)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    Ok(Account {
        zone: time::zone(&a.time_zone),
        email: email.trim().to_string(),
        mail_lang,
    })
}

async fn load(ctx: &Ctx, store: &Store, user: CurrentUser) -> AppResult<PinPage> {
    let a = account(store, user).await?;
    let state = store.pin_state(user.id).await?;
    let now = time::now();
    let locked_until = state
        .as_ref()
        .filter(|s| s.locked_at(now))
        .and_then(|s| s.locked_until);
    Ok(PinPage {
        pagename: "PIN",
        language: ctx.lang.code(),
        userid: user.id,
        pin_set: state.is_some(),
        set_at: state.as_ref().map(|s| Moment::new(s.set_at, a.zone)),
        locked: locked_until.is_some(),
        locked_until: locked_until.map(|t| Moment::new(t, a.zone)),
        reset_email: (!a.email.is_empty()).then(|| pin::mask_email(&a.email)),
        notice: None,
        error: None,
    })
}

/// The page in the JSON API's description.
pub fn api(doc: &mut ApiDoc) {
    doc.page::<PinPage>("Account", "/users/pin", &[]);
}

/// GET /users/pin
pub async fn show(
    ctx: Ctx,
    user: CurrentUser,
    store: web::Data<Store>,
    query: web::Query<notice::DoneQuery>,
) -> AppResult<HttpResponse> {
    let mut page = load(&ctx, &store, user).await?;
    // The address comes from the account, never from the link.
    let email = page.reset_email.as_deref().unwrap_or_default();
    page.notice = notice::text_with(
        ctx.lang,
        "pin",
        NOTICES,
        query.done.as_deref(),
        &[("email", &email)],
    );
    respond(&ctx, &page)
}

/// A refusal: the page again with the message for a browser, the failed action (XML) or the
/// error (JSON) for clients. Nothing has been changed.
async fn refused(
    ctx: &Ctx,
    store: &Store,
    user: CurrentUser,
    message: String,
) -> AppResult<HttpResponse> {
    let page = async {
        let mut page = load(ctx, store, user).await?;
        page.error = Some(message.clone());
        Ok(page)
    };
    refuse_form(ctx, AppError::BadInput(message.clone()), page).await
}

/// "Locked until Dec 5, 2026, 9:30 AM (too many wrong PINs) …" in the subscriber's zone and
/// language.
async fn locked_message(
    ctx: &Ctx,
    store: &Store,
    user: CurrentUser,
    until: i64,
) -> AppResult<String> {
    let zone = account(store, user).await?.zone;
    Ok(ctx.lang.fill(
        "pin.locked",
        &[("until", &crate::locale::date_time(ctx.lang, until, zone))],
    ))
}

#[derive(Deserialize)]
pub struct PinFields {
    #[serde(default)]
    current_pin: String,
    #[serde(default)]
    new_pin: String,
    /// Browsers send it; XML and JSON clients may leave it out.
    confirm_pin: Option<String>,
}

/// POST /users/pin (`new_pin`, `current_pin` when a PIN is set, optionally `confirm_pin`):
/// sets the first PIN or changes it.
pub async fn set(
    ctx: Ctx,
    user: CurrentUser,
    store: web::Data<Store>,
    form: StrictForm<PinFields>,
) -> AppResult<HttpResponse> {
    let f = form.into_inner();
    // The new PIN first: a refused one spends no try of the current PIN.
    let new = match Pin::parse(&f.new_pin) {
        Ok(p) => p,
        Err(why) => return refused(&ctx, &store, user, ctx.lang.t(why.key()).into()).await,
    };
    if f.confirm_pin.is_some_and(|c| c.trim() != new.expose()) {
        return refused(&ctx, &store, user, ctx.lang.t("pin.mismatch").into()).await;
    }
    let had_pin = store.pin_state(user.id).await?.is_some();
    if had_pin {
        if f.current_pin.trim().is_empty() {
            let msg = ctx.lang.t("pin.current_required").into();
            return refused(&ctx, &store, user, msg).await;
        }
        let outcome = pin::check(&store, Some(user.id), f.current_pin, &ctx.address).await?;
        match outcome {
            Outcome::Right | Outcome::NoPin | Outcome::UnknownAccount => {}
            Outcome::Wrong { locked_until: None } => {
                let msg = ctx.lang.t("pin.wrong_current").into();
                return refused(&ctx, &store, user, msg).await;
            }
            Outcome::Wrong {
                locked_until: Some(until),
            }
            | Outcome::Locked { until } => {
                let msg = locked_message(&ctx, &store, user, until).await?;
                return refused(&ctx, &store, user, msg).await;
            }
        }
    }
    let hash = hash_off_thread(&new).await?;
    let (action, code, text) = if had_pin {
        ("pin_changed", "changed", "PIN changed")
    } else {
        ("pin_set", "set", "PIN set")
    };
    let saved = store
        .save_pin(NewPin {
            user_id: user.id,
            hash: &hash,
            replace: if had_pin {
                Replace::Always
            } else {
                Replace::IfNone
            },
            action,
            detail: "",
            address: &ctx.address,
            mail: None,
        })
        .await?;
    if !saved {
        let msg = ctx.lang.t("pin.set_meanwhile").into();
        return refused(&ctx, &store, user, msg).await;
    }
    Ok(match ctx.format {
        Format::Html => notice::redirect("/users/pin", code),
        f => respond_action(f, StatusCode::OK, "pin", text),
    })
}

#[derive(Deserialize)]
pub struct DeleteFields {
    #[serde(default)]
    current_pin: String,
}

/// POST /users/pin/delete (`current_pin`): no calling-card PIN any more (the seed's "delete a
/// subscriber's PIN"). The current PIN is checked like any other try of it.
pub async fn delete(
    ctx: Ctx,
    user: CurrentUser,
    store: web::Data<Store>,
    form: StrictForm<DeleteFields>,
) -> AppResult<HttpResponse> {
    let f = form.into_inner();
    if store.pin_state(user.id).await?.is_none() {
        return refused(&ctx, &store, user, ctx.lang.t("pin.none_to_delete").into()).await;
    }
    if f.current_pin.trim().is_empty() {
        let msg = ctx.lang.t("pin.current_required_delete").into();
        return refused(&ctx, &store, user, msg).await;
    }
    match pin::check(&store, Some(user.id), f.current_pin, &ctx.address).await? {
        Outcome::Right => {}
        Outcome::NoPin | Outcome::UnknownAccount => {
            let msg = ctx.lang.t("pin.none_to_delete").into();
            return refused(&ctx, &store, user, msg).await;
        }
        Outcome::Wrong { locked_until: None } => {
            let msg = ctx.lang.t("pin.wrong_current").into();
            return refused(&ctx, &store, user, msg).await;
        }
        Outcome::Wrong {
            locked_until: Some(until),
        }
        | Outcome::Locked { until } => {
            let msg = locked_message(&ctx, &store, user, until).await?;
            return refused(&ctx, &store, user, msg).await;
        }
    }
    store.delete_pin(user.id, &ctx.address).await?;
    Ok(match ctx.format {
        Format::Html => notice::redirect("/users/pin", "deleted"),
        f => respond_action(f, StatusCode::OK, "pin_delete", "PIN removed"),
    })
}

/// POST /users/pin/reset: a new PIN, made here, mailed to the registered address (the page
/// says where, masked); the old one and any lock are gone. Refused without an address, and past
/// [`RESETS_PER_WINDOW`] an hour.
pub async fn reset(
    ctx: Ctx,
    user: CurrentUser,
    store: web::Data<Store>,
    outbox: web::Data<Outbox>,
) -> AppResult<HttpResponse> {
    let a = account(&store, user).await?;
    if a.email.is_empty() {
        return refused(&ctx, &store, user, ctx.lang.t("pin.no_email").into()).await;
    }
    let now = time::now();
    let recent = store
        .recent_events(user.id, "pin_reset", now - RESET_WINDOW_S)
        .await?;
    if recent.len() >= RESETS_PER_WINDOW {
        let oldest = recent.iter().min().copied().unwrap_or(now);
        return Err(AppError::TooManyRequests {
            message: ctx.lang.t("pin.too_many_resets").to_string(),
            retry_after_s: (oldest + RESET_WINDOW_S - now).max(1),
        });
    }
    let new = Pin::generate();
    let hash = hash_off_thread(&new).await?;
    let masked = pin::mask_email(&a.email);
    let (subject, body) = reset_mail(Lang::parse(&a.mail_lang).unwrap_or_default(), &new);
    store
        .save_pin(NewPin {
            user_id: user.id,
            hash: &hash,
            replace: Replace::Always,
            action: "pin_reset",
            detail: &format!("new PIN mailed to {masked}"),
            address: &ctx.address,
            mail: Some((&a.email, subject, &body)),
        })
        .await?;
    outbox.wake();
    Ok(match ctx.format {
        Format::Html => notice::redirect("/users/pin", "sent"),
        f => respond_action(
            f,
            StatusCode::OK,
            "pin_reset",
            &ctx.lang.fill("pin.done.sent", &[("email", &masked)]),
        ),
    })
}

fn reset_mail(lang: Lang, new: &Pin) -> (&'static str, String) {
    let pin = new.expose();
    match lang {
        Lang::Ru => (
            "Новый PIN-код",
            format!(
                "Здравствуйте!\n\nПо вашей просьбе задан новый PIN-код телефонной карты: {pin}\n\n\
                 Прежний PIN-код больше не действует. Сменить PIN-код можно в личном кабинете.\n\
                 Если вы не просили новый PIN-код, смените пароль и сообщите нам.\n"
            ),
        ),
        Lang::En => (
            "Your new calling-card PIN",
            format!(
                "Hello,\n\nas you asked, your calling card has a new PIN: {pin}\n\n\
                 The old PIN no longer works. You can change the PIN on the portal.\n\
                 If you did not ask for a new PIN, change your password and tell us.\n"
            ),
        ),
    }
}

/// The argon2id hash of a PIN, computed on the hashing threads.
async fn hash_off_thread(pin: &Pin) -> AppResult<String> {
    let digits = pin.expose().to_string();
    password::off_thread(move || password::hash(&digits))
        .await?
        .map_err(AppError::Internal)
}
