//! `GET /pbx/pin?account=…&pin=…`: the PBX checks a calling-card PIN. Asked with the operator's
//! token like `/pbx/authorize` (same check, same answer styles: `key=value` lines, one line
//! `key=value&…` with `?format=hash`, JSON with `?format=json` or `Accept: application/json`),
//! mounted outside the session and CSRF scope; without a token configured it does not exist.
//!
//! `account` is the subscriber's user name or one of his caller IDs (`Store::pin_account`).
//! The answer: `valid` (`1`/`0`; JSON `true`/`false`), `reason` (empty when valid, else
//! `wrong_pin`, `locked`, `no_pin`, `unknown_account`, or `error` for a question that cannot be
//! answered) and `locked_until` (UTC epoch seconds while the PIN is locked, else empty; JSON
//! null). Every wrong PIN counts towards the lock (`crate::pin`). The PIN is never logged: the
//! request log has the path without its query, and nothing here writes it anywhere.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::pbx_answer::{self, admit, refuse, PbxAnswer};
use crate::config::Settings;
use crate::pin::{self, CheckError, Outcome};
use crate::store::Store;

#[derive(Deserialize)]
struct Question {
    account: Option<String>,
    pin: Option<String>,
    format: Option<String>,
}

/// What the PBX is told.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct PinAnswer {
    pub valid: bool,
    pub reason: &'static str,
    pub locked_until: Option<i64>,
}

impl From<Outcome> for PinAnswer {
    fn from(o: Outcome) -> Self {
        PinAnswer {
            valid: o == Outcome::Right,
            reason: o.reason(),
            locked_until: o.locked_until(),
        }
    }
}

impl PbxAnswer for PinAnswer {
    fn fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("valid", (self.valid as u8).to_string()),
            ("reason", self.reason.to_string()),
            (
                "locked_until",
                self.locked_until.map(|t| t.to_string()).unwrap_or_default(),
            ),
        ]
    }

    fn error() -> PinAnswer {
        PinAnswer {
            valid: false,
            reason: "error",
            locked_until: None,
        }
    }
}

/// GET /pbx/pin
pub async fn verify(
    req: HttpRequest,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
) -> HttpResponse {
    // Parsed here rather than by an extractor, so no error message can repeat the query.
    let question: Question = serde_urlencoded::from_str(req.query_string()).unwrap_or(Question {
        account: None,
        pin: None,
        format: None,
    });
    let style = match admit::<PinAnswer>(&req, &settings, question.format.as_deref()) {
        Ok(style) => style,
        Err(refused) => return *refused,
    };
    let bad = |m: &str| refuse::<PinAnswer>(style, &mut HttpResponse::BadRequest(), m);
    let account = question.account.as_deref().unwrap_or("").trim();
    if account.is_empty() || account.len() > 100 || account.chars().any(char::is_control) {
        return bad("account (user name, number or caller ID) is required");
    }
    let typed = question.pin.unwrap_or_default();
    if typed.is_empty() || typed.len() > 64 {
        return bad("pin is required");
    }
    let address = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let outcome = match store.pin_account(account).await {
        Ok(user) => pin::check(&store, user, typed, &address).await,
        Err(e) => Err(CheckError::Database(e)),
    };
    match outcome {
        Ok(o) => {
            let a = PinAnswer::from(o);
            tracing::info!(valid = a.valid, reason = a.reason, "pbx pin");
            pbx_answer::answer(style, &a)
        }
        Err(CheckError::Busy(_)) => refuse::<PinAnswer>(
            style,
            HttpResponse::ServiceUnavailable().insert_header((header::RETRY_AFTER, "1")),
            "too many PINs are being checked at the moment",
        ),
        Err(CheckError::Database(e)) => {
            tracing::warn!(error = %e, "pbx pin: database");
            refuse::<PinAnswer>(
                style,
                HttpResponse::ServiceUnavailable().insert_header((header::RETRY_AFTER, "5")),
                "the database is not answering",
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::pbx_answer::{hash, lines};

    #[test]
    fn answers_read_as_lines_and_as_a_query() {
        let a = PinAnswer::from(Outcome::Wrong {
            locked_until: Some(1_800_000_000),
        });
        assert_eq!(
            lines(&a.fields()),
            "valid=0\nreason=wrong_pin\nlocked_until=1800000000\n"
        );
        assert_eq!(
            hash(&a.fields()),
            "valid=0&reason=wrong_pin&locked_until=1800000000"
        );
        let ok = PinAnswer::from(Outcome::Right);
        assert_eq!(lines(&ok.fields()), "valid=1\nreason=\nlocked_until=\n");
        assert_eq!(
            serde_json::to_string(&ok).unwrap(),
            r#"{"valid":true,"reason":"","locked_until":null}"#
        );
    }

    /// The request log (`web::log`) writes the path, never the query that carries the PIN.
    #[actix_web::test]
    async fn the_request_log_never_holds_the_pin() {
        use std::sync::{Arc, Mutex};

        use actix_web::middleware::from_fn;
        use actix_web::{test, App};

        #[derive(Clone, Default)]
        struct Buf(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buf {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buf = Buf::default();
        let writer = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let app = test::init_service(
            App::new()
                .wrap(from_fn(crate::web::log::log_request))
                .route(
                    "/pbx/pin",
                    web::get().to(|| async { HttpResponse::Ok().finish() }),
                ),
        )
        .await;
        let req = test::TestRequest::get()
            .uri("/pbx/pin?account=demo&pin=73019482")
            .to_request();
        assert!(test::call_service(&app, req).await.status().is_success());
        let logged = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert!(logged.contains("/pbx/pin"), "{logged}");
        assert!(!logged.contains("73019482"), "{logged}");
    }
}
