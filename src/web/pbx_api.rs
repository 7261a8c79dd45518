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

use super::pbx_answer::{self, admit, refuse};
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
    let style = match admit::<Answer>(&req, &settings, question.format.as_deref()) {
        Ok(style) => style,
        Err(refused) => return *refused,
    };
    let bad = |m: &str| refuse::<Answer>(style, &mut HttpResponse::BadRequest(), m);
    let account = question.account.as_deref().unwrap_or("").trim();
    let dst = question.dst.as_deref().unwrap_or("").trim();
    let incoming = match question.direction.as_deref() {
        None | Some("out") => false,
        Some("in") => true,
        Some(_) => return bad("direction is in or out"),
    };
    if account.is_empty() || account.len() > 100 || account.chars().any(char::is_control) {
        return bad("account (the device's user name) is required");
    }
    if !incoming && (dst.is_empty() || dst.len() > 64) {
        return bad("dst (the number dialled) is required");
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
            pbx_answer::answer(style, &a)
        }
        Err(e) => {
            tracing::warn!(error = %e, "pbx authorize: database");
            refuse::<Answer>(
                style,
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
