//! A subscriber's numbers (DIDs): the ones he has and where their calls go (`/dids`), the pool
//! he picks a new one from (`/dids/available`), and the actions: hold, allocate, point
//! elsewhere, release. The rules live in `crate::numbers`, the races in `store::numbers`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::config::Settings;
use crate::controls::authorize;
use crate::error::{AppError, AppResult};
use crate::money::Money;
use crate::numbers::{Destination, Refusal, E164, HOLD_MINUTES};
use crate::pages::notice;
use crate::store::numbers::PoolFrom;
use crate::store::Store;
use crate::time;
use crate::web::form::StrictForm;
use crate::web::openapi::ApiDoc;
use crate::web::values::{Amount, Links, Moment};
use crate::web::{refuse_form, respond, respond_action, Chrome, Ctx, CurrentUser, Format, Page};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/dids")
            .name("dids")
            .route(web::get().to(show)),
    )
    .service(web::resource("/dids/available").route(web::get().to(available)))
    .service(web::resource("/dids/hold").route(web::post().to(hold)))
    .service(web::resource("/dids/allocate").route(web::post().to(allocate)))
    .service(web::resource("/dids/{did}/destination").route(web::post().to(set_destination)))
    .service(web::resource("/dids/{did}/release").route(web::post().to(release)));
}

const NOTICES: &[&str] = &["allocated", "destination_saved", "released", "hold_dropped"];

/// One of the subscriber's numbers.
#[derive(Serialize, ToSchema)]
pub struct NumberView {
    pub number: String,
    /// ISO 3166 alpha-2.
    pub country: String,
    #[serde(skip)]
    pub country_name: String,
    pub region: String,
    pub monthly_fee: Amount,
    pub currency: String,
    pub allocated: Moment,
    /// `device` or `forward`.
    pub destination_type: &'static str,
    /// The device's extension, or the number calls are forwarded to.
    pub destination: String,
    /// The device as the subscriber named it (empty for a forward).
    pub destination_label: String,
}

/// A number the subscriber holds.
#[derive(Serialize, ToSchema)]
pub struct HoldView {
    pub number: String,
    pub expires: Moment,
    /// UTC seconds (the XML's, for clients that count down; JSON has `expires`).
    #[serde(skip)]
    pub expires_at: i64,
    /// Only right after the hold: the key that allocates it (never stored in clear).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold_key: Option<String>,
}

/// A device calls may go to: (extension, label).
#[derive(Serialize, ToSchema)]
pub struct DeviceChoice {
    pub extension: String,
    pub label: String,
}

#[derive(Serialize, ToSchema)]
pub struct NumbersPage {
    pub pagename: &'static str,
    pub language: &'static str,
    pub userid: i64,
    pub numbers: Vec<NumberView>,
    pub holds: Vec<HoldView>,
    pub devices: Vec<DeviceChoice>,
    /// Both `null`: the numbers a subscriber owns (and holds, at most a few) are given whole.
    pub links: Links,
    #[serde(skip)]
    pub notice: Option<String>,
    #[serde(skip)]
    pub error: Option<String>,
}

impl NumbersPage {
    /// The hold made by this request, whose key the allocation form carries.
    pub fn new_hold(&self) -> Option<&HoldView> {
        self.holds.iter().find(|h| h.hold_key.is_some())
    }

    /// What a new number's destination field starts with: the first device.
    pub fn default_destination(&self) -> &str {
        self.devices.first().map_or("", |d| d.extension.as_str())
    }
}

#[derive(Template)]
#[template(path = "pages/phone/numbers.html")]
struct NumbersHtml<'a> {
    c: &'a Chrome,
    v: &'a NumbersPage,
}

#[derive(Template)]
#[template(path = "xml/phone/numbers.xml")]
struct NumbersXml<'a> {
    v: &'a NumbersPage,
}

impl Page for NumbersPage {
    fn html(&self, c: &Chrome) -> askama::Result<String> {
        NumbersHtml { c, v: self }.render()
    }
    fn xml(&self) -> askama::Result<String> {
        NumbersXml { v: self }.render()
    }
}

async fn load(ctx: &Ctx, store: &Store, user: CurrentUser) -> AppResult<NumbersPage> {
    let a = store
        .account(user.id)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let zone = time::zone(&a.time_zone);
    let now = time::now();
    let devices = store.devices(user.id).await?;
    let numbers = store
        .own_numbers_list(user.id)
        .await?
        .into_iter()
        .map(|n| {
            let (destination_type, destination, destination_label) =
                match (&n.forward_to, &n.device_extension) {
                    (Some(f), _) => ("forward", f.clone(), String::new()),
                    (None, Some(ext)) => (
                        "device",
                        ext.clone(),
                        n.device_description.clone().unwrap_or_default(),
                    ),
                    (None, None) => ("device", String::new(), String::new()),
                };
            NumberView {
                monthly_fee: Amount::new(
                    Money(n.monthly_fee_micros),
                    n.decimals as u32,
                    n.currency.clone(),
                ),
                allocated: Moment::new(n.allocated_at, zone),
                country_name: crate::countries::of_iso2(&n.country)
                    .map_or_else(|| n.country.clone(), |c| c.name.clone()),
                number: n.number,
                country: n.country,
                region: n.region,
                currency: n.currency,
                destination_type,
                destination,
                destination_label,
            }
        })
        .collect();
    let holds = store
        .held_numbers(user.id, now)
        .await?
        .into_iter()
        .map(|h| HoldView {
            number: h.number,
            expires: Moment::new(h.held_until, zone),
            expires_at: h.held_until,
            hold_key: None,
        })
        .collect();
    Ok(NumbersPage {
        pagename: "Numbers",
        language: ctx.lang.code(),
        userid: user.id,
        numbers,
        holds,
        devices: devices
            .iter()
            .map(|d| DeviceChoice {
                extension: d.extension.clone(),
                label: d.label(),
            })
            .collect(),
        links: Links::whole(),
        notice: None,
        error: None,
    })
}

/// GET /dids
pub async fn show(
    ctx: Ctx,
    user: CurrentUser,
    store: web::Data<Store>,
    query: web::Query<notice::DoneQuery>,
) -> AppResult<HttpResponse> {
    let mut page = load(&ctx, &store, user).await?;
    page.notice = notice::text(ctx.lang, "numbers", NOTICES, query.done.as_deref());
    respond(&ctx, &page)
}

/// A refusal: the page with the message for a browser; for clients the failed action (404
/// for a number that is not the subscriber's, 409 for a lost race or a stale hold, 400 else).
async fn refused(
    ctx: &Ctx,
    store: &Store,
    user: CurrentUser,
    status: StatusCode,
    message: String,
) -> AppResult<HttpResponse> {
    let error = match status {
        StatusCode::NOT_FOUND => AppError::NotFound,
        StatusCode::CONFLICT => AppError::Conflict(message.clone()),
        _ => AppError::BadInput(message.clone()),
    };
    let page = async {
        let mut page = load(ctx, store, user).await?;
        page.error = Some(message);
        Ok(page)
    };
    refuse_form(ctx, error, page).await
}

async fn refusal(
    ctx: &Ctx,
    store: &Store,
    user: CurrentUser,
    r: Refusal,
    number: &E164,
) -> AppResult<HttpResponse> {
    let status = match r {
        Refusal::NotFound => StatusCode::NOT_FOUND,
        _ => StatusCode::CONFLICT,
    };
    let msg = ctx.lang.fill(
        r.key(),
        &[
            ("number", &number.as_str()),
            ("max", &crate::numbers::MAX_HOLDS),
        ],
    );
    refused(ctx, store, user, status, msg).await
}

/// The number a form or URL names, parsed; a refusal names the field.
fn number(ctx: &Ctx, field: &str, s: &str) -> Result<E164, String> {
    E164::parse(s).map_err(|e| {
        ctx.lang
            .fill("numbers.bad_number", &[("field", &field), ("why", &e)])
    })
}

/// Where calls should go: one of the subscriber's devices (its extension) or a number in
/// international form that his own controls let him call (a forward is his outgoing call).
/// Devices are looked up among the subscriber's own only.
async fn destination(
    ctx: &Ctx,
    store: &Store,
    settings: &Settings,
    user: CurrentUser,
    own: &E164,
    s: &str,
) -> AppResult<Result<Destination, String>> {
    let s = s.trim();
    let devices = store.devices(user.id).await?;
    if s.starts_with('+') || s.starts_with("00") {
        let n = match E164::parse(s) {
            Ok(n) if n == *own => {
                return Ok(Err(ctx.lang.t("numbers.forward_to_itself").to_string()))
            }
            Ok(n) => n,
            Err(e) => {
                return Ok(Err(ctx.lang.fill(
                    "numbers.bad_number",
                    &[("field", &"destination"), ("why", &e)],
                )))
            }
        };
        if let Some(device) = devices.first() {
            let asked = authorize::authorize(
                store,
                &settings.pbx.dialing,
                &device.username,
                n.as_str(),
                time::now(),
            )
            .await?;
            if !asked.allow && asked.reason != "limit_reached" && asked.reason != "no_credit" {
                return Ok(Err(ctx.lang.fill(
                    "numbers.forward_refused",
                    &[("number", &n.as_str()), ("reason", &asked.reason)],
                )));
            }
        }
        return Ok(Ok(Destination::Forward(n)));
    }
    Ok(devices
        .iter()
        .find(|d| !s.is_empty() && (d.extension == s || d.username == s))
        .map(|d| Destination::Device(d.id))
        .ok_or_else(|| ctx.lang.t("numbers.bad_destination").to_string()))
}

#[derive(Deserialize)]
pub struct PoolQuery {
    country: Option<String>,
    region: Option<String>,
    after: Option<String>,
    before: Option<String>,
}

/// A number offered in the pool.
#[derive(Serialize, ToSchema)]
pub struct PoolView {
    pub number: String,
    pub region: String,
    pub monthly_fee: Amount,
    pub setup_fee: Amount,
    pub currency: String,
}

/// (code, name, free numbers)
#[derive(Serialize, ToSchema)]
pub struct PlaceCount {
    pub code: String,
    pub name: String,
    pub free: i64,
}

#[derive(Serialize, ToSchema)]
pub struct PoolPage {
    pub pagename: &'static str,
    pub language: &'static str,
    pub userid: i64,
    pub country: String,
    pub region: String,
    pub countries: Vec<PlaceCount>,
    pub regions: Vec<PlaceCount>,
    /// A page of the pool, in number order.
    pub numbers: Vec<PoolView>,
    /// `next`: the numbers after this page (`after=`), `prev`: before it (`before=`).
    pub links: Links,
    /// The XML's `next`: the `after` of the next page (empty: none).
    #[serde(skip)]
    pub next: String,
    pub hold_minutes: i64,
}

#[derive(Template)]
#[template(path = "pages/phone/numbers_pool.html")]
struct PoolHtml<'a> {
    c: &'a Chrome,
    v: &'a PoolPage,
}

#[derive(Template)]
#[template(path = "xml/phone/numbers_pool.xml")]
struct PoolXml<'a> {
    v: &'a PoolPage,
}

impl Page for PoolPage {
    fn html(&self, c: &Chrome) -> askama::Result<String> {
        PoolHtml { c, v: self }.render()
    }
    fn xml(&self) -> askama::Result<String> {
        PoolXml { v: self }.render()
    }
}

/// The pages in the JSON API's description.
pub fn api(doc: &mut ApiDoc) {
    doc.page::<NumbersPage>("Money", "/dids", &[]);
    doc.page::<PoolPage>(
        "Money",
        "/dids/available",
        &[
            (
                "country",
                "ISO 3166 alpha-2: the pool of that country (none: the countries only)",
            ),
            ("region", "The pool of one region of the country"),
            (
                "after",
                "A number: the page of numbers after it (`links.next`)",
            ),
            (
                "before",
                "A number: the page of numbers before it (`links.prev`)",
            ),
        ],
    );
}

/// GET /dids/available?country=ISO2[&region=…][&after=NUMBER|&before=NUMBER]
pub async fn available(
    ctx: Ctx,
    user: CurrentUser,
    store: web::Data<Store>,
    query: web::Query<PoolQuery>,
) -> AppResult<HttpResponse> {
    let now = time::now();
    let countries: Vec<PlaceCount> = store
        .pool_countries(now)
        .await?
        .into_iter()
        .map(|(code, free)| PlaceCount {
            name: crate::countries::of_iso2(&code)
                .map(|c| c.name.clone())
                .unwrap_or_else(|| code.clone()),
            code,
            free,
        })
        .collect();
    let country = match query.country.as_deref().map(str::trim) {
        None | Some("") => String::new(),
        Some(c) if c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()) => {
            c.to_ascii_uppercase()
        }
        Some(_) => {
            return Err(AppError::bad_input(ctx.lang.t("numbers.bad_country")));
        }
    };
    let region = query.region.as_deref().map(str::trim).unwrap_or("");
    if region.len() > 100 || region.chars().any(char::is_control) {
        return Err(AppError::bad_input(ctx.lang.t("numbers.bad_region")));
    }
    let position = |field: &str, v: Option<&str>| match v.map(str::trim) {
        None | Some("") => Ok(String::new()),
        Some(a) => number(&ctx, field, a)
            .map_err(AppError::BadInput)
            .map(|n| n.as_str().to_string()),
    };
    let after = position("after", query.after.as_deref())?;
    let before = position("before", query.before.as_deref())?;
    let from = if before.is_empty() {
        PoolFrom::After(&after)
    } else {
        PoolFrom::Before(&before)
    };
    let (regions, (numbers, beyond)) = if country.is_empty() {
        (Vec::new(), (Vec::new(), false))
    } else {
        let regions = store
            .pool_regions(now, &country)
            .await?
            .into_iter()
            .map(|(name, free)| PlaceCount {
                code: name.clone(),
                name,
                free,
            })
            .collect();
        let region = (!region.is_empty()).then_some(region);
        let numbers = store.pool_numbers(now, &country, region, from).await?;
        (regions, numbers)
    };
    // A page read forwards has an earlier page when it started after a number; one read
    // backwards has a later page (the one it came from).
    let (first, last) = (
        numbers.first().map(|n| n.number.clone()),
        numbers.last().map(|n| n.number.clone()),
    );
    let (next, prev) = match from {
        PoolFrom::After(a) => (
            last.filter(|_| beyond),
            (!a.is_empty()).then(|| first.unwrap_or_else(|| a.to_string())),
        ),
        PoolFrom::Before(b) => (
            Some(last.unwrap_or_else(|| b.to_string())).filter(|_| !country.is_empty()),
            first.filter(|_| beyond),
        ),
    };
    let links = Links {
        next: next.as_ref().map(|n| ctx.page_link("after", n)),
        prev: prev.as_ref().map(|n| ctx.page_link("before", n)),
    };
    let next = next.unwrap_or_default();
    let page = PoolPage {
        pagename: "Numbers available",
        language: ctx.lang.code(),
        userid: user.id,
        country,
        region: region.to_string(),
        countries,
        regions,
        numbers: numbers
            .into_iter()
            .map(|n| PoolView {
                monthly_fee: Amount::new(
                    Money(n.monthly_fee_micros),
                    n.decimals as u32,
                    n.currency.clone(),
                ),
                setup_fee: Amount::new(
                    Money(n.setup_fee_micros),
                    n.decimals as u32,
                    n.currency.clone(),
                ),
                number: n.number,
                region: n.region,
                currency: n.currency,
            })
            .collect(),
        links,
        next,
        hold_minutes: HOLD_MINUTES,
    };
    respond(&ctx, &page)
}

#[derive(Deserialize)]
pub struct HoldForm {
    #[serde(default)]
    did: String,
    /// `drop`: give the hold up.
    #[serde(default)]
    action: String,
}

/// POST /dids/hold (`did`): holds the number for [`HOLD_MINUTES`] and answers the numbers page
/// with the hold and its key (the only time the key is told). `action=drop` gives a hold up.
pub async fn hold(
    ctx: Ctx,
    user: CurrentUser,
    store: web::Data<Store>,
    form: StrictForm<HoldForm>,
) -> AppResult<HttpResponse> {
    let form = form.into_inner();
    let n = match number(&ctx, "did", &form.did) {
        Ok(n) => n,
        Err(msg) => return refused(&ctx, &store, user, StatusCode::BAD_REQUEST, msg).await,
    };
    match form.action.as_str() {
        "" => {}
        "drop" => {
            store.release_hold(user.id, &n).await?;
            return Ok(match ctx.format {
                Format::Html => notice::redirect("/dids", "hold_dropped"),
                f => respond_action(f, StatusCode::OK, "hold", "Hold given up"),
            });
        }
        _ => {
            let msg = ctx.lang.t("numbers.bad_action").to_string();
            return refused(&ctx, &store, user, StatusCode::BAD_REQUEST, msg).await;
        }
    }
    let key = crate::tokens::random_token();
    let now = time::now();
    let until = now + HOLD_MINUTES * 60;
    let held = store
        .hold_number(
            user.id,
            &n,
            &crate::tokens::digest(&key),
            now,
            until,
            &ctx.address,
        )
        .await?;
    if let Err(r) = held {
        return refusal(&ctx, &store, user, r, &n).await;
    }
    let mut page = load(&ctx, &store, user).await?;
    if let Some(h) = page.holds.iter_mut().find(|h| h.number == n.as_str()) {
        h.hold_key = Some(key);
    }
    respond(&ctx, &page)
}

#[derive(Deserialize)]
pub struct AllocateForm {
    #[serde(default)]
    did: String,
    #[serde(default)]
    hold_key: String,
    #[serde(default)]
    destination: String,
}

/// POST /dids/allocate (`did`, `hold_key`, `destination`)
pub async fn allocate(
    ctx: Ctx,
    user: CurrentUser,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
    form: StrictForm<AllocateForm>,
) -> AppResult<HttpResponse> {
    let form = form.into_inner();
    let n = match number(&ctx, "did", &form.did) {
        Ok(n) => n,
        Err(msg) => return refused(&ctx, &store, user, StatusCode::BAD_REQUEST, msg).await,
    };
    let key = form.hold_key.trim();
    if key.is_empty() || key.len() > 128 {
        let msg = ctx.lang.t("numbers.hold_key_missing").to_string();
        return refused(&ctx, &store, user, StatusCode::BAD_REQUEST, msg).await;
    }
    let dest = match destination(&ctx, &store, &settings, user, &n, &form.destination).await? {
        Ok(d) => d,
        Err(msg) => return refused(&ctx, &store, user, StatusCode::BAD_REQUEST, msg).await,
    };
    let done = store
        .allocate_number(
            user.id,
            &n,
            &crate::tokens::digest(key),
            &dest,
            time::now(),
            &ctx.address,
        )
        .await?;
    if let Err(r) = done {
        return refusal(&ctx, &store, user, r, &n).await;
    }
    Ok(match ctx.format {
        Format::Html => notice::redirect("/dids", "allocated"),
        f => respond_action(f, StatusCode::OK, "allocate", "Number allocated"),
    })
}

#[derive(Deserialize)]
pub struct DestinationForm {
    #[serde(default)]
    destination: String,
}

/// The `{did}` of a URL, parsed; not a number → 404 like any number not the subscriber's.
fn url_number(path: &str) -> AppResult<E164> {
    E164::parse(path).map_err(|_| AppError::NotFound)
}

/// POST /dids/{did}/destination (`destination`: a device's extension or a number)
pub async fn set_destination(
    ctx: Ctx,
    user: CurrentUser,
    store: web::Data<Store>,
    settings: web::Data<Settings>,
    path: web::Path<String>,
    form: StrictForm<DestinationForm>,
) -> AppResult<HttpResponse> {
    let n = url_number(&path)?;
    let dest = match destination(
        &ctx,
        &store,
        &settings,
        user,
        &n,
        &form.into_inner().destination,
    )
    .await?
    {
        Ok(d) => d,
        Err(msg) => return refused(&ctx, &store, user, StatusCode::BAD_REQUEST, msg).await,
    };
    if let Err(r) = store
        .set_number_destination(user.id, &n, &dest, &ctx.address)
        .await?
    {
        return refusal(&ctx, &store, user, r, &n).await;
    }
    Ok(match ctx.format {
        Format::Html => notice::redirect("/dids", "destination_saved"),
        f => respond_action(f, StatusCode::OK, "destination", "Destination saved"),
    })
}

/// POST /dids/{did}/release
pub async fn release(
    ctx: Ctx,
    user: CurrentUser,
    store: web::Data<Store>,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let n = url_number(&path)?;
    if let Err(r) = store.release_number(user.id, &n, &ctx.address).await? {
        return refusal(&ctx, &store, user, r, &n).await;
    }
    Ok(match ctx.format {
        Format::Html => notice::redirect("/dids", "released"),
        f => respond_action(f, StatusCode::OK, "release", "Number released"),
    })
}
