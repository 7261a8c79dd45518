//! When the session store (Redis) cannot be reached: 503 Service Unavailable with `Retry-After`,
//! in the page's format, logged once with the cause; never actix-session's empty 500.
//!
//! The store reports each of its calls here (`store_answered`, `store_failed`), per request.
//! `guard` wraps the session middleware: a request during which the store failed is answered by
//! `Unavailable`, whatever the session middleware made of the failure (it turns a failed load
//! or save into an opaque 500 error). `probe`, inside the session middleware, makes sure the
//! store answered before any handler runs: a request without a session to load (a first visit,
//! the legacy client's `/api/login`) pings it first, so a login cannot write to the database
//! and then fail to save its session. The store can still fail between that first answer and
//! the save after the handler; that request is answered 503 like the others.

use std::cell::RefCell;
use std::fmt;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse, ResponseError};

use super::format::{self, Format};
use super::render::{render_error_page, respond_action, Chrome};
use super::session_store::Store;
use crate::i18n::Lang;

/// What clients are told to wait before trying again, in seconds.
pub const RETRY_AFTER_S: u32 = 30;

/// What the session store did during one request.
#[derive(Default)]
struct Report {
    answered: bool,
    failure: Option<String>,
}

tokio::task_local! {
    static REPORT: RefCell<Report>;
}

/// The store answered a command.
pub fn store_answered() {
    let _ = REPORT.try_with(|r| r.borrow_mut().answered = true);
}

/// The store failed; the first cause is the one logged.
pub fn store_failed(cause: &anyhow::Error) {
    let _ = REPORT.try_with(|r| {
        r.borrow_mut()
            .failure
            .get_or_insert_with(|| format!("{cause:#}"));
    });
}

/// Middleware around the session middleware: a request during which the store failed gets 503.
pub async fn guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if !uses_redis(&req) {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    // Decided before the request goes in: a failed store leaves no request to answer with.
    let reply = Reply::for_request(&req);
    let (result, failure) = REPORT
        .scope(RefCell::new(Report::default()), async {
            let result = next.call(req).await;
            (result, REPORT.with(|r| r.borrow_mut().failure.take()))
        })
        .await;
    match failure {
        Some(cause) => {
            tracing::warn!(
                method = %reply.method,
                path = %reply.path,
                cause = %cause,
                "session store unavailable: answered 503"
            );
            Err(Unavailable(reply).into())
        }
        None => Ok(result?.map_into_boxed_body()),
    }
}

/// Middleware inside the session middleware: the store must have answered before a handler runs.
pub async fn probe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let answered = REPORT.try_with(|r| r.borrow().answered).unwrap_or(true);
    if !answered {
        if let Some(Store::Redis(redis)) = req.app_data::<web::Data<Store>>().map(|s| s.as_ref()) {
            if redis.ping().await.is_err() {
                // Reported by the store; `guard` answers.
                return Err(actix_web::error::ErrorServiceUnavailable("session store"));
            }
        }
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

fn uses_redis(req: &ServiceRequest) -> bool {
    matches!(
        req.app_data::<web::Data<Store>>().map(|s| s.as_ref()),
        Some(Store::Redis(_))
    )
}

/// How to answer one request without its session: the format and language come from the URL
/// and the headers only.
#[derive(Debug)]
struct Reply {
    method: String,
    path: String,
    format: Format,
    lang: Lang,
    /// The route's name, which is also the XML action's name.
    action: String,
}

impl Reply {
    fn for_request(req: &ServiceRequest) -> Reply {
        let query: Vec<(String, String)> =
            serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
        let param = |name: &str| {
            query
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
        let format = match param("format").and_then(Format::parse) {
            Some(f @ (Format::Html | Format::Xml | Format::Json)) => f,
            _ if req.path().starts_with("/api/") => Format::Xml,
            // The session that would say "legacy client" cannot be read, so a request that
            // does not ask for a page (a program: no Accept, or */*) gets the legacy XML.
            // Browsers always ask for text/html.
            _ => format::from_accept(header(header::ACCEPT).unwrap_or("")).unwrap_or(Format::Xml),
        };
        let lang = param("lang")
            .and_then(Lang::parse)
            .or_else(|| header(header::ACCEPT_LANGUAGE).and_then(Lang::from_accept_language))
            .unwrap_or_default();
        Reply {
            method: req.method().to_string(),
            path: req.path().to_string(),
            format,
            lang,
            action: req
                .resource_map()
                .match_name(req.path())
                .unwrap_or("error")
                .to_string(),
        }
    }
}

/// The answer while the session store is down.
#[derive(Debug)]
struct Unavailable(Reply);

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the session store is unavailable")
    }
}

impl ResponseError for Unavailable {
    fn status_code(&self) -> StatusCode {
        StatusCode::SERVICE_UNAVAILABLE
    }

    fn error_response(&self) -> HttpResponse {
        let r = &self.0;
        let status = self.status_code();
        let message = r.lang.t("sessions.unavailable");
        let mut resp = match r.format {
            Format::Xml => respond_action(Format::Xml, status, &r.action, message),
            Format::Json => super::render::json_error(status, "unavailable", message),
            _ => {
                let chrome = Chrome {
                    lang: r.lang,
                    logged_in: false,
                    path: r.path.clone(),
                    csrf: String::new(),
                };
                HttpResponse::build(status)
                    .content_type(Format::Html.content_type())
                    .body(render_error_page(&chrome, message))
            }
        };
        let headers = resp.headers_mut();
        headers.insert(header::RETRY_AFTER, RETRY_AFTER_S.into());
        headers.insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
        // An error leaves the middleware stack past the one that adds these to every answer.
        for (name, value) in super::SECURITY_HEADERS {
            headers.insert(
                header::HeaderName::from_static(name),
                header::HeaderValue::from_static(value),
            );
        }
        resp
    }
}
