//! The per-request context (format, language, who is logged in) and the one place where an
//! `AppError` becomes a response in the request's format.

use std::collections::HashMap;
use std::future::{ready, Ready};

use actix_session::SessionExt;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, StatusCode};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse};

use super::format::Format;
use super::render::{render_error_page, respond_action, Chrome};
use super::session::{self, SessionKind};
use super::values::Links;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::store::keyset_page::{Cursor, PageKey};
use crate::store::Store;

#[derive(Clone, Debug)]
pub struct Ctx {
    pub format: Format,
    /// `?format=` was given: routes with a fixed default honour it.
    pub explicit_format: bool,
    pub lang: Lang,
    pub user_id: Option<i64>,
    pub legacy: bool,
    /// The request path without the query, for links back to the same page.
    pub path: String,
    /// The session's CSRF token for the forms of an HTML page (empty for other formats).
    pub csrf: String,
    /// The client's address as this server sees it (the peer of the TCP connection).
    pub address: String,
    /// The client's `User-Agent`, cut to 200 characters (shown on the sessions page).
    pub user_agent: String,
    /// The id of the live login session making this request (None when not logged in).
    pub session_id: Option<String>,
    /// The request's query string, for links to the same page in another format.
    pub query: String,
    /// The format the page would have without an export format: a CSV or PDF request that
    /// fails (or is refused) is answered in it, so a browser gets a page and a legacy client XML.
    pub page_format: Format,
    /// The most rows a PDF is made of (`Settings::pdf_max_rows`).
    pub pdf_max_rows: usize,
}

impl Ctx {
    pub fn chrome(&self) -> Chrome {
        Chrome {
            lang: self.lang,
            logged_in: self.user_id.is_some(),
            path: self.path.clone(),
            csrf: self.csrf.clone(),
        }
    }
}

impl Ctx {
    /// For a route with a fixed export format (`/tariffs/generate_personal_rates_pdf/{userid}`):
    /// that format, unless `?format=` names another.
    pub fn exporting(mut self, format: Format) -> Ctx {
        if !self.explicit_format {
            self.format = format;
        }
        self
    }

    /// This request's URL in another format (the other parameters kept).
    pub fn href_as(&self, format: Format) -> String {
        let mut pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(&self.query).unwrap_or_default();
        pairs.retain(|(k, _)| k != "format");
        pairs.push(("format".to_string(), format.name().to_string()));
        format!(
            "{}?{}",
            self.path,
            serde_urlencoded::to_string(&pairs).unwrap_or_default()
        )
    }

    /// This request's URL with the page keys replaced: a list's `links.next`/`links.prev`.
    /// Every other parameter (the filter, `per_page`, `format`) is kept; `before` and `after`
    /// are dropped first, so a link names one cursor.
    pub fn page_link(&self, key: &str, cursor: &str) -> String {
        let mut pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(&self.query).unwrap_or_default();
        pairs.retain(|(k, _)| k != "before" && k != "after" && k != key);
        pairs.push((key.to_string(), cursor.to_string()));
        format!(
            "{}?{}",
            self.path,
            serde_urlencoded::to_string(&pairs).unwrap_or_default()
        )
    }

    /// A paged list's `links` from where its neighbouring pages start (`None`: no such page),
    /// each this request's address with the page key replaced ([`Ctx::page_link`]): every
    /// keyset-paged list writes its links here, so they read the same.
    pub fn page_links<K: PageKey>(
        &self,
        next: Option<Cursor<K>>,
        prev: Option<Cursor<K>>,
    ) -> Links {
        let link = |cursor: Cursor<K>| {
            let (key, value) = cursor.param()?;
            Some(self.page_link(key, &value))
        };
        Links {
            next: next.and_then(link),
            prev: prev.and_then(link),
        }
    }

    /// The format errors are answered in: the page's own for an export.
    pub fn error_format(&self) -> Format {
        match self.format {
            Format::Csv | Format::Pdf => self.page_format,
            other => other,
        }
    }

    /// The context of a login made before routing (a MOR API call's `u`/`p`): its address.
    pub fn for_address(address: String) -> Ctx {
        Ctx {
            format: Format::Xml,
            explicit_format: false,
            lang: Lang::En,
            user_id: None,
            legacy: true,
            path: String::new(),
            csrf: String::new(),
            address,
            user_agent: String::new(),
            session_id: None,
            query: String::new(),
            page_format: Format::Xml,
            pdf_max_rows: crate::config::Settings::DEFAULT_PDF_MAX_ROWS,
        }
    }

    /// A context for answering before the real one could be built (no user), in `format`.
    fn fallback(req: &ServiceRequest, format: Format, page_format: Format) -> Ctx {
        Ctx {
            format,
            explicit_format: false,
            lang: Lang::default(),
            user_id: None,
            legacy: false,
            path: req.path().to_string(),
            csrf: String::new(),
            address: String::new(),
            user_agent: String::new(),
            session_id: None,
            query: String::new(),
            page_format,
            pdf_max_rows: crate::config::Settings::DEFAULT_PDF_MAX_ROWS,
        }
    }
}

impl FromRequest for Ctx {
    type Error = AppError;
    type Future = Ready<Result<Ctx, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(
            req.extensions().get::<Ctx>().cloned().ok_or_else(|| {
                AppError::Internal(anyhow::anyhow!("context middleware not installed"))
            }),
        )
    }
}

/// Middleware: builds the `Ctx`, applies `?lang=`, and renders errors in the chosen format.
pub async fn context(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let session = req.get_session();
    let query: HashMap<String, String> =
        actix_web::web::Query::<HashMap<String, String>>::from_query(req.query_string())
            .map(|q| q.into_inner())
            .unwrap_or_default();

    // A MOR API call (`mor_api`): legacy; a page call's user is the one its `u`/`p` proved,
    // with no session (none is read, none is started).
    let mor = req.extensions().get::<super::mor_api::MorCall>().copied();
    let stateless = mor.and_then(|m| m.user_id);
    let query_lang = query.get("lang").and_then(|c| Lang::parse(c));
    if let (Some(lang), None) = (query_lang, stateless) {
        session::set_lang(&session, lang).map_err(AppError::from)?;
    }
    // A session counts only while the database says it is alive (logout and password changes
    // end it there, for every portal process and whatever the session store).
    let mut session_id = None;
    let user_id = match (stateless, session::login(&session)) {
        (Some(uid), _) => Some(uid),
        (None, Some((uid, sid))) => match live_session_user(&req, &sid).await {
            Ok(Some(account)) if account.id == uid => {
                session_id = Some(sid);
                req.extensions_mut().insert(account);
                Some(uid)
            }
            Ok(_) => {
                session::forget(&session);
                None
            }
            Err(e) => {
                // The database is not answering: say so in the format the client asked for
                // (or a legacy session gets), as the page itself would have.
                let legacy = session::kind(&session) == Some(SessionKind::Legacy)
                    || req.path().starts_with("/api/");
                let format = Format::negotiate(
                    query.get("format").map(String::as_str),
                    legacy,
                    header_str(&req, header::ACCEPT),
                )
                .unwrap_or(Format::Html);
                let page_format = Format::negotiate(None, legacy, header_str(&req, header::ACCEPT))
                    .unwrap_or(Format::Html);
                let ctx = Ctx::fallback(&req, format, page_format);
                let (http_req, _) = req.into_parts();
                let resp = error_response(&ctx, None, &e);
                return Ok(ServiceResponse::new(http_req, resp));
            }
        },
        (None, None) => None,
    };
    let lang = query_lang
        .or_else(|| session::lang(&session))
        .or_else(|| header_str(&req, header::ACCEPT_LANGUAGE).and_then(Lang::from_accept_language))
        .unwrap_or_default();
    let legacy = (user_id.is_some() && session::kind(&session) == Some(SessionKind::Legacy))
        || req.path().starts_with("/api/")
        || mor.is_some();
    let explicit = query.get("format").map(String::as_str);
    let negotiated = Format::negotiate(explicit, legacy, header_str(&req, header::ACCEPT));

    let format = negotiated.clone().unwrap_or(Format::Html);
    let page_format =
        Format::negotiate(None, legacy, header_str(&req, header::ACCEPT)).unwrap_or(Format::Html);
    let ctx = Ctx {
        format,
        explicit_format: explicit.is_some(),
        lang,
        user_id,
        legacy,
        path: req.path().to_string(),
        // An export's error or refusal may be an HTML page, whose forms need the token. The TM
        // Forum API has no HTML (its session callers get the token from its answers): an API
        // call without a session must not start one.
        csrf: if (format == Format::Html || page_format == Format::Html)
            && !crate::tmf::serves(req.path())
        {
            super::csrf::token(&session)
        } else {
            String::new()
        },
        address: client_address(&req),
        user_agent: header_str(&req, header::USER_AGENT)
            .map(|ua| ua.chars().take(200).collect())
            .unwrap_or_default(),
        session_id,
        query: req.query_string().to_string(),
        page_format,
        pdf_max_rows: req
            .app_data::<actix_web::web::Data<crate::config::Settings>>()
            .map(|s| s.pdf_max_rows)
            .unwrap_or(crate::config::Settings::DEFAULT_PDF_MAX_ROWS),
    };
    req.extensions_mut().insert(ctx.clone());

    if let Err(msg) = negotiated {
        let (http_req, _) = req.into_parts();
        let resp = error_response(&ctx, None, &AppError::BadInput(msg));
        return Ok(ServiceResponse::new(http_req, resp));
    }

    let res = next.call(req).await?;
    record_download(&res, &ctx).await;
    let status = res.status();
    let replacement = match res.response().error() {
        Some(err) => match err.as_error::<AppError>() {
            Some(app) => Some(error_response(&ctx, res.request().match_name(), app)),
            // The TM Forum API's own refusals, and actix's errors on its paths, in its shape.
            None if crate::tmf::serves(&ctx.path) => Some(crate::tmf::error::reshape(err, status)),
            // actix's own extractor and payload errors: say what was wrong, in the page's format.
            None if status.is_client_error() => {
                let app = AppError::BadInput(err.to_string());
                Some(with_status(
                    error_response(&ctx, res.request().match_name(), &app),
                    status,
                ))
            }
            None => {
                tracing::error!(error = %err, "unhandled error");
                let app = AppError::Internal(anyhow::anyhow!("{err}"));
                Some(error_response(&ctx, res.request().match_name(), &app))
            }
        },
        None => None,
    };
    Ok(match replacement {
        Some(resp) => {
            let (http_req, _) = res.into_parts();
            ServiceResponse::new(http_req, resp)
        }
        None => res.map_into_boxed_body(),
    })
}

/// A file the subscriber downloaded (an export, a fax) goes into the activity log.
async fn record_download<B>(res: &ServiceResponse<B>, ctx: &Ctx) {
    let Some(user_id) = ctx.user_id else { return };
    let attachment = res
        .headers()
        .get(header::CONTENT_DISPOSITION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("attachment"));
    if !attachment || !res.status().is_success() {
        return;
    }
    if let Some(store) = res.request().app_data::<actix_web::web::Data<Store>>() {
        if let Err(e) = store
            .audit(Some(user_id), "export", &ctx.path, &ctx.address)
            .await
        {
            tracing::warn!(error = %e, "cannot record a download in the activity log");
        }
    }
}

/// The client's address as this server sees it (`client_address`, trusting the configured proxies).
pub fn client_address(req: &ServiceRequest) -> String {
    let forwarded: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .collect();
    let trusted = req
        .app_data::<actix_web::web::Data<crate::config::Settings>>()
        .map(|s| s.trusted_proxies.clone())
        .unwrap_or_default();
    super::client_address::client_address(req.peer_addr().map(|a| a.ip()), &forwarded, &trusted)
}

async fn live_session_user(
    req: &ServiceRequest,
    sid: &str,
) -> Result<Option<crate::store::users::Account>, AppError> {
    let store = req.app_data::<actix_web::web::Data<Store>>();
    let settings = req.app_data::<actix_web::web::Data<crate::config::Settings>>();
    match (store, settings) {
        (Some(store), Some(settings)) => Ok(store
            .session_user(sid, &settings.sessions, crate::time::now())
            .await?),
        _ => Err(AppError::Internal(anyhow::anyhow!("no store in app data"))),
    }
}

fn header_str(req: &ServiceRequest, name: header::HeaderName) -> Option<&str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

fn with_status(mut resp: HttpResponse, status: StatusCode) -> HttpResponse {
    *resp.status_mut() = status;
    resp
}

/// Renders an error: a redirect to the login page for browsers without a session, the seed's
/// failed `<action>` for XML, `{"error": {"code", "message"}}` for JSON, an error page for HTML.
/// `action` is the route's name, which is also the XML action name.
pub fn error_response(ctx: &Ctx, action: Option<&str>, err: &AppError) -> HttpResponse {
    use actix_web::ResponseError;
    match err {
        AppError::Internal(cause) => tracing::error!(error = ?cause, "internal error"),
        AppError::Unavailable(cause) => tracing::warn!(error = ?cause, "service unavailable"),
        _ => {}
    }
    let status = err.status_code();
    let message = match err {
        AppError::Unauthenticated => ctx.lang.t("login.required").to_string(),
        AppError::NotFound => ctx.lang.t("error.not_found").to_string(),
        AppError::Internal(_) => ctx.lang.t("error.internal").to_string(),
        AppError::Unavailable(_) => ctx.lang.t("error.unavailable").to_string(),
        AppError::Malformed(m) => m.message(ctx.lang),
        other => other.public_message(),
    };
    let mut resp = match ctx.error_format() {
        // The TM Forum API answers in its own error shape, whatever the format.
        _ if crate::tmf::serves(&ctx.path) => crate::tmf::error::response(status, &message),
        Format::Xml => respond_action(Format::Xml, status, action.unwrap_or("error"), &message),
        Format::Json => super::render::json_error(status, err.code(), &message),
        _ if matches!(err, AppError::Unauthenticated) => HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/callc/login"))
            .finish(),
        _ => HttpResponse::build(status)
            .content_type(Format::Html.content_type())
            .body(render_error_page(&ctx.chrome(), &message)),
    };
    // When to try again: the lockout's own time, or the session outage's for a database that
    // is not answering (both are passing conditions, not answers).
    let retry_after_s = match err {
        AppError::TooManyRequests { retry_after_s, .. } => Some((*retry_after_s).max(1)),
        AppError::Unavailable(_) => Some(i64::from(super::session_outage::RETRY_AFTER_S)),
        AppError::PaymentService(_) => Some(60),
        _ => None,
    };
    if let Some(s) = retry_after_s {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(s));
    }
    resp
}
