//! One view model, several representations: HTML (askama), the seed's XML (askama), JSON (serde).

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use askama::Template;
use serde::Serialize;

use super::context::Ctx;
use super::format::Format;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;

/// What the base HTML layout needs besides the page itself.
#[derive(Clone, Debug)]
pub struct Chrome {
    pub lang: Lang,
    pub logged_in: bool,
    pub path: String,
    /// Goes into every form as the hidden field `csrf_token`.
    pub csrf: String,
}

impl Chrome {
    pub fn t<'a>(&self, key: &'a str) -> &'a str {
        self.lang.t(key)
    }

    pub fn languages(&self) -> [Lang; 2] {
        Lang::ALL
    }
}

/// A page's view model knows how to render itself as HTML and XML; JSON is the model as it is.
pub trait Page: Serialize {
    fn html(&self, chrome: &Chrome) -> askama::Result<String>;
    fn xml(&self) -> askama::Result<String>;
}

/// Answers with `page` in the request's format.
pub fn respond<P: Page>(ctx: &Ctx, page: &P) -> AppResult<HttpResponse> {
    respond_as(ctx.format, ctx, page)
}

pub fn respond_as<P: Page>(format: Format, ctx: &Ctx, page: &P) -> AppResult<HttpResponse> {
    let body = match format {
        Format::Html => page.html(&ctx.chrome())?,
        Format::Xml => page.xml()?,
        Format::Json => serde_json::to_string(page).map_err(|e| AppError::Internal(e.into()))?,
        Format::Csv | Format::Pdf => {
            return Err(AppError::bad_input(format!(
                "This page has no {} export",
                serde_json::to_string(&format)
                    .unwrap_or_default()
                    .trim_matches('"')
            )))
        }
    };
    Ok(HttpResponse::Ok()
        .content_type(format.content_type())
        .body(body))
}

/// The seed's `<action>` answer: a name, ok or failed, and a message.
#[derive(Serialize, Template)]
#[template(path = "xml/action.xml")]
pub struct Action<'a> {
    pub name: &'a str,
    pub status: &'static str,
    pub status_message: &'a str,
}

/// An action's answer for XML and JSON clients (browsers get a redirect or a page instead).
pub fn respond_action(
    format: Format,
    status: StatusCode,
    name: &str,
    message: &str,
) -> HttpResponse {
    let action = Action {
        name,
        status: if status.is_success() { "ok" } else { "failed" },
        status_message: message,
    };
    match format {
        Format::Json => HttpResponse::build(status).json(&action),
        _ => HttpResponse::build(status)
            .content_type(Format::Xml.content_type())
            .body(action.render().unwrap_or_default()),
    }
}

#[derive(Template)]
#[template(path = "pages/error.html")]
struct ErrorPage<'a> {
    c: &'a Chrome,
    message: &'a str,
}

pub fn render_error_page(chrome: &Chrome, message: &str) -> String {
    ErrorPage { c: chrome, message }
        .render()
        .unwrap_or_else(|_| message.to_string())
}
