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
    let path = req.path().to_string();
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
