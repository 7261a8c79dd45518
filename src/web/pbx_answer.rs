//! What the PBX's endpoints (`/pbx/authorize`, `/pbx/route`, `/pbx/pin`) share. They exist only
//! when the operator has set a token (`SELFCARE_PBX_TOKEN`; else 404), are asked with it (else
//! 401), and answer in the style the switch reads: `key=value` lines (Asterisk's `CURL()`,
//! FreeSWITCH's `curl`), one `key=value&…` line with `format=hash` (Asterisk's
//! `CURLOPT(hashcompat)`), or JSON with `format=json` or `Accept: application/json`. A question
//! that cannot be answered gets the endpoint's "no" with `reason=error` and `error=…`.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::Settings;

/// An endpoint's answer: its fields in order, as text, and its JSON (`Serialize`).
pub trait PbxAnswer: Serialize {
    fn fields(&self) -> Vec<(&'static str, String)>;
    /// The "no" a question that cannot be answered gets, with `reason=error`.
    fn error() -> Self;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    Lines,
    Hash,
    Json,
}

impl Style {
    fn of(req: &HttpRequest, format: Option<&str>) -> Style {
        let accepts_json = req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("application/json"));
        match format {
            Some("json") => Style::Json,
            Some("hash") => Style::Hash,
            _ if accepts_json => Style::Json,
            _ => Style::Lines,
        }
    }
}

/// The style to answer in, once the operator's token is checked; Err is the answer when the
/// endpoint is off or the token is wrong.
pub fn admit<A: PbxAnswer>(
    req: &HttpRequest,
    settings: &Settings,
    format: Option<&str>,
) -> Result<Style, Box<HttpResponse>> {
    let Some(token) = settings.pbx.token.as_ref() else {
        return Err(Box::new(HttpResponse::NotFound().finish()));
    };
    let style = Style::of(req, format);
    if !bearer_matches(req, token.expose()) {
        return Err(Box::new(refuse::<A>(
            style,
            HttpResponse::Unauthorized().insert_header((header::WWW_AUTHENTICATE, "Bearer")),
            "a valid operator token is required",
        )));
    }
    Ok(style)
}

/// The token as `Authorization: Bearer …`, or as the password of HTTP Basic authentication
/// (for switches that can only put credentials in the URL: `http://pbx:TOKEN@portal/…`),
/// compared in constant time (as digests, so its length is not told either).
fn bearer_matches(req: &HttpRequest, token: &str) -> bool {
    use base64::Engine;
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let given = if let Some(t) = header.strip_prefix("Bearer ") {
        t.trim().to_string()
    } else if let Some(b) = header.strip_prefix("Basic ") {
        base64::engine::general_purpose::STANDARD
            .decode(b.trim())
            .ok()
            .and_then(|raw| String::from_utf8(raw).ok())
            .and_then(|pair| pair.split_once(':').map(|(_, p)| p.to_string()))
            .unwrap_or_default()
    } else {
        String::new()
    };
    let a = Sha256::digest(given.as_bytes());
    let b = Sha256::digest(token.as_bytes());
    !given.is_empty() && crate::tokens::constant_time_eq(&a, &b)
}

/// The fields as `key=value` lines (a value never breaks its line).
pub fn lines(fields: &[(&'static str, String)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{k}={}\n", v.replace(['\n', '\r'], " ")))
        .collect()
}

/// The fields as one `key=value&…` line, percent-encoded.
pub fn hash(fields: &[(&'static str, String)]) -> String {
    serde_urlencoded::to_string(fields).unwrap_or_default()
}

/// 200 with the answer in the style.
pub fn answer<A: PbxAnswer>(style: Style, a: &A) -> HttpResponse {
    write(style, &mut HttpResponse::build(StatusCode::OK), a, None)
}

/// A question that cannot be answered: the endpoint's "no", `reason=error` and why.
pub fn refuse<A: PbxAnswer>(
    style: Style,
    response: &mut HttpResponseBuilder,
    message: &str,
) -> HttpResponse {
    write(style, response, &A::error(), Some(message))
}

fn write<A: PbxAnswer>(
    style: Style,
    response: &mut HttpResponseBuilder,
    a: &A,
    error: Option<&str>,
) -> HttpResponse {
    if style == Style::Json {
        let mut v = serde_json::to_value(a).unwrap_or_default();
        if let (Some(m), Some(obj)) = (error, v.as_object_mut()) {
            obj.insert("error".into(), m.into());
        }
        return response.json(v);
    }
    let mut fields = a.fields();
    if let Some(m) = error {
        fields.push(("error", m.to_string()));
    }
    response
        .content_type("text/plain; charset=utf-8")
        .body(if style == Style::Hash {
            hash(&fields)
        } else {
            lines(&fields)
        })
}
