//! One error type for every page.
//!
//! Policy: handlers return `Result<_, AppError>`. What the subscriber did wrong (bad input, an id
//! that is not theirs, no session) is said plainly in the page's format; what went wrong inside
//! (database, I/O) is logged with its cause and answered with a generic message, never the cause.
//! The rendering in HTML, XML or JSON happens once, in `web::context`, where the request's
//! `Format` is known.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No session (or an expired one): browsers go to the login page, clients get 401.
    #[error("Please log in")]
    Unauthenticated,
    /// A missing id and another user's id look the same.
    #[error("Not found")]
    NotFound,
    /// A request refused as it stands (a missing or wrong CSRF token).
    #[error("{0}")]
    Forbidden(String),
    /// Too many failed attempts: try again after the given number of seconds.
    #[error("{message}")]
    TooManyRequests { message: String, retry_after_s: i64 },
    /// Input that cannot be accepted; the message is shown to the user as it is.
    #[error("{0}")]
    BadInput(String),
    /// A form, query or JSON body that cannot be read into the handler's type; said in the
    /// user's language when the page is rendered.
    #[error("{0}")]
    Malformed(crate::web::malformed::Malformed),
    /// An internal failure; the cause is logged, not shown.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
    /// The database cannot be reached right now.
    #[error("The service is temporarily unavailable, please try again shortly")]
    Unavailable(#[source] anyhow::Error),
    /// A record exists but what it points to does not (a stored file): 404 with a message
    /// that says which.
    #[error("{0}")]
    Missing(String),
    /// The request clashes with the state of what it acts on (an invoice paid already).
    #[error("{0}")]
    Conflict(String),
    /// The card was declined; the reason is the gateway's, in plain words.
    #[error("{0}")]
    Declined(String),
    /// The payment gateway cannot be reached or failed; nothing was charged or credited.
    #[error("{0}")]
    PaymentService(String),
}

impl AppError {
    pub fn bad_input(msg: impl Into<String>) -> Self {
        AppError::BadInput(msg.into())
    }

    /// The message a user may read (internal causes stay in the log).
    /// The stable code of the JSON error shape (`{"error": {"code", "message"}}`).
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthenticated => "not_logged_in",
            AppError::NotFound | AppError::Missing(_) => "not_found",
            AppError::Forbidden(_) => "forbidden",
            AppError::TooManyRequests { .. } => "too_many_requests",
            AppError::BadInput(_) | AppError::Malformed(_) => "invalid_input",
            AppError::Internal(_) => "internal",
            AppError::Unavailable(_) | AppError::PaymentService(_) => "unavailable",
            AppError::Conflict(_) => "conflict",
            AppError::Declined(_) => "payment_declined",
        }
    }

    pub fn public_message(&self) -> String {
        match self {
            AppError::Internal(_) => "We're sorry, but something went wrong".to_string(),
            other => other.to_string(),
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
                AppError::Unavailable(e.into())
            }
            sqlx::Error::Database(ref d) if is_busy(d.code().as_deref()) => {
                AppError::Unavailable(e.into())
            }
            other => AppError::Internal(other.into()),
        }
    }
}

/// A database that is busy or not taking connections for now, rather than refusing the
/// statement: SQLite's `SQLITE_BUSY` (5) and `SQLITE_LOCKED` (6), with their extended codes,
/// after the busy timeout (another process, or a long import, holds the write lock);
/// PostgreSQL's lock timeout (55P03), too many connections (53300), and a server starting or
/// shutting down (57P01–57P03).
fn is_busy(code: Option<&str>) -> bool {
    match code {
        // A SQLSTATE has five characters; SQLite's codes are numbers below 10,000.
        Some(c) if c.len() == 5 => matches!(c, "55P03" | "53300" | "57P01" | "57P02" | "57P03"),
        Some(c) => c.parse::<u32>().is_ok_and(|n| matches!(n & 0xff, 5 | 6)),
        None => false,
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::Internal(e.into())
    }
}

impl From<actix_session::SessionInsertError> for AppError {
    fn from(e: actix_session::SessionInsertError) -> Self {
        AppError::Internal(anyhow::anyhow!("session insert: {e}"))
    }
}

impl From<crate::password::Busy> for AppError {
    fn from(_: crate::password::Busy) -> Self {
        AppError::TooManyRequests {
            message:
                "Too many logins are being checked right now; please try again in a few seconds"
                    .to_string(),
            retry_after_s: 5,
        }
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        AppError::Internal(anyhow::anyhow!("blocking task: {e}"))
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
            AppError::NotFound | AppError::Missing(_) => StatusCode::NOT_FOUND,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::BadInput(_) | AppError::Malformed(_) => StatusCode::BAD_REQUEST,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            AppError::Unavailable(_) | AppError::PaymentService(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Declined(_) => StatusCode::PAYMENT_REQUIRED,
        }
    }

    /// A plain fallback; `web::context` replaces it with the page's own format.
    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code())
            .content_type("text/plain; charset=utf-8")
            .body(self.public_message())
    }
}

pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::is_busy;

    #[test]
    fn busy_databases_are_told_apart_from_refused_statements() {
        // SQLITE_BUSY, SQLITE_BUSY_SNAPSHOT (517), SQLITE_LOCKED; PostgreSQL's lock timeout.
        for busy in ["5", "517", "6", "55P03", "53300", "57P03"] {
            assert!(is_busy(Some(busy)), "{busy}");
        }
        // SQLITE_CONSTRAINT_UNIQUE (2067), PostgreSQL's unique violation, none.
        for other in ["2067", "19", "23505", "42P01", ""] {
            assert!(!is_busy(Some(other)), "{other}");
        }
        assert!(!is_busy(None));
    }
}
