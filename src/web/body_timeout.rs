//! A request body must arrive within `Settings::body_timeout` of its headers. A client that
//! announces a body and then sends it slowly (or never) would otherwise hold a connection and a
//! worker's attention for minutes; past the time, reading the body fails, and the handler (or
//! the CSRF guard, which reads forms first) answers the failed request in the page's format.

use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::middleware::Next;
use actix_web::HttpMessage;
use futures_util::StreamExt;

pub async fn guard(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let limit = req
        .app_data::<actix_web::web::Data<crate::config::Settings>>()
        .map(|s| s.body_timeout)
        .unwrap_or(Duration::from_secs(30));
    let deadline = tokio::time::Instant::now() + limit;
    let payload = req.take_payload();
    // Ends with one error at the deadline (and nothing after it).
    let timed = futures_util::stream::unfold(Some(payload), move |state| async move {
        let mut payload = state?;
        match tokio::time::timeout_at(deadline, payload.next()).await {
            Ok(Some(chunk)) => Some((chunk, Some(payload))),
            Ok(None) => None,
            Err(_) => Some((Err(too_slow()), None)),
        }
    });
    req.set_payload(Payload::from(Box::pin(timed) as BoxedStream));
    next.call(req).await
}

/// actix-http's `BoxedPayloadStream`, which actix-web does not re-export.
type BoxedStream = std::pin::Pin<
    Box<dyn futures_util::Stream<Item = Result<actix_web::web::Bytes, PayloadError>>>,
>;

fn too_slow() -> PayloadError {
    PayloadError::Io(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        "the request body did not arrive in time",
    ))
}
