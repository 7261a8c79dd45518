//! The TM Forum error resource (TMF630 `Error`): every failure of a `/tmf-api/` request is
//! answered in this shape, whatever the `Accept` header, so API clients parse one thing.
//!
//! Handlers return `AppError` (rendered here by `web::context::error_response`, which logs
//! internal causes and keeps their message out of the answer) or a `TmfError` for what the
//! portal's pages never refuse: a wrong content type, a missing or insufficient token.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

/// The body of every error answer.
#[derive(Debug, PartialEq, Eq, Serialize)]
pub struct ErrorBody {
    /// The HTTP status again, as TMF630 wants an application code.
    pub code: String,
    /// The status's name (`Not Found`).
    pub reason: String,
    /// What was wrong, in words a developer can act on (the field, the scope, the header).
    pub message: String,
    pub status: String,
    #[serde(rename = "@type")]
    pub at_type: &'static str,
}

/// An error answer with `status` and `message`.
pub fn response(status: StatusCode, message: &str) -> HttpResponse {
    let body = ErrorBody {
        code: status.as_str().to_string(),
        reason: status.canonical_reason().unwrap_or("Error").to_string(),
        message: message.to_string(),
        status: status.as_str().to_string(),
        at_type: "Error",
    };
    let mut resp = HttpResponse::build(status);
    if status == StatusCode::UNAUTHORIZED {
        resp.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"selfcare\""));
    }
    resp.json(body)
}

/// An error that is not an `AppError` (a `TmfError`, or one of actix's own: a body too large …)
/// in the TMF shape; `status` is the answer's status.
pub fn reshape(err: &actix_web::Error, status: StatusCode) -> HttpResponse {
    match err.as_error::<TmfError>() {
        Some(tmf) => tmf.error_response(),
        None => response(status, &err.to_string()),
    }
}

/// A refusal particular to the API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TmfError {
    pub status: StatusCode,
    pub message: String,
}

impl TmfError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> TmfError {
        TmfError {
            status,
            message: message.into(),
        }
    }

    /// 400: the patch (or one of its fields) cannot be applied.
    pub fn bad_request(message: impl Into<String>) -> TmfError {
        TmfError::new(StatusCode::BAD_REQUEST, message)
    }

    /// 401: no credentials, or credentials that are not valid.
    pub fn unauthorized(message: impl Into<String>) -> TmfError {
        TmfError::new(StatusCode::UNAUTHORIZED, message)
    }

    /// 403: valid credentials that do not allow this.
    pub fn forbidden(message: impl Into<String>) -> TmfError {
        TmfError::new(StatusCode::FORBIDDEN, message)
    }
}

impl ResponseError for TmfError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        response(self.status, &self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;

    fn body(resp: HttpResponse) -> serde_json::Value {
        let bytes = resp.into_body().try_into_bytes().expect("a complete body");
        serde_json::from_slice(&bytes).expect("JSON")
    }

    #[test]
    fn errors_have_the_tmf_shape() {
        let resp = TmfError::bad_request("givenName: At most 100 characters").error_response();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            body(resp),
            serde_json::json!({
                "code": "400",
                "reason": "Bad Request",
                "message": "givenName: At most 100 characters",
                "status": "400",
                "@type": "Error",
            })
        );
    }

    #[test]
    fn unauthorized_names_the_scheme() {
        let resp = TmfError::unauthorized("no credentials").error_response();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            resp.headers().get(header::WWW_AUTHENTICATE).unwrap(),
            "Bearer realm=\"selfcare\""
        );
        let resp = response(StatusCode::NOT_FOUND, "Not found");
        assert!(!resp.headers().contains_key(header::WWW_AUTHENTICATE));
        assert_eq!(body(resp)["reason"], "Not Found");
    }
}
