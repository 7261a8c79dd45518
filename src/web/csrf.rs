//! CSRF protection for browser sessions: every state-changing request carries the session's
//! token, in the form field `csrf_token` or the `X-CSRF-Token` header.
//!
//! A file upload (`multipart/form-data`) carries the token as a form field too: its body is read
//! here (bounded, `upload::BODY_LIMIT`) to find it, and handed on unchanged.
//!
//! A TM Forum API request (`/tmf-api/…`) with an `Authorization` header needs no token either:
//! `tmf::caller` then judges it by that header alone and never by the session, and a browser
//! cannot add the header to a cross-site request. With the session cookie it needs the token
//! like any other request (a session's GET there hands it out in the `X-CSRF-Token` header).
//!
//! Legacy XML clients (sessions opened through `/api/login`, and `/api/…` URLs) need no token:
//! their session cookie is SameSite=Lax, so a cross-site form cannot send it, and those clients
//! are programs, not browsers holding ambient credentials for other sites' pages.

use std::collections::HashMap;

use actix_session::{Session, SessionExt};
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage};

use super::context::Ctx;
use super::malformed::{Malformed, Part};
use super::upload::{self, Upload};
use crate::error::AppError;

const KEY: &str = "csrf";
pub const FIELD: &str = "csrf_token";
pub const HEADER: &str = "X-CSRF-Token";

/// The session's token, created on first use.
pub fn token(s: &Session) -> String {
    if let Ok(Some(t)) = s.get::<String>(KEY) {
        return t;
    }
    let t = crate::tokens::random_token();
    // A session that cannot store the token gets none, and its forms are refused: safe.
    let _ = s.insert(KEY, &t);
    t
}

/// Middleware: refuses a browser's state-changing request without the session's token (403).
pub async fn guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let legacy = req.extensions().get::<Ctx>().is_some_and(|c| c.legacy);
    let token_auth =
        crate::tmf::serves(req.path()) && req.headers().contains_key(header::AUTHORIZATION);
    if safe || legacy || token_auth {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    let expected = req.get_session().get::<String>(KEY).ok().flatten();
    let mut given = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);

    let mut req = req;
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if given.is_none() && is_form {
        // Read the form to find the token, then hand the same bytes on to the handler.
        let (http_req, mut payload) = req.into_parts();
        let bytes = match actix_web::web::Bytes::from_request(&http_req, &mut payload).await {
            Ok(b) => b,
            Err(e) => {
                let r = ServiceRequest::from_parts(http_req, Payload::None);
                tracing::debug!(error = %e, "cannot read a form");
                return Ok(r.error_response(AppError::Malformed(Malformed::unreadable(Part::Form))));
            }
        };
        let fields: HashMap<String, String> =
            serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
        given = fields.get(FIELD).cloned();
        req = ServiceRequest::from_parts(http_req, Payload::from(bytes));
    } else if given.is_none() && upload::is_multipart(req.headers()) {
        let (http_req, mut payload) = req.into_parts();
        let bytes = match upload::read_body(http_req.headers(), &mut payload).await {
            Ok(b) => b,
            Err(e) => {
                let r = ServiceRequest::from_parts(http_req, Payload::None);
                return Ok(r.error_response(e));
            }
        };
        // A form that cannot be read has no token: refused below.
        given = Upload::parse(http_req.headers(), bytes.clone())
            .await
            .ok()
            .and_then(|form| form.text(FIELD).map(str::to_string));
        req = ServiceRequest::from_parts(http_req, Payload::from(bytes));
    }
    match (expected, given) {
        (Some(e), Some(g)) if crate::tokens::constant_time_eq(e.as_bytes(), g.as_bytes()) => {
            Ok(next.call(req).await?.map_into_boxed_body())
        }
        _ => Ok(req.error_response(AppError::Forbidden(
            "The form has expired or did not come from this site. Please reload the page and try again.".into(),
        ))),
    }
}

/// True for a request a browser sends from another site's page (a form posted to us, a link):
/// what `Sec-Fetch-Site` says, or else an `Origin` that is not this host. Programs (the legacy
/// clients) send neither header.
pub fn from_another_site(headers: &header::HeaderMap) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site") {
        return !matches!(site, "same-origin" | "none");
    }
    match (header("origin"), header("host")) {
        (Some(origin), Some(host)) => {
            let origin_host = origin.split_once("://").map_or(origin, |(_, h)| h);
            !origin_host.eq_ignore_ascii_case(host)
        }
        (Some(_), None) => true,
        (None, _) => false,
    }
}
