//! Password change (needs the current password; ends every other session) and password reset
//! by mail (a single-use link that expires in an hour; the request never reveals whether the
//! account exists).

use actix_session::Session;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::config::Settings;
use crate::error::{AppError, AppResult};
use crate::mail::Outbox;
use crate::password;
use crate::store::Store;
use crate::tokens;
use crate::web::openapi::ApiDoc;
use crate::web::session;
use crate::web::{respond, respond_action, Chrome, Ctx, CurrentUser, Format, Page};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/users/change_password")
            .name("change_password")
            .route(web::get().to(change_form))
            .route(web::post().to(change)),
    )
    .service(
        web::resource("/users/password_reset")
            .name("password_reset")
            .route(web::get().to(reset_request_form))
            .route(web::post().to(reset_request)),
    )
    .service(
        web::resource("/users/password_reset/{token}")
            .name("password_reset")
            .route(web::get().to(reset_form))
            .route(web::post().to(reset)),
    );
}

/// The view model of all three forms: which form, and what to say.
#[derive(Serialize, ToSchema)]
pub struct PasswordPage {
    pub pagename: &'static str,
    pub language: &'static str,
    /// What went wrong, in the page's language; empty when nothing did.
    pub error_msg: String,
    /// A success notice, in the page's language; empty when none.
    pub notice: String,
    #[serde(skip)]
    pub form: Form,
}

#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub enum Form {
    #[default]
    Change,
    ResetRequest,
    /// Setting a new password through a link (the token goes back in the form's action).
    Reset,
    /// Nothing to fill in (a spent link, or a request sent).
    None,
}

impl PasswordPage {
    fn new(ctx: &Ctx, pagename: &'static str, form: Form) -> Self {
        PasswordPage {
            pagename,
            language: ctx.lang.code(),
            error_msg: String::new(),
            notice: String::new(),
            form,
        }
    }
}

#[derive(Template)]
#[template(path = "pages/account/password.html")]
struct PasswordHtml<'a> {
    c: &'a Chrome,
    v: &'a PasswordPage,
}

#[derive(Template)]
#[template(path = "xml/account/password.xml")]
struct PasswordXml<'a> {
    v: &'a PasswordPage,
}

impl Page for PasswordPage {
    fn html(&self, c: &Chrome) -> askama::Result<String> {
        PasswordHtml { c, v: self }.render()
    }
    fn xml(&self) -> askama::Result<String> {
        PasswordXml { v: self }.render()
    }
}

/// The pages in the JSON API's description.
pub fn api(doc: &mut ApiDoc) {
    doc.page::<PasswordPage>("Account", "/users/change_password", &[]);
    doc.page::<PasswordPage>("Login", "/users/password_reset", &[]);
    doc.page::<PasswordPage>("Login", "/users/password_reset/{token}", &[]);
}

#[derive(Deserialize)]
pub struct ChangeForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    /// Browsers send it; XML clients may leave it out.
    confirm_password: Option<String>,
}

#[derive(Deserialize)]
pub struct Done {
    done: Option<String>,
}

/// GET /users/change_password
pub async fn change_form(
    ctx: Ctx,
    _user: CurrentUser,
    q: web::Query<Done>,
) -> AppResult<HttpResponse> {
    let mut page = PasswordPage::new(&ctx, "Change password", Form::Change);
    if q.done.is_some() {
        page.notice = ctx.lang.t("password.changed").into();
    }
    respond(&ctx, &page)
}

/// POST /users/change_password
pub async fn change(
    ctx: Ctx,
    user: CurrentUser,
    session: Session,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
    gate: web::Data<crate::login_gate::LoginGate>,
    form: web::Form<ChangeForm>,
) -> AppResult<HttpResponse> {
    let f = form.into_inner();
    let (username, _) = store
        .password_of(user.id)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let current_ok = crate::pages::account::login::current_password_is_right(
        &store,
        &settings.login,
        &gate,
        &ctx,
        user.id,
        f.current_password,
    )
    .await?;
    if !current_ok {
        return failed(
            &ctx,
            "change_password",
            Form::Change,
            "password.wrong_current",
        );
    }
    let hash = match new_password_hash(f.new_password, f.confirm_password, &username).await? {
        Ok(hash) => hash,
        Err(key) => return failed(&ctx, "change_password", Form::Change, key),
    };
    store.set_password(user.id, &hash).await?;
    let ended = store
        .end_user_sessions(user.id, session::session_id(&session).as_deref())
        .await?;
    store
        .audit(
            Some(user.id),
            "password_changed",
            &format!("{ended} other sessions ended"),
            &ctx.address,
        )
        .await?;
    Ok(match ctx.format {
        Format::Html => see_other("/users/change_password?done=1"),
        f => respond_action(f, StatusCode::OK, "change_password", "Password changed"),
    })
}

#[derive(Deserialize)]
pub struct ResetRequestForm {
    #[serde(default)]
    who: String,
}

/// GET /users/password_reset
pub async fn reset_request_form(ctx: Ctx) -> AppResult<HttpResponse> {
    respond(
        &ctx,
        &PasswordPage::new(&ctx, "Password reset", Form::ResetRequest),
    )
}

/// Reset requests one address may make in [`RESET_WINDOW_S`], whatever names they carry.
const RESET_PER_ADDRESS: usize = 10;
/// Reset mails one account gets in [`RESET_WINDOW_S`].
const RESET_PER_ACCOUNT: i64 = 3;
const RESET_WINDOW_S: i64 = 3600;

/// POST /users/password_reset: the same answer, in the same time, whether or not the account
/// exists: past the per-address throttle, the request is recorded and answered, and the
/// account is looked up, the token made and the mail queued afterwards, in the background.
pub async fn reset_request(
    ctx: Ctx,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
    outbox: web::Data<Outbox>,
    form: web::Form<ResetRequestForm>,
) -> AppResult<HttpResponse> {
    let now = crate::time::now();
    let from_here = store
        .reset_requests_from(&ctx.address, now - RESET_WINDOW_S)
        .await?;
    if from_here.len() >= RESET_PER_ADDRESS {
        let oldest = from_here.iter().min().copied().unwrap_or(now);
        return Err(AppError::TooManyRequests {
            message: ctx.lang.t("reset.too_many").to_string(),
            retry_after_s: (oldest + RESET_WINDOW_S - now).max(1),
        });
    }
    store
        .audit(None, "password_reset_asked", "", &ctx.address)
        .await?;
    let who = form.who.trim().to_string();
    let valid = !who.is_empty() && who.len() <= 200 && !who.chars().any(char::is_control);
    if valid {
        let (store, settings, outbox) = (store.clone(), settings.clone(), outbox.clone());
        let address = ctx.address.clone();
        tokio::spawn(async move {
            if let Err(e) = send_reset_link(&store, &settings, &outbox, &who, &address).await {
                tracing::warn!(error = %e, "a password reset was not sent");
            }
        });
    }
    let mut page = PasswordPage::new(&ctx, "Password reset", Form::None);
    page.notice = ctx.lang.t("reset.sent").into();
    match ctx.format {
        Format::Html | Format::Json => respond(&ctx, &page),
        f => Ok(respond_action(
            f,
            StatusCode::OK,
            "password_reset",
            ctx.lang.t("reset.sent"),
        )),
    }
}

/// The account's one live link, by mail, at most [`RESET_PER_ACCOUNT`] an hour.
async fn send_reset_link(
    store: &Store,
    settings: &Settings,
    outbox: &Outbox,
    who: &str,
    address: &str,
) -> sqlx::Result<()> {
    let Some((user_id, username, email, lang)) = store.reset_candidate(who).await? else {
        return Ok(());
    };
    let now = crate::time::now();
    if email.is_empty()
        || store
            .reset_tokens_since(user_id, now - RESET_WINDOW_S)
            .await?
            >= RESET_PER_ACCOUNT
    {
        return Ok(());
    }
    let token = tokens::random_token();
    store
        .create_reset_token(user_id, &tokens::digest(&token), now + 3600)
        .await?;
    let link = format!(
        "{}/users/password_reset/{token}",
        settings.public_url.trim_end_matches('/')
    );
    let (subject, body) = reset_mail(&lang, &username, &link);
    store.queue_mail(&email, subject, &body).await?;
    outbox.wake();
    store
        .audit(Some(user_id), "password_reset_requested", "", address)
        .await
}

fn reset_mail(lang: &str, username: &str, link: &str) -> (&'static str, String) {
    if lang == "ru" {
        ("Смена пароля", format!(
            "Здравствуйте!\n\nДля учётной записи «{username}» запрошена смена пароля. Чтобы задать новый пароль, \
             откройте ссылку (она действует один раз в течение часа):\n\n{link}\n\n\
             Если вы не запрашивали смену пароля, просто удалите это письмо.\n"
        ))
    } else {
        ("Reset your password", format!(
            "Hello,\n\nsomeone asked to reset the password of the account \"{username}\". To set a new password, \
             open this link (it works once, for one hour):\n\n{link}\n\n\
             If you did not ask for this, you can delete this message.\n"
        ))
    }
}

/// GET /users/password_reset/{token}
pub async fn reset_form(
    ctx: Ctx,
    store: web::Data<Store>,
    token: web::Path<String>,
) -> AppResult<HttpResponse> {
    let valid = store
        .reset_token_user(&tokens::digest(&token))
        .await?
        .is_some();
    let mut page = PasswordPage::new(
        &ctx,
        "Password reset",
        if valid { Form::Reset } else { Form::None },
    );
    if !valid {
        page.error_msg = ctx.lang.t("reset.invalid").into();
    }
    respond(&ctx, &page)
}

#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    new_password: String,
    confirm_password: Option<String>,
}

/// POST /users/password_reset/{token}
pub async fn reset(
    ctx: Ctx,
    store: web::Data<Store>,
    token: web::Path<String>,
    form: web::Form<ResetForm>,
) -> AppResult<HttpResponse> {
    let digest = tokens::digest(&token);
    let Some(user_id) = store.reset_token_user(&digest).await? else {
        return failed(&ctx, "password_reset", Form::None, "reset.invalid");
    };
    let f = form.into_inner();
    let username = store
        .password_of(user_id)
        .await?
        .map(|(u, _)| u)
        .unwrap_or_default();
    let hash = match new_password_hash(f.new_password, f.confirm_password, &username).await? {
        Ok(hash) => hash,
        Err(key) => return failed(&ctx, "password_reset", Form::Reset, key),
    };
    // Spending the token, setting the password and ending the sessions happen together.
    let Some(user_id) = store.reset_password(&digest, &hash).await? else {
        return failed(&ctx, "password_reset", Form::None, "reset.invalid");
    };
    store
        .audit(
            Some(user_id),
            "password_reset",
            "all sessions ended",
            &ctx.address,
        )
        .await?;
    let mut page = PasswordPage::new(&ctx, "Password reset", Form::None);
    page.notice = ctx.lang.t("reset.done").into();
    match ctx.format {
        Format::Html | Format::Json => respond(&ctx, &page),
        f => Ok(respond_action(
            f,
            StatusCode::OK,
            "password_reset",
            ctx.lang.t("reset.done"),
        )),
    }
}

/// The hash of a new password that is confirmed and meets the policy (hashed off the async
/// threads), or the locale key saying why it is refused.
async fn new_password_hash(
    new: String,
    confirm: Option<String>,
    username: &str,
) -> AppResult<Result<String, &'static str>> {
    if confirm.is_some_and(|c| c != new) {
        return Ok(Err("password.mismatch"));
    }
    if let Err(weak) = password::check_policy(&new, username) {
        return Ok(Err(weak.key));
    }
    let hash = password::off_thread(move || password::hash(&new))
        .await?
        .map_err(AppError::Internal)?;
    Ok(Ok(hash))
}

/// A refused form: the page again with the message (HTML), the failed action (XML) or the one
/// error shape (JSON).
fn failed(ctx: &Ctx, action: &str, form: Form, key: &str) -> AppResult<HttpResponse> {
    match ctx.format {
        Format::Xml => Ok(respond_action(
            Format::Xml,
            StatusCode::BAD_REQUEST,
            action,
            crate::i18n::Lang::En.t(key),
        )),
        Format::Json => Err(AppError::BadInput(ctx.lang.t(key).to_string())),
        _ => {
            let mut page = PasswordPage::new(ctx, "Password", form);
            page.error_msg = ctx.lang.t(key).to_string();
            let mut resp = respond(ctx, &page)?;
            *resp.status_mut() = StatusCode::BAD_REQUEST;
            Ok(resp)
        }
    }
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}
