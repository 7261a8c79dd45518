//! The subscriber's devices. XML and JSON carry each device's SIP/IAX secret as the contract
//! does; the HTML page shows a secret only after the subscriber asks for it
//! (`?show_secret=ID`, answered for the user's own device only), so it is not on screen, in the
//! page source or in a shoulder-surfer's view by default. Responses are never cached.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{AppError, AppResult};
use crate::store::access::Resource;
use crate::store::Store;
use crate::time;
use crate::web::openapi::ApiDoc;
use crate::web::values::{Links, Moment};
use crate::web::{require, respond, Chrome, Ctx, CurrentUser, Page, StrictQuery, UserAccount};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/devices/user_devices")
            .name("user_devices")
            .route(web::get().to(show)),
    );
}

#[derive(Serialize, ToSchema)]
pub struct DevicesPage {
    pub pagename: &'static str,
    pub language: &'static str,
    pub userid: i64,
    pub devices: Vec<DeviceView>,
    /// Both `null`: a subscriber has a handful of devices, given whole.
    pub links: Links,
    /// The device whose secret the HTML page shows.
    #[serde(skip)]
    pub show_secret: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct DeviceView {
    /// The device's id (the XML's `<acc>`).
    pub device_id: i64,
    pub description: String,
    /// `SIP`, `IAX2`, … (the XML's `<type>`).
    pub device_type: String,
    pub extension: String,
    pub username: String,
    /// The SIP/IAX secret.
    pub password: String,
    /// The caller ID the device presents, e.g. `"John Smith" <101>`.
    pub cid: String,
    /// When it last registered; `null` if it never did (the XML's empty element).
    pub last_time_registered: Option<Moment>,
}

impl DevicesPage {
    /// Whether the HTML page shows the secret of device `id`.
    pub fn shows_secret(&self, id: &i64) -> bool {
        self.show_secret == Some(*id)
    }
}

#[derive(Template)]
#[template(path = "pages/phone/devices.html")]
struct DevicesHtml<'a> {
    c: &'a Chrome,
    v: &'a DevicesPage,
}

#[derive(Template)]
#[template(path = "xml/phone/devices.xml")]
struct DevicesXml<'a> {
    v: &'a DevicesPage,
}

impl Page for DevicesPage {
    fn html(&self, c: &Chrome) -> askama::Result<String> {
        DevicesHtml { c, v: self }.render()
    }
    fn xml(&self) -> askama::Result<String> {
        DevicesXml { v: self }.render()
    }
}

/// The page in the JSON API's description.
pub fn api(doc: &mut ApiDoc) {
    doc.page::<DevicesPage>("Account", "/devices/user_devices", &[]);
}

#[derive(Deserialize)]
pub struct DevicesQuery {
    show_secret: Option<String>,
}

/// GET /devices/user_devices[?show_secret=ID]
pub async fn show(
    ctx: Ctx,
    user: CurrentUser,
    UserAccount(account): UserAccount,
    store: web::Data<Store>,
    query: StrictQuery<DevicesQuery>,
) -> AppResult<HttpResponse> {
    let show_secret = match query.0.show_secret.as_deref() {
        None | Some("") => None,
        Some(id) => {
            let id: i64 = id.trim().parse().map_err(|_| AppError::NotFound)?;
            require(&store, user, Resource::Device, id).await?;
            Some(id)
        }
    };
    let tz = time::zone(&account.time_zone);
    let devices = store
        .devices(user.id)
        .await?
        .into_iter()
        .map(|d| DeviceView {
            device_id: d.id,
            description: d.description,
            device_type: d.device_type,
            extension: d.extension,
            username: d.username,
            password: d.secret,
            cid: d.caller_id,
            last_time_registered: d.last_registered_at.map(|at| Moment::new(at, tz)),
        })
        .collect();
    let page = DevicesPage {
        pagename: "Devices",
        language: ctx.lang.code(),
        userid: user.id,
        devices,
        links: Links::whole(),
        show_secret,
    };
    let mut resp = respond(&ctx, &page)?;
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}
