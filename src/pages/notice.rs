//! The one-line notice after a browser action (POST-redirect-GET): the action answers 303 to its
//! page with `?done=<code>`, and the page shows the text of that code. Only codes a page knows
//! are shown, so a crafted link cannot put words on the page.

use actix_web::http::header;
use actix_web::HttpResponse;

use crate::i18n::Lang;

/// The query of a page that shows a notice: `?done=<code>`.
#[derive(serde::Deserialize)]
pub struct DoneQuery {
    pub done: Option<String>,
}

/// 303 to `page` with the notice `code`.
pub fn redirect(page: &str, code: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("{page}?done={code}")))
        .finish()
}

/// 303 to `page` with the notice `code` about `n` things (`{n}` in its text).
pub fn redirect_count(page: &str, code: &str, n: u64) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("{page}?done={code}&n={n}")))
        .finish()
}

/// The text of `done` when it is one of `known`: the translation of `<prefix>.done.<code>`.
pub fn text(lang: Lang, prefix: &str, known: &[&str], done: Option<&str>) -> Option<String> {
    text_with(lang, prefix, known, done, &[])
}

/// [`text`] with the `{holes}` of the text filled, as [`Lang::fill`] fills them.
pub fn text_with(
    lang: Lang,
    prefix: &str,
    known: &[&str],
    done: Option<&str>,
    holes: &[(&str, &dyn std::fmt::Display)],
) -> Option<String> {
    let code = done?;
    known
        .contains(&code)
        .then(|| lang.fill(&format!("{prefix}.done.{code}"), holes))
}

/// [`text`] for a notice about `n` things (`{n}` in its text); `n` is read as a number, so a
/// crafted link cannot put words there either (anything else reads as 0).
pub fn text_count(
    lang: Lang,
    prefix: &str,
    known: &[&str],
    done: Option<&str>,
    n: Option<&str>,
) -> Option<String> {
    let n = n.and_then(|n| n.parse::<u64>().ok()).unwrap_or(0);
    text_with(lang, prefix, known, done, &[("n", &n)])
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_known_codes_are_shown() {
        use crate::i18n::Lang;
        assert_eq!(
            super::text(Lang::En, "x", &["added"], Some("<b>hi</b>")),
            None
        );
        assert_eq!(super::text(Lang::En, "x", &["added"], None), None);
        assert!(super::text(Lang::En, "phonebook", &["added"], Some("added")).is_some());
    }
}
