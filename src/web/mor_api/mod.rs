//! Kolmisoft MOR's API, for clients written against MOR itself: `/api/<name>?u=USER&p=PASSWORD`
//! (GET, or a POST form with the same fields) answers the XML of the matching page of the
//! portal. Nothing is copied: the request is re-dispatched, before routing, as the page's own
//! route (`ENDPOINTS` maps MOR's names to our paths), so the page's handler and view model
//! answer it, as they answer a browser.
//!
//! - **Stateless.** A page call is authenticated by its `u`/`p` alone; the user id is carried to
//!   the `context` middleware in the request's extensions (`MorCall`) instead of a session, and
//!   no session is created. `user_login` (our `/api/login`) opens a session, as MOR's does;
//!   `logout`/`user_logout` end the caller's session if it has one.
//! - **No argon2 per request after the first.** A right password is remembered for
//!   `CACHE_TTL` in a bounded in-memory cache (`CredentialCache`), keyed by the user name and a
//!   SHA-256 of the password with a per-process random salt (never the password itself), holding
//!   the user id and the password hash it was verified against. A hit counts only while the
//!   user's current hash is that one, the user is not blocked, has no two-factor login, and the
//!   login throttle does not lock the name out from this address: a password change, a block
//!   or a lock-out takes effect at once. A miss is a normal login (`pages::account::login`): throttled,
//!   argon2 on the bounded pool, failures counted. An account with two-factor login is refused.
//! - **MOR's `hash`.** When the operator has set an API secret key (`selfcare api-key set`),
//!   each request must carry `hash` = SHA-1 (hex) of the values of the endpoint's hashed
//!   parameters, in MOR's order (`Endpoint::hashed`; those absent are skipped), followed by the
//!   key. `u` and `p` are never hashed. Wrong or missing: `Incorrect hash`.
//! - **Failures are HTTP 200.** MOR's clients throw on a status of 400 or more before reading
//!   the XML, so a refusal here answers 200 with MOR's `<page><status><error>…</error></status>
//!   </page>`, and a page's own refusal (its failed `<action>`) is sent with 200 too. Only XML
//!   answers of these paths to programs: JSON (`?format=json`) and browsers (`Sec-Fetch-Site`
//!   or `Origin` sent) keep their real status, as do server errors (5xx) and the login
//!   throttle's lock-out (429 with `Retry-After`): those are not answers but "try again later",
//!   and a client that asks again at once is held back (`login_gate`).

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method, StatusCode, Uri};
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpMessage, HttpResponse};
use askama::Template;

mod credentials;
mod endpoints;

pub use credentials::{CacheKey, CredentialCache, CACHE_MAX, CACHE_TTL};
pub use endpoints::mor_hash;
use endpoints::{endpoint, Auth, Endpoint, CONSUMED, RENAMED, USER_SELECTORS};

use super::context::Ctx;
use super::format::Format;
use crate::config::Settings;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::login_gate::LoginGate;
use crate::login_guard::Verdict;
use crate::pages::account::login::{authenticate_api, ApiLogin};
use crate::store::settings::MOR_API_SECRET_KEY;
use crate::store::Store;

/// A MOR API request, as the `context` middleware sees it: legacy (XML by default, no CSRF
/// token), and for a page call the user its `u`/`p` proved, in place of a session's.
#[derive(Clone, Copy, Debug)]
pub struct MorCall {
    pub user_id: Option<i64>,
}

/// Middleware (before routing): serves a MOR API request as its page's route.
pub async fn dispatch(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(endpoint) = endpoint(req.path()) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let (req, params) = match read_params(req).await {
        Ok(read) => read,
        Err((req, message)) => {
            return Ok(refusal(
                req,
                false,
                Refusal::new(StatusCode::PAYLOAD_TOO_LARGE, message),
            ))
        }
    };
    // `?format=json` asks for JSON: its refusals keep their real status.
    let json = param(&params, "format").is_some_and(|f| f.eq_ignore_ascii_case("json"));
    if endpoint.auth == Auth::Session && super::csrf::from_another_site(req.headers()) {
        // A browser sent here by another site's page would be logged out (logout CSRF).
        let refused = Refusal::new(
            StatusCode::FORBIDDEN,
            "A logout from another site's page is refused".to_string(),
        );
        return Ok(refusal(req, json, refused));
    }
    let store = req.app_data::<web::Data<Store>>().cloned();
    let Some(store) = store else {
        let e = AppError::Internal(anyhow::anyhow!("no store in app data"));
        return Ok(failure(req, json, endpoint, &e));
    };
    match check_hash(&store, endpoint, &params).await {
        Ok(true) => {}
        Ok(false) => {
            let refused = Refusal::new(StatusCode::FORBIDDEN, "Incorrect hash".to_string());
            return Ok(refusal(req, json, refused));
        }
        Err(e) => return Ok(failure(req, json, endpoint, &e)),
    }
    let user_id = if endpoint.auth == Auth::Stateless {
        match stateless_user(&req, &store, &params).await {
            Ok(id) => Some(id),
            Err(Refused::Answer(refused)) => return Ok(refusal(req, json, refused)),
            Err(Refused::Error(e)) => return Ok(failure(req, json, endpoint, &e)),
        }
    } else {
        None
    };
    if let Some(id) = user_id {
        match names_only_itself(&store, id, &params).await {
            Ok(true) => {}
            Ok(false) => {
                let refused = Refusal::new(StatusCode::NOT_FOUND, "User was not found".to_string());
                return Ok(refusal(req, json, refused));
            }
            Err(e) => return Ok(failure(req, json, endpoint, &e)),
        }
    }
    let req = match redispatch(req, endpoint, &params) {
        Ok(req) => req,
        Err((req, refused)) => return Ok(refusal(req, json, refused)),
    };
    if endpoint.auth != Auth::Login {
        req.extensions_mut().insert(MorCall { user_id });
    }
    let browser = from_a_browser(&req);
    let mut res = next.call(req).await?.map_into_boxed_body();
    // A page's refusal in XML: MOR's clients read it only from a 200. A lock-out keeps its
    // 429 and Retry-After (see the module's notes), a browser its real status.
    let xml = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/xml") || ct.starts_with("text/xml"));
    let status = res.status();
    if xml && !browser && status.is_client_error() && status != StatusCode::TOO_MANY_REQUESTS {
        *res.response_mut().status_mut() = StatusCode::OK;
    }
    Ok(res)
}

/// A browser says where its request comes from (`Sec-Fetch-Site`, `Origin`); programs do not.
fn from_a_browser(req: &ServiceRequest) -> bool {
    req.headers().contains_key("sec-fetch-site") || req.headers().contains_key(header::ORIGIN)
}

/// The request's parameters: the query's, then a form body's (a POST), first value of a name
/// winning. The body is read (bounded) and handed on unchanged.
async fn read_params(
    req: ServiceRequest,
) -> Result<(ServiceRequest, Vec<(String, String)>), (ServiceRequest, String)> {
    let mut params: Vec<(String, String)> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if req.method() != Method::POST || !is_form {
        return Ok((req, params));
    }
    let (http_req, mut payload) = req.into_parts();
    let bytes = match web::Bytes::from_request(&http_req, &mut payload).await {
        Ok(b) if b.len() <= super::form::LIMIT => b,
        _ => {
            let req = ServiceRequest::from_parts(http_req, Payload::None);
            return Err((req, "The form is too large".to_string()));
        }
    };
    let body: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
    params.extend(body);
    Ok((
        ServiceRequest::from_parts(http_req, Payload::from(bytes)),
        params,
    ))
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// True when no key is set, or the request's `hash` is the right one.
async fn check_hash(
    store: &Store,
    endpoint: &Endpoint,
    params: &[(String, String)],
) -> Result<bool, AppError> {
    let Some(key) = store.setting(MOR_API_SECRET_KEY).await? else {
        return Ok(true);
    };
    let values: Vec<&str> = endpoint
        .hashed
        .iter()
        .filter_map(|name| param(params, name))
        .collect();
    let expected = mor_hash(&values, &key);
    let given = param(params, "hash")
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    Ok(crate::tokens::constant_time_eq(
        expected.as_bytes(),
        given.as_bytes(),
    ))
}

enum Refused {
    /// Answered with MOR's error text.
    Answer(Refusal),
    Error(AppError),
}

/// A request refused here: MOR's error text, the real status (for JSON and browsers, and a
/// lock-out's 429), and when to try again.
struct Refusal {
    status: StatusCode,
    message: String,
    retry_after_s: Option<i64>,
}

impl Refusal {
    fn new(status: StatusCode, message: String) -> Refusal {
        Refusal {
            status,
            message,
            retry_after_s: None,
        }
    }
}

impl From<AppError> for Refused {
    fn from(e: AppError) -> Self {
        match e {
            AppError::TooManyRequests {
                message,
                retry_after_s,
            } => Refused::Answer(Refusal {
                status: StatusCode::TOO_MANY_REQUESTS,
                message,
                retry_after_s: Some(retry_after_s),
            }),
            other => Refused::Error(other),
        }
    }
}

impl From<sqlx::Error> for Refused {
    fn from(e: sqlx::Error) -> Self {
        Refused::Error(e.into())
    }
}

const LOGIN_FAILED: &str = "login.failed";
const TWO_FACTOR: &str = "two_factor.login.legacy";

/// A refused login, with the message of `key` (English, as MOR's clients read it).
fn unauthorized(key: &str) -> Refused {
    Refused::Answer(Refusal::new(
        StatusCode::UNAUTHORIZED,
        Lang::En.t(key).to_string(),
    ))
}

/// The user `u`/`p` prove: from the cache when it still holds, else by a normal login.
async fn stateless_user(
    req: &ServiceRequest,
    store: &Store,
    params: &[(String, String)],
) -> Result<i64, Refused> {
    let (Some(settings), Some(gate), Some(cache)) = (
        req.app_data::<web::Data<Settings>>(),
        req.app_data::<web::Data<LoginGate>>(),
        req.app_data::<web::Data<CredentialCache>>(),
    ) else {
        return Err(Refused::Error(AppError::Internal(anyhow::anyhow!(
            "MOR API state missing from app data"
        ))));
    };
    let username = param(params, "u").unwrap_or("").trim();
    let password = param(params, "p").unwrap_or("");
    let address = super::context::client_address(req);
    let key = cache.key(username, password);
    if let Some(id) = remembered(store, settings, cache, &key, &address).await? {
        return Ok(id);
    }
    // One login at a time per credential: calls sent together wait for the first one and then
    // find it remembered (else their reserved attempts would count as failures for each other,
    // and a client starting with parallel calls would lock itself out).
    let flight = cache.flight(&key);
    let _turn = flight.lock.lock().await;
    if let Some(id) = remembered(store, settings, cache, &key, &address).await? {
        return Ok(id);
    }
    let ctx = Ctx::for_address(address);
    match authenticate_api(
        store,
        &settings.login,
        gate,
        &ctx,
        username,
        password.to_string(),
    )
    .await?
    {
        ApiLogin::Yes {
            user_id,
            password_hash,
        } => {
            cache.insert(key, user_id, password_hash);
            Ok(user_id)
        }
        ApiLogin::NeedsCode => Err(unauthorized(TWO_FACTOR)),
        ApiLogin::No => Err(unauthorized(LOGIN_FAILED)),
    }
}

/// The user of a remembered credential, when it still holds: the user's current password hash
/// is the one it was verified against, the user is not blocked and has no two-factor login,
/// and the throttle does not lock the name out from this address. A changed hash forgets it
/// (None: a normal login decides).
async fn remembered(
    store: &Store,
    settings: &Settings,
    cache: &CredentialCache,
    key: &CacheKey,
    address: &str,
) -> Result<Option<i64>, Refused> {
    let Some(hit) = cache.get(key) else {
        return Ok(None);
    };
    match store.stateless_login_state(hit.user_id).await? {
        Some((hash, blocked, two)) if hash == hit.password_hash => {
            if blocked != 0 {
                cache.remove(key);
                return Err(unauthorized(LOGIN_FAILED));
            }
            if two != 0 {
                cache.remove(key);
                return Err(unauthorized(TWO_FACTOR));
            }
            // The throttle's verdict for this name from this address, as a login's.
            let failures = store
                .login_failures(&key.username, address, -1, &settings.login)
                .await?;
            if let Verdict::Locked { retry_after_s } =
                settings.login.decide(&failures, crate::time::now())
            {
                let minutes = (retry_after_s + 59) / 60;
                let message = Lang::En.fill("login.locked", &[("minutes", &minutes)]);
                return Err(Refused::Answer(Refusal {
                    status: StatusCode::TOO_MANY_REQUESTS,
                    message,
                    retry_after_s: Some(retry_after_s),
                }));
            }
            return Ok(Some(hit.user_id));
        }
        // The password (or the user) changed: the normal login decides.
        _ => cache.remove(key),
    }
    Ok(None)
}

/// MOR's `user_id`, `s_user` and `username` name the user a call is about; a subscriber may
/// name only itself (else MOR's `User was not found`): true when they do.
async fn names_only_itself(
    store: &Store,
    user_id: i64,
    params: &[(String, String)],
) -> Result<bool, AppError> {
    for name in ["user_id", "s_user"] {
        if let Some(v) = param(params, name) {
            let v = v.trim();
            if !(v.is_empty() || v == "all" || v.parse::<i64>().ok() == Some(user_id)) {
                return Ok(false);
            }
        }
    }
    if let Some(v) = param(params, "username") {
        let own = store.password_of(user_id).await?.map(|(name, _)| name);
        return Ok(own.as_deref() == Some(v.trim()));
    }
    Ok(true)
}

/// The request made the page's: our path (and method), the page's parameters in the query
/// (MOR's names for ours renamed; the credentials, the hash and the user selectors dropped).
fn redispatch(
    mut req: ServiceRequest,
    endpoint: &Endpoint,
    params: &[(String, String)],
) -> Result<ServiceRequest, (ServiceRequest, Refusal)> {
    if endpoint.auth == Auth::Login {
        // `/api/login` reads `u`/`p` itself, from the query or the form as sent.
        let uri = match req.query_string() {
            "" => endpoint.path.to_string(),
            q => format!("{}?{q}", endpoint.path),
        };
        let Ok(uri) = uri.parse::<Uri>() else {
            return Err((req, invalid()));
        };
        set_uri(&mut req, uri);
        return Ok(req);
    }
    let mut path = endpoint.path.to_string();
    if path.contains("{dest_gr_id}") {
        let id = param(params, "dest_gr_id")
            .and_then(|v| v.trim().parse::<i64>().ok())
            .filter(|id| *id > 0);
        let Some(id) = id else {
            let refused = Refusal::new(
                StatusCode::NOT_FOUND,
                "Destination group was not found".to_string(),
            );
            return Err((req, refused));
        };
        path = path.replace("{dest_gr_id}", &id.to_string());
    }
    let mut query: Vec<(&str, &str)> = Vec::new();
    for (k, v) in params {
        if CONSUMED.contains(&k.as_str())
            || USER_SELECTORS.contains(&k.as_str())
            || (endpoint.hashed.contains(&k.as_str()) && !is_page_param(k))
        {
            continue;
        }
        let name = RENAMED
            .iter()
            .find(|(mor, _)| mor == k)
            .map_or(k.as_str(), |(_, ours)| ours);
        if !query.iter().any(|(q, _)| *q == name) {
            query.push((name, v));
        }
    }
    let query = serde_urlencoded::to_string(&query).unwrap_or_default();
    let uri = if query.is_empty() {
        path.parse::<Uri>()
    } else {
        format!("{path}?{query}").parse::<Uri>()
    };
    let Ok(uri) = uri else {
        return Err((req, invalid()));
    };
    set_uri(&mut req, uri);
    req.head_mut().method = endpoint.method.clone();
    // The fields are in the query now: the page reads no body.
    req.head_mut().headers.remove(header::CONTENT_TYPE);
    req.set_payload(Payload::None);
    Ok(req)
}

fn invalid() -> Refusal {
    Refusal::new(StatusCode::BAD_REQUEST, "Invalid parameters".to_string())
}

/// Hashed MOR parameters the page itself reads (renamed or as they are).
fn is_page_param(name: &str) -> bool {
    matches!(
        name,
        "period_start" | "period_end" | "s_call_type" | "s_device"
    )
}

fn set_uri(req: &mut ServiceRequest, uri: Uri) {
    req.match_info_mut().get_mut().update(&uri);
    req.head_mut().uri = uri;
}

#[derive(Template)]
#[template(path = "xml/mor_error.xml")]
struct MorError<'a> {
    error: &'a str,
}

/// A server-side failure (the database not answering): the endpoint's failed action with its
/// real status (5xx, `Retry-After` when passing), as the page would answer it.
fn failure(req: ServiceRequest, json: bool, endpoint: &Endpoint, e: &AppError) -> ServiceResponse {
    let mut ctx = Ctx::for_address(String::new());
    if json {
        ctx.format = Format::Json;
        ctx.page_format = Format::Json;
    }
    let resp = super::context::error_response(&ctx, Some(endpoint.name), e);
    let (http_req, _) = req.into_parts();
    ServiceResponse::new(http_req, resp)
}

/// A refusal: for a program, MOR's failed answer with HTTP 200 (its clients throw on 400 and
/// above before reading), a lock-out with its 429 and `Retry-After`; a browser gets the real
/// status; `json` (`?format=json`): the JSON error shape with the real status.
fn refusal(req: ServiceRequest, json: bool, refused: Refusal) -> ServiceResponse {
    let real = json || from_a_browser(&req) || refused.status == StatusCode::TOO_MANY_REQUESTS;
    let status = if real { refused.status } else { StatusCode::OK };
    let mut resp = if json {
        super::render::json_error(
            status,
            super::render::code_of_status(status),
            &refused.message,
        )
    } else {
        let body = MorError {
            error: &refused.message,
        }
        .render()
        .unwrap_or_default();
        HttpResponse::build(status)
            .content_type(Format::Xml.content_type())
            .body(body)
    };
    if let Some(s) = refused.retry_after_s {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(s.max(1)));
    }
    let (http_req, _) = req.into_parts();
    ServiceResponse::new(http_req, resp)
}
