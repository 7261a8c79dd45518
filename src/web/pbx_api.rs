//! `GET /pbx/authorize`: the PBX asks before it connects a call. Called by the switch with the
//! operator's token (`Authorization: Bearer …`, `SELFCARE_PBX_TOKEN`), never with a subscriber's
//! session, so it is mounted outside the session and CSRF scope. Without a token configured the
//! endpoint does not exist (404).
//!
//! Parameters: `account` (the device's user name, as the PBX knows the caller), `dst` (the
//! number dialled), optionally `src`, and `direction=in` for a call *to* `account` (only the
//! block and the incoming barring apply). The answer is `key=value` lines (`allow`, `reason`,
//! `max_duration`, `destination`, `prefix`, `rate`, `currency`), the same on one line as
//! `key=value&…` with `?format=hash` (Asterisk's `CURLOPT(hashcompat)`), or JSON with
//! `?format=json` or `Accept: application/json`.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::config::Settings;
use crate::controls::authorize::{self, Answer};
use crate::controls::decision::{self, Reason, Subscriber};
use crate::store::Store;

#[derive(Deserialize)]
pub struct Question {
    account: Option<String>,
    dst: Option<String>,
    #[allow(dead_code)] // accepted for the dialplan's convenience; the caller is `account`
    src: Option<String>,
    direction: Option<String>,
    format: Option<String>,
}

pub async fn authorize(
    req: HttpRequest,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
    question: web::Query<Question>,
) -> HttpResponse {
    let Some(token) = settings.pbx.token.as_ref() else {
        return HttpResponse::NotFound().finish();
    };
    let hash = question.format.as_deref() == Some("hash");
    let json = question.format.as_deref() == Some("json")
        || req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("application/json"));
    if !bearer_matches(&req, token.expose()) {
        return error(
            json,
            HttpResponse::Unauthorized().insert_header((header::WWW_AUTHENTICATE, "Bearer")),
            "a valid operator token is required",
        );
    }
    let account = question.account.as_deref().unwrap_or("").trim();
    let dst = question.dst.as_deref().unwrap_or("").trim();
    let incoming = match question.direction.as_deref() {
        None | Some("out") => false,
        Some("in") => true,
        Some(_) => return bad_request(json, "direction is in or out"),
    };
    if account.is_empty() || account.len() > 100 || account.chars().any(char::is_control) {
        return bad_request(json, "account (the device's user name) is required");
    }
    if !incoming && (dst.is_empty() || dst.len() > 64) {
        return bad_request(json, "dst (the number dialled) is required");
    }
    let now = crate::time::now();
    let answer = if incoming {
        incoming_call(&store, account).await
    } else {
        authorize::authorize(&store, &settings.pbx.dialing, account, dst, now).await
    };
    match answer {
        Ok(a) => {
            tracing::info!(allow = a.allow, reason = a.reason, "pbx authorize");
            respond(json, hash, &a)
        }
        Err(e) => {
            tracing::warn!(error = %e, "pbx authorize: database");
            error(
                json,
                HttpResponse::ServiceUnavailable().insert_header((header::RETRY_AFTER, "5")),
                "the database is not answering",
            )
        }
    }
}

/// An incoming call to `account`: refused only by the block and the incoming barring.
async fn incoming_call(store: &Store, account: &str) -> sqlx::Result<Answer> {
    let Some((user_id, blocked)) = store.device_owner(account).await? else {
        return Ok(Answer::denied(Reason::UnknownAccount));
    };
    let controls = store.user_controls(user_id).await?;
    let who = Subscriber {
        blocked: blocked || controls.lost_phone_at.is_some(),
        barrings: controls.barrings,
    };
    Ok(match decision::incoming(&who) {
        Ok(()) => Answer::allowed_without_limit(),
        Err(reason) => Answer::denied(reason),
    })
}

/// The token as `Authorization: Bearer …`, or as the password of HTTP Basic authentication
/// (for switches that can only put credentials in the URL: `http://pbx:TOKEN@portal/…`),
/// compared in constant time (as digests, so its length is not told either).
pub(crate) fn bearer_matches(req: &HttpRequest, token: &str) -> bool {
    use base64::Engine;
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let given = if let Some(t) = header.strip_prefix("Bearer ") {
        t.trim().to_string()
    } else if let Some(b) = header.strip_prefix("Basic ") {
        base64::engine::general_purpose::STANDARD
            .decode(b.trim())
            .ok()
            .and_then(|raw| String::from_utf8(raw).ok())
            .and_then(|pair| pair.split_once(':').map(|(_, p)| p.to_string()))
            .unwrap_or_default()
    } else {
        String::new()
    };
    let a = Sha256::digest(given.as_bytes());
    let b = Sha256::digest(token.as_bytes());
    !given.is_empty() && crate::tokens::constant_time_eq(&a, &b)
}

fn respond(json: bool, hash: bool, a: &Answer) -> HttpResponse {
    if json {
        HttpResponse::Ok().json(a)
    } else if hash {
        HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body(a.query())
    } else {
        HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body(a.lines())
    }
}

fn bad_request(json: bool, message: &str) -> HttpResponse {
    error(json, &mut HttpResponse::BadRequest(), message)
}

/// A refusal of the question itself, not of the call: `allow=0`, `reason=error` and why.
fn error(json: bool, response: &mut actix_web::HttpResponseBuilder, message: &str) -> HttpResponse {
    if json {
        response.json(serde_json::json!({ "allow": false, "reason": "error", "error": message }))
    } else {
        response
            .content_type("text/plain; charset=utf-8")
            .body(format!("allow=0\nreason=error\nerror={message}\n"))
    }
}
