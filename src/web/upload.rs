//! File uploads: a `multipart/form-data` form (what a browser's `<input type=file>` sends) or,
//! for programs, the file itself as a `text/csv` body.
//!
//! The body is read whole into memory, up to `BODY_LIMIT`, and refused at once past it (by its
//! `Content-Length` when it declares one), so a huge upload costs nothing. It is read twice for a
//! browser: the CSRF guard finds the form's token in it, then the handler its fields.

use std::future::Future;
use std::pin::Pin;

use actix_multipart::Multipart;
use actix_web::dev::Payload;
use actix_web::http::header::{self, HeaderMap};
use actix_web::web::{Bytes, BytesMut};
use actix_web::{FromRequest, HttpRequest};
use futures_util::StreamExt;

use super::malformed::{self, Malformed, Problem};
use crate::error::AppError;

/// The largest file the portal accepts.
pub const FILE_LIMIT: usize = 1024 * 1024;
/// The largest body: the file, twice over for a form that carries it back as text (a browser
/// sends every line end of a form's text as CR LF), and the form's other fields.
pub const BODY_LIMIT: usize = 2 * FILE_LIMIT + 64 * 1024;
/// A form of the portal has a handful of fields; more is not a form of ours.
const MAX_PARTS: usize = 16;

/// "The file is too large…": said the same whoever notices first (the guard, the handler).
pub fn too_large() -> AppError {
    refused(Problem::FileTooLarge {
        mib: FILE_LIMIT / (1024 * 1024),
    })
}

fn refused(problem: Problem) -> AppError {
    AppError::Malformed(Malformed {
        part: malformed::Part::Upload,
        problem,
    })
}

pub fn is_multipart(headers: &HeaderMap) -> bool {
    content_type(headers).starts_with("multipart/form-data")
}

fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Reads a request's body, refusing it past `BODY_LIMIT`.
pub async fn read_body(headers: &HeaderMap, payload: &mut Payload) -> Result<Bytes, AppError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > BODY_LIMIT as u64) {
        return Err(too_large());
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            tracing::debug!(error = %e, "an upload broke off");
            refused(Problem::BrokeOff)
        })?;
        if body.len() + chunk.len() > BODY_LIMIT {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// One field of a form.
#[derive(Clone, Debug)]
pub struct Part {
    pub name: String,
    /// The file's name as the browser sent it (empty when no file was chosen); `None` for a
    /// field that is not a file.
    pub file_name: Option<String>,
    pub data: Bytes,
}

/// An uploaded form, or a file sent alone (`text/csv`: one part called `file`).
#[derive(Clone, Debug, Default)]
pub struct Upload {
    pub parts: Vec<Part>,
}

impl Upload {
    /// Splits a read body into its fields, by the request's content type.
    pub async fn parse(headers: &HeaderMap, body: Bytes) -> Result<Upload, AppError> {
        let ct = content_type(headers);
        if ct.starts_with("text/csv") || ct.starts_with("text/plain") {
            return Ok(Upload {
                parts: vec![Part {
                    name: "file".to_string(),
                    file_name: Some(String::new()),
                    data: body,
                }],
            });
        }
        if !ct.starts_with("multipart/form-data") {
            return Err(refused(Problem::NotMultipart));
        }
        let mut form = Multipart::new(
            headers,
            futures_util::stream::once(
                async move { Ok::<_, actix_web::error::PayloadError>(body) },
            ),
        );
        let mut parts = Vec::new();
        while let Some(field) = form.next().await {
            let mut field = field.map_err(bad_form)?;
            if parts.len() == MAX_PARTS {
                return Err(refused(Problem::TooManyFields));
            }
            let name = field.name().unwrap_or("").to_string();
            let file_name = field
                .content_disposition()
                .and_then(|d| d.get_filename())
                .map(str::to_string);
            let data = match field.bytes(BODY_LIMIT).await {
                Ok(Ok(data)) => data,
                Ok(Err(e)) => return Err(bad_form(e)),
                Err(_) => return Err(too_large()),
            };
            parts.push(Part {
                name,
                file_name,
                data,
            });
        }
        Ok(Upload { parts })
    }

    /// The first field called `name`.
    pub fn part(&self, name: &str) -> Option<&Part> {
        self.parts.iter().find(|p| p.name == name)
    }

    /// A text field's value; `None` when missing or not UTF-8.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.part(name)
            .and_then(|p| std::str::from_utf8(&p.data).ok())
    }
}

fn bad_form(e: actix_multipart::MultipartError) -> AppError {
    tracing::debug!(error = %e, "cannot read a multipart form");
    refused(Problem::Unreadable)
}

/// Extractor: the request's upload.
impl FromRequest for Upload {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let headers = req.headers().clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let body = read_body(&headers, &mut payload).await?;
            Upload::parse(&headers, body).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderValue;

    fn headers(ct: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_str(ct).unwrap());
        h
    }

    #[tokio::test]
    async fn reads_a_browsers_form() {
        let body = "--XyZ\r\n\
            Content-Disposition: form-data; name=\"csrf_token\"\r\n\r\n\
            abc\r\n\
            --XyZ\r\n\
            Content-Disposition: form-data; name=\"file\"; filename=\"book.csv\"\r\n\
            Content-Type: text/csv\r\n\r\n\
            Мария,+44 20\r\nBob,123\r\n\
            --XyZ--\r\n";
        let up = Upload::parse(
            &headers("multipart/form-data; boundary=XyZ"),
            Bytes::from(body),
        )
        .await
        .unwrap();
        assert_eq!(up.text("csrf_token"), Some("abc"));
        let file = up.part("file").unwrap();
        assert_eq!(file.file_name.as_deref(), Some("book.csv"));
        assert_eq!(&file.data[..], "Мария,+44 20\r\nBob,123".as_bytes());
        assert!(up.part("other").is_none());
    }

    #[tokio::test]
    async fn a_csv_body_is_the_file() {
        let up = Upload::parse(&headers("text/csv; charset=utf-8"), Bytes::from("a,1"))
            .await
            .unwrap();
        assert_eq!(&up.part("file").unwrap().data[..], b"a,1");
        assert!(
            Upload::parse(&headers("application/json"), Bytes::from("{}"))
                .await
                .is_err()
        );
        assert!(
            Upload::parse(&headers("multipart/form-data"), Bytes::from("x"))
                .await
                .is_err(),
            "no boundary"
        );
    }
}
