//! Login and logout: the HTML form, the legacy `/api/login?u=…&p=…`, and logout.

use actix_session::Session;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::config::Settings;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::login_gate::LoginGate;
use crate::login_guard::{LoginPolicy, Verdict};
use crate::password;
use crate::store::sessions::NewSession;
use crate::store::Store;
use crate::web::openapi::ApiDoc;
use crate::web::session::{self, LoginMethod, SessionKind};
use crate::web::{respond_action, Chrome, Ctx, Format, Page};

/// The login page's view model (the seed's "Login page").
#[derive(Serialize, ToSchema)]
pub struct LoginPage {
    pub pagename: &'static str,
    pub language: &'static str,
    pub error_msg: String,
    /// The languages the portal speaks (the XML's `<aval_languages>`).
    pub available_languages: Vec<&'static str>,
    /// The user name typed before a failed attempt, so the form keeps it.
    pub username: String,
    /// A notice after an action that logged the user out (`?done=`), HTML only.
    #[serde(skip)]
    pub notice: Option<String>,
    /// Single sign-on is configured: the page offers its button (HTML only).
    #[serde(skip)]
    pub sso: bool,
}

impl LoginPage {
    pub(super) fn new(lang: Lang, error_msg: String, username: String) -> Self {
        LoginPage {
            pagename: "Login page",
            language: lang.code(),
            error_msg,
            available_languages: crate::pages::available_languages(),
            username,
            notice: None,
            sso: false,
        }
    }
}

#[derive(Template)]
#[template(path = "pages/account/login.html")]
struct LoginHtml<'a> {
    c: &'a Chrome,
    v: &'a LoginPage,
}

#[derive(Template)]
#[template(path = "xml/account/login.xml")]
struct LoginXml<'a> {
    v: &'a LoginPage,
}

impl Page for LoginPage {
    fn html(&self, c: &Chrome) -> askama::Result<String> {
        LoginHtml { c, v: self }.render()
    }
    fn xml(&self) -> askama::Result<String> {
        LoginXml { v: self }.render()
    }
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

/// The legacy client's parameters, from the query string or a form body.
#[derive(Deserialize, Default)]
pub struct LegacyLogin {
    u: Option<String>,
    p: Option<String>,
}

#[derive(Deserialize)]
pub struct FormQuery {
    done: Option<String>,
}

/// The page in the JSON API's description.
pub fn api(doc: &mut ApiDoc) {
    doc.page::<LoginPage>("Login", "/callc/login", &[]);
}

/// GET /callc/login
pub async fn form(
    ctx: Ctx,
    query: web::Query<FormQuery>,
    oidc: Option<web::Data<crate::oidc::Oidc>>,
) -> AppResult<HttpResponse> {
    let mut page = LoginPage::new(ctx.lang, String::new(), String::new());
    page.sso = oidc.is_some();
    page.notice =
        crate::pages::notice::text(ctx.lang, "login", &["blocked"], query.done.as_deref());
    crate::web::respond(&ctx, &page)
}

/// POST /callc/login: a browser form; success goes to the main page.
pub async fn submit(
    ctx: Ctx,
    session: Session,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
    gate: web::Data<LoginGate>,
    form: web::Form<LoginForm>,
    oidc: Option<web::Data<crate::oidc::Oidc>>,
) -> AppResult<HttpResponse> {
    let LoginForm { username, password } = form.into_inner();
    match authenticate(&store, &settings.login, &gate, &ctx, &username, password).await? {
        Authenticated::Yes(user_id, lang) => {
            let lang = session::lang(&session).unwrap_or(lang);
            start_web_session(&ctx, &session, &store, user_id, lang, LoginMethod::Password).await
        }
        Authenticated::NeedsCode(user_id, lang) => {
            let lang = session::lang(&session).unwrap_or(lang);
            let until = crate::time::now() + crate::two_factor::SECOND_STEP_S;
            session::begin_second_step(&session, user_id, until, lang)?;
            Ok(match ctx.format {
                Format::Html => see_other("/callc/login/code"),
                f => respond_action(
                    f,
                    StatusCode::UNAUTHORIZED,
                    "login",
                    lang.t("two_factor.login.code_needed"),
                ),
            })
        }
        Authenticated::No => {
            let message = ctx.lang.t("login.failed");
            match ctx.format {
                Format::Html => {
                    let mut page = LoginPage::new(ctx.lang, message.to_string(), username);
                    page.sso = oidc.is_some();
                    let mut resp = crate::web::respond(&ctx, &page)?;
                    *resp.status_mut() = StatusCode::UNAUTHORIZED;
                    Ok(resp)
                }
                f => Ok(respond_action(
                    f,
                    StatusCode::UNAUTHORIZED,
                    "login",
                    message,
                )),
            }
        }
    }
}

/// Starts a browser session for a user whose login is proven (by `method`): the session as
/// `submit` and the second step (`login_code`) both start it; a browser goes to the main page.
pub(super) async fn start_web_session(
    ctx: &Ctx,
    session: &Session,
    store: &Store,
    user_id: i64,
    lang: Lang,
    method: LoginMethod,
) -> AppResult<HttpResponse> {
    let sid = store
        .start_session(&NewSession {
            user_id,
            kind: SessionKind::Web,
            method,
            address: &ctx.address,
            user_agent: &ctx.user_agent,
        })
        .await?;
    session::log_in(session, user_id, &sid, SessionKind::Web, lang)?;
    Ok(match ctx.format {
        Format::Html => see_other("/callc/main"),
        f => respond_action(f, StatusCode::OK, "login", "Successfully logged in"),
    })
}

/// GET or POST /api/login?u=…&p=…: the legacy client's login, answered with the seed's action.
/// A browser sent here by another site is refused: that would log the victim's browser into
/// an account the other site chose (login CSRF).
// An actix handler names each thing it extracts; grouping them would only hide that.
#[allow(clippy::too_many_arguments)]
pub async fn legacy(
    req: HttpRequest,
    ctx: Ctx,
    session: Session,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
    gate: web::Data<LoginGate>,
    query: web::Query<LegacyLogin>,
    body: Option<web::Form<LegacyLogin>>,
) -> AppResult<HttpResponse> {
    let query = query.into_inner();
    let body = body.map(|b| b.into_inner()).unwrap_or_default();
    let username = query.u.or(body.u).unwrap_or_default();
    let password = query.p.or(body.p).unwrap_or_default();
    // An explicit ?format=json is honoured; otherwise the legacy answer is XML.
    let format = if ctx.explicit_format {
        ctx.format
    } else {
        Format::Xml
    };
    if crate::web::csrf::from_another_site(req.headers()) {
        return Ok(respond_action(
            format,
            StatusCode::FORBIDDEN,
            "login",
            "A login from another site's page is refused",
        ));
    }
    match authenticate(&store, &settings.login, &gate, &ctx, &username, password).await? {
        Authenticated::Yes(user_id, lang) => {
            let sid = store
                .start_session(&NewSession {
                    user_id,
                    kind: SessionKind::Legacy,
                    method: LoginMethod::Password,
                    address: &ctx.address,
                    user_agent: &ctx.user_agent,
                })
                .await?;
            session::log_in(&session, user_id, &sid, SessionKind::Legacy, lang)?;
            Ok(crate::web::render::respond_action_for(
                format,
                StatusCode::OK,
                "login",
                "Successfully logged in",
                Some(user_id),
            ))
        }
        // The legacy client cannot give a code: it is told so, with the failed login's status.
        Authenticated::NeedsCode(..) => Ok(respond_action(
            format,
            StatusCode::UNAUTHORIZED,
            "login",
            Lang::En.t("two_factor.login.legacy"),
        )),
        Authenticated::No => Ok(respond_action(
            format,
            StatusCode::UNAUTHORIZED,
            "login",
            Lang::En.t("login.failed"),
        )),
    }
}

/// POST /callc/logout: ends the session here and in the database, so a copy of the cookie is dead too.
pub async fn logout(
    ctx: Ctx,
    session: Session,
    store: web::Data<Store>,
) -> AppResult<HttpResponse> {
    if let Some(sid) = session::session_id(&session) {
        store.end_session(&sid).await?;
    }
    if let Some(user_id) = ctx.user_id {
        store
            .audit(Some(user_id), "logout", "", &ctx.address)
            .await?;
    }
    session::log_out(&session);
    Ok(match ctx.format {
        Format::Html => see_other("/callc/login"),
        f => respond_action(f, StatusCode::OK, "logout", "Successfully logged out"),
    })
}

/// What a password login came to.
enum Authenticated {
    No,
    /// Logged in: the user's id and language.
    Yes(i64, Lang),
    /// The password is right, but two-factor login is on: a code is needed too.
    NeedsCode(i64, Lang),
}

/// The user's id and language when the password is right. An unknown user, a blocked user and
/// a wrong password are the same answer, in about the same time (`password::verify`). Failed
/// attempts are counted in the database and answered ever more slowly, then locked
/// (`login_guard`). A right password of an account with two-factor login is neither a success
/// nor a failure: its attempt is dropped, and the code's attempt (`code_under_policy`) decides.
async fn authenticate(
    store: &Store,
    policy: &LoginPolicy,
    gate: &LoginGate,
    ctx: &Ctx,
    username: &str,
    password: String,
) -> AppResult<Authenticated> {
    Ok(
        authenticate_against(store, policy, gate, ctx, username, password)
            .await?
            .0,
    )
}

/// A stateless API call's password login (MOR's `/api/<name>?u=…&p=…`, `web::mor_api`): the
/// same path as a form login (throttle, argon2 on the bounded pool, failures counted), without
/// a session. On success: the user id and the password hash the password was verified
/// against, which the API's credential cache keeps (a later change of the hash voids it).
pub(crate) async fn authenticate_api(
    store: &Store,
    policy: &LoginPolicy,
    gate: &LoginGate,
    ctx: &Ctx,
    username: &str,
    password: String,
) -> AppResult<ApiLogin> {
    Ok(
        match authenticate_against(store, policy, gate, ctx, username, password).await? {
            (Authenticated::Yes(user_id, _), Some(password_hash)) => ApiLogin::Yes {
                user_id,
                password_hash,
            },
            (Authenticated::NeedsCode(..), _) => ApiLogin::NeedsCode,
            _ => ApiLogin::No,
        },
    )
}

/// What a stateless API call's password login came to.
pub(crate) enum ApiLogin {
    No,
    Yes {
        user_id: i64,
        password_hash: String,
    },
    /// The account asks for a second-factor code, which a stateless call cannot give.
    NeedsCode,
}

/// `authenticate`, with the stored hash the password was checked against.
async fn authenticate_against(
    store: &Store,
    policy: &LoginPolicy,
    gate: &LoginGate,
    ctx: &Ctx,
    username: &str,
    password: String,
) -> AppResult<(Authenticated, Option<String>)> {
    let username = username.trim();
    // No account has such a name (and PostgreSQL text cannot even hold a NUL): a plain failure.
    if username.is_empty() || username.len() > 100 || username.chars().any(char::is_control) {
        return Ok((Authenticated::No, None));
    }
    let ticket = admit(gate, ctx).await?;
    let creds = store.credentials(username).await?;
    let stored = creds.as_ref().map(|c| c.password_hash.clone());
    let guard = Guard {
        store,
        policy,
        gate,
    };
    let Checked { ok, attempt, delay } =
        check_password(&guard, ctx, ticket, username, password, stored.clone()).await?;
    let known_id = creds.as_ref().map(|c| c.id);
    let user = match creds {
        Some(c) if ok && c.blocked == 0 => {
            Some((c.id, Lang::parse(&c.language).unwrap_or_default()))
        }
        _ => None,
    };
    if let Some((id, lang)) = user {
        if store.two_factor_on(id).await? {
            store.drop_login_attempt(attempt).await?;
            tracing::info!(user_id = id, "password right, a code is needed");
            return Ok((Authenticated::NeedsCode(id, lang), stored));
        }
        store.login_succeeded(attempt).await?;
    }
    match user {
        Some((id, _)) => {
            tracing::info!(user_id = id, "login");
            store.audit(Some(id), "login", "", &ctx.address).await?;
        }
        None => {
            tracing::info!("login failed");
            if let Some(id) = known_id {
                store
                    .audit(Some(id), "login_failed", "", &ctx.address)
                    .await?;
            }
            tokio::time::sleep(delay).await;
        }
    }
    Ok(match user {
        Some((id, lang)) => (Authenticated::Yes(id, lang), stored),
        None => (Authenticated::No, None),
    })
}

/// A password checked under the brute-force policy.
struct Checked {
    ok: bool,
    /// The attempt as recorded (a failure unless made a success).
    attempt: i64,
    /// How long to wait before answering a failure.
    delay: std::time::Duration,
}

/// What checking a password under the policy needs.
struct Guard<'a> {
    store: &'a Store,
    policy: &'a LoginPolicy,
    gate: &'a LoginGate,
}

/// A place among the password checks, taken before any database work: held back first when
/// this address ignored a `Retry-After` (`login_gate`), refused at once past the pool's queue.
async fn admit(gate: &LoginGate, ctx: &Ctx) -> AppResult<password::Ticket> {
    if gate.pass(&ctx.address).await.is_err() {
        return Err(refuse(gate, ctx, password::Busy.into()));
    }
    password::Ticket::take().map_err(|busy| refuse(gate, ctx, busy.into()))
}

/// A refusal (429) for this address, remembered by the gate: asking again before its
/// `Retry-After` is held back.
fn refuse(gate: &LoginGate, ctx: &Ctx, err: AppError) -> AppError {
    if let AppError::TooManyRequests { retry_after_s, .. } = &err {
        let wait = std::time::Duration::from_secs(u64::try_from(*retry_after_s).unwrap_or(1));
        gate.refused(&ctx.address, wait);
    }
    err
}

/// Checks `password` against `stored` for `username` from this address: the attempt is
/// recorded before the check (so parallel guesses see each other), refused unchecked when the
/// policy locks it, and made a success when right. Argon2 runs on the bounded pool.
async fn check_password(
    guard: &Guard<'_>,
    ctx: &Ctx,
    ticket: password::Ticket,
    username: &str,
    password: String,
    stored: Option<String>,
) -> AppResult<Checked> {
    let store = guard.store;
    let (attempt, delay) = reserve(guard, ctx, username).await?;
    let ok = match ticket
        .run(move || password::verify(&password, stored.as_deref()))
        .await
    {
        Ok(ok) => ok,
        Err(busy) => {
            // Not checked, so not a failure either.
            store.drop_login_attempt(attempt).await?;
            return Err(refuse(guard.gate, ctx, busy.into()));
        }
    };
    Ok(Checked { ok, attempt, delay })
}

/// Records an attempt for `username` from this address before its secret is checked, so
/// parallel guesses see each other: its id and how long to wait before answering a failure,
/// or a refusal (unrecorded) when the policy locks it.
async fn reserve(
    guard: &Guard<'_>,
    ctx: &Ctx,
    username: &str,
) -> AppResult<(i64, std::time::Duration)> {
    let Guard {
        store,
        policy,
        gate,
    } = *guard;
    let attempt = store.reserve_login_attempt(username, &ctx.address).await?;
    let failures = store
        .login_failures(username, &ctx.address, attempt, policy)
        .await?;
    match policy.decide(&failures, crate::time::now()) {
        Verdict::Locked { retry_after_s } => {
            tracing::warn!(retry_after_s, "login locked");
            store.drop_login_attempt(attempt).await?;
            let minutes = (retry_after_s + 59) / 60;
            let locked = AppError::TooManyRequests {
                message: ctx.lang.fill("login.locked", &[("minutes", &minutes)]),
                retry_after_s,
            };
            Err(refuse(gate, ctx, locked))
        }
        Verdict::Allow { delay_on_failure } => Ok((attempt, delay_on_failure)),
    }
}

/// A second-factor code (at login, or to switch two-factor login off) checked like a
/// password: counted under the account's name from this address with the password attempts,
/// refused unchecked when the policy locks it, a right one a success, a wrong one answered
/// after the policy's delay. `check` uses the code up when it is right.
pub async fn code_under_policy(
    store: &Store,
    policy: &LoginPolicy,
    gate: &LoginGate,
    ctx: &Ctx,
    username: &str,
    check: impl std::future::Future<Output = AppResult<crate::two_factor::Outcome>>,
) -> AppResult<crate::two_factor::Outcome> {
    if gate.pass(&ctx.address).await.is_err() {
        return Err(refuse(gate, ctx, password::Busy.into()));
    }
    let guard = Guard {
        store,
        policy,
        gate,
    };
    let (attempt, delay) = reserve(&guard, ctx, username).await?;
    let outcome = match check.await {
        Ok(outcome) => outcome,
        Err(e) => {
            // Not checked, so not a failure either.
            store.drop_login_attempt(attempt).await?;
            return Err(e);
        }
    };
    if outcome.is_right() {
        store.login_succeeded(attempt).await?;
    } else {
        tokio::time::sleep(delay).await;
    }
    Ok(outcome)
}

/// The current password asked again before a sensitive change (a new password, a new e-mail
/// address): checked like a login, under the same policy for the account's name from this
/// address, so it cannot be guessed without limit either. True when it is right.
pub async fn current_password_is_right(
    store: &Store,
    policy: &LoginPolicy,
    gate: &LoginGate,
    ctx: &Ctx,
    user_id: i64,
    password: String,
) -> AppResult<bool> {
    let ticket = admit(gate, ctx).await?;
    let (username, hash) = store
        .password_of(user_id)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let guard = Guard {
        store,
        policy,
        gate,
    };
    let Checked { ok, attempt, delay } =
        check_password(&guard, ctx, ticket, &username, password, Some(hash)).await?;
    if ok {
        store.login_succeeded(attempt).await?;
    } else {
        tokio::time::sleep(delay).await;
    }
    Ok(ok)
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}
