//! Callback: the subscriber asks the PBX to ring their phone first and then connect them to a
//! destination (the seed's `activate_callback`), and follows each request's status.
//!
//! The requests are listed in keyset pages as the call list's (`per_page`, `before`/`after`,
//! `links`; the newest 50 by default).

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{AppError, AppResult};
use crate::pages::calls::call_list::link_base;
use crate::pbx::number::DialNumber;
use crate::pbx::{CallbackJob, Pbx};
use crate::store::access::Resource;
use crate::store::call_list::Cursor;
use crate::store::callbacks::{CallbackLimit, CallbackRow, NewCallback};
use crate::store::keyset_page::{page_size, PAGE_SIZE};
use crate::store::Store;
use crate::time;
use crate::web::openapi::ApiDoc;
use crate::web::values::{Links, Moment};
use crate::web::{require, respond, respond_action, Chrome, Ctx, CurrentUser, Format, Page};

/// While a request this recent is queued or dialing, the HTML page reloads itself.
const REFRESH_WINDOW_S: i64 = 120;
/// How many requests a subscriber may make: a few in a row, a few dozen a day. Each one rings
/// a phone and may cost a call, so a script (or a stolen session) cannot ring without end.
const LIMITS: [CallbackLimit; 2] = [
    CallbackLimit {
        window_s: 10 * 60,
        max: 5,
    },
    CallbackLimit {
        window_s: 24 * 3600,
        max: 50,
    },
];

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/functions/callback")
            .name("callback")
            .route(web::get().to(show)),
    )
    .service(
        web::resource("/functions/activate_callback")
            .name("callback")
            .route(web::post().to(activate)),
    );
}

/// The callback page: the devices a callback can use (all of them) and one keyset page of the
/// subscriber's requests, newest first.
#[derive(Serialize, ToSchema)]
pub struct CallbackPage {
    pub pagename: &'static str,
    pub language: &'static str,
    /// Why the last request was refused, in one line (the fields' messages joined); HTML only,
    /// the other formats answer a refused request with the failed action.
    #[serde(skip)]
    pub error_msg: String,
    pub userid: i64,
    pub username: String,
    pub pbx_configured: bool,
    pub aval_devices: Vec<DeviceOption>,
    pub callbacks: Vec<CallbackView>,
    /// `next`: older requests; `prev`: newer ones.
    pub links: Links,
    /// Requests a page.
    pub per_page: u32,
    // The HTML form's state, not part of the page's data (XML and JSON leave it out).
    /// The form's values: as typed after a refused request.
    #[serde(skip)]
    pub src: String,
    #[serde(skip)]
    pub dst: String,
    #[serde(skip)]
    pub acc: String,
    /// The i18n keys of what is wrong with the typed values.
    #[serde(skip)]
    pub errors: Vec<&'static str>,
    /// A request was just recorded (after the redirect).
    #[serde(skip)]
    pub requested: bool,
    /// The numbers the form offers as "your number" (the only ones a callback rings first).
    #[serde(skip)]
    pub own_numbers: Vec<String>,
    /// Reload the HTML page by itself: a recent request is still on its way.
    #[serde(skip)]
    pub refresh: bool,
}

#[derive(Serialize, ToSchema)]
#[schema(as = CallbackDeviceOption)]
pub struct DeviceOption {
    pub id: i64,
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct CallbackView {
    pub callback_id: i64,
    pub device: String,
    pub src: String,
    pub dst: String,
    /// `queued`, `dialing`, `answered` or `failed`.
    pub status: String,
    /// Why it failed (empty otherwise).
    pub reason: String,
    pub created_at: Moment,
    pub updated_at: Moment,
}

#[derive(Template)]
#[template(path = "pages/calls/callback.html")]
struct CallbackHtml<'a> {
    c: &'a Chrome,
    v: &'a CallbackPage,
}

impl CallbackHtml<'_> {
    fn status_text<'s>(&self, status: &'s str) -> &'s str {
        match status {
            "queued" => self.c.t("callback.status.queued"),
            "dialing" => self.c.t("callback.status.dialing"),
            "answered" => self.c.t("callback.status.answered"),
            "failed" => self.c.t("callback.status.failed"),
            other => other,
        }
    }

    /// The portal's own reasons translated; the PBX's messages as it wrote them.
    fn reason_text<'r>(&self, reason: &'r str) -> &'r str {
        let key = match reason {
            "PBX unreachable" => "callback.reason.unreachable",
            "authentication failed" => "callback.reason.auth",
            "the PBX did not answer in time" => "callback.reason.timeout",
            "the PBX closed the connection" => "callback.reason.closed",
            "the PBX connection failed" => "callback.reason.closed",
            "the PBX does not speak the Asterisk manager protocol" => "callback.reason.protocol",
            "no answer" => "callback.reason.no_answer",
            "busy" => "callback.reason.busy",
            "congestion" => "callback.reason.congestion",
            "hung up" => "callback.reason.hung_up",
            "the call could not be placed" => "callback.reason.not_placed",
            other => return other,
        };
        self.c.t(key)
    }
}

#[derive(Template)]
#[template(path = "xml/calls/callback.xml")]
struct CallbackXml<'a> {
    v: &'a CallbackPage,
}

impl Page for CallbackPage {
    fn html(&self, c: &Chrome) -> askama::Result<String> {
        CallbackHtml { c, v: self }.render()
    }
    fn xml(&self) -> askama::Result<String> {
        CallbackXml { v: self }.render()
    }
}

/// `src`, `dst`, `acc` in the query string (the seed) or a form body (the page's form).
#[derive(Deserialize, Default)]
pub struct CallbackParams {
    src: Option<String>,
    dst: Option<String>,
    acc: Option<String>,
    /// Set by the redirect after a request from the page's form.
    requested: Option<String>,
    before: Option<String>,
    after: Option<String>,
    per_page: Option<String>,
}

/// The page in the JSON API's description.
pub fn api(doc: &mut ApiDoc) {
    doc.page::<CallbackPage>(
        "Callback",
        "/functions/callback",
        &[
            ("per_page", "Requests a page, 1 to 500 (default 50)"),
            (
                "before",
                "A page position from `links.next`: the older requests",
            ),
            (
                "after",
                "A page position from `links.prev`: the newer requests",
            ),
        ],
    );
}

/// A request as it will be recorded: every part checked.
struct ValidRequest {
    src: DialNumber,
    dst: DialNumber,
    device_id: i64,
}

/// GET /functions/callback
pub async fn show(
    ctx: Ctx,
    user: CurrentUser,
    store: web::Data<Store>,
    pbx: web::Data<Pbx>,
    query: web::Query<CallbackParams>,
) -> AppResult<HttpResponse> {
    let position = Cursor::of(query.before.as_deref(), query.after.as_deref(), ctx.lang)
        .and_then(|c| Ok((c, page_size(query.per_page.as_deref(), ctx.lang)?)))
        .map_err(AppError::BadInput)?;
    let mut page = load(&ctx, user, &store, &pbx, position).await?;
    page.requested = query.requested.is_some();
    // "Call back" on the missed-calls page names the number to ring; the form starts with it.
    if let Some(dst) = query.dst.as_deref().and_then(DialNumber::parse) {
        page.dst = dst.to_string();
    }
    respond(&ctx, &page)
}

/// POST /functions/activate_callback?src=…&dst=…&acc=…
pub async fn activate(
    ctx: Ctx,
    user: CurrentUser,
    store: web::Data<Store>,
    pbx: web::Data<Pbx>,
    query: web::Query<CallbackParams>,
    body: Option<web::Form<CallbackParams>>,
) -> AppResult<HttpResponse> {
    let query = query.into_inner();
    let body = body.map(|b| b.into_inner()).unwrap_or_default();
    let src = query.src.or(body.src).unwrap_or_default();
    let dst = query.dst.or(body.dst).unwrap_or_default();
    let acc = query.acc.or(body.acc).unwrap_or_default();

    let devices = store.call_devices(user.id).await?;
    let device_id = acc.trim().parse::<i64>().ok();
    // Another user's device is not found, whatever else is wrong.
    if let Some(id) = device_id {
        require(&store, user, Resource::Device, id).await?;
    }
    // The lost-phone block stops callbacks too: they are calls.
    if store.user_controls(user.id).await?.lost_phone_at.is_some() {
        return Err(AppError::Forbidden(ctx.lang.t("main.blocked").to_string()));
    }
    let device = device_id.and_then(|id| devices.iter().find(|d| d.id == id));

    let own = store.own_numbers(user.id).await?;
    let valid = validate(&src, &dst, device.map(|d| d.id), &own);
    let request = match valid {
        Ok(r) => r,
        Err(errors) => {
            let message = errors
                .iter()
                .map(|k| ctx.lang.t(k))
                .collect::<Vec<_>>()
                .join("; ");
            return match ctx.format {
                Format::Html => {
                    let mut page =
                        load(&ctx, user, &store, &pbx, (Cursor::First, PAGE_SIZE)).await?;
                    page.error_msg = message;
                    page.errors = errors;
                    (page.src, page.dst, page.acc) = (src, dst, acc);
                    let mut resp = respond(&ctx, &page)?;
                    *resp.status_mut() = StatusCode::BAD_REQUEST;
                    Ok(resp)
                }
                f => Ok(respond_action(
                    f,
                    StatusCode::BAD_REQUEST,
                    "callback",
                    &message,
                )),
            };
        }
    };
    let device = device.ok_or(AppError::NotFound)?;

    let new = NewCallback {
        user_id: user.id,
        device_id: request.device_id,
        src: request.src.as_str(),
        dst: request.dst.as_str(),
        at: time::now(),
    };
    let id = match store.insert_callback(&new, &LIMITS).await? {
        Ok(id) => id,
        Err(retry_after_s) => {
            return Err(AppError::TooManyRequests {
                message: ctx.lang.fill(
                    "callback.too_many",
                    &[("minutes", &((retry_after_s + 59) / 60))],
                ),
                retry_after_s,
            })
        }
    };
    store
        .audit(
            Some(user.id),
            "callback_requested",
            &format!("{} → {} ({})", request.src, request.dst, device.label()),
            &ctx.address,
        )
        .await?;
    let placed = pbx.place(
        store.get_ref().clone(),
        CallbackJob {
            request_id: id,
            user_id: user.id,
            src: request.src.to_string(),
            dst: request.dst.to_string(),
            account: device.username.clone(),
            caller_id: device.caller_id.clone(),
        },
    );
    tracing::info!(
        user_id = user.id,
        request = id,
        placed,
        "callback requested"
    );

    Ok(match ctx.format {
        Format::Html => HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/functions/callback?requested=1"))
            .finish(),
        f => respond_action(
            f,
            StatusCode::OK,
            "callback",
            ctx.lang.t(if placed {
                "callback.activated"
            } else {
                "callback.queued_no_pbx"
            }),
        ),
    })
}

/// Every problem with the typed values, as i18n keys; `device` is the chosen device when it
/// is one of the user's phones, `own` the numbers that may be rung first (`Store::own_numbers`):
/// a callback rings the subscriber's own phone, never someone else's.
fn validate(
    src: &str,
    dst: &str,
    device: Option<i64>,
    own: &[String],
) -> Result<ValidRequest, Vec<&'static str>> {
    let mut errors = Vec::new();
    let src = DialNumber::parse(src);
    let dst = DialNumber::parse(dst);
    match &src {
        None => errors.push("callback.bad_src"),
        Some(s) if !own.iter().any(|n| s.same_number(n)) => errors.push("callback.not_own_src"),
        Some(_) => {}
    }
    if dst.is_none() {
        errors.push("callback.bad_dst");
    }
    if device.is_none() {
        errors.push("callback.bad_device");
    }
    match (src, dst, device) {
        (Some(s), Some(d), _) if s == d => {
            errors.push("callback.same_numbers");
            Err(errors)
        }
        (Some(src), Some(dst), Some(device_id)) if errors.is_empty() => Ok(ValidRequest {
            src,
            dst,
            device_id,
        }),
        _ => Err(errors),
    }
}

/// The page at a position (`(cursor, per_page)`).
async fn load(
    ctx: &Ctx,
    user: CurrentUser,
    store: &Store,
    pbx: &Pbx,
    (cursor, size): (Cursor, u32),
) -> AppResult<CallbackPage> {
    let account = store
        .account(user.id)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let tz = time::zone(&account.time_zone);
    let devices = store.call_devices(user.id).await?;
    let result = store.callback_page(user.id, cursor, size).await?;
    // The links are to this page, also from a refused request's form (POSTed elsewhere).
    let mut base = link_base(ctx, None, &["requested", "src", "dst", "acc"]);
    base.path = "/functions/callback".to_string();
    let rows = result.rows;
    let now = time::now();
    let refresh = pbx.configured()
        && rows.iter().any(|r| {
            (r.status == "queued" || r.status == "dialing") && now - r.created_at < REFRESH_WINDOW_S
        });
    Ok(CallbackPage {
        pagename: "Callback",
        language: ctx.lang.code(),
        error_msg: String::new(),
        userid: user.id,
        username: account.display_name(),
        pbx_configured: pbx.configured(),
        acc: devices
            .first()
            .map(|d| d.id.to_string())
            .unwrap_or_default(),
        aval_devices: devices
            .iter()
            .map(|d| DeviceOption {
                id: d.id,
                name: d.label(),
            })
            .collect(),
        callbacks: rows.into_iter().map(|r| view(r, tz)).collect(),
        links: base.page_links(result.next, result.prev),
        per_page: size,
        src: String::new(),
        dst: String::new(),
        errors: Vec::new(),
        requested: false,
        refresh,
        own_numbers: store.own_numbers(user.id).await?,
    })
}

fn view(r: CallbackRow, tz: chrono_tz::Tz) -> CallbackView {
    CallbackView {
        callback_id: r.id,
        device: format!("{}/{}", r.device_type, r.device_username),
        src: r.src,
        dst: r.dst,
        status: r.status,
        reason: r.reason,
        created_at: Moment::new(r.created_at, tz),
        updated_at: Moment::new(r.updated_at, tz),
    }
}

#[cfg(test)]
mod tests {
    use super::validate;

    #[test]
    fn every_problem_is_named() {
        let own = ["441234567".to_string(), "101".to_string()];
        assert!(validate("+441234567", "4420794", Some(1), &own).is_ok());
        assert!(validate("101", "4420794", Some(1), &own).is_ok());
        assert_eq!(
            validate("x", "", None, &own).err().unwrap(),
            [
                "callback.bad_src",
                "callback.bad_dst",
                "callback.bad_device"
            ]
        );
        assert_eq!(
            validate("4420794", "101", Some(1), &own).err().unwrap(),
            ["callback.not_own_src"]
        );
        assert_eq!(
            validate("101", "1-01", Some(1), &own).err().unwrap(),
            ["callback.same_numbers"]
        );
        assert_eq!(
            validate("101", "12", Some(1), &own).err().unwrap(),
            ["callback.bad_dst"]
        );
    }
}
