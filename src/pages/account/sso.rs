//! Single sign-on: `GET /auth/oidc/login` sends the browser to the OpenID provider,
//! `GET /auth/oidc/callback` brings it back with a code, `POST /auth/oidc/logout` ends the
//! session here and at the provider. The protocol work is in `crate::oidc`.

use actix_session::Session;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::oidc::{Oidc, OidcError, PendingLogin};
use crate::store::Store;
use crate::web::session::{self, LoginMethod};
use crate::web::{respond_action, Ctx, Format};

/// Session keys: the login under way, and the ID token of an SSO session (the logout's hint).
const PENDING: &str = "oidc_pending";
const ID_TOKEN: &str = "oidc_id_token";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/auth/oidc/login")
            .name("sso_login")
            .route(web::get().to(login)),
    )
    .service(
        web::resource("/auth/oidc/callback")
            .name("sso_login")
            .route(web::get().to(callback)),
    )
    .service(
        web::resource("/auth/oidc/logout")
            .name("logout")
            .route(web::post().to(logout)),
    );
}

/// The provider, or 404 when single sign-on is not configured.
fn configured(oidc: Option<web::Data<Oidc>>) -> AppResult<web::Data<Oidc>> {
    oidc.ok_or(AppError::NotFound)
}

/// The provider cannot be reached: 503, try again shortly (the cause goes to the log).
fn unavailable(e: OidcError) -> AppError {
    AppError::Unavailable(anyhow::anyhow!("single sign-on: {e}"))
}

/// GET /auth/oidc/login: a new login at the provider (PKCE, state and nonce kept in the session
/// for ten minutes).
pub async fn login(session: Session, oidc: Option<web::Data<Oidc>>) -> AppResult<HttpResponse> {
    let oidc = configured(oidc)?;
    let (url, pending) = oidc
        .begin_login(crate::time::now())
        .await
        .map_err(unavailable)?;
    session.insert(PENDING, &pending)?;
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, url))
        .finish())
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    iss: Option<String>,
}

/// GET /auth/oidc/callback: the provider's answer. The login under way is taken out of the
/// session first, so a state or code is good for one try only; every refusal changes nothing.
pub async fn callback(
    ctx: Ctx,
    session: Session,
    store: web::Data<Store>,
    oidc: Option<web::Data<Oidc>>,
    query: web::Query<CallbackQuery>,
) -> AppResult<HttpResponse> {
    let oidc = configured(oidc)?;
    let query = query.into_inner();
    let refused = |key: &str| AppError::Forbidden(ctx.lang.t(key).to_string());
    let pending: Option<PendingLogin> = session.remove_as(PENDING).and_then(Result::ok);
    let Some(pending) = pending.filter(|p| p.expires_at > crate::time::now()) else {
        return Err(AppError::bad_input(ctx.lang.t("sso.no_login")));
    };
    let Some(state) = query.state.as_deref() else {
        return Err(AppError::bad_input(ctx.lang.t("sso.no_login")));
    };
    if !crate::tokens::constant_time_eq(state.as_bytes(), pending.state.as_bytes()) {
        tracing::warn!("single sign-on: wrong state");
        return Err(refused("sso.wrong_state"));
    }
    // RFC 9207: a provider that names itself must be ours (mix-up attacks).
    if query
        .iss
        .as_deref()
        .is_some_and(|iss| iss != oidc.settings().issuer)
    {
        return Err(refused("sso.wrong_state"));
    }
    if let Some(error) = query.error.as_deref() {
        // The provider's error code only (never its free text): letters, digits and `_`.
        let code: String = error
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(64)
            .collect();
        tracing::info!(error = %code, "single sign-on refused by the provider");
        return Err(AppError::Forbidden(
            ctx.lang.fill("sso.provider_error", &[("error", &code)]),
        ));
    }
    let code = query
        .code
        .filter(|c| !c.is_empty() && c.len() <= 2048)
        .ok_or_else(|| AppError::bad_input(ctx.lang.t("sso.no_login")))?;
    let identity = match oidc.finish_login(&pending, code).await {
        Ok(identity) => identity,
        Err(e @ OidcError::Unreachable(_)) => return Err(unavailable(e)),
        Err(e) => {
            tracing::warn!(error = %e, "single sign-on refused");
            return Err(refused("sso.refused"));
        }
    };
    let Some(user) = oidc.linked_user(&identity.subject).await? else {
        tracing::info!(subject = %identity.subject, "single sign-on: identity not linked");
        return Err(refused("sso.not_linked"));
    };
    if user.blocked != 0 {
        store
            .audit(Some(user.id), "login_failed", "oidc: blocked", &ctx.address)
            .await?;
        return Err(refused("sso.blocked"));
    }
    let lang = session::lang(&session)
        .or_else(|| Lang::parse(&user.language))
        .unwrap_or_default();
    tracing::info!(user_id = user.id, "login (single sign-on)");
    store
        .audit(Some(user.id), "login", "oidc", &ctx.address)
        .await?;
    let answer = crate::pages::account::login::start_web_session(
        &ctx,
        &session,
        &store,
        user.id,
        lang,
        LoginMethod::OpenIdConnect,
    )
    .await?;
    // Kept for the provider's logout (`id_token_hint`).
    session.insert(ID_TOKEN, &identity.id_token)?;
    Ok(answer)
}

/// POST /auth/oidc/logout: ends the session here (and in the database, so a copy of the cookie
/// is dead too), then sends the browser to the provider's logout when it has one.
pub async fn logout(
    ctx: Ctx,
    session: Session,
    store: web::Data<Store>,
    oidc: Option<web::Data<Oidc>>,
) -> AppResult<HttpResponse> {
    let id_token: Option<String> = session.get(ID_TOKEN).ok().flatten();
    if let Some(sid) = session::session_id(&session) {
        store.end_session(&sid).await?;
    }
    if let Some(user_id) = ctx.user_id {
        store
            .audit(Some(user_id), "logout", "oidc", &ctx.address)
            .await?;
    }
    session::log_out(&session);
    let provider_logout = match &oidc {
        Some(oidc) => oidc.logout_url(id_token.as_deref()).await,
        None => None,
    };
    Ok(match (ctx.format, provider_logout) {
        (Format::Html, Some(url)) => see_other(&url),
        (Format::Html, None) => see_other("/callc/login"),
        (f, _) => respond_action(f, StatusCode::OK, "logout", "Successfully logged out"),
    })
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}
