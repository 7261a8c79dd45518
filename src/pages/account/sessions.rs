//! One's own sessions (`/users/sessions`): every live login of the subscriber, when and from
//! where it started, in which browser or client, and how the login was made; ending one of
//! them, or every one but this. An ended session is refused on its next request, whatever the
//! session store (`web::context` asks `user_sessions` on every request).

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Serialize;
use utoipa::ToSchema;

use crate::config::Settings;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::pages::notice;
use crate::store::access::Resource;
use crate::store::sessions::SessionRow;
use crate::store::Store;
use crate::time;
use crate::web::openapi::ApiDoc;
use crate::web::session;
use crate::web::values::{Links, Moment};
use crate::web::{
    require, respond, respond_action, Chrome, Ctx, CurrentUser, Format, Page, UserAccount,
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/users/sessions")
            .name("sessions")
            .route(web::get().to(show)),
    )
    .service(
        web::resource("/users/sessions/end_others")
            .name("sessions_end_others")
            .route(web::post().to(end_others)),
    )
    .service(
        web::resource("/users/sessions/{id}/end")
            .name("session_end")
            .route(web::post().to(end_one)),
    );
}

const NOTICES: &[&str] = &["ended", "ended_others"];

#[derive(Serialize, ToSchema)]
pub struct SessionsPage {
    pub pagename: &'static str,
    pub language: &'static str,
    pub userid: i64,
    pub sessions: Vec<SessionView>,
    /// Both `null`: only live sessions are listed, a handful, given whole.
    pub links: Links,
    #[serde(skip)]
    pub notice: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SessionView {
    /// The session's handle: what `/users/sessions/{id}/end` takes (the XML's `<id>`).
    pub session_id: i64,
    /// The session making this request.
    pub current: bool,
    /// `web` (a browser) or `api` (a legacy XML client).
    pub kind: &'static str,
    /// `password`, `password+totp` or `oidc`.
    pub method: &'static str,
    pub address: String,
    pub user_agent: String,
    /// When it started and was last used.
    pub started: Moment,
    pub last_seen: Moment,
    /// The kind and method in the page's language (HTML only).
    #[serde(skip)]
    pub kind_text: String,
    #[serde(skip)]
    pub method_text: String,
}

impl SessionView {
    fn new(row: SessionRow, lang: Lang, zone: chrono_tz::Tz, current: Option<&str>) -> Self {
        let kind = if row.kind == "api" { "api" } else { "web" };
        let method = match row.method.as_str() {
            "password+totp" => "password+totp",
            "oidc" => "oidc",
            _ => "password",
        };
        SessionView {
            session_id: row.handle,
            current: current == Some(row.id.as_str()),
            kind,
            method,
            kind_text: lang.t(&format!("sessions.kind.{kind}")).to_string(),
            method_text: lang.t(&format!("sessions.method.{method}")).to_string(),
            address: row.address,
            user_agent: row.user_agent,
            started: Moment::new(row.created_at, zone),
            last_seen: Moment::new(row.last_seen_at, zone),
        }
    }
}

#[derive(Template)]
#[template(path = "pages/account/sessions.html")]
struct SessionsHtml<'a> {
    c: &'a Chrome,
    v: &'a SessionsPage,
}

#[derive(Template)]
#[template(path = "xml/account/sessions.xml")]
struct SessionsXml<'a> {
    v: &'a SessionsPage,
}

impl Page for SessionsPage {
    fn html(&self, c: &Chrome) -> askama::Result<String> {
        SessionsHtml { c, v: self }.render()
    }
    fn xml(&self) -> askama::Result<String> {
        SessionsXml { v: self }.render()
    }
}

/// The page in the JSON API's description.
pub fn api(doc: &mut ApiDoc) {
    doc.page::<SessionsPage>("Account", "/users/sessions", &[]);
}

#[derive(serde::Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
    n: Option<String>,
}

/// GET /users/sessions
pub async fn show(
    ctx: Ctx,
    user: CurrentUser,
    UserAccount(account): UserAccount,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
    query: web::Query<DoneQuery>,
) -> AppResult<HttpResponse> {
    let zone = time::zone(&account.time_zone);
    let rows = store
        .live_sessions(user.id, &settings.sessions, time::now())
        .await?;
    let page = SessionsPage {
        pagename: "Sessions",
        language: ctx.lang.code(),
        userid: user.id,
        sessions: rows
            .into_iter()
            .map(|r| SessionView::new(r, ctx.lang, zone, ctx.session_id.as_deref()))
            .collect(),
        links: Links::whole(),
        notice: notice::text_count(
            ctx.lang,
            "sessions",
            NOTICES,
            query.done.as_deref(),
            query.n.as_deref(),
        ),
    };
    respond(&ctx, &page)
}

/// POST /users/sessions/{id}/end: ends one of the subscriber's sessions (another's, or one that
/// has ended: 404). Ending this very session is a logout.
pub async fn end_one(
    ctx: Ctx,
    user: CurrentUser,
    session: Session,
    store: web::Data<Store>,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let handle = path.parse::<i64>().map_err(|_| AppError::NotFound)?;
    require(&store, user, Resource::Session, handle).await?;
    let own = match &ctx.session_id {
        Some(sid) => store.session_handle(sid).await? == Some(handle),
        None => false,
    };
    store.end_session_by_handle(user.id, handle).await?;
    store
        .audit(Some(user.id), "session_ended", "", &ctx.address)
        .await?;
    if own {
        session::log_out(&session);
        return Ok(match ctx.format {
            Format::Html => crate::web::see_other("/callc/login"),
            f => respond_action(f, StatusCode::OK, "session_end", "Session ended"),
        });
    }
    Ok(match ctx.format {
        Format::Html => notice::redirect("/users/sessions", "ended"),
        f => respond_action(f, StatusCode::OK, "session_end", "Session ended"),
    })
}

/// POST /users/sessions/end_others: ends every session of the subscriber but this one.
pub async fn end_others(
    ctx: Ctx,
    user: CurrentUser,
    store: web::Data<Store>,
) -> AppResult<HttpResponse> {
    let ended = store
        .end_user_sessions(user.id, ctx.session_id.as_deref())
        .await?;
    store
        .audit(
            Some(user.id),
            "sessions_ended",
            &ended.to_string(),
            &ctx.address,
        )
        .await?;
    Ok(match ctx.format {
        Format::Html => notice::redirect_count("/users/sessions", "ended_others", ended),
        f => respond_action(
            f,
            StatusCode::OK,
            "sessions_end_others",
            &format!("{ended} sessions ended"),
        ),
    })
}
