//! Login and logout: the HTML form, the legacy `/api/login?u=…&p=…`, and logout.

use actix_session::Session;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::{Deserialize, Serialize};

use crate::error::AppResult;
use crate::i18n::Lang;
use crate::password;
use crate::store::Store;
use crate::web::session::{self, SessionKind};
use crate::web::{respond_action, Chrome, Ctx, Format, Page};

/// The login page's view model (the seed's "Login page").
#[derive(Serialize)]
pub struct LoginPage {
    pub pagename: &'static str,
    pub language: &'static str,
    pub error_msg: String,
    pub aval_languages: Vec<&'static str>,
    /// The user name typed before a failed attempt, so the form keeps it.
    pub username: String,
}

impl LoginPage {
    fn new(lang: Lang, error_msg: String, username: String) -> Self {
        LoginPage {
            pagename: "Login page",
            language: lang.code(),
            error_msg,
            aval_languages: super::available_languages(),
            username,
        }
    }
}

#[derive(Template)]
#[template(path = "pages/login.html")]
struct LoginHtml<'a> {
    c: &'a Chrome,
    v: &'a LoginPage,
}

#[derive(Template)]
#[template(path = "xml/login.xml")]
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

/// GET /callc/login
pub async fn form(ctx: Ctx) -> AppResult<HttpResponse> {
    crate::web::respond(
        &ctx,
        &LoginPage::new(ctx.lang, String::new(), String::new()),
    )
}

/// POST /callc/login: a browser form; success goes to the main page.
pub async fn submit(
    ctx: Ctx,
    session: Session,
    store: web::Data<Store>,
    form: web::Form<LoginForm>,
) -> AppResult<HttpResponse> {
    let LoginForm { username, password } = form.into_inner();
    match authenticate(&store, &username, password).await? {
        Some((user_id, lang)) => {
            let lang = session::lang(&session).unwrap_or(lang);
            session::log_in(&session, user_id, SessionKind::Web, lang)?;
            tracing::info!(user_id, "login");
            Ok(match ctx.format {
                Format::Html => see_other("/callc/main"),
                f => respond_action(f, StatusCode::OK, "login", "Successfully logged in"),
            })
        }
        None => {
            tracing::info!("login failed");
            let message = ctx.lang.t("login.failed");
            match ctx.format {
                Format::Html => {
                    let page = LoginPage::new(ctx.lang, message.to_string(), username);
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

/// GET or POST /api/login?u=…&p=…: the legacy client's login, answered with the seed's action.
pub async fn legacy(
    ctx: Ctx,
    session: Session,
    store: web::Data<Store>,
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
    match authenticate(&store, &username, password).await? {
        Some((user_id, lang)) => {
            session::log_in(&session, user_id, SessionKind::Legacy, lang)?;
            tracing::info!(user_id, "legacy login");
            Ok(respond_action(
                format,
                StatusCode::OK,
                "login",
                "Successfully logged in",
            ))
        }
        None => {
            tracing::info!("legacy login failed");
            Ok(respond_action(
                format,
                StatusCode::UNAUTHORIZED,
                "login",
                Lang::En.t("login.failed"),
            ))
        }
    }
}

/// POST /callc/logout
pub async fn logout(ctx: Ctx, session: Session) -> HttpResponse {
    session::log_out(&session);
    match ctx.format {
        Format::Html => see_other("/callc/login"),
        f => respond_action(f, StatusCode::OK, "logout", "Successfully logged out"),
    }
}

/// The user's id and language when the password is right. An unknown user, a blocked user and
/// a wrong password are the same answer, in about the same time (`password::verify`).
async fn authenticate(
    store: &Store,
    username: &str,
    password: String,
) -> AppResult<Option<(i64, Lang)>> {
    let username = username.trim();
    // No user name holds a NUL (PostgreSQL text cannot), and PostgreSQL refuses one in a query.
    let creds = if username.is_empty() || username.len() > 100 || username.contains('\0') {
        None
    } else {
        store.credentials(username).await?
    };
    let stored = creds.as_ref().map(|c| c.password_hash.clone());
    let ok = web::block(move || password::verify(&password, stored.as_deref())).await?;
    Ok(match creds {
        Some(c) if ok && c.blocked == 0 => {
            Some((c.id, Lang::parse(&c.language).unwrap_or_default()))
        }
        _ => None,
    })
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}
