//! Two-factor login (`/users/two_factor`): whether it is on and how many recovery codes are
//! left; when it is off, an enrolment asked for with `POST /users/two_factor/enrol` (reading
//! the page makes nothing): a secret, kept pending for an hour until a code confirms it, shown
//! as text and as a QR code of its `otpauth://` URI, drawn on the server as an inline SVG.
//! Switching it on takes a current code and shows the ten recovery codes once; switching it off
//! takes a current code or a recovery code, counted like a password try. The rules are in
//! `crate::two_factor`, the SQL in `store::two_factor`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::config::Settings;
use crate::error::{AppError, AppResult};
use crate::login_gate::LoginGate;
use crate::pages::account::login::code_under_policy;
use crate::pages::notice;
use crate::store::Store;
use crate::time;
use crate::two_factor::{self, Outcome, Secret};
use crate::web::form::StrictForm;
use crate::web::openapi::ApiDoc;
use crate::web::values::Moment;
use crate::web::{refuse_form, respond, respond_action, Chrome, Ctx, CurrentUser, Format, Page};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/users/two_factor")
            .name("two_factor")
            .route(web::get().to(show)),
    )
    .service(
        web::resource("/users/two_factor/enrol")
            .name("two_factor_enrol")
            .route(web::post().to(enrol)),
    )
    .service(
        web::resource("/users/two_factor/enable")
            .name("two_factor_enable")
            .route(web::post().to(enable)),
    )
    .service(
        web::resource("/users/two_factor/disable")
            .name("two_factor_disable")
            .route(web::post().to(disable)),
    );
}

const NOTICES: &[&str] = &["off"];

/// A pending enrolment older than this is no longer shown; asking again makes a new secret.
const ENROLMENT_MAX_AGE_S: i64 = 3600;

#[derive(Serialize, ToSchema)]
pub struct TwoFactorPage {
    pub pagename: &'static str,
    pub language: &'static str,
    pub userid: i64,
    /// Two-factor login is on: a password login asks for a code too.
    pub enabled: bool,
    /// Since when (`null`: off).
    pub enabled_at: Option<Moment>,
    /// Recovery codes not used yet (0 when off).
    pub recovery_codes_left: i64,
    /// When off and asked for (`POST /users/two_factor/enrol`, within the hour): the secret to
    /// add to an authenticator app; `null` otherwise.
    pub enrolment: Option<Enrolment>,
    /// Right after switching it on, and only then: the recovery codes.
    pub recovery_codes: Vec<String>,
    #[serde(skip)]
    pub notice: Option<String>,
    #[serde(skip)]
    pub error: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Enrolment {
    /// Base32, as apps take it typed in.
    pub secret: String,
    /// The `otpauth://totp/…` URI the QR code holds.
    pub uri: String,
    /// The QR code: an `<svg>` element made here (HTML only).
    #[serde(skip)]
    pub qr_svg: String,
}

impl Enrolment {
    /// The secret in groups of four, easier to type.
    pub fn secret_grouped(&self) -> String {
        self.secret
            .as_bytes()
            .chunks(4)
            .map(|g| String::from_utf8_lossy(g).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[derive(Template)]
#[template(path = "pages/account/two_factor.html")]
struct TwoFactorHtml<'a> {
    c: &'a Chrome,
    v: &'a TwoFactorPage,
}

#[derive(Template)]
#[template(path = "xml/account/two_factor.xml")]
struct TwoFactorXml<'a> {
    v: &'a TwoFactorPage,
}

impl Page for TwoFactorPage {
    fn html(&self, c: &Chrome) -> askama::Result<String> {
        TwoFactorHtml { c, v: self }.render()
    }
    fn xml(&self) -> askama::Result<String> {
        TwoFactorXml { v: self }.render()
    }
}

/// The page as it stands; when off, with the pending enrolment if one was asked for. Reading
/// it changes nothing: `enrol` makes the secret.
async fn load(ctx: &Ctx, store: &Store, user: CurrentUser) -> AppResult<TwoFactorPage> {
    let account = store
        .account(user.id)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let (username, _) = store
        .login_name(user.id)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let now = time::now();
    let state = store.two_factor_state(user.id).await?;
    let enabled = state.as_ref().is_some_and(|s| s.enabled);
    let enrolment = if enabled {
        None
    } else {
        let pending = store
            .fresh_two_factor_secret(user.id, now - ENROLMENT_MAX_AGE_S)
            .await?;
        match pending.as_deref().and_then(Secret::parse) {
            Some(secret) => {
                let uri = secret.otpauth_uri(&username);
                Some(Enrolment {
                    secret: secret.to_base32(),
                    qr_svg: two_factor::qr_svg(&uri)?,
                    uri,
                })
            }
            // None asked for, or switched on meanwhile (another tab).
            None => None,
        }
    };
    Ok(TwoFactorPage {
        pagename: "Two-factor login",
        language: ctx.lang.code(),
        userid: user.id,
        enabled,
        enabled_at: state
            .and_then(|s| s.enabled_at.filter(|_| s.enabled))
            .map(|t| Moment::new(t, time::zone(&account.time_zone))),
        recovery_codes_left: if enabled {
            store.recovery_codes_left(user.id).await?
        } else {
            0
        },
        enrolment,
        recovery_codes: Vec::new(),
        notice: None,
        error: None,
    })
}

/// The page in the JSON API's description.
pub fn api(doc: &mut ApiDoc) {
    doc.page::<TwoFactorPage>("Account", "/users/two_factor", &[]);
}

/// GET /users/two_factor
pub async fn show(
    ctx: Ctx,
    user: CurrentUser,
    store: web::Data<Store>,
    query: web::Query<notice::DoneQuery>,
) -> AppResult<HttpResponse> {
    let mut page = load(&ctx, &store, user).await?;
    page.notice = notice::text(ctx.lang, "two_factor", NOTICES, query.done.as_deref());
    respond(&ctx, &page)
}

/// A refusal: the page again with the message for a browser, the failed action (XML) or the
/// error (JSON) for clients. Nothing has been changed.
async fn refused(
    ctx: &Ctx,
    store: &Store,
    user: CurrentUser,
    error: AppError,
) -> AppResult<HttpResponse> {
    let message = error.public_message();
    let page = async {
        let mut page = load(ctx, store, user).await?;
        page.error = Some(message);
        Ok(page)
    };
    refuse_form(ctx, error, page).await
}

fn bad(ctx: &Ctx, key: &str) -> AppError {
    AppError::BadInput(ctx.lang.t(key).to_string())
}

/// POST /users/two_factor/enrol: a secret to enrol with, kept pending for an hour (asked
/// again within it, the same one). A browser goes back to the page, which shows it; clients get
/// the page with it.
pub async fn enrol(
    ctx: Ctx,
    user: CurrentUser,
    store: web::Data<Store>,
) -> AppResult<HttpResponse> {
    let now = time::now();
    let fresh = Secret::generate().to_base32();
    let pending = store
        .pending_two_factor_secret(user.id, &fresh, now, now - ENROLMENT_MAX_AGE_S)
        .await?;
    if pending.is_none() {
        return refused(&ctx, &store, user, bad(&ctx, "two_factor.already_on")).await;
    }
    match ctx.format {
        Format::Html => Ok(crate::web::see_other("/users/two_factor")),
        _ => respond(&ctx, &load(&ctx, &store, user).await?),
    }
}

#[derive(Deserialize)]
pub struct CodeFields {
    #[serde(default)]
    code: String,
}

/// POST /users/two_factor/enable (`code`): a current code of the pending secret switches
/// two-factor login on; the answer shows the ten recovery codes, this once.
pub async fn enable(
    ctx: Ctx,
    user: CurrentUser,
    store: web::Data<Store>,
    form: StrictForm<CodeFields>,
) -> AppResult<HttpResponse> {
    let code = form.into_inner().code;
    let now = time::now();
    let state = store.two_factor_state(user.id).await?;
    let pending = match state {
        Some(s) if s.enabled => {
            return refused(&ctx, &store, user, bad(&ctx, "two_factor.already_on")).await
        }
        Some(s) => s,
        None => return refused(&ctx, &store, user, bad(&ctx, "two_factor.no_enrolment")).await,
    };
    let Some(secret) = Secret::parse(&pending.secret) else {
        return Err(AppError::Internal(anyhow::anyhow!(
            "two_factor.secret of user {} is not base32",
            user.id
        )));
    };
    if code.trim().is_empty() {
        return refused(&ctx, &store, user, bad(&ctx, "two_factor.code_required")).await;
    }
    let step = match two_factor::Typed::parse(&code) {
        two_factor::Typed::Code(c) => secret.matching_step(&c, now),
        _ => None,
    };
    let Some(step) = step else {
        return refused(&ctx, &store, user, bad(&ctx, "two_factor.enable_wrong")).await;
    };
    let codes = two_factor::new_recovery_codes();
    let hashes: Vec<String> = codes
        .iter()
        .filter_map(|c| two_factor::recovery_hash(c))
        .collect();
    let on = store
        .enable_two_factor(user.id, &pending.secret, step, &hashes, &ctx.address, now)
        .await?;
    if !on {
        let error = AppError::Conflict(ctx.lang.t("two_factor.changed_meanwhile").to_string());
        return refused(&ctx, &store, user, error).await;
    }
    tracing::info!(user_id = user.id, "two-factor login on");
    let mut page = load(&ctx, &store, user).await?;
    page.recovery_codes = codes;
    page.notice = Some(ctx.lang.t("two_factor.done.on").to_string());
    respond(&ctx, &page)
}

/// POST /users/two_factor/disable (`code`: a current code or a recovery code): switches
/// two-factor login off. The code is counted like a password try of the account.
pub async fn disable(
    ctx: Ctx,
    user: CurrentUser,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
    gate: web::Data<LoginGate>,
    form: StrictForm<CodeFields>,
) -> AppResult<HttpResponse> {
    let code = form.into_inner().code;
    if !store.two_factor_on(user.id).await? {
        return refused(&ctx, &store, user, bad(&ctx, "two_factor.already_off")).await;
    }
    if code.trim().is_empty() {
        return refused(
            &ctx,
            &store,
            user,
            bad(&ctx, "two_factor.code_required_off"),
        )
        .await;
    }
    let (username, _) = store
        .login_name(user.id)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let now = time::now();
    let outcome = code_under_policy(
        &store,
        &settings.login,
        &gate,
        &ctx,
        &username,
        two_factor::use_code(&store, user.id, &code, &ctx.address, now),
    )
    .await;
    let outcome = match outcome {
        Ok(o) => o,
        Err(e @ AppError::TooManyRequests { .. }) => return refused(&ctx, &store, user, e).await,
        Err(e) => return Err(e),
    };
    match outcome {
        Outcome::Code | Outcome::RecoveryCode => {}
        Outcome::Reused => {
            return refused(&ctx, &store, user, bad(&ctx, "two_factor.code_reused")).await
        }
        Outcome::Wrong => {
            return refused(&ctx, &store, user, bad(&ctx, "two_factor.code_wrong")).await
        }
    }
    if !store.disable_two_factor(user.id, &ctx.address).await? {
        return refused(&ctx, &store, user, bad(&ctx, "two_factor.already_off")).await;
    }
    tracing::info!(user_id = user.id, "two-factor login off");
    Ok(match ctx.format {
        Format::Html => notice::redirect("/users/two_factor", "off"),
        f => respond_action(
            f,
            StatusCode::OK,
            "two_factor_disable",
            ctx.lang.t("two_factor.done.off"),
        ),
    })
}
