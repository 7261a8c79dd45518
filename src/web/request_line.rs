//! The request line made what the routes expect, before anything else looks at it:
//!
//! - `HEAD` is answered as `GET`: the handler runs as for a `GET`, and the HTTP layer, which saw
//!   a `HEAD` on the wire, sends the headers (with the `GET`'s length) and no body.
//! - MOR's `/billing/` prefix is dropped: MOR is installed under `/billing/`, and clients written
//!   against it ask `/billing/api/login`, `/billing/callc/main`, … for the same pages.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, Uri};
use actix_web::middleware::Next;

/// MOR's installation folder, which its clients put in front of every path.
const MOR_PREFIX: &str = "/billing";

pub async fn normalize(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    if let Some(uri) = without_prefix(req.uri()) {
        req.match_info_mut().get_mut().update(&uri);
        req.head_mut().uri = uri;
    }
    next.call(req).await
}

/// The URI without MOR's prefix (`/billing/api/login?u=a` → `/api/login?u=a`), when it has it.
fn without_prefix(uri: &Uri) -> Option<Uri> {
    let rest = uri.path().strip_prefix(MOR_PREFIX)?;
    if !(rest.is_empty() || rest.starts_with('/')) {
        return None; // `/billingfoo` is not under the prefix
    }
    let path = if rest.is_empty() { "/" } else { rest };
    let path_and_query = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    };
    path_and_query.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_mor_prefix_is_dropped() {
        let cut = |s: &str| without_prefix(&s.parse().unwrap()).map(|u| u.to_string());
        assert_eq!(
            cut("/billing/api/login?u=a&p=b").as_deref(),
            Some("/api/login?u=a&p=b")
        );
        assert_eq!(cut("/billing/callc/main").as_deref(), Some("/callc/main"));
        assert_eq!(cut("/billing").as_deref(), Some("/"));
        assert_eq!(cut("/billing/").as_deref(), Some("/"));
        assert_eq!(cut("/billingfoo/x"), None);
        assert_eq!(cut("/callc/main"), None);
        assert_eq!(cut("/api/billing/x"), None);
    }
}
