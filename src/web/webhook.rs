//! `POST /payments/webhook/stripe`: the gateway's webhook. It is called by the gateway, not a
//! browser, so it is mounted outside the session and CSRF scope; what authenticates it is the
//! signature over the raw body (`wallet::webhook`). Answers: 200 when applied or known, 400 for
//! a bad signature or body (the gateway shows it, and a replay is refused), 404 when webhooks
//! are not configured, 503 when the database is down (the gateway retries later).

use actix_web::{web, HttpRequest, HttpResponse};

use crate::wallet::events::{Applied, EventError};
use crate::wallet::{Wallet, WalletError};

/// Stripe's events are small; anything bigger is not one.
pub const BODY_LIMIT: usize = 256 * 1024;

pub async fn stripe(req: HttpRequest, body: web::Bytes, wallet: web::Data<Wallet>) -> HttpResponse {
    let signature = req
        .headers()
        .get("Stripe-Signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match wallet.apply_stripe_event(&body, signature).await {
        Ok(applied) => {
            let what = match applied {
                Applied::Payment(id) => format!("payment {id}"),
                Applied::Duplicate => "duplicate".to_string(),
                Applied::Ignored => "ignored".to_string(),
            };
            HttpResponse::Ok().json(serde_json::json!({ "received": true, "applied": what }))
        }
        Err(EventError::NotConfigured) => HttpResponse::NotFound()
            .json(serde_json::json!({ "error": "webhooks are not configured" })),
        Err(EventError::Refused(e)) => {
            tracing::warn!(error = %e, "webhook refused");
            HttpResponse::BadRequest().json(serde_json::json!({ "error": e.to_string() }))
        }
        Err(EventError::Wallet(WalletError::NotOffered)) => HttpResponse::NotFound()
            .json(serde_json::json!({ "error": "card payments are not configured" })),
        Err(EventError::Wallet(e)) => {
            tracing::error!(error = %e, "applying a webhook");
            HttpResponse::ServiceUnavailable()
                .insert_header((actix_web::http::header::RETRY_AFTER, "60"))
                .json(serde_json::json!({ "error": "try again later" }))
        }
    }
}
