//! Caller IDs (CLIs): the numbers that identify the subscriber's devices. A subscriber adds one
//! to a device of their own and deletes their own; a number can be a caller ID once in the
//! whole system, so a duplicate is refused with a message naming why.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::input::{self, FieldError, PhoneNumber};
use crate::pages::notice;
use crate::store::access::Resource;
use crate::store::devices::AddCli;
use crate::store::Store;
use crate::time;
use crate::web::openapi::ApiDoc;
use crate::web::values::{Links, Moment};
use crate::web::{
    require, respond, respond_action, Chrome, Ctx, CurrentUser, Format, Page, StrictForm,
};

const PAGE: &str = "/devices/user_device_clis";
const DESCRIPTION_MAX: usize = 100;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource(PAGE)
            .name("user_device_clis")
            .route(web::get().to(show)),
    )
    .service(
        web::resource("/devices/cli_add")
            .name("add_cli")
            .route(web::post().to(add)),
    )
    .service(
        web::resource("/devices/cli_delete/{cli_id}")
            .name("delete_cli")
            .route(web::post().to(delete)),
    );
}

#[derive(Serialize, ToSchema)]
pub struct ClisPage {
    pub pagename: &'static str,
    pub language: &'static str,
    pub userid: i64,
    /// The devices a caller ID can be added to (the XML's `<aval_devices>`).
    pub devices: Vec<AvalDevice>,
    pub clis: Vec<CliView>,
    /// Both `null`: a few caller IDs per device, given whole.
    pub links: Links,
    #[serde(skip)]
    pub notice: Option<String>,
    /// The add form as shown: empty, or what was typed when it was refused.
    #[serde(skip)]
    pub form: AddForm,
}

#[derive(Serialize, ToSchema)]
pub struct AvalDevice {
    pub device_id: i64,
    /// `IAX2/101`
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct CliView {
    pub cli_id: i64,
    /// `IAX2/101`
    pub device: String,
    pub device_id: i64,
    pub device_icon: &'static str,
    /// The number, digits only.
    pub cli_name: String,
    pub cli_desc: String,
    pub added_at: Moment,
}

/// The add form's values and per-field messages.
#[derive(Default)]
pub struct AddForm {
    pub device_id: String,
    pub cli: String,
    pub description: String,
    pub device_error: Option<String>,
    pub cli_error: Option<String>,
    pub description_error: Option<String>,
}

impl AddForm {
    fn has_errors(&self) -> bool {
        self.device_error.is_some() || self.cli_error.is_some() || self.description_error.is_some()
    }
}

/// The icon the contract names for a kind of device.
fn device_icon(device_type: &str) -> &'static str {
    match device_type {
        "FAX" => "fax.png",
        _ => "phone.png",
    }
}

#[derive(Template)]
#[template(path = "pages/phone/clis.html")]
struct ClisHtml<'a> {
    c: &'a Chrome,
    v: &'a ClisPage,
}

#[derive(Template)]
#[template(path = "xml/phone/clis.xml")]
struct ClisXml<'a> {
    v: &'a ClisPage,
}

impl Page for ClisPage {
    fn html(&self, c: &Chrome) -> askama::Result<String> {
        ClisHtml { c, v: self }.render()
    }
    fn xml(&self) -> askama::Result<String> {
        ClisXml { v: self }.render()
    }
}

impl ClisPage {
    async fn load(store: &Store, lang: Lang, user: CurrentUser, form: AddForm) -> AppResult<Self> {
        let account = store
            .account(user.id)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        let tz = time::zone(&account.time_zone);
        let devices = store
            .devices(user.id)
            .await?
            .iter()
            .map(|d| AvalDevice {
                device_id: d.id,
                name: d.label(),
            })
            .collect();
        let clis = store
            .clis(user.id)
            .await?
            .into_iter()
            .map(|c| CliView {
                cli_id: c.id,
                device: c.device_label(),
                device_id: c.device_id,
                device_icon: device_icon(&c.device_type),
                cli_name: c.cli,
                cli_desc: c.description,
                added_at: Moment::new(c.added_at, tz),
            })
            .collect();
        Ok(ClisPage {
            pagename: "CallerIDs",
            language: lang.code(),
            userid: user.id,
            devices,
            clis,
            links: Links::whole(),
            notice: None,
            form,
        })
    }
}

/// The page in the JSON API's description.
pub fn api(doc: &mut ApiDoc) {
    doc.page::<ClisPage>("Account", PAGE, &[]);
}

#[derive(Deserialize)]
pub struct ShowQuery {
    done: Option<String>,
}

/// GET /devices/user_device_clis
pub async fn show(
    ctx: Ctx,
    user: CurrentUser,
    store: web::Data<Store>,
    query: web::Query<ShowQuery>,
) -> AppResult<HttpResponse> {
    let mut page = ClisPage::load(&store, ctx.lang, user, AddForm::default()).await?;
    page.notice = notice::text(
        ctx.lang,
        "clis",
        &["added", "deleted"],
        query.done.as_deref(),
    );
    respond(&ctx, &page)
}

#[derive(Deserialize)]
pub struct AddFields {
    #[serde(default)]
    device_id: String,
    #[serde(default)]
    cli: String,
    #[serde(default)]
    description: String,
}

/// POST /devices/cli_add (`device_id`, `cli`, `description`)
pub async fn add(
    ctx: Ctx,
    user: CurrentUser,
    store: web::Data<Store>,
    form: StrictForm<AddFields>,
) -> AppResult<HttpResponse> {
    let fields = form.into_inner();
    let mut form = AddForm {
        device_id: fields.device_id.trim().to_string(),
        cli: fields.cli.clone(),
        description: fields.description.clone(),
        ..AddForm::default()
    };
    // What was wrong, in English for XML and JSON clients; the page shows `form`'s messages.
    let mut problems: Vec<String> = Vec::new();
    let device_id = match form.device_id.parse::<i64>() {
        Ok(id) => {
            // Another user's device is not found, before anything else is said about the form.
            require(&store, user, Resource::Device, id).await?;
            Some(id)
        }
        Err(_) => {
            problems.push("device_id: choose one of your devices".into());
            form.device_error = Some(ctx.lang.t("clis.choose_device").to_string());
            None
        }
    };
    let cli = PhoneNumber::parse(&fields.cli).map_err(|e| {
        problems.push(format!("cli: {e}"));
        form.cli_error = Some(e.message(ctx.lang));
    });
    let description = input::text(&fields.description, DESCRIPTION_MAX).map_err(|e: FieldError| {
        problems.push(format!("description: {e}"));
        form.description_error = Some(e.message(ctx.lang));
    });

    if let (Some(device_id), Ok(cli), Ok(description)) = (device_id, &cli, &description) {
        match store
            .add_cli(user.id, device_id, cli.as_str(), description, &ctx.address)
            .await?
        {
            AddCli::Added(_) => {
                return Ok(match ctx.format {
                    Format::Html => notice::redirect(PAGE, "added"),
                    f => respond_action(f, StatusCode::OK, "add_cli", "CLI created"),
                })
            }
            AddCli::NoSuchDevice => return Err(AppError::NotFound),
            AddCli::Duplicate { own_device } => {
                let (en, page) = match own_device {
                    Some(device) => (
                        format!(
                            "cli: {} is already a caller ID of your device {device}",
                            cli.as_str()
                        ),
                        ctx.lang.fill("clis.duplicate_own", &[("device", &device)]),
                    ),
                    None => (
                        format!("cli: {} is already registered as a caller ID", cli.as_str()),
                        ctx.lang.t("clis.duplicate").to_string(),
                    ),
                };
                problems.push(en);
                form.cli_error = Some(page);
            }
        }
    }

    debug_assert!(form.has_errors());
    Ok(match ctx.format {
        Format::Html => {
            let page = ClisPage::load(&store, ctx.lang, user, form).await?;
            let mut resp = respond(&ctx, &page)?;
            *resp.status_mut() = StatusCode::BAD_REQUEST;
            resp
        }
        f => respond_action(
            f,
            StatusCode::BAD_REQUEST,
            "add_cli",
            &format!("CLI not created. {}", problems.join("; ")),
        ),
    })
}

/// POST /devices/cli_delete/{cli_id}
pub async fn delete(
    ctx: Ctx,
    user: CurrentUser,
    store: web::Data<Store>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let cli_id = path.into_inner();
    require(&store, user, Resource::Cli, cli_id).await?;
    if !store.delete_cli(user.id, cli_id, &ctx.address).await? {
        return Err(AppError::NotFound);
    }
    Ok(match ctx.format {
        Format::Html => notice::redirect(PAGE, "deleted"),
        f => respond_action(f, StatusCode::OK, "delete_cli", "CLI deleted"),
    })
}
