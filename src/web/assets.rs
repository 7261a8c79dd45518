//! The portal's static files (stylesheet, fonts, flags, the card form's script), built into the
//! binary from `static/`: the portal serves its pages whole from any folder and as one file. In
//! a debug build rust-embed reads the same files from the source tree instead, so a change to the
//! CSS shows on the next request.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::error::AppError;

#[derive(rust_embed::Embed)]
#[folder = "static/"]
struct Assets;

/// How long a browser may keep a file without asking again (it then asks with the ETag).
const MAX_AGE_S: u32 = 3600;

/// GET /static/{path}: the file, with its type and an ETag from its content; 304 when the
/// browser already has this content; 404 for anything else.
pub async fn serve(req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, AppError> {
    let path = path.into_inner();
    if !is_plain(&path) {
        return Err(AppError::NotFound);
    }
    let file = Assets::get(&path).ok_or(AppError::NotFound)?;
    let etag = format!(
        "\"{}\"",
        file.metadata.sha256_hash()[..12]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let cache = (
        header::CACHE_CONTROL,
        format!("public, max-age={MAX_AGE_S}"),
    );
    let known = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|given| given.split(',').any(|t| t.trim() == etag));
    if known {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .insert_header(cache)
            .finish());
    }
    Ok(HttpResponse::Ok()
        .content_type(file.metadata.mimetype())
        .insert_header((header::ETAG, etag))
        .insert_header(cache)
        .body(file.data.into_owned()))
}

/// A path inside `static/`: segments of letters, digits, `-`, `_` and `.`, none starting with a
/// dot (no `..`, no hidden files).
fn is_plain(path: &str) -> bool {
    !path.is_empty()
        && path.split('/').all(|seg| {
            !seg.is_empty()
                && !seg.starts_with('.')
                && seg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_paths_inside_the_folder() {
        assert!(is_plain("css/selfcare.css"));
        assert!(is_plain("flags/gb.svg"));
        for bad in [
            "",
            "../Cargo.toml",
            "css/../../x",
            ".hidden",
            "css//x",
            "a\\b",
            "css/",
        ] {
            assert!(!is_plain(bad), "{bad:?}");
        }
    }

    #[test]
    fn the_stylesheet_is_built_in() {
        let css = Assets::get("css/selfcare.css").expect("the stylesheet");
        assert_eq!(css.metadata.mimetype(), "text/css");
        assert!(!css.data.is_empty());
    }
}
