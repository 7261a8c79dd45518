//! `StrictForm<T>`: the fields of an action, like `web::Form`, but a value that is not valid
//! UTF-8 once percent-decoded is refused with a clear message instead of being silently turned
//! into U+FFFD and saved. Legacy clients that put the fields in the query string of a POST (as
//! the contract's callback URL does) are served too: an empty body falls back to the query.
//! `StrictQuery<T>` does the same for a GET's query string.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use super::malformed::{Malformed, Part, Problem};
use crate::error::AppError;

/// The most an action's form may carry; far above any honest form of the portal.
pub const LIMIT: usize = 64 * 1024;

pub struct StrictForm<T>(pub T);

impl<T> StrictForm<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for StrictForm<T> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap_or("?").to_ascii_lowercase());
        let query = req.query_string().to_string();
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            let body = body.await.map_err(|_| too_large())?;
            if body.len() > LIMIT {
                return Err(too_large());
            }
            let source: &[u8] = if body.is_empty() {
                query.as_bytes()
            } else {
                match content_type {
                    Some(ct) if !ct.starts_with("application/x-www-form-urlencoded") => {
                        return Err(malformed(Part::Form, Problem::NotUrlencoded))
                    }
                    _ => &body,
                }
            };
            parse(Part::Form, source).map(StrictForm)
        })
    }
}

/// The query string parsed like `StrictForm` (non-UTF-8 text refused, not replaced).
pub struct StrictQuery<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for StrictQuery<T> {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        std::future::ready(parse(Part::Query, req.query_string().as_bytes()).map(StrictQuery))
    }
}

fn too_large() -> AppError {
    malformed(Part::Form, Problem::TooLarge { kb: LIMIT / 1024 })
}

fn malformed(part: Part, problem: Problem) -> AppError {
    AppError::Malformed(Malformed { part, problem })
}

/// Parses `application/x-www-form-urlencoded` bytes (a body or a query) into `T`, refusing
/// non-UTF-8 text.
pub fn parse<T: DeserializeOwned>(part: Part, source: &[u8]) -> Result<T, AppError> {
    for pair in source.split(|b| *b == b'&') {
        let mut parts = pair.splitn(2, |b| *b == b'=');
        let key: Vec<u8> = percent_encoding::percent_decode(parts.next().unwrap_or(b"")).collect();
        let value: Vec<u8> =
            percent_encoding::percent_decode(parts.next().unwrap_or(b"")).collect();
        if std::str::from_utf8(&key).is_err() {
            return Err(malformed(part, Problem::NotUtf8(None)));
        }
        if std::str::from_utf8(&value).is_err() {
            let field = String::from_utf8_lossy(&key).replace('+', " ");
            return Err(malformed(part, Problem::NotUtf8(Some(field))));
        }
    }
    serde_urlencoded::from_bytes(source)
        .map_err(|e| AppError::Malformed(Malformed::from_serde(part, &e.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct F {
        name: Option<String>,
        number: Option<String>,
    }

    #[test]
    fn decodes_like_a_form() {
        let f: F = parse(
            Part::Form,
            b"name=O%27Brien+%26+Sons+%3CSales%3E&number=%2B44",
        )
        .unwrap();
        assert_eq!(f.name.as_deref(), Some("O'Brien & Sons <Sales>"));
        assert_eq!(f.number.as_deref(), Some("+44"));
        let f: F = parse(Part::Form, b"name=%D0%9C%D0%B0%D1%80%D0%B8%D1%8F").unwrap();
        assert_eq!(f.name.as_deref(), Some("Мария"));
        assert_eq!(
            parse::<F>(Part::Form, b"").unwrap(),
            F {
                name: None,
                number: None
            }
        );
    }

    #[test]
    fn refuses_text_that_is_not_utf8() {
        let err = parse::<F>(Part::Form, b"number=1&name=%FF%FE").unwrap_err();
        assert_eq!(
            err.to_string(),
            "The form could not be read: the field name is not valid UTF-8 text."
        );
        assert!(parse::<F>(Part::Form, b"%C3=1").is_err());
        // A duplicate field is an error, not a silent pick.
        assert!(parse::<F>(Part::Form, b"name=a&name=b").is_err());
    }
}
