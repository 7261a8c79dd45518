//! A real OpenID provider for the tests: panva's `oidc-provider` (tests/support/oidc_provider,
//! `npm ci` there) run by Node.js on a free 127.0.0.1 port, one per test, stopped when the test
//! ends. Its login and consent pages are driven over HTTP as a browser would fill them in.
//!
//! ```ignore
//! let Some(op) = TestProvider::start(ProviderOptions { .. }).await else { return };
//! ```
//! None (and "skipped: …" on standard error) when Node.js or the npm packages are missing;
//! with `CI` set that fails the test instead.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use sha2::Digest as _;

use crate::common::free_port;

pub const PORTAL_CLIENT: &str = "selfcare-portal";
pub const PORTAL_SECRET: &str = "portal-secret-0123456789-abcdefghij";
/// A second client the tests play themselves, to obtain access tokens.
pub const API_CLIENT: &str = "api-tester";
pub const API_SECRET: &str = "api-secret-0123456789-abcdefghijkl";
pub const API_REDIRECT: &str = "http://127.0.0.1:9/cb";
/// A resource server that is not the portal (tokens for it must be refused here).
pub const OTHER_AUDIENCE: &str = "https://other-api.example.test";

pub struct ProviderOptions {
    /// The portal's address (`http://127.0.0.1:PORT`): its callback and logout return URL.
    pub portal: String,
    /// The audience of the portal's access tokens.
    pub audience: String,
    pub access_token_ttl_s: u64,
    pub id_token_ttl_s: u64,
}

pub struct TestProvider {
    pub issuer: String,
    child: Child,
    http: reqwest::Client,
    /// The provider's standard error (its warnings), removed when the test ends.
    log_path: PathBuf,
}

impl Drop for TestProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log_path);
    }
}

fn provider_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/support/oidc_provider"
    ))
}

fn not_ready(why: &str) -> Option<TestProvider> {
    crate::common::missing(&format!("the OpenID provider: {why}"))
}

impl TestProvider {
    /// Starts a provider with the portal's client, the test's own API client, and two
    /// resource servers (the portal's audience and another one).
    pub async fn start(options: ProviderOptions) -> Option<TestProvider> {
        let node_ok = Command::new("node")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !node_ok {
            return not_ready("Node.js (`node`) is not installed");
        }
        if !provider_dir().join("node_modules/oidc-provider").is_dir() {
            return not_ready("run `npm ci` in tests/support/oidc_provider");
        }
        let port = free_port();
        let log_path = std::env::temp_dir().join(format!("selfcare-oidc-provider-{port}.log"));
        let log = std::fs::File::create(&log_path).expect("provider log file");
        let clients = serde_json::json!([
            {
                "client_id": PORTAL_CLIENT,
                "client_secret": PORTAL_SECRET,
                "redirect_uris": [format!("{}/auth/oidc/callback", options.portal)],
                "post_logout_redirect_uris": [format!("{}/callc/login", options.portal)],
            },
            {
                "client_id": API_CLIENT,
                "client_secret": API_SECRET,
                "redirect_uris": [API_REDIRECT],
            },
        ]);
        let mut child = Command::new("node")
            .arg("server.js")
            .current_dir(provider_dir())
            .env("OIDC_PORT", port.to_string())
            .env("OIDC_CLIENTS", clients.to_string())
            .env(
                "OIDC_RESOURCES",
                format!("{} {OTHER_AUDIENCE}", options.audience),
            )
            .env(
                "OIDC_ACCESS_TOKEN_TTL",
                options.access_token_ttl_s.to_string(),
            )
            .env("OIDC_ID_TOKEN_TTL", options.id_token_ttl_s.to_string())
            .env("OIDC_EXIT_WITH_STDIN", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start node tests/support/oidc_provider/server.js");
        let stdout = child.stdout.take().expect("stdout");
        let ready = tokio::task::spawn_blocking(move || {
            let mut lines = BufReader::new(stdout).lines();
            lines.any(|l| l.is_ok_and(|l| l.starts_with("listening ")))
        });
        let ready = tokio::time::timeout(Duration::from_secs(30), ready)
            .await
            .is_ok_and(|r| r.unwrap_or(false));
        if !ready {
            let _ = child.kill();
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            panic!("the OpenID provider did not start on port {port}:\n{log}");
        }
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .build()
            .expect("client");
        Some(TestProvider {
            issuer: format!("http://127.0.0.1:{port}"),
            child,
            http,
            log_path,
        })
    }

    /// Replaces the provider's signing key by a new one (the old one is no longer published);
    /// returns the new key id.
    pub async fn rotate_keys(&self) -> String {
        let r = self
            .http
            .post(format!("{}/__test/rotate-keys", self.issuer))
            .send()
            .await
            .expect("rotate keys");
        assert_eq!(r.status().as_u16(), 200);
        r.text().await.expect("kid")
    }

    /// Signs in at the provider as `login` in the browser whose provider cookies `browser`
    /// keeps, starting from an authorization URL; fills in the login and consent pages as they
    /// come, and returns the URL the provider finally sends the browser to (the client's
    /// redirect URI with `code` and `state`).
    pub async fn sign_in(&self, browser: &reqwest::Client, start: &str, login: &str) -> String {
        let mut url = start.to_string();
        for _ in 0..12 {
            if !url.starts_with(&self.issuer) {
                return url;
            }
            let r = browser.get(&url).send().await.expect("provider GET");
            if r.status().is_redirection() {
                url = self.absolute(location(&r));
                continue;
            }
            let status = r.status();
            let html = r.text().await.expect("provider page");
            let prompt = if html.contains(r#"name="prompt" value="login""#) {
                "login"
            } else if html.contains(r#"name="prompt" value="consent""#) {
                "consent"
            } else {
                panic!("unexpected provider page ({status}) at {url}:\n{html}");
            };
            let r = browser
                .post(&url)
                .form(&[("prompt", prompt), ("login", login), ("password", "any")])
                .send()
                .await
                .expect("provider POST");
            assert!(
                r.status().is_redirection(),
                "{prompt} answered {}",
                r.status()
            );
            url = self.absolute(location(&r));
        }
        panic!("the provider kept the browser for too long (last at {url})");
    }

    fn absolute(&self, location: String) -> String {
        if location.starts_with('/') {
            format!("{}{location}", self.issuer)
        } else {
            location
        }
    }

    /// An access token for `audience` with scopes `read write`, obtained as the API client for
    /// the person `login` (authorization code flow with PKCE and a resource indicator).
    pub async fn access_token(&self, login: &str, audience: &str) -> String {
        self.access_token_for(login, audience, "openid read write")
            .await
    }

    /// An access token of `login` for `audience` asking for `scope` (space-separated).
    pub async fn access_token_for(&self, login: &str, audience: &str, scope: &str) -> String {
        let browser = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .build()
            .unwrap();
        let verifier = format!(
            "{:032x}{:032x}",
            rand::random::<u128>(),
            rand::random::<u128>()
        );
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(verifier.as_bytes()));
        let mut start = reqwest::Url::parse(&format!("{}/auth", self.issuer)).unwrap();
        start
            .query_pairs_mut()
            .append_pair("client_id", API_CLIENT)
            .append_pair("response_type", "code")
            .append_pair("redirect_uri", API_REDIRECT)
            .append_pair("scope", scope)
            .append_pair("state", "api-state")
            .append_pair("nonce", "api-nonce")
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256")
            .append_pair("resource", audience);
        let back = self.sign_in(&browser, start.as_str(), login).await;
        let back = reqwest::Url::parse(&back).unwrap();
        let code = back
            .query_pairs()
            .find(|(k, _)| k == "code")
            .unwrap_or_else(|| panic!("no code in {back}"))
            .1
            .to_string();
        let r = self
            .http
            .post(format!("{}/token", self.issuer))
            .basic_auth(API_CLIENT, Some(API_SECRET))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", API_REDIRECT),
                ("code_verifier", &verifier),
                ("resource", audience),
            ])
            .send()
            .await
            .expect("token request");
        let status = r.status();
        let body: serde_json::Value = r.json().await.expect("token JSON");
        assert_eq!(status.as_u16(), 200, "{body}");
        body["access_token"]
            .as_str()
            .expect("an access token")
            .to_string()
    }
}

pub fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no Location in a {} answer", r.status()))
        .to_string()
}
