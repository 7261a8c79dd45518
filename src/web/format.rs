//! The representation of a page, decided once per request (DESIGN §2):
//! `?format=` wins; then a legacy session (opened through `/api/login`) or a legacy `/api/` URL
//! gets XML (JSON when its `Accept` prefers `application/json`); then the `Accept` header by
//! quality; else HTML.

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Html,
    Xml,
    Json,
    Csv,
    Pdf,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s.trim().to_ascii_lowercase().as_str() {
            "html" => Some(Format::Html),
            "xml" => Some(Format::Xml),
            "json" => Some(Format::Json),
            "csv" => Some(Format::Csv),
            "pdf" => Some(Format::Pdf),
            _ => None,
        }
    }

    /// The name `?format=` takes.
    pub fn name(self) -> &'static str {
        match self {
            Format::Html => "html",
            Format::Xml => "xml",
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Pdf => "pdf",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Html => "text/html; charset=utf-8",
            Format::Xml => "application/xml; charset=utf-8",
            Format::Json => "application/json",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Pdf => "application/pdf",
        }
    }

    /// Chooses the format. `Err` carries the message for an unknown `?format=` value.
    pub fn negotiate(
        explicit: Option<&str>,
        legacy: bool,
        accept: Option<&str>,
    ) -> Result<Format, String> {
        if let Some(name) = explicit {
            return Format::parse(name).ok_or_else(|| {
                format!("Unknown format {name:?}: use html, xml, json, csv or pdf")
            });
        }
        if legacy {
            // A legacy client gets the seed's XML whatever it sends, unless it asks for JSON
            // by name (a browser's Accept never prefers JSON).
            return Ok(match accept.and_then(from_accept) {
                Some(Format::Json) => Format::Json,
                _ => Format::Xml,
            });
        }
        Ok(accept.and_then(from_accept).unwrap_or(Format::Html))
    }
}

/// The best of HTML, XML and JSON by the header's `q` values; on a tie, the one named first.
pub(super) fn from_accept(header: &str) -> Option<Format> {
    let mut best: Option<(f32, Format)> = None;
    for item in header.split(',') {
        let mut parts = item.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let format = match media.as_str() {
            "text/html" | "application/xhtml+xml" => Format::Html,
            "application/xml" | "text/xml" => Format::Xml,
            "application/json" => Format::Json,
            _ => continue,
        };
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, format));
        }
    }
    best.map(|(_, f)| f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_format_wins() {
        assert_eq!(
            Format::negotiate(Some("json"), true, Some("application/xml")),
            Ok(Format::Json)
        );
        assert!(Format::negotiate(Some("exe"), false, None).is_err());
    }

    #[test]
    fn legacy_sessions_get_xml() {
        assert_eq!(
            Format::negotiate(None, true, Some("text/html")),
            Ok(Format::Xml)
        );
        assert_eq!(Format::negotiate(None, true, Some("*/*")), Ok(Format::Xml));
        assert_eq!(Format::negotiate(None, true, None), Ok(Format::Xml));
        assert_eq!(
            Format::negotiate(None, true, Some("application/json")),
            Ok(Format::Json)
        );
    }

    #[test]
    fn accept_header_by_quality() {
        let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
        assert_eq!(
            Format::negotiate(None, false, Some(browser)),
            Ok(Format::Html)
        );
        assert_eq!(
            Format::negotiate(None, false, Some("application/xml")),
            Ok(Format::Xml)
        );
        assert_eq!(
            Format::negotiate(None, false, Some("text/xml, text/html;q=0.5")),
            Ok(Format::Xml)
        );
        assert_eq!(
            Format::negotiate(None, false, Some("application/json")),
            Ok(Format::Json)
        );
        assert_eq!(
            Format::negotiate(None, false, Some("*/*")),
            Ok(Format::Html)
        );
        assert_eq!(Format::negotiate(None, false, None), Ok(Format::Html));
    }
}
