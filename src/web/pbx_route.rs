//! `GET /pbx/route?did=NUMBER`: the PBX asks where a call to a subscriber's number goes, with
//! the operator's token as for `/pbx/authorize` (no token configured: 404).
//!
//! The answer is `key=value` lines (or one `key=value&…` line with `format=hash`, or JSON with
//! `format=json` or `Accept: application/json`):
//! - `route=device`, `device=` the device's user name, `extension=` its extension;
//! - `route=forward`, `number=` the E.164 number to forward to (priced as the owner's call);
//! - `route=reject` and a `reason` (`blocked`, `barred_incoming`): the owner refuses calls now;
//! - `route=none`, `reason=unknown_number`: nobody has the number.
//!
//! and `user=` the owner's user name whenever there is one.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::pbx_answer::{self, admit, refuse, PbxAnswer};
use crate::config::Settings;
use crate::controls::decision::{self, Subscriber};
use crate::numbers::E164;
use crate::store::Store;

#[derive(Deserialize)]
pub struct Question {
    did: Option<String>,
    format: Option<String>,
}

#[derive(Serialize, Default)]
struct Answer {
    route: &'static str,
    #[serde(skip_serializing_if = "str::is_empty")]
    reason: &'static str,
    #[serde(skip_serializing_if = "String::is_empty")]
    user: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    device: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    extension: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    number: String,
}

impl PbxAnswer for Answer {
    /// Only the fields that have a value.
    fn fields(&self) -> Vec<(&'static str, String)> {
        [
            ("route", self.route),
            ("reason", self.reason),
            ("user", self.user.as_str()),
            ("device", self.device.as_str()),
            ("extension", self.extension.as_str()),
            ("number", self.number.as_str()),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k, v.to_string()))
        .collect()
    }

    fn error() -> Answer {
        Answer {
            route: "none",
            reason: "error",
            ..Answer::default()
        }
    }
}

pub async fn route(
    req: HttpRequest,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
    question: web::Query<Question>,
) -> HttpResponse {
    let style = match admit::<Answer>(&req, &settings, question.format.as_deref()) {
        Ok(style) => style,
        Err(refused) => return *refused,
    };
    let Ok(did) = E164::parse(question.did.as_deref().unwrap_or("")) else {
        return refuse::<Answer>(
            style,
            &mut HttpResponse::BadRequest(),
            "did (the number called, in E.164: +442079460000) is required",
        );
    };
    match answer(&store, &did).await {
        Ok(a) => {
            tracing::info!(route = a.route, reason = a.reason, "pbx route");
            pbx_answer::answer(style, &a)
        }
        Err(e) => {
            tracing::warn!(error = %e, "pbx route: database");
            refuse::<Answer>(
                style,
                HttpResponse::ServiceUnavailable().insert_header((header::RETRY_AFTER, "5")),
                "the database is not answering",
            )
        }
    }
}

async fn answer(store: &Store, did: &E164) -> sqlx::Result<Answer> {
    let Some(r) = store.number_route(did).await? else {
        return Ok(Answer {
            route: "none",
            reason: "unknown_number",
            ..Answer::default()
        });
    };
    let controls = store.user_controls(r.user_id).await?;
    let who = Subscriber {
        blocked: r.blocked != 0 || controls.lost_phone_at.is_some(),
        barrings: controls.barrings,
    };
    if let Err(reason) = decision::incoming(&who) {
        return Ok(Answer {
            route: "reject",
            reason: reason.code(),
            user: r.username,
            ..Answer::default()
        });
    }
    Ok(match (r.forward_to, r.device_username) {
        (Some(number), _) => Answer {
            route: "forward",
            user: r.username,
            number,
            ..Answer::default()
        },
        (None, Some(device)) => Answer {
            route: "device",
            user: r.username,
            device,
            extension: r.device_extension.unwrap_or_default(),
            ..Answer::default()
        },
        // The device was deleted: the number has nowhere to ring.
        (None, None) => Answer {
            route: "reject",
            reason: "no_destination",
            user: r.username,
            ..Answer::default()
        },
    })
}
