//! Application assembly: middleware, routes, the HTTP server.

pub mod access;
pub mod assets;
pub mod auth;
pub mod body_timeout;
pub mod client_address;
pub mod context;
pub mod csrf;
pub mod form;
pub mod format;
pub mod log;
pub mod malformed;
pub mod menu;
pub mod mor_api;
pub mod openapi;
pub mod pbx_answer;
pub mod pbx_api;
pub mod pbx_pin;
pub mod pbx_route;
pub mod render;
pub mod request_line;
pub mod session;
pub mod session_outage;
pub mod session_store;
pub mod upload;
pub mod values;
pub mod webhook;
pub mod xml_text;

use std::net::TcpListener;
use std::path::PathBuf;

use actix_session::SessionMiddleware;
use actix_web::cookie::{Key, SameSite};
use actix_web::dev::Server;
use actix_web::middleware::{from_fn, DefaultHeaders};
use actix_web::{web, App, HttpResponse, HttpServer};
use anyhow::Context as _;

pub use access::{require, OwnUserId};
pub use auth::{CurrentUser, UserAccount};
pub use context::Ctx;
pub use form::{StrictForm, StrictQuery};
pub use format::Format;
pub use render::{
    refuse_form, respond, respond_action, respond_as, see_other, too_long_for_pdf, Chrome, Page,
};
pub use upload::Upload;

use crate::config::Settings;
use crate::error::AppError;
use crate::pages;
use crate::pbx::Pbx;
use crate::store::Store;
use malformed::{Malformed, Part, Problem};

pub const SESSION_COOKIE: &str = "selfcare_session";
/// The cookie's name over HTTPS: a `__Host-` cookie is only accepted from this host, over TLS,
/// for the whole site, so a sibling domain cannot plant one.
pub const SECURE_SESSION_COOKIE: &str = "__Host-selfcare_session";

/// The data directory (`Settings::data_dir`) as handlers receive it: stored files such as
/// faxes are named relative to it.
#[derive(Clone, Debug)]
pub struct DataDir(pub PathBuf);

/// The store a portal process serves from: connected for pages, migrated, reading call
/// history from the replica when one is named.
pub async fn serving_store(settings: &Settings) -> anyhow::Result<Store> {
    let store =
        Store::connect_for_pages(&settings.database_url, settings.database_connections).await?;
    store.migrate().await?;
    match &settings.replica_database_url {
        Some(url) => store.with_replica(url).await,
        None => Ok(store),
    }
}

pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    /// Connects to the database (`serving_store`) and binds the listener (port 0 picks a free
    /// one).
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let store = serving_store(&settings).await?;
        Application::build_with_store(settings, store).await
    }

    pub async fn build_with_store(settings: Settings, store: Store) -> anyhow::Result<Application> {
        let session_store = session_store::Store::open(settings.redis_url.as_deref()).await?;
        let listener = TcpListener::bind(settings.bind)
            .with_context(|| format!("cannot listen on {}", settings.bind))?;
        let port = listener.local_addr()?.port();
        let key = session_key(&settings)?;
        let store = web::Data::new(store);
        let shared_settings = web::Data::new(settings.clone());
        let outbox = web::Data::new(crate::mail::Outbox::spawn(
            store.get_ref().clone(),
            settings.mail.clone(),
        ));
        let data_dir = web::Data::new(DataDir(settings.data_dir.clone()));
        let pbx = web::Data::new(Pbx::new(settings.ami.clone()));
        let wallet = crate::wallet::Wallet::new(store.get_ref().clone(), settings.wallet.clone())?;
        crate::wallet::spawn_reconciler(wallet.clone());
        crate::store::call_months::spawn_month_keeper(store.get_ref().clone());
        let wallet = web::Data::new(wallet);
        let secure = settings.cookie_secure;
        let session_store = web::Data::new(session_store);
        let login_gate = web::Data::new(crate::login_gate::LoginGate::default());
        let mor_credentials = web::Data::new(mor_api::CredentialCache::default());
        // Single sign-on: `web::Data<Oidc>` only when configured (handlers take an Option).
        let oidc = match settings.oidc.clone() {
            Some(s) => Some(web::Data::new(crate::oidc::Oidc::new(
                s,
                store.get_ref().clone(),
            )?)),
            None => None,
        };
        let server = HttpServer::new(move || {
            let sessions = SessionMiddleware::builder(session_store.get_ref().clone(), key.clone())
                .cookie_name(
                    if secure {
                        SECURE_SESSION_COOKIE
                    } else {
                        SESSION_COOKIE
                    }
                    .to_string(),
                )
                .cookie_http_only(true)
                .cookie_same_site(SameSite::Lax)
                .cookie_secure(secure)
                .build();
            App::new()
                .app_data(store.clone())
                .app_data(shared_settings.clone())
                .app_data(outbox.clone())
                .app_data(data_dir.clone())
                .app_data(pbx.clone())
                .app_data(wallet.clone())
                .app_data(session_store.clone())
                .app_data(login_gate.clone())
                .app_data(mor_credentials.clone())
                .configure(|cfg| {
                    if let Some(oidc) = &oidc {
                        cfg.app_data(oidc.clone());
                    }
                })
                .app_data(input_errors())
                .app_data(query_errors())
                .app_data(json_errors())
                .app_data(path_errors())
                // MOR's `/api/<name>` served as our pages (after the request line is normalized).
                .wrap(from_fn(mor_api::dispatch))
                .wrap(security_headers(secure))
                .wrap(from_fn(log::log_request))
                // Outermost, so routing, logging and every guard see the normalized request.
                .wrap(from_fn(request_line::normalize))
                // Static files need no session: they are served while the session store is
                // down (the 503 page's stylesheet among them), and never start a session.
                .service(web::resource("/static/{path:.*}").route(web::get().to(assets::serve)))
                // Called by the payment gateway with a signature, never by a browser session.
                // Asked by the PBX with the operator's token, never by a browser session.
                .service(web::resource("/pbx/authorize").route(web::get().to(pbx_api::authorize)))
                .service(web::resource("/pbx/route").route(web::get().to(pbx_route::route)))
                .service(web::resource("/pbx/pin").route(web::get().to(pbx_pin::verify)))
                .service(
                    web::resource("/payments/webhook/stripe")
                        .app_data(web::PayloadConfig::new(webhook::BODY_LIMIT))
                        .route(web::post().to(webhook::stripe)),
                )
                .service(
                    // The last `wrap` runs first: (log → headers →) outage guard → session →
                    // outage probe → no-store → context → body timeout → CSRF → handler.
                    web::scope("")
                        .wrap(from_fn(csrf::guard))
                        .wrap(from_fn(body_timeout::guard))
                        .wrap(from_fn(context::context))
                        .wrap(no_store())
                        .wrap(from_fn(session_outage::probe))
                        .wrap(sessions)
                        .wrap(from_fn(session_outage::guard))
                        .configure(routes)
                        .default_service(web::to(|| async {
                            Err::<HttpResponse, _>(AppError::NotFound)
                        })),
                )
        })
        .listen(listener)?
        .run();
        Ok(Application { port, server })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Every route of the portal. A route's name is the XML action name its errors are reported under.
fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/",
        web::get().to(|| async {
            HttpResponse::SeeOther()
                .insert_header(("Location", "/callc/main"))
                .finish()
        }),
    )
    .service(
        web::resource("/callc/login")
            .name("login")
            .route(web::get().to(pages::account::login::form))
            .route(web::post().to(pages::account::login::submit)),
    )
    .service(
        web::resource("/callc/login/code")
            .name("login")
            .route(web::get().to(pages::account::login_code::form))
            .route(web::post().to(pages::account::login_code::submit)),
    )
    .service(
        web::resource("/api/login")
            .name("login")
            .route(web::get().to(pages::account::login::legacy))
            .route(web::post().to(pages::account::login::legacy)),
    )
    .service(
        web::resource("/api/openapi.json")
            .name("openapi")
            .route(web::get().to(openapi::serve)),
    )
    .service(
        web::resource("/callc/logout")
            .name("logout")
            .route(web::post().to(pages::account::login::logout)),
    )
    .service(
        web::resource("/callc/main")
            .name("main")
            .route(web::get().to(pages::home::main_page::show)),
    )
    .configure(pages::account::sso::routes)
    .configure(pages::account::api_help::routes)
    .configure(pages::account::password::routes)
    .configure(pages::phone::pin::routes)
    .configure(pages::account::preferences::routes)
    .configure(pages::account::sessions::routes)
    .configure(pages::account::two_factor::routes)
    .configure(pages::home::activity::routes)
    .configure(pages::money::rates::routes)
    .configure(pages::money::destinations::routes)
    .configure(pages::money::payments::routes)
    .configure(pages::money::invoices::routes)
    .configure(pages::money::subscriptions::routes)
    .configure(pages::account::account_tree::routes)
    .configure(pages::money::controls::routes)
    .configure(pages::money::calling_plan::routes)
    .configure(pages::phone::numbers::routes)
    .configure(pages::account::personal_details::routes)
    .configure(pages::phone::devices::routes)
    .configure(pages::phone::clis::routes)
    .configure(pages::phone::phonebook::routes)
    .configure(pages::calls::faxes::routes)
    .configure(pages::calls::callback::routes)
    .configure(pages::calls::call_list::routes)
    .configure(pages::calls::missed_calls::routes)
    .configure(pages::calls::user_stats::routes)
    .configure(pages::money::wallet::routes)
    .configure(crate::tmf::routes);
}

/// The headers on every answer (lower case: they are also set on error answers built by hand).
pub const SECURITY_HEADERS: [(&str, &str); 4] = [
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
    ("x-frame-options", "DENY"),
    (
        "content-security-policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none'; \
         frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    ),
];

/// The headers on every answer; over HTTPS also HSTS (a year), so the browser never tries the
/// site in plain HTTP again.
fn security_headers(https: bool) -> DefaultHeaders {
    let headers = SECURITY_HEADERS
        .iter()
        .fold(DefaultHeaders::new(), |headers, &h| headers.add(h));
    if https {
        headers.add(("strict-transport-security", "max-age=31536000"))
    } else {
        headers
    }
}

/// Pages and exports hold personal data: no cache keeps them (static files are not wrapped).
fn no_store() -> DefaultHeaders {
    DefaultHeaders::new().add(("cache-control", "no-store"))
}

fn input_errors() -> web::FormConfig {
    web::FormConfig::default().error_handler(|err, _| {
        AppError::Malformed(match err {
            actix_web::error::UrlencodedError::Parse(e) => {
                Malformed::from_serde(Part::Form, &e.to_string())
            }
            actix_web::error::UrlencodedError::Overflow { limit, .. } => Malformed {
                part: Part::Form,
                problem: Problem::TooLarge { kb: limit / 1024 },
            },
            _ => Malformed::unreadable(Part::Form),
        })
        .into()
    })
}

fn json_errors() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(256 * 1024)
        .error_handler(|err, _| {
            AppError::Malformed(match err {
                actix_web::error::JsonPayloadError::Deserialize(e) => {
                    Malformed::from_serde(Part::Json, &e.to_string())
                }
                actix_web::error::JsonPayloadError::Overflow { limit }
                | actix_web::error::JsonPayloadError::OverflowKnownLength { limit, .. } => {
                    Malformed {
                        part: Part::Json,
                        problem: Problem::TooLarge { kb: limit / 1024 },
                    }
                }
                _ => Malformed::unreadable(Part::Json),
            })
            .into()
        })
}

fn query_errors() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _| {
        AppError::Malformed(match err {
            actix_web::error::QueryPayloadError::Deserialize(e) => {
                Malformed::from_serde(Part::Query, &e.to_string())
            }
            _ => Malformed::unreadable(Part::Query),
        })
        .into()
    })
}

fn path_errors() -> web::PathConfig {
    web::PathConfig::default().error_handler(|_, _| AppError::NotFound.into())
}

/// The cookie signing and encryption key: read from the data directory, or generated and
/// stored there (readable by the owner only) on first start. Never a key written in the code.
fn session_key(settings: &Settings) -> anyhow::Result<Key> {
    let path = settings.session_key_path();
    if let Ok(bytes) = std::fs::read(&path) {
        return Key::try_from(bytes.as_slice()).map_err(|e| {
            anyhow::anyhow!(
                "{}: not a valid session key ({e}); delete it to make a new one",
                path.display()
            )
        });
    }
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("cannot create {}", settings.data_dir.display()))?;
    let key = Key::generate();
    write_private(&path, key.master())?;
    Ok(key)
}

fn write_private(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    f.write_all(bytes)?;
    Ok(())
}
