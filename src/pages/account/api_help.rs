//! `/help/api`: one page for people who connect a program to the portal, instead of XML and
//! JSON links on every page. It says how a program logs in and picks a format, and lists every
//! page of the JSON API from the OpenAPI document itself (so the list cannot fall behind), with
//! its XML and JSON addresses where the page needs no id.

use actix_web::{web, HttpResponse};
use askama::Template;

use crate::error::AppResult;
use crate::i18n::Lang;
use crate::web::openapi::summary_key;
use crate::web::{Chrome, Ctx, Format};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/help/api")
            .name("api_help")
            .route(web::get().to(show)),
    );
}

/// A page of the JSON API, as the help lists it.
pub struct ApiPage {
    pub path: String,
    pub summary: String,
    /// Its addresses can be followed as they are (no `{id}` to fill in).
    pub linkable: bool,
}

#[derive(Template)]
#[template(path = "pages/account/api_help.html")]
struct ApiHelpHtml<'a> {
    c: &'a Chrome,
    pages: &'a [ApiPage],
}

/// The pages of `/api/openapi.json`, grouped as its tags are, in the document's order, each
/// summed up in `lang`.
fn pages(lang: Lang) -> Vec<ApiPage> {
    let doc = crate::web::openapi::document();
    let Some(paths) = doc["paths"].as_object() else {
        return Vec::new();
    };
    paths
        .iter()
        .filter(|(_, item)| item.get("get").is_some())
        .map(|(path, _)| ApiPage {
            path: path.clone(),
            summary: lang.t(&summary_key(path)).to_string(),
            linkable: !path.contains('{'),
        })
        .collect()
}

/// GET /help/api: HTML for people; a program asking for JSON gets the OpenAPI document.
pub async fn show(ctx: Ctx) -> AppResult<HttpResponse> {
    if ctx.format == Format::Json {
        return Ok(crate::web::openapi::serve().await);
    }
    let chrome = ctx.chrome();
    let body = ApiHelpHtml {
        c: &chrome,
        pages: &pages(ctx.lang),
    }
    .render()?;
    Ok(HttpResponse::Ok()
        .content_type(Format::Html.content_type())
        .body(body))
}
