//! `GET /pbx/route?did=NUMBER`: the PBX asks where a call to a subscriber's number goes, with
//! the operator's token as for `/pbx/authorize` (no token configured: 404).
//!
//! The answer is `key=value` lines (or one `key=value&…` line with `format=hash`, or JSON with
//! `format=json` or `Accept: application/json`):
//! - `route=device`, `device=` the device's user name, `extension=` its extension;
//! - `route=forward`, `number=` the E.164 number to forward to and `max_duration=` (the call on
//!   is the owner's outgoing call, decided as `/pbx/authorize` decides his calls: refused by
//!   his barrings or plan, it is `route=reject` with that reason);
//! - `route=reject` and a `reason` (`blocked`, `barred_incoming`): the owner refuses calls now;
//! - `route=none`, `reason=unknown_number`: nobody has the number.
//!
//! and `user=` the owner's user name whenever there is one.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::pbx_answer::{self, admit, refuse, PbxAnswer};
use crate::config::Settings;
use crate::controls::authorize;
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
    /// For a forward: the longest the call on may last (the owner's funds and limit).
    #[serde(skip_serializing_if = "Option::is_none")]
    max_duration: Option<i64>,
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
        .chain(self.max_duration.map(|d| ("max_duration", d.to_string())))
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
    match answer(&store, &settings, &did).await {
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

async fn answer(store: &Store, settings: &Settings, did: &E164) -> sqlx::Result<Answer> {
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
        (Some(number), _) => {
            // The call on is the owner's outgoing call: his barrings, plan, funds and limit
            // decide it as for a call he dials (so a forward cannot reach what he may not).
            let mut max_duration = None;
            if let Some(device) = &r.owner_device {
                let asked = authorize::authorize(
                    store,
                    &settings.pbx.dialing,
                    device,
                    &number,
                    crate::time::now(),
                )
                .await?;
                if !asked.allow {
                    return Ok(Answer {
                        route: "reject",
                        reason: asked.reason,
                        user: r.username,
                        ..Answer::default()
                    });
                }
                max_duration = Some(asked.max_duration);
            }
            Answer {
                route: "forward",
                user: r.username,
                number,
                max_duration,
                ..Answer::default()
            }
        }
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
