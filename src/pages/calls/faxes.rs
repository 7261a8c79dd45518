//! Faxes: the list for a period, status and device (the seed's "Faxes" page), and each fax's
//! PDF, viewable in the browser and downloadable by its owner only.
//!
//! The period is read as on the call pages (`crate::period`), but without one the list shows the
//! last 30 days (today and the 29 days before, in the subscriber's zone), not the month: faxes
//! are few, and a month that has just begun would look empty. A half-given period takes its
//! other side from the same 30 days (`Span::Days`).
//!
//! The list is keyset pages of `per_page` faxes (default 50, at most 500), newest first, as the
//! call list's (`before`/`after`, `links`). `/stats/faxes` is the same list of the logged-in
//! subscriber, at an address without the user id.

use std::path::{Component, Path, PathBuf};

use actix_files::NamedFile;
use actix_web::http::header::{
    self, Charset, ContentDisposition, DispositionParam, DispositionType, ExtendedValue,
};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{AppError, AppResult};
use crate::input::echo;
use crate::pages::calls::call_list::{link_base, refused};
use crate::pages::calls::period_form::PeriodFields;
use crate::period::{Period, Span};
use crate::store::access::Resource;
use crate::store::call_list::Cursor;
use crate::store::faxes::{FaxFilter, FaxRow};
use crate::store::keyset_page::{page_size, PAGE_SIZE};
use crate::store::Store;
use crate::time;
use crate::web::openapi::ApiDoc;
use crate::web::values::{Links, Moment};
use crate::web::{
    require, respond, Chrome, Ctx, CurrentUser, DataDir, OwnUserId, Page, UserAccount,
};

const DEFAULT_SPAN: Span = Span::Days(30);

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/stats/faxes_list/{userid}")
            .name("faxes_list")
            .route(web::get().to(list))
            .route(web::post().to(list)),
    )
    .service(
        web::resource("/stats/faxes")
            .name("faxes_list")
            .route(web::get().to(own_list))
            .route(web::post().to(own_list)),
    )
    .service(
        web::resource("/stats/fax_file/{fax_id}")
            .name("fax_file")
            .route(web::get().to(file)),
    );
}

/// The faxes: one keyset page of a period's faxes, by status and device.
#[derive(Serialize, ToSchema)]
pub struct FaxesPage {
    pub pagename: &'static str,
    pub language: &'static str,
    /// Empty, or why the filter was not applied (XML and HTML; JSON answers an error instead).
    #[serde(skip)]
    pub error_msg: String,
    pub userid: i64,
    /// `all` or the device id the list is limited to.
    pub show_device: String,
    pub username: String,
    /// `available_languages` in JSON, as on the login page (the XML keeps the seed's name).
    #[serde(rename = "available_languages")]
    pub aval_languages: Vec<&'static str>,
    /// The period's first second.
    pub period_start: Moment,
    /// The period's last second.
    pub period_end: Moment,
    /// The period as the XML and HTML write it (`YYYY-MM-DD HH:MM:SS` in the subscriber's
    /// zone), or as typed when it could not be read.
    #[serde(skip)]
    pub period_text: PeriodFields,
    /// The form's period fields.
    #[serde(skip)]
    pub form: PeriodFields,
    /// `all`, `received`, `sent` or `failed`.
    pub fax_status: String,
    pub faxes: Vec<FaxView>,
    /// `next`: older faxes; `prev`: newer ones.
    pub links: Links,
    /// Faxes a page.
    pub per_page: u32,
    /// The user's fax devices, for the filter (all of them: a few).
    pub devices: Vec<DeviceOption>,
}

#[derive(Serialize, ToSchema)]
pub struct FaxView {
    pub fax_id: i64,
    /// `FAX/102`
    pub device: String,
    pub filename: String,
    pub receive_time: Moment,
    pub sender: String,
    /// `Received`, `Sent` or `Failed`, as the seed writes it.
    pub status: String,
    pub pages: i64,
}

#[derive(Serialize, ToSchema)]
#[schema(as = FaxDeviceOption)]
pub struct DeviceOption {
    pub id: i64,
    pub name: String,
}

#[derive(Template)]
#[template(path = "pages/calls/faxes.html")]
struct FaxesHtml<'a> {
    c: &'a Chrome,
    v: &'a FaxesPage,
}

impl FaxesHtml<'_> {
    fn status_text<'s>(&self, status: &'s str) -> &'s str {
        match status {
            "Received" => self.c.t("faxes.status.received"),
            "Sent" => self.c.t("faxes.status.sent"),
            "Failed" => self.c.t("faxes.status.failed"),
            other => other,
        }
    }
}

#[derive(Template)]
#[template(path = "xml/calls/faxes.xml")]
struct FaxesXml<'a> {
    v: &'a FaxesPage,
}

impl Page for FaxesPage {
    fn html(&self, c: &Chrome) -> askama::Result<String> {
        FaxesHtml { c, v: self }.render()
    }
    fn xml(&self) -> askama::Result<String> {
        FaxesXml { v: self }.render()
    }
}

/// The filter as sent, in the query string or a form body (the seed's POST), and the page.
#[derive(Deserialize, Default)]
pub struct FaxParams {
    period_start: Option<String>,
    period_end: Option<String>,
    fax_status: Option<String>,
    device_id: Option<String>,
    before: Option<String>,
    after: Option<String>,
    per_page: Option<String>,
}

impl FaxParams {
    /// The query's values win over the body's.
    fn merge(self, body: FaxParams) -> FaxParams {
        FaxParams {
            period_start: self.period_start.or(body.period_start),
            period_end: self.period_end.or(body.period_end),
            fax_status: self.fax_status.or(body.fax_status),
            device_id: self.device_id.or(body.device_id),
            before: self.before.or(body.before),
            after: self.after.or(body.after),
            per_page: self.per_page.or(body.per_page),
        }
    }
}

/// The page in the JSON API's description.
pub fn api(doc: &mut ApiDoc) {
    let query = [
        (
            "period_start",
            "`YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS` in the subscriber's zone (default: 29 days \
             before today)",
        ),
        (
            "period_end",
            "`YYYY-MM-DD` (the whole day) or `YYYY-MM-DD HH:MM:SS` (default: today)",
        ),
        ("fax_status", "`all`, `received`, `sent` or `failed`"),
        ("device_id", "`all` or one of the subscriber's fax devices"),
        ("per_page", "Faxes a page, 1 to 500 (default 50)"),
        (
            "before",
            "A page position from `links.next`: the older faxes",
        ),
        (
            "after",
            "A page position from `links.prev`: the newer faxes",
        ),
    ];
    doc.page::<FaxesPage>("Faxes", "/stats/faxes_list/{userid}", &query);
    doc.page::<FaxesPage>("Faxes", "/stats/faxes", &query);
}

/// `all`/empty or one of the stored statuses.
fn parse_status(s: Option<&str>) -> Result<Option<&'static str>, ()> {
    match s.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") | Some("all") => Ok(None),
        Some("received") => Ok(Some("received")),
        Some("sent") => Ok(Some("sent")),
        Some("failed") => Ok(Some("failed")),
        Some(_) => Err(()),
    }
}

/// `all`/empty or a device id.
fn parse_device(s: Option<&str>) -> Result<Option<i64>, ()> {
    match s.map(str::trim) {
        None | Some("") => Ok(None),
        Some(a) if a.eq_ignore_ascii_case("all") => Ok(None),
        Some(id) => id.parse::<i64>().map(Some).map_err(|_| ()),
    }
}

/// GET /stats/faxes: the logged-in user's list (the navigation's link): a browser goes to
/// `/stats/faxes_list/{userid}`, a program gets the list here.
pub async fn own_list(
    ctx: Ctx,
    user: CurrentUser,
    account: UserAccount,
    store: web::Data<Store>,
    query: web::Query<FaxParams>,
    body: Option<web::Form<FaxParams>>,
) -> AppResult<HttpResponse> {
    if ctx.format == crate::web::Format::Html {
        return Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/stats/faxes_list/{}", user.id)))
            .finish());
    }
    show(ctx, user, account, store, query, body).await
}

/// GET or POST /stats/faxes_list/{userid}
pub async fn list(
    ctx: Ctx,
    own: OwnUserId,
    account: UserAccount,
    store: web::Data<Store>,
    query: web::Query<FaxParams>,
    body: Option<web::Form<FaxParams>>,
) -> AppResult<HttpResponse> {
    show(ctx, own.0, account, store, query, body).await
}

async fn show(
    ctx: Ctx,
    user: CurrentUser,
    UserAccount(account): UserAccount,
    store: web::Data<Store>,
    query: web::Query<FaxParams>,
    body: Option<web::Form<FaxParams>>,
) -> AppResult<HttpResponse> {
    let posted = body.is_some();
    let params = query
        .into_inner()
        .merge(body.map(|b| b.into_inner()).unwrap_or_default());
    let tz = time::zone(&account.time_zone);
    let device_id = parse_device(params.device_id.as_deref());
    // Another user's device is not found, like another user's fax.
    if let Ok(Some(id)) = device_id {
        require(&store, user, Resource::Device, id).await?;
    }
    let period = Period::parse(
        params.period_start.as_deref(),
        params.period_end.as_deref(),
        tz,
        time::now(),
        DEFAULT_SPAN,
    );
    let status = parse_status(params.fax_status.as_deref());

    let mut page = FaxesPage {
        pagename: "Faxes",
        language: ctx.lang.code(),
        error_msg: String::new(),
        userid: user.id,
        show_device: match device_id {
            Ok(Some(id)) => id.to_string(),
            _ => "all".to_string(),
        },
        username: account.display_name(),
        aval_languages: crate::pages::available_languages(),
        // Set from the period once it is read; a refused page shows `period_text`.
        period_start: Moment::new(time::now(), tz),
        period_end: Moment::new(time::now(), tz),
        period_text: PeriodFields::default(),
        form: PeriodFields::default(),
        fax_status: status.ok().flatten().unwrap_or("all").to_string(),
        faxes: Vec::new(),
        links: Links::default(),
        per_page: PAGE_SIZE,
        devices: store
            .fax_devices(user.id)
            .await?
            .into_iter()
            .map(|d| DeviceOption {
                id: d.id,
                name: format!("{}/{}", d.device_type, d.username),
            })
            .collect(),
    };

    let position = Cursor::of(params.before.as_deref(), params.after.as_deref(), ctx.lang)
        .and_then(|c| Ok((c, page_size(params.per_page.as_deref(), ctx.lang)?)));
    let read = match (period, status, device_id, position) {
        (Ok(p), Ok(status), Ok(device_id), Ok(position)) => Ok((p, status, device_id, position)),
        (Err(e), _, _, _) => Err(e.message(ctx.lang)),
        (_, Err(()), _, _) => Err(ctx.lang.t("faxes.bad_status").to_string()),
        (_, _, Err(()), _) => Err(ctx.lang.t("faxes.bad_device").to_string()),
        (_, _, _, Err(msg)) => Err(msg),
    };
    let (period, status, device_id, (cursor, size)) = match read {
        Ok(read) => read,
        Err(message) => {
            // The form keeps what was typed; nothing is listed for a filter that was not read.
            let typed =
                PeriodFields::typed(params.period_start.as_deref(), params.period_end.as_deref());
            page.error_msg = message.clone();
            page.period_text = typed.clone();
            page.form = typed;
            page.fax_status = echo(params.fax_status.as_deref().unwrap_or("all"));
            return refused(&ctx, &page, &message);
        }
    };

    let filter = FaxFilter {
        from: period.from(),
        until: period.until(),
        status,
        device_id,
    };
    page.period_start = Moment::new(period.from(), tz);
    page.period_end = Moment::new(period.until() - 1, tz);
    page.period_text = PeriodFields {
        start: period.start_text(),
        end: period.end_text(),
    };
    page.form = PeriodFields::of(&period);
    page.per_page = size;
    let result = store.fax_page(user.id, &filter, cursor, size).await?;
    page.faxes = result.rows.into_iter().map(|r| fax_view(r, tz)).collect();
    // A POST's fields become the links' query: the neighbouring pages are GETs of the filter.
    let fields = posted.then(|| {
        let mut pairs = vec![
            ("period_start", period.start_param()),
            ("period_end", period.end_param()),
            ("fax_status", page.fax_status.clone()),
            ("device_id", page.show_device.clone()),
        ];
        if size != PAGE_SIZE {
            pairs.push(("per_page", size.to_string()));
        }
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    });
    page.links = link_base(&ctx, fields.as_deref(), &[]).page_links(result.next, result.prev);
    respond(&ctx, &page)
}

fn fax_view(r: FaxRow, tz: chrono_tz::Tz) -> FaxView {
    let mut status = r.status;
    if let Some(first) = status.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    FaxView {
        fax_id: r.id,
        device: format!("{}/{}", r.device_type, r.device_username),
        filename: r.file_name,
        receive_time: Moment::new(r.received_at, tz),
        sender: r.sender,
        status,
        pages: r.pages,
    }
}

#[derive(Deserialize)]
pub struct FileParams {
    download: Option<String>,
}

/// GET /stats/fax_file/{fax_id}[?download=1]: the fax's PDF, shown in the browser or saved.
pub async fn file(
    req: HttpRequest,
    ctx: Ctx,
    user: CurrentUser,
    store: web::Data<Store>,
    data_dir: web::Data<DataDir>,
    fax_id: web::Path<i64>,
    query: web::Query<FileParams>,
) -> AppResult<HttpResponse> {
    let fax_id = fax_id.into_inner();
    require(&store, user, Resource::Fax, fax_id).await?;
    let fax = store
        .fax_file(user.id, fax_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let missing = || AppError::Missing(ctx.lang.t("faxes.file_missing").to_string());
    let path = match inside(&data_dir.0, &fax.file_path).await {
        Some(p) => p,
        None => {
            tracing::warn!(fax_id, path = %fax.file_path, "fax file missing or outside the data directory");
            return Err(missing());
        }
    };
    let named = NamedFile::open_async(&path).await.map_err(|e| {
        tracing::warn!(fax_id, error = %e, "cannot open the fax file");
        missing()
    })?;
    let download = query
        .download
        .as_deref()
        .is_some_and(|d| !d.is_empty() && d != "0");
    let disposition = ContentDisposition {
        disposition: if download {
            DispositionType::Attachment
        } else {
            DispositionType::Inline
        },
        parameters: filename_params(&fax.file_name),
    };
    let mut resp = named
        .set_content_type(actix_web::mime::APPLICATION_PDF)
        .set_content_disposition(disposition)
        .into_response(&req);
    let headers = resp.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("private, no-cache"),
    );
    // A policy of its own (the pages' default headers are added only where a response has
    // none): nothing loads from a fax, but the browser's PDF viewer may embed it (`object-src`)
    // in a frame of its own, which the pages' frame ban would blank. No `sandbox`: a sandboxed
    // document cannot run the PDF viewer.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static(
            "default-src 'none'; object-src 'self'; frame-ancestors 'self'",
        ),
    );
    headers.insert(
        header::X_FRAME_OPTIONS,
        header::HeaderValue::from_static("SAMEORIGIN"),
    );
    Ok(resp)
}

/// `filename="…"` in plain ASCII for every browser, plus `filename*=UTF-8''…` when the
/// stored name has other characters.
fn filename_params(name: &str) -> Vec<DispositionParam> {
    let ascii: String = name
        .chars()
        .map(|c| {
            if (c.is_ascii_graphic() && c != '"' && c != '\\') || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut params = vec![DispositionParam::Filename(ascii.clone())];
    if ascii != name {
        params.push(DispositionParam::FilenameExt(ExtendedValue {
            charset: Charset::Ext("UTF-8".into()),
            language_tag: None,
            value: name.as_bytes().to_vec(),
        }));
    }
    params
}

/// The stored relative path under the data directory, when it names an existing file that
/// is really inside it (no absolute path, no `..`, no symbolic link leading out).
async fn inside(data_dir: &Path, relative: &str) -> Option<PathBuf> {
    let rel = Path::new(relative);
    if relative.is_empty()
        || rel
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return None;
    }
    let root = tokio::fs::canonicalize(data_dir).await.ok()?;
    let full = tokio::fs::canonicalize(root.join(rel)).await.ok()?;
    (full.starts_with(&root) && tokio::fs::metadata(&full).await.ok()?.is_file()).then_some(full)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_devices_are_all_or_one() {
        assert_eq!(parse_status(None), Ok(None));
        assert_eq!(parse_status(Some("All")), Ok(None));
        assert_eq!(parse_status(Some(" sent ")), Ok(Some("sent")));
        assert_eq!(parse_status(Some("lost")), Err(()));
        assert_eq!(parse_device(Some("all")), Ok(None));
        assert_eq!(parse_device(Some("")), Ok(None));
        assert_eq!(parse_device(Some("12")), Ok(Some(12)));
        assert_eq!(parse_device(Some("FAX/102")), Err(()));
    }

    #[tokio::test]
    async fn only_files_inside_the_data_directory_are_served() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir_all(data.join("faxes/1")).unwrap();
        std::fs::write(data.join("faxes/1/a.pdf"), b"%PDF").unwrap();
        std::fs::write(dir.path().join("secret.txt"), b"no").unwrap();
        assert!(inside(&data, "faxes/1/a.pdf").await.is_some());
        assert!(inside(&data, "./faxes/1/a.pdf").await.is_some());
        for bad in [
            "",
            "../secret.txt",
            "faxes/../../secret.txt",
            "/etc/passwd",
            "faxes/1/missing.pdf",
            "faxes/1",
        ] {
            assert!(inside(&data, bad).await.is_none(), "{bad}");
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.path().join("secret.txt"), data.join("faxes/1/l.pdf"))
                .unwrap();
            assert!(inside(&data, "faxes/1/l.pdf").await.is_none());
        }
    }

    #[test]
    fn file_names_are_safe_in_a_header() {
        let p = filename_params("fax-1-2.pdf");
        assert_eq!(p, vec![DispositionParam::Filename("fax-1-2.pdf".into())]);
        let p = filename_params("факс \"1\".pdf");
        assert_eq!(p[0], DispositionParam::Filename("____ _1_.pdf".into()));
        assert_eq!(p.len(), 2);
    }
}
