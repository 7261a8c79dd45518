//! Single sign-on and Bearer access tokens against a real OpenID provider (panva's
//! oidc-provider on Node.js, see `oidc_provider.rs`), on both databases: a full login, each
//! refusal (wrong state, replayed code, unlinked identity, blocked subscriber, wrong audience,
//! expired token), a key rotation at the provider, and the logout.

use std::process::Command;

use selfcare::oidc::{BearerError, Oidc, OidcSettings};

use crate::common::{free_port, spawn_demo_app_with_settings, Backend, TestApp};
use crate::oidc_provider::{
    location, ProviderOptions, TestProvider, OTHER_AUDIENCE, PORTAL_CLIENT, PORTAL_SECRET,
};
use crate::on_both_databases;

/// A portal with single sign-on through a test provider of its own (other test files may use
/// it too, e.g. for Bearer tokens: `sso.op.access_token(login, &sso.settings.audience)`).
pub struct Sso {
    pub app: TestApp,
    pub op: TestProvider,
    pub settings: OidcSettings,
}

impl Sso {
    /// The state handlers get, made anew for checking Bearer tokens from the test.
    pub fn verifier(&self) -> Oidc {
        Oidc::new(self.settings.clone(), self.app.store.clone()).expect("oidc state")
    }

    /// Links the provider's person `login` (its `sub`) to the subscriber `user` with the
    /// operator's command line.
    pub fn link(&self, user: &str, login: &str) {
        let out = Command::new(env!("CARGO_BIN_EXE_selfcare"))
            .args([
                "user",
                "link",
                user,
                "--issuer",
                &self.op.issuer,
                "--sub",
                login,
            ])
            .env("SELFCARE_DATABASE_URL", &self.app.database_url)
            .env("SELFCARE_DATA_DIR", &self.app.data_dir)
            .output()
            .expect("run selfcare user link");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    async fn user_id(&self, user: &str) -> i64 {
        self.app
            .store
            .user_id_by_name(user)
            .await
            .unwrap()
            .expect("user")
    }

    async fn oidc_sessions(&self, user_id: i64) -> i64 {
        self.app
            .scalar(&format!(
                "SELECT COUNT(*) FROM user_sessions WHERE user_id = {user_id} \
                 AND method = 'oidc' AND ended_at IS NULL"
            ))
            .await
    }

    /// `GET /auth/oidc/login` in the portal's browser: the provider's authorization URL.
    async fn start_login(&self) -> String {
        let r = self.app.get("/auth/oidc/login").await;
        assert_eq!(r.status().as_u16(), 303);
        let url = location(&r);
        assert!(url.starts_with(&self.op.issuer), "{url}");
        url
    }

    /// A login through the provider up to the portal's callback URL (not yet visited).
    async fn callback_url(&self, login: &str) -> String {
        let start = self.start_login().await;
        let back = self.op.sign_in(&provider_browser(), &start, login).await;
        assert!(
            back.starts_with(&self.app.url("/auth/oidc/callback")),
            "{back}"
        );
        back
    }

    async fn visit(&self, url: &str) -> reqwest::Response {
        self.app.client.get(url).send().await.expect("GET")
    }
}

fn provider_browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap()
}

/// A portal with the demo data and single sign-on through a provider of its own; None when the
/// provider cannot run here (outside CI).
pub async fn sso_app(backend: Backend, access_token_ttl_s: u64) -> Option<Sso> {
    let port = free_port();
    let portal = format!("http://127.0.0.1:{port}");
    let audience = format!("{portal}/tmf-api");
    let op = TestProvider::start(ProviderOptions {
        portal: portal.clone(),
        audience: audience.clone(),
        access_token_ttl_s,
        id_token_ttl_s: 600,
    })
    .await?;
    let settings = OidcSettings::new(
        Some(op.issuer.clone()),
        Some(PORTAL_CLIENT.into()),
        Some(PORTAL_SECRET.into()),
        "sub",
        Some(audience),
        &portal,
    )
    .unwrap()
    .expect("single sign-on on");
    let for_app = settings.clone();
    let app = spawn_demo_app_with_settings(backend, move |s| {
        s.bind = ([127, 0, 0, 1], port).into();
        s.public_url = portal;
        s.oidc = Some(for_app);
    })
    .await;
    Some(Sso { app, op, settings })
}

fn param(url: &str, name: &str) -> String {
    reqwest::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.to_string())
        .unwrap_or_else(|| panic!("no {name} in {url}"))
}

fn with_param(url: &str, name: &str, value: &str) -> String {
    let mut u = reqwest::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == name {
                value.to_string()
            } else {
                v.to_string()
            };
            (k.to_string(), v)
        })
        .collect();
    u.query_pairs_mut().clear().extend_pairs(pairs);
    u.to_string()
}

async fn a_linked_identity_logs_in_through_the_provider(backend: Backend) {
    let Some(sso) = sso_app(backend, 3600).await else {
        return;
    };
    let login_page = sso.app.get("/callc/login").await.text().await.unwrap();
    assert!(
        login_page.contains("href=\"/auth/oidc/login\""),
        "{login_page}"
    );
    sso.link("demo", "alice");
    let demo = sso.user_id("demo").await;

    let start = sso.start_login().await;
    for (name, expected) in [
        ("client_id", PORTAL_CLIENT),
        ("response_type", "code"),
        ("code_challenge_method", "S256"),
    ] {
        assert_eq!(param(&start, name), expected, "{start}");
    }
    for name in ["state", "nonce", "code_challenge", "redirect_uri"] {
        assert!(!param(&start, name).is_empty());
    }
    let back = sso.op.sign_in(&provider_browser(), &start, "alice").await;
    let done = sso.visit(&back).await;
    assert_eq!(done.status().as_u16(), 303);
    assert_eq!(location(&done), "/callc/main");

    let main = sso.app.get("/callc/main").await;
    assert_eq!(main.status().as_u16(), 200);
    assert!(main.text().await.unwrap().contains("John Smith"));
    assert_eq!(sso.oidc_sessions(demo).await, 1);
    let audited = sso
        .app
        .scalar(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE user_id = {demo} AND action = 'login'"
        ))
        .await;
    assert_eq!(audited, 1);

    // The same answer again: the login it belonged to is over; nothing changes.
    let again = sso.visit(&back).await;
    assert_eq!(again.status().as_u16(), 400);
    assert_eq!(sso.oidc_sessions(demo).await, 1);
    assert_eq!(sso.app.get("/callc/main").await.status().as_u16(), 200);
}
on_both_databases!(a_linked_identity_logs_in_through_the_provider, needs oidc_provider);

async fn a_wrong_or_missing_state_is_refused(backend: Backend) {
    let Some(sso) = sso_app(backend, 3600).await else {
        return;
    };
    sso.link("demo", "alice");
    let demo = sso.user_id("demo").await;

    let back = sso.callback_url("alice").await;
    let forged = with_param(&back, "state", "not-the-state-of-this-browser");
    let r = sso.visit(&forged).await;
    assert_eq!(r.status().as_u16(), 403);
    let page = r.text().await.unwrap();
    assert!(page.contains("does not belong to the sign-in"), "{page}");
    // The login it was tried against is spent: its real answer is refused now too.
    assert_eq!(sso.visit(&back).await.status().as_u16(), 400);

    let back = sso.callback_url("alice").await;
    let no_state = sso
        .app
        .client
        .get(sso.app.url("/auth/oidc/callback"))
        .query(&[("code", param(&back, "code"))])
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(no_state.status().as_u16(), 400);
    let body: serde_json::Value = no_state.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_input", "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("start it again"));

    // The provider's own refusal, in the request's format.
    let start = sso.start_login().await;
    let denied = format!(
        "{}?error=access_denied&state={}",
        sso.app.url("/auth/oidc/callback"),
        param(&start, "state")
    );
    let r = sso
        .app
        .client
        .get(&denied)
        .header("Accept", "application/xml")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let xml = r.text().await.unwrap();
    assert!(
        xml.contains("<status>failed</status>") && xml.contains("access_denied"),
        "{xml}"
    );

    assert_eq!(sso.oidc_sessions(demo).await, 0);
    assert_eq!(sso.app.get("/callc/main").await.status().as_u16(), 303);
}
on_both_databases!(a_wrong_or_missing_state_is_refused, needs oidc_provider);

async fn a_replayed_code_is_refused(backend: Backend) {
    let Some(sso) = sso_app(backend, 3600).await else {
        return;
    };
    sso.link("demo", "alice");
    let demo = sso.user_id("demo").await;
    let first = sso.callback_url("alice").await;
    assert_eq!(sso.visit(&first).await.status().as_u16(), 303);
    assert_eq!(sso.oidc_sessions(demo).await, 1);

    // A new login in the same browser, answered with the first login's code.
    let start = sso.start_login().await;
    let replay = with_param(&first, "state", &param(&start, "state"));
    let r = sso.visit(&replay).await;
    assert_eq!(r.status().as_u16(), 403);
    let page = r.text().await.unwrap();
    assert!(page.contains("could not be confirmed"), "{page}");
    assert_eq!(sso.oidc_sessions(demo).await, 1);
}
on_both_databases!(a_replayed_code_is_refused, needs oidc_provider);

async fn an_unlinked_or_blocked_identity_gets_no_session(backend: Backend) {
    let Some(sso) = sso_app(backend, 3600).await else {
        return;
    };
    let users_before = sso.app.scalar("SELECT COUNT(*) FROM users").await;
    let back = sso.callback_url("mallory").await;
    let r = sso.visit(&back).await;
    assert_eq!(r.status().as_u16(), 403);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("not linked") && page.contains("ask your operator"),
        "{page}"
    );
    assert_eq!(
        sso.app.scalar("SELECT COUNT(*) FROM users").await,
        users_before
    );
    assert_eq!(
        sso.app
            .scalar("SELECT COUNT(*) FROM user_sessions WHERE ended_at IS NULL")
            .await,
        0
    );
    let token = sso.op.access_token("mallory", &sso.settings.audience).await;
    assert_eq!(
        sso.verifier().verify_bearer(&token).await,
        Err(BearerError::NotLinked)
    );

    sso.link("demo2", "bob");
    let demo2 = sso.user_id("demo2").await;
    sqlx::query("UPDATE users SET blocked = 1 WHERE id = $1")
        .bind(demo2)
        .execute(sso.app.store.pool())
        .await
        .unwrap();
    let back = sso.callback_url("bob").await;
    let r = sso.visit(&back).await;
    assert_eq!(r.status().as_u16(), 403);
    assert!(r.text().await.unwrap().contains("blocked"));
    assert_eq!(sso.oidc_sessions(demo2).await, 0);
    let token = sso.op.access_token("bob", &sso.settings.audience).await;
    assert_eq!(
        sso.verifier().verify_bearer(&token).await,
        Err(BearerError::Blocked)
    );
}
on_both_databases!(an_unlinked_or_blocked_identity_gets_no_session, needs oidc_provider);

async fn bearer_tokens_name_the_linked_subscriber_and_the_audience_counts(backend: Backend) {
    let Some(sso) = sso_app(backend, 3600).await else {
        return;
    };
    sso.link("demo", "alice");
    let demo = sso.user_id("demo").await;
    let oidc = sso.verifier();

    let token = sso.op.access_token("alice", &sso.settings.audience).await;
    let grant = oidc.verify_bearer(&token).await.expect("a valid token");
    assert_eq!(grant.user_id, demo);
    let mut scopes = grant.scopes.clone();
    scopes.sort();
    assert_eq!(scopes, ["read", "write"]);
    assert!(grant.has_scope("write"));

    let other = sso.op.access_token("alice", OTHER_AUDIENCE).await;
    match oidc.verify_bearer(&other).await {
        Err(BearerError::InvalidToken(why)) => assert!(why.contains("audience"), "{why}"),
        other => panic!("a token for another audience: {other:?}"),
    }
    // One character in the middle of the signature (the last one may only hold padding bits).
    let at = token.rfind('.').unwrap() + 20;
    let swapped = if &token[at..=at] == "A" { "B" } else { "A" };
    let tampered = format!("{}{swapped}{}", &token[..at], &token[at + 1..]);
    assert!(matches!(
        oidc.verify_bearer(&tampered).await,
        Err(BearerError::InvalidToken(_))
    ));
    assert!(matches!(
        oidc.verify_bearer("not.a.token").await,
        Err(BearerError::InvalidToken(_))
    ));
}
on_both_databases!(bearer_tokens_name_the_linked_subscriber_and_the_audience_counts, needs oidc_provider);

async fn an_expired_access_token_is_refused(backend: Backend) {
    let Some(sso) = sso_app(backend, 1).await else {
        return;
    };
    sso.link("demo", "alice");
    let token = sso.op.access_token("alice", &sso.settings.audience).await;
    // Past the token's one-second life (its `exp` is in whole seconds).
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    match sso.verifier().verify_bearer(&token).await {
        Err(BearerError::InvalidToken(why)) => assert!(why.contains("xpired"), "{why}"),
        other => panic!("an expired token: {other:?}"),
    }
}
on_both_databases!(an_expired_access_token_is_refused, needs oidc_provider);

async fn a_key_rotation_at_the_provider_is_followed(backend: Backend) {
    let Some(sso) = sso_app(backend, 3600).await else {
        return;
    };
    sso.link("demo", "alice");
    let demo = sso.user_id("demo").await;
    let oidc = sso.verifier();
    let old_token = sso.op.access_token("alice", &sso.settings.audience).await;
    assert_eq!(oidc.verify_bearer(&old_token).await.unwrap().user_id, demo);
    let first = sso.callback_url("alice").await;
    assert_eq!(sso.visit(&first).await.status().as_u16(), 303);

    let kid = sso.op.rotate_keys().await;
    assert!(!kid.is_empty());

    // Signed with the new key, whose id neither cache knows yet: both fetch the key set again.
    let second = sso.callback_url("alice").await;
    assert_eq!(sso.visit(&second).await.status().as_u16(), 303);
    assert_eq!(sso.oidc_sessions(demo).await, 2);
    let new_token = sso.op.access_token("alice", &sso.settings.audience).await;
    assert_eq!(oidc.verify_bearer(&new_token).await.unwrap().user_id, demo);
    // The old key is gone from the provider's set: its tokens no longer pass.
    assert!(matches!(
        oidc.verify_bearer(&old_token).await,
        Err(BearerError::InvalidToken(_))
    ));
}
on_both_databases!(a_key_rotation_at_the_provider_is_followed, needs oidc_provider);

async fn logout_ends_the_session_here_and_at_the_provider(backend: Backend) {
    let Some(sso) = sso_app(backend, 3600).await else {
        return;
    };
    sso.link("demo", "alice");
    let demo = sso.user_id("demo").await;
    let back = sso.callback_url("alice").await;
    let done = sso.visit(&back).await;
    assert_eq!(done.status().as_u16(), 303);
    let cookie = done
        .cookies()
        .find(|c| c.name() == "selfcare_session")
        .map(|c| c.value().to_string())
        .expect("a session cookie at login");
    let with_old_cookie = || {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .get(sso.app.url("/callc/main"))
            .header("Cookie", format!("selfcare_session={cookie}"))
            .send()
    };
    assert_eq!(with_old_cookie().await.unwrap().status().as_u16(), 200);

    let out = sso.app.submit_form("/auth/oidc/logout", &[]).await;
    assert_eq!(out.status().as_u16(), 303);
    let to = location(&out);
    assert!(
        to.starts_with(&format!("{}/session/end", sso.op.issuer)),
        "{to}"
    );
    assert_eq!(
        param(&to, "post_logout_redirect_uri"),
        sso.app.url("/callc/login")
    );
    assert_eq!(param(&to, "client_id"), PORTAL_CLIENT);
    assert_eq!(param(&to, "id_token_hint").split('.').count(), 3);

    assert_eq!(sso.oidc_sessions(demo).await, 0);
    let old = with_old_cookie().await.unwrap();
    assert_eq!(old.status().as_u16(), 303);
    assert_eq!(location(&old), "/callc/login");
}
on_both_databases!(logout_ends_the_session_here_and_at_the_provider, needs oidc_provider);

/// Without single sign-on configured the routes do not exist and the login page has no button.
#[tokio::test]
async fn without_a_provider_there_is_no_single_sign_on() {
    let app = crate::common::spawn_app(Backend::Sqlite).await;
    assert_eq!(app.get("/auth/oidc/login").await.status().as_u16(), 404);
    let page = app.get("/callc/login").await.text().await.unwrap();
    assert!(!page.contains("/auth/oidc/login"));
}

/// The TM Forum API with Bearer tokens from the provider: `read` reads, `write` patches, a
/// token for another audience or of an unlinked person is refused, and only one's own record.
async fn the_tmf_api_takes_the_providers_access_tokens(backend: Backend) {
    let Some(sso) = sso_app(backend, 3600).await else {
        return;
    };
    sso.link("demo", "alice");
    let demo = sso.user_id("demo").await;
    let demo2 = sso.user_id("demo2").await;
    let customer = |id: i64| format!("/tmf-api/customerManagement/v4/customer/{id}");
    let individual = |id: i64| format!("/tmf-api/partyManagement/v4/individual/{id}");
    let http = reqwest::Client::new();
    let call = |method: reqwest::Method, path: String, token: String, body: Option<&str>| {
        let mut r = http.request(method, sso.app.url(&path)).bearer_auth(token);
        if let Some(b) = body {
            r = r
                .header("Content-Type", "application/merge-patch+json")
                .body(b.to_string());
        }
        async move {
            let resp = r.send().await.unwrap();
            let status = resp.status().as_u16();
            let v: serde_json::Value = resp.json().await.unwrap_or_default();
            (status, v)
        }
    };

    let both = sso.op.access_token("alice", &sso.settings.audience).await;
    let (status, c) = call(reqwest::Method::GET, customer(demo), both.clone(), None).await;
    assert_eq!(status, 200, "{c}");
    assert_eq!(c["id"], demo.to_string());
    assert_eq!(c["@type"], "Customer");
    // Someone else's record is not found, whatever the token allows.
    let (status, e) = call(reqwest::Method::GET, customer(demo2), both.clone(), None).await;
    assert_eq!(status, 404, "{e}");
    assert_eq!(e["@type"], "Error");

    let (status, i) = call(
        reqwest::Method::PATCH,
        individual(demo),
        both.clone(),
        Some(r#"{"givenName":"Alicia"}"#),
    )
    .await;
    assert_eq!(status, 200, "{i}");
    assert_eq!(i["givenName"], "Alicia");
    let stored = sso
        .app
        .scalar(&format!(
            "SELECT COUNT(*) FROM users WHERE id = {demo} AND first_name = 'Alicia'"
        ))
        .await;
    assert_eq!(stored, 1);

    // A token with `read` only reads.
    let reader = sso
        .op
        .access_token_for("alice", &sso.settings.audience, "openid read")
        .await;
    let (status, _) = call(reqwest::Method::GET, individual(demo), reader.clone(), None).await;
    assert_eq!(status, 200);
    let (status, e) = call(
        reqwest::Method::PATCH,
        individual(demo),
        reader,
        Some(r#"{"givenName":"Mallory"}"#),
    )
    .await;
    assert_eq!(status, 403, "{e}");
    assert!(e["message"].as_str().unwrap().contains("scope"), "{e}");

    // A token for another resource server, a person not linked, no token at all: refused.
    let elsewhere = sso.op.access_token("alice", OTHER_AUDIENCE).await;
    let (status, e) = call(reqwest::Method::GET, customer(demo), elsewhere, None).await;
    assert_eq!(status, 401, "{e}");
    let stranger = sso.op.access_token("bob", &sso.settings.audience).await;
    let (status, _) = call(reqwest::Method::GET, customer(demo), stranger, None).await;
    assert_eq!(status, 401);
    let (status, _) = call(
        reqwest::Method::GET,
        customer(demo),
        "not-a-token".into(),
        None,
    )
    .await;
    assert_eq!(status, 401);
    let unchanged = sso
        .app
        .scalar(&format!(
            "SELECT COUNT(*) FROM users WHERE id = {demo} AND first_name = 'Alicia'"
        ))
        .await;
    assert_eq!(unchanged, 1, "refused patches changed nothing");
}
on_both_databases!(the_tmf_api_takes_the_providers_access_tokens, needs oidc_provider);
