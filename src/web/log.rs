//! One log line per request: method, path (never the query string, which may carry `p=`),
//! status and time. Cookies and bodies are never logged.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

pub async fn log_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = loggable(req.path());
    let res = next.call(req).await;
    // An error that left the middleware stack (the session store's 503) is a request too.
    let status = match &res {
        Ok(r) => r.status(),
        Err(e) => e.as_response_error().status_code(),
    };
    tracing::info!(
        %method,
        %path,
        status = status.as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "request"
    );
    res
}

/// Routes whose last segment is a secret (a password-reset token): logged without it.
const SECRET_ROUTES: [&str; 1] = ["/users/password_reset/"];

/// The path as the log may hold it: a secret route's token replaced by `…`.
fn loggable(path: &str) -> String {
    for prefix in SECRET_ROUTES {
        if let Some(rest) = path.strip_prefix(prefix) {
            if !rest.is_empty() {
                return format!("{prefix}…");
            }
        }
    }
    path.to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn reset_tokens_never_reach_the_log() {
        assert_eq!(
            super::loggable("/users/password_reset/0123abcd"),
            "/users/password_reset/…"
        );
        assert_eq!(
            super::loggable("/users/password_reset"),
            "/users/password_reset"
        );
        assert_eq!(super::loggable("/callc/main"), "/callc/main");
    }
}
