//! The second step of a login with two-factor login on (`/callc/login/code`): after a right
//! password (`login::submit`) the session remembers the user for a few minutes, and this form
//! takes the code of the authenticator app or a recovery code. Wrong codes are counted and
//! throttled with the password attempts (`login::code_under_policy`); a right one starts the
//! session as a password login does, recorded as "password+totp".

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::config::Settings;
use crate::error::AppResult;
use crate::login_gate::LoginGate;
use crate::pages::account::login::{code_under_policy, start_web_session, LoginPage};
use crate::store::Store;
use crate::two_factor::{self, Outcome};
use crate::web::form::StrictForm;
use crate::web::openapi::ApiDoc;
use crate::web::session::{self, LoginMethod};
use crate::web::{respond, respond_action, Chrome, Ctx, Format, Page};

/// The code form's view model.
#[derive(Serialize, ToSchema)]
pub struct LoginCodePage {
    pub pagename: &'static str,
    pub language: &'static str,
    pub error_msg: String,
}

#[derive(Template)]
#[template(path = "pages/account/login_code.html")]
struct LoginCodeHtml<'a> {
    c: &'a Chrome,
    v: &'a LoginCodePage,
}

#[derive(Template)]
#[template(path = "xml/account/login_code.xml")]
struct LoginCodeXml<'a> {
    v: &'a LoginCodePage,
}

impl Page for LoginCodePage {
    fn html(&self, c: &Chrome) -> askama::Result<String> {
        LoginCodeHtml { c, v: self }.render()
    }
    fn xml(&self) -> askama::Result<String> {
        LoginCodeXml { v: self }.render()
    }
}

impl LoginCodePage {
    fn new(ctx: &Ctx, error_msg: String) -> Self {
        LoginCodePage {
            pagename: "Login code",
            language: ctx.lang.code(),
            error_msg,
        }
    }
}

/// No second step is open (never begun, or its five minutes are over): the login form again,
/// saying why, or the failed action.
fn start_again(ctx: &Ctx, session: &Session) -> AppResult<HttpResponse> {
    session::end_second_step(session);
    let message = ctx.lang.t("two_factor.login.expired");
    match ctx.format {
        Format::Html => {
            let page = LoginPage::new(ctx.lang, message.to_string(), String::new());
            let mut resp = respond(ctx, &page)?;
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

/// The page in the JSON API's description.
pub fn api(doc: &mut ApiDoc) {
    doc.page::<LoginCodePage>("Login", "/callc/login/code", &[]);
}

/// GET /callc/login/code: the code form, while a second step is open.
pub async fn form(ctx: Ctx, session: Session) -> AppResult<HttpResponse> {
    if session::second_step(&session, crate::time::now()).is_none() {
        return start_again(&ctx, &session);
    }
    respond(&ctx, &LoginCodePage::new(&ctx, String::new()))
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

/// POST /callc/login/code (`code`: the app's code or a recovery code): completes the login.
pub async fn submit(
    ctx: Ctx,
    session: Session,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
    gate: web::Data<LoginGate>,
    form: StrictForm<CodeForm>,
) -> AppResult<HttpResponse> {
    let now = crate::time::now();
    let Some(user_id) = session::second_step(&session, now) else {
        return start_again(&ctx, &session);
    };
    let account = store.login_name(user_id).await?;
    let Some((username, false)) = account else {
        // Deleted or blocked since the password was given.
        return start_again(&ctx, &session);
    };
    let code = form.into_inner().code;
    let outcome = code_under_policy(
        &store,
        &settings.login,
        &gate,
        &ctx,
        &username,
        two_factor::use_code(&store, user_id, &code, &ctx.address, now),
    )
    .await?;
    let detail = match outcome {
        Outcome::Code => "password and code",
        Outcome::RecoveryCode => "password and recovery code",
        Outcome::Reused => "a used code",
        Outcome::Wrong => "a wrong code",
    };
    if outcome.is_right() {
        tracing::info!(user_id, "login with a code");
        store
            .audit(Some(user_id), "login", detail, &ctx.address)
            .await?;
        let lang = session::lang(&session).unwrap_or(ctx.lang);
        return start_web_session(
            &ctx,
            &session,
            &store,
            user_id,
            lang,
            LoginMethod::PasswordAndCode,
        )
        .await;
    }
    tracing::info!(user_id, "login code refused");
    store
        .audit(Some(user_id), "login_failed", detail, &ctx.address)
        .await?;
    let message = ctx.lang.t(if outcome == Outcome::Reused {
        "two_factor.code_reused"
    } else {
        "two_factor.code_wrong"
    });
    match ctx.format {
        Format::Html => {
            let mut resp = respond(&ctx, &LoginCodePage::new(&ctx, message.to_string()))?;
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
