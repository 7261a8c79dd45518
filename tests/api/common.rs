//! `spawn_app`: a fresh database and a running portal for one test.

use std::path::PathBuf;

use selfcare::demo::{self, DemoOptions};
use selfcare::store::Store;
use selfcare::{Application, Settings};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs a test body once on SQLite and once on PostgreSQL, as two test functions;
/// `on_both_databases!(name, needs TOOL…)` for a body that needs outside tools (`needs!`).
#[macro_export]
macro_rules! on_both_databases {
    ($name:ident $(, needs $($tool:ident)+)?) => {
        mod $name {
            $crate::needs! { [$($($tool)+)?] []
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::common::Backend::Sqlite).await
                }
            }
            // Without a server named at build time (see build.rs), listed as ignored with the
            // reason rather than as passed.
            $crate::needs! { [$($($tool)+)?] [selfcare_test_postgres]
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(
                    not(selfcare_test_postgres),
                    ignore = "SELFCARE_TEST_POSTGRES is not set"
                )]
                async fn postgres() {
                    super::$name($crate::common::Backend::Postgres).await
                }
            }
        }
    };
}

/// Runs a test body without a database parameter that needs outside tools, as the test
/// `name::run`: `async fn name() { … }` and `with_tools!(name, needs chromium);`.
#[macro_export]
macro_rules! with_tools {
    ($name:ident, needs $($tool:ident)+) => {
        mod $name {
            $crate::needs! { [$($tool)+] []
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn run() {
                    super::$name().await
                }
            }
        }
    };
}

/// The one list of the outside tools tests drive, with what to install: where build.rs did not
/// find a tool (and `CI` is not set), a test that needs it is listed as ignored with the reason.
/// `needs! { [TOOL…] [CFG…] ITEM }`: CFG, conditions the item is already ignored without, keep
/// one `ignore` on it (a second would be an unused attribute).
#[macro_export]
macro_rules! needs {
    ([] [$($given:meta),*] $item:item) => { $item };
    ([chromium $($more:ident)*] [$($given:meta),*] $item:item) => { $crate::needs! { @
        selfcare_has = "chromium", "needs Chromium (apt-get install chromium chromium-driver)",
        [$($more)*] [$($given),*] $item
    } };
    ([poppler $($more:ident)*] [$($given:meta),*] $item:item) => { $crate::needs! { @
        selfcare_has = "poppler", "needs pdftotext, pdfinfo and qpdf (apt-get install poppler-utils qpdf)",
        [$($more)*] [$($given),*] $item
    } };
    ([aiosmtpd $($more:ident)*] [$($given:meta),*] $item:item) => { $crate::needs! { @
        selfcare_has = "aiosmtpd", "needs Python's aiosmtpd (pip install aiosmtpd)",
        [$($more)*] [$($given),*] $item
    } };
    ([pyotp $($more:ident)*] [$($given:meta),*] $item:item) => { $crate::needs! { @
        selfcare_has = "pyotp", "needs Python's pyotp (pip install pyotp)",
        [$($more)*] [$($given),*] $item
    } };
    ([openapi_core $($more:ident)*] [$($given:meta),*] $item:item) => { $crate::needs! { @
        selfcare_has = "openapi_core", "needs Python's openapi-core and requests (pip install openapi-core requests)",
        [$($more)*] [$($given),*] $item
    } };
    ([localstripe $($more:ident)*] [$($given:meta),*] $item:item) => { $crate::needs! { @
        selfcare_has = "localstripe", "needs localstripe (pip install localstripe) or SELFCARE_TEST_STRIPE",
        [$($more)*] [$($given),*] $item
    } };
    ([oidc_provider $($more:ident)*] [$($given:meta),*] $item:item) => { $crate::needs! { @
        selfcare_has = "oidc_provider", "needs Node.js and `npm ci` in tests/support/oidc_provider",
        [$($more)*] [$($given),*] $item
    } };
    (@ $tool:meta, $why:literal, [$($more:ident)*] [$($given:meta),*] $item:item) => {
        $crate::needs! { [$($more)*] [$($given,)* $tool]
            #[cfg_attr(all($($given,)* not($tool)), ignore = $why)]
            $item
        }
    };
}

/// `on_both_databases!` for a test that also needs Redis: without `SELFCARE_TEST_REDIS` at
/// build time both variants are listed as ignored, with the reason.
#[macro_export]
macro_rules! on_both_databases_with_redis {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(not(selfcare_test_redis), ignore = "SELFCARE_TEST_REDIS is not set")]
            async fn sqlite() {
                super::$name($crate::common::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(
                not(all(selfcare_test_postgres, selfcare_test_redis)),
                ignore = "SELFCARE_TEST_POSTGRES or SELFCARE_TEST_REDIS is not set"
            )]
            async fn postgres() {
                super::$name($crate::common::Backend::Postgres).await
            }
        }
    };
}

/// A port free on 127.0.0.1 now, for a server that must know its address before it starts
/// (a child process, or the OIDC provider and the portal, which name each other). It is taken below Linux's ephemeral range
/// (32768–60999), so a listener other tests bind to port 0 meanwhile cannot be given it, and
/// never handed out twice in this process: two tests checking the same free port at once
/// would otherwise both be given it (a run failed with "cannot listen").
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    for _ in 0..1000 {
        let port = rand::Rng::gen_range(&mut rand::thread_rng(), 20_000..32_000);
        if !given.contains(&port) && std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            given.push(port);
            return port;
        }
    }
    panic!("no free port between 20000 and 32000")
}

/// The PostgreSQL server the tests may use. When the variable is set, a server that cannot be
/// reached fails the tests (it never skips them).
pub fn postgres_server() -> Option<String> {
    std::env::var("SELFCARE_TEST_POSTGRES")
        .ok()
        .filter(|s| !s.trim().is_empty())
}

pub struct TestApp {
    pub address: String,
    /// The database's URL, for running the command line against it.
    pub database_url: String,
    pub store: Store,
    pub client: reqwest::Client,
    pub data_dir: PathBuf,
    _dir: tempfile::TempDir,
    pg_database: Option<(String, String)>,
}

/// A running portal on an empty, migrated database.
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with_settings(backend, |_| {}).await
}

/// Like `spawn_app`, with settings adjusted by `adjust` before the portal starts.
pub async fn spawn_app_with_settings(
    backend: Backend,
    adjust: impl FnOnce(&mut Settings),
) -> TestApp {
    spawn_app_in(backend, "", adjust).await
}

/// Like `spawn_app`, a PostgreSQL database created `WITH` the options `created_with` (a
/// collation, say); SQLite ignores them.
async fn spawn_app_in(
    backend: Backend,
    created_with: &str,
    adjust: impl FnOnce(&mut Settings),
) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().join("data");
    let (url, pg_database) = match backend {
        Backend::Sqlite => (selfcare::config::default_sqlite_url(&data_dir), None),
        Backend::Postgres => {
            let server = postgres_server().expect("SELFCARE_TEST_POSTGRES");
            let name = format!("selfcare_test_{:016x}", rand::random::<u64>());
            let admin = Store::connect(&server).await.unwrap_or_else(|e| {
                panic!("SELFCARE_TEST_POSTGRES is set but the server cannot be reached: {e:#}")
            });
            sqlx::query(&format!("CREATE DATABASE \"{name}\" {created_with}"))
                .execute(admin.pool())
                .await
                .expect("create test database");
            admin.close().await;
            (database_url(&server, &name), Some((server, name)))
        }
    };
    let mut app = spawn_app_on(url, dir, adjust).await;
    app.pg_database = pg_database;
    app
}

/// A running portal on the (migrated on start) database at `url`, its data folder in `dir`.
pub async fn spawn_app_on(
    url: String,
    dir: tempfile::TempDir,
    adjust: impl FnOnce(&mut Settings),
) -> TestApp {
    let data_dir = dir.path().join("data");
    let mut settings =
        Settings::new("127.0.0.1:0", Some(url.clone()), data_dir.clone()).expect("settings");
    // Mail is sent at once in tests (the outbox is woken on every new message anyway).
    settings.mail.poll = std::time::Duration::from_millis(200);
    adjust(&mut settings);
    let app = Application::build(settings).await.expect("application");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let store = Store::connect(&url).await.expect("test connection");
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    TestApp {
        address,
        database_url: url,
        store,
        client,
        data_dir,
        _dir: dir,
        pg_database: None,
    }
}

/// A running portal with the demo data (a few thousand calls).
pub async fn spawn_demo_app(backend: Backend) -> TestApp {
    spawn_demo_app_with_settings(backend, |_| {}).await
}

pub async fn spawn_demo_app_with_settings(
    backend: Backend,
    adjust: impl FnOnce(&mut Settings),
) -> TestApp {
    let app = spawn_app_with_settings(backend, adjust).await;
    fill_demo(app).await
}

/// A running portal with the demo data on a PostgreSQL database whose text sorts in ICU's
/// `locale` (a server set up for a language, where this machine's default is `C`).
pub async fn spawn_demo_app_sorting_in(locale: &str) -> TestApp {
    let created_with =
        format!("TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE '{locale}' LOCALE 'C.UTF-8'");
    fill_demo(spawn_app_in(Backend::Postgres, &created_with, |_| {}).await).await
}

async fn fill_demo(app: TestApp) -> TestApp {
    // The believable demo (what `serve --demo` makes), with a third subscriber (`user3`).
    let opts = DemoOptions {
        users: 3,
        calls: None,
        seed: 7,
    };
    demo::fill(&app.store, &app.data_dir, &opts)
        .await
        .expect("demo data");
    app
}

/// The server URL with its database name replaced.
fn database_url(server: &str, db: &str) -> String {
    let (base, query) = match server.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (server, None),
    };
    let after_scheme = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[after_scheme..].find('/') {
        Some(slash) => &base[..after_scheme + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}

/// Another portal process on the same database and data folder (so the same session key):
/// returns its address. It runs until the test ends.
pub async fn spawn_second_process(app: &TestApp, adjust: impl FnOnce(&mut Settings)) -> String {
    let mut settings = Settings::new(
        "127.0.0.1:0",
        Some(app.database_url.clone()),
        app.data_dir.clone(),
    )
    .expect("settings");
    adjust(&mut settings);
    let second = Application::build(settings).await.expect("second process");
    let address = format!("http://127.0.0.1:{}", second.port());
    tokio::spawn(second.run_until_stopped());
    address
}

/// A tool or server a test needs is missing when the test runs. A test that needs a tool is
/// marked with `needs!`, so it runs only where build.rs found the tool (or with `CI` set): its
/// absence now is a failure, never a silent pass.
pub fn missing(what: &str) -> ! {
    panic!("missing: {what} (tests that need it are listed as ignored when it is not installed at build time; see `needs!`)");
}

/// The Redis server the tests may use; like PostgreSQL, set means required.
pub fn redis_server() -> Option<String> {
    std::env::var("SELFCARE_TEST_REDIS")
        .ok()
        .filter(|s| !s.trim().is_empty())
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// A page's JSON, asked with `Accept: application/json` (its links then name no format),
    /// whatever the status.
    pub async fn json(&self, path: &str) -> serde_json::Value {
        let r = self.get_as(path, "application/json").await;
        r.json().await.expect("a JSON body")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    /// A GET with the `Accept` header a client of that format sends.
    pub async fn get_as(&self, path: &str, accept: &str) -> reqwest::Response {
        let r = self.client.get(self.url(path)).header("Accept", accept);
        r.send().await.expect("GET")
    }

    pub async fn get_xml(&self, path: &str) -> (u16, String) {
        let r = self.get_as(path, "application/xml").await;
        let status = r.status().as_u16();
        (status, r.text().await.expect("body"))
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .form(form)
            .send()
            .await
            .expect("POST")
    }

    /// The session's CSRF token, read from a page's form as a browser would.
    pub async fn csrf_token(&self) -> String {
        let html = self
            .get("/callc/login")
            .await
            .text()
            .await
            .expect("login page");
        let marker = "name=\"csrf_token\" value=\"";
        let start = html.find(marker).expect("a csrf_token field") + marker.len();
        html[start..start + 64].to_string()
    }

    /// Posts a browser form with the session's CSRF token, as the page's own form would.
    pub async fn submit_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let token = self.csrf_token().await;
        let mut fields: Vec<(&str, &str)> = form.to_vec();
        fields.push(("csrf_token", &token));
        self.post_form(path, &fields).await
    }

    pub async fn legacy_login(&self, user: &str, password: &str) -> (u16, String) {
        let r = self
            .client
            .get(self.url("/api/login"))
            .query(&[("u", user), ("p", password)])
            .send()
            .await
            .expect("login");
        let status = r.status().as_u16();
        (status, r.text().await.expect("body"))
    }

    pub async fn scalar(&self, sql: &str) -> i64 {
        let (n,): (i64,) = sqlx::query_as(sql)
            .fetch_one(self.store.pool())
            .await
            .expect(sql);
        n
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some((server, name)) = self.pg_database.take() {
            // Dropping runs outside the test's runtime, on a thread of its own.
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(async {
                    if let Ok(admin) = Store::connect(&server).await {
                        let _ = sqlx::query(&format!(
                            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                        ))
                        .execute(admin.pool())
                        .await;
                        admin.close().await;
                    }
                });
            })
            .join()
            .ok();
        }
    }
}

/// The element structure of an XML document, one line per element, indented by depth:
/// names only, so it can be compared with the seed's examples.
pub fn structure(xml: &str) -> String {
    let doc = roxmltree::Document::parse(xml)
        .unwrap_or_else(|e| panic!("not well-formed XML ({e}):\n{xml}"));
    let mut out = String::new();
    fn walk(node: roxmltree::Node, depth: usize, out: &mut String) {
        for child in node.children().filter(|n| n.is_element()) {
            out.push_str(&"  ".repeat(depth));
            out.push_str(child.tag_name().name());
            out.push('\n');
            walk(child, depth + 1, out);
        }
    }
    walk(doc.root(), 0, &mut out);
    out
}

/// The text of the first element called `name`.
pub fn text_of(xml: &str, name: &str) -> String {
    let doc = roxmltree::Document::parse(xml).expect("XML");
    doc.descendants()
        .find(|n| n.has_tag_name(name))
        .unwrap_or_else(|| panic!("no <{name}> in\n{xml}"))
        .text()
        .unwrap_or("")
        .to_string()
}

/// A user's balance as the XML shows it (`-1976.56 USD`), read from the database.
pub async fn balance_text(app: &TestApp, user: &str) -> String {
    let (micros, currency, decimals): (i64, String, i64) = sqlx::query_as(
        "SELECT u.balance_micros, u.currency, c.decimals FROM users u
         JOIN currencies c ON c.code = u.currency WHERE u.username = $1",
    )
    .bind(user)
    .fetch_one(app.store.pool())
    .await
    .expect("balance");
    selfcare::money::Money(micros).with_currency(decimals as u32, &currency)
}

/// A user's balance as a person reads it on the pages, in `lang` (`-$1,976.56`, `25,50 €`).
pub async fn balance_shown(app: &TestApp, user: &str, lang: selfcare::i18n::Lang) -> String {
    let (micros, currency, decimals): (i64, String, i64) = sqlx::query_as(
        "SELECT u.balance_micros, u.currency, c.decimals FROM users u
         JOIN currencies c ON c.code = u.currency WHERE u.username = $1",
    )
    .bind(user)
    .fetch_one(app.store.pool())
    .await
    .expect("balance");
    selfcare::locale::money(
        lang,
        selfcare::money::Money(micros),
        decimals as u32,
        &currency,
    )
}

/// A user's balance in micro-units, checked to be the sum of the user's ledger.
pub async fn balance_of(app: &TestApp, user: &str) -> i64 {
    let id = app.store.user_id_by_name(user).await.unwrap().unwrap();
    let (balance, sum) = app.store.balance_and_ledger_sum(id).await.unwrap();
    assert_eq!(balance, sum, "{user}: the balance is not the ledger's sum");
    balance
}

/// A browser of its own (cookies, no redirects followed, `agent` as its User-Agent) logged in
/// as `user` (whose password is his name, as in the demo data).
pub async fn browser(app: &TestApp, user: &str, agent: &str) -> reqwest::Client {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(agent)
        .build()
        .unwrap();
    let token = csrf(app, &client, "/callc/login").await;
    let r = client
        .post(app.url("/callc/login"))
        .form(&[
            ("username", user),
            ("password", user),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303, "{user} logs in");
    client
}

/// A JSON answer, read by `client` (a logged-in browser of its own) at the full `url`.
pub async fn get_json(client: &reqwest::Client, url: &str) -> serde_json::Value {
    let r = client.get(url).send().await.expect("GET");
    assert!(r.status().is_success(), "{url}: {}", r.status());
    r.json().await.expect("JSON")
}

/// The CSRF token of a page's forms, read as a browser would.
pub async fn csrf(app: &TestApp, client: &reqwest::Client, page: &str) -> String {
    let html = client
        .get(app.url(page))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).expect("a form") + marker.len();
    html[start..start + 64].to_string()
}
