//! One view model, several representations: HTML (askama), the seed's XML (askama), JSON (serde).

use std::sync::LazyLock;

use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::HttpResponse;
use askama::Template;
use serde::Serialize;

use super::context::Ctx;
use super::format::Format;
use crate::error::{AppError, AppResult};
use crate::export::Export;
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

    /// The text of `key` with its `{holes}` filled: [`Lang::fill`].
    pub fn fill(&self, key: &str, holes: &[(&str, &dyn std::fmt::Display)]) -> String {
        self.lang.fill(key, holes)
    }

    /// A date and time that a view model holds as the XML's local text (`2026-12-05 14:30:00`,
    /// or a day), as the page's language writes it.
    pub fn local_time(&self, text: &str) -> String {
        crate::locale::local_text(self.lang, text)
    }

    /// A calendar day as the page's language writes it (`Dec 5, 2026`, `5 дек. 2026 г.`).
    pub fn day(&self, d: &chrono::NaiveDate) -> String {
        crate::locale::day(self.lang, *d)
    }

    /// A destination's name with its country (ISO code `flag`) in the page's language.
    pub fn place(&self, name: &str, flag: &str) -> String {
        crate::locale::destination(self.lang, name, flag)
    }

    /// A call's matched destination with its country in the page's language, the country found
    /// by the dialled number's prefix.
    pub fn called_place(&self, name: &str, number: &str) -> String {
        let digits: String = number.chars().filter(char::is_ascii_digit).collect();
        match crate::countries::of_prefix(&digits) {
            Some(country) => crate::locale::destination(self.lang, name, &country.iso2),
            None => name.to_string(),
        }
    }

    pub fn languages(&self) -> [Lang; 2] {
        Lang::ALL
    }

    /// The menu's top row: the five sections, the current one marked.
    pub fn nav_sections(&self) -> Vec<NavLink> {
        let (current, _) = super::menu::locate(&self.path);
        super::menu::SECTIONS
            .iter()
            .enumerate()
            .map(|(i, s)| NavLink {
                href: s.pages[0].href,
                label: self.lang.t(s.label),
                current: i == current,
            })
            .collect()
    }

    /// The menu's second row: the current section's pages, the current one marked.
    pub fn nav_pages(&self) -> Vec<NavLink> {
        let (section, page) = super::menu::locate(&self.path);
        super::menu::SECTIONS[section]
            .pages
            .iter()
            .enumerate()
            .map(|(i, p)| NavLink {
                href: p.href,
                label: self.lang.t(p.label),
                current: Some(i) == page,
            })
            .collect()
    }
}

/// A link of the menu.
pub struct NavLink {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// A page's view model knows how to render itself as HTML and XML; JSON is the model as it is.
/// A page with exports also describes itself as a table (`export`), which is then its CSV file
/// and its PDF document: the same handler, the same query, the same figures.
pub trait Page: Serialize {
    fn html(&self, chrome: &Chrome) -> askama::Result<String>;
    fn xml(&self) -> askama::Result<String>;
    /// The page as an export in `lang` (PDF headings); `None`, the default: no CSV, no PDF.
    fn export(&self, lang: Lang) -> Option<Export> {
        let _ = lang;
        None
    }
}

/// Answers with `page` in the request's format.
pub fn respond<P: Page>(ctx: &Ctx, page: &P) -> AppResult<HttpResponse> {
    respond_as(ctx.format, ctx, page)
}

/// A refused form in the request's format: clients get `error` itself (a failed action with
/// its status); a browser gets `page`, the form's page again showing why, with the same status.
/// `page` is only run for a browser.
pub async fn refuse_form<P: Page>(
    ctx: &Ctx,
    error: AppError,
    page: impl std::future::Future<Output = AppResult<P>>,
) -> AppResult<HttpResponse> {
    if ctx.format != Format::Html {
        return Err(error);
    }
    let status = actix_web::ResponseError::status_code(&error);
    let mut resp = respond(ctx, &page.await?)?;
    *resp.status_mut() = status;
    Ok(resp)
}

pub fn respond_as<P: Page>(format: Format, ctx: &Ctx, page: &P) -> AppResult<HttpResponse> {
    let body = match format {
        Format::Html => page.html(&ctx.chrome())?,
        Format::Xml => page.xml()?,
        Format::Json => serde_json::to_string(page).map_err(|e| AppError::Internal(e.into()))?,
        Format::Csv | Format::Pdf => {
            let export = page.export(ctx.lang).ok_or_else(|| {
                AppError::bad_input(
                    ctx.lang
                        .fill("error.no_export", &[("format", &format.name())]),
                )
            })?;
            return Ok(if format == Format::Csv {
                crate::export::csv::respond(&export)
            } else {
                respond_pdf(ctx, export)
            });
        }
    };
    Ok(HttpResponse::Ok()
        .content_type(format.content_type())
        .body(body))
}

/// PDF renders at once, each on a blocking thread; more wait their turn.
static PDF_SLOTS: LazyLock<tokio::sync::Semaphore> = LazyLock::new(|| {
    tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
});

/// A PDF download, rendered off the async threads when the body is sent; a list longer than
/// `Ctx::pdf_max_rows` is refused with a link to its CSV instead.
fn respond_pdf(ctx: &Ctx, export: Export) -> HttpResponse {
    if export.rows.len() > ctx.pdf_max_rows {
        return too_long_for_pdf(ctx, export.rows.len());
    }
    let disposition = crate::export::attachment(&export.file, "pdf");
    let body = futures_util::stream::once(async move {
        let _slot = PDF_SLOTS.acquire().await.map_err(std::io::Error::other)?;
        let rendered = actix_web::web::block(move || {
            let pdf = crate::export::pdf::render(&export);
            drop(export);
            crate::export::pdf::release_freed_memory();
            pdf
        })
        .await;
        match rendered {
            Ok(Ok(bytes)) => Ok(Bytes::from(bytes)),
            Ok(Err(e)) => {
                tracing::error!(error = ?e, "PDF rendering failed");
                Err(std::io::Error::other("PDF rendering failed"))
            }
            Err(e) => {
                tracing::error!(error = %e, "PDF rendering did not finish");
                Err(std::io::Error::other("PDF rendering failed"))
            }
        }
    });
    HttpResponse::Ok()
        .content_type(Format::Pdf.content_type())
        .insert_header(disposition)
        .streaming(body)
}

#[derive(Template)]
#[template(path = "pages/too_long.html")]
struct TooLongPage<'a> {
    c: &'a Chrome,
    message: &'a str,
    csv_href: &'a str,
    back_href: &'a str,
}

/// "This list has 23456 rows: a PDF holds 10000 at most." with the CSV's link, in the format
/// of the page that asked (422: the request is understood, but not made into a PDF).
pub fn too_long_for_pdf(ctx: &Ctx, rows: usize) -> HttpResponse {
    let status = StatusCode::UNPROCESSABLE_ENTITY;
    let message = ctx.lang.fill(
        "export.too_long",
        &[("rows", &rows), ("max", &ctx.pdf_max_rows)],
    );
    let csv_href = ctx.href_as(Format::Csv);
    match ctx.page_format {
        // The CSV's address is in the message, as in the XML.
        Format::Json => json_error(
            status,
            "too_long_for_pdf",
            &format!("{message} CSV: {csv_href}"),
        ),
        Format::Xml => respond_action(
            Format::Xml,
            status,
            "export_pdf",
            &format!("{message} CSV: {csv_href}"),
        ),
        _ => {
            let chrome = ctx.chrome();
            let back_href = ctx.href_as(Format::Html);
            let page = TooLongPage {
                c: &chrome,
                message: &message,
                csv_href: &csv_href,
                back_href: &back_href,
            };
            HttpResponse::build(status)
                .content_type(Format::Html.content_type())
                .body(page.render().unwrap_or(message))
        }
    }
}

/// 303 to `location`: where a browser goes after an action (POST-redirect-GET).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, location))
        .finish()
}

/// The seed's `<action>` answer: a name, ok or failed, and a message.
#[derive(Serialize, Template)]
#[template(path = "xml/action.xml")]
pub struct Action<'a> {
    pub name: &'a str,
    pub status: &'static str,
    pub status_message: &'a str,
    /// The logged-in user's id, after a login (MOR's `<user_id>`, a trailing element here).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<i64>,
}

/// An action's answer for XML and JSON clients (browsers get a redirect or a page instead).
pub fn respond_action(
    format: Format,
    status: StatusCode,
    name: &str,
    message: &str,
) -> HttpResponse {
    respond_action_for(format, status, name, message, None)
}

/// The one JSON error shape: `{"error": {"code": "not_found", "message": "…"}}`.
pub fn json_error(status: StatusCode, code: &'static str, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(super::values::ErrorBody {
        error: super::values::ErrorDetail {
            code,
            message: message.to_string(),
        },
    })
}

/// The JSON error code of a status, for answers that have a status and no `AppError`.
pub fn code_of_status(status: StatusCode) -> &'static str {
    match status.as_u16() {
        401 => "not_logged_in",
        402 => "payment_declined",
        403 => "forbidden",
        404 => "not_found",
        409 => "conflict",
        422 => "unprocessable",
        429 => "too_many_requests",
        503 => "unavailable",
        500..=599 => "internal",
        _ => "invalid_input",
    }
}

/// `respond_action` naming the user the action logged in (`<user_id>`).
pub fn respond_action_for(
    format: Format,
    status: StatusCode,
    name: &str,
    message: &str,
    user_id: Option<i64>,
) -> HttpResponse {
    let action = Action {
        name,
        status: if status.is_success() { "ok" } else { "failed" },
        status_message: message,
        user_id,
    };
    match format {
        Format::Json if !status.is_success() => json_error(status, code_of_status(status), message),
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

/// The links as an HTTP `Link` header (RFC 8288) too, so a client of the XML, whose elements
/// are fixed, can page as well.
pub fn with_link_header(
    mut resp: HttpResponse,
    links: &super::values::Links,
) -> AppResult<HttpResponse> {
    let value: Vec<String> = [(&links.next, "next"), (&links.prev, "prev")]
        .into_iter()
        .filter_map(|(url, rel)| url.as_ref().map(|u| format!("<{u}>; rel=\"{rel}\"")))
        .collect();
    // The addresses are percent-encoded, so always a valid header value.
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&value.join(", ")) {
        if !value.is_empty() {
            resp.headers_mut()
                .insert(actix_web::http::header::LINK, value);
        }
    }
    Ok(resp)
}
