//! Two-factor login end to end, on both databases: enrolment on `/users/two_factor` (the secret
//! read from the page, the QR code an inline SVG), switching on with a code, a login with the
//! password then a code on `/callc/login/code`, codes used once (also by two logins racing),
//! wrong codes counted and throttled with the password attempts, recovery codes used once,
//! switching off with a code, and the legacy `/api/login` refused.
//!
//! The codes are computed by an independent implementation, Python's `pyotp`, never by the
//! portal's own code. Without pyotp the tests say "skipped"; in CI (`CI` set) they fail.

use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::common::{spawn_demo_app, structure, text_of, Backend, TestApp};
use crate::on_both_databases;

const ACTION: &str = "action\n  name\n  status\n  status_message\n";

/// Fails the test when pyotp cannot be imported (the tests that need it are `needs pyotp`).
fn require_pyotp() {
    static READY: OnceLock<bool> = OnceLock::new();
    let ready = *READY.get_or_init(|| {
        Command::new("python3")
            .args(["-c", "import pyotp"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    if !ready {
        crate::common::missing("pyotp for the two-factor tests (pip install pyotp)");
    }
}

/// Runs a short Python program with pyotp; its output, trimmed.
fn python(program: &str, args: &[&str]) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// The code of time step `step` (Unix time / 30), as pyotp computes it.
fn code_at(secret: &str, step: i64) -> String {
    python(
        "import pyotp,sys; print(pyotp.TOTP(sys.argv[1]).at(int(sys.argv[2])))",
        &[secret, &(step * 30).to_string()],
    )
}

/// A six-digit code that is none of the codes of the steps around `step`.
fn wrong_code(secret: &str, step: i64) -> String {
    let near: Vec<String> = (step - 2..=step + 4).map(|s| code_at(secret, s)).collect();
    (0..)
        .map(|n| format!("{:06}", n * 7919 % 1_000_000))
        .find(|c| !near.contains(c))
        .unwrap()
}

fn now_s() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The current time step, waiting for the next one when this one ends within 2 s: the tests
/// then use this step and the next, which the portal accepts for the next minute.
async fn fresh_step() -> i64 {
    let now = now_s();
    if now % 30 >= 28 {
        tokio::time::sleep(Duration::from_secs((30 - now % 30) as u64 + 1)).await;
    }
    now_s() / 30
}

/// A browser of its own (its own cookies), sending each form with the session's CSRF token.
struct Browser<'a> {
    app: &'a TestApp,
    client: reqwest::Client,
}

impl<'a> Browser<'a> {
    fn new(app: &'a TestApp) -> Self {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Browser { app, client }
    }

    async fn token(&self) -> String {
        let html = self.get("/callc/login").await.text().await.unwrap();
        let marker = "name=\"csrf_token\" value=\"";
        let start = html.find(marker).expect("a csrf_token field") + marker.len();
        html[start..start + 64].to_string()
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.app.url(path)).send().await.unwrap()
    }

    async fn post(&self, path: &str, fields: &[(&str, &str)], accept: &str) -> reqwest::Response {
        let token = self.token().await;
        let mut form = fields.to_vec();
        form.push(("csrf_token", &token));
        self.client
            .post(self.app.url(path))
            .header("Accept", accept)
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    async fn json(&self, path: &str) -> Value {
        let r = self
            .client
            .get(self.app.url(path))
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "GET {path}");
        r.json().await.unwrap()
    }

    async fn post_json(&self, path: &str, fields: &[(&str, &str)]) -> (u16, Value) {
        let r = self.post(path, fields, "application/json").await;
        let status = r.status().as_u16();
        (status, r.json().await.unwrap())
    }

    /// The password step of a browser login: its answer.
    async fn password(&self, user: &str, password: &str) -> reqwest::Response {
        self.post(
            "/callc/login",
            &[("username", user), ("password", password)],
            "text/html",
        )
        .await
    }

    /// The code step of a browser login: its status and its body.
    async fn code(&self, code: &str) -> (u16, String) {
        let r = self
            .post("/callc/login/code", &[("code", code)], "text/html")
            .await;
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_string());
        let body = r.text().await.unwrap();
        (status, location.unwrap_or(body))
    }

    async fn logged_in(&self) -> bool {
        self.get("/callc/main").await.status().as_u16() == 200
    }

    async fn logout(&self) {
        let r = self.post("/callc/logout", &[], "text/html").await;
        assert_eq!(r.status().as_u16(), 303);
    }
}

fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// Two-factor login switched on for `user` through the page, from a browser logged in with
/// the password: the secret (as the page gives it), the step whose code switched it on, and
/// the recovery codes. The browser is logged out again.
async fn switch_on(app: &TestApp, user: &str, password: &str) -> (String, i64, Vec<String>) {
    let b = Browser::new(app);
    assert_eq!(location(&b.password(user, password).await), "/callc/main");
    let (status, page) = b.post_json("/users/two_factor/enrol", &[]).await;
    assert_eq!(status, 200, "{page}");
    let secret = page["enrolment"]["secret"].as_str().unwrap().to_string();
    let step = fresh_step().await;
    let (status, on) = b
        .post_json(
            "/users/two_factor/enable",
            &[("code", &code_at(&secret, step))],
        )
        .await;
    assert_eq!(status, 200, "{on}");
    let codes = on["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    b.logout().await;
    (secret, step, codes)
}

async fn events(app: &TestApp, user: &str, action: &str) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM audit_log WHERE action = '{action}'
         AND user_id = (SELECT id FROM users WHERE username = '{user}')"
    ))
    .await
}

async fn failed_attempts(app: &TestApp, user: &str) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM login_attempts WHERE username = '{user}' AND ok = 0"
    ))
    .await
}

async fn enrolment_shows_a_secret_and_a_qr_code_and_a_code_switches_it_on(backend: Backend) {
    require_pyotp();
    let app = spawn_demo_app(backend).await;
    let b = Browser::new(&app);
    assert_eq!(location(&b.password("demo", "demo").await), "/callc/main");

    // Reading the page makes no key: one is asked for.
    let page = b.json("/users/two_factor").await;
    assert_eq!(page["enabled"], false);
    assert!(page["enrolment"].is_null(), "{page}");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM two_factor").await, 0);
    let html = b.get("/users/two_factor").await.text().await.unwrap();
    assert!(
        html.contains("action=\"/users/two_factor/enrol\""),
        "{html}"
    );
    let (status, page) = b.post_json("/users/two_factor/enrol", &[]).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["enabled"], false);
    assert_eq!(page["recovery_codes"].as_array().unwrap().len(), 0);
    let secret = page["enrolment"]["secret"].as_str().unwrap().to_string();
    // Asked again within the hour: the same key.
    let (_, again) = b.post_json("/users/two_factor/enrol", &[]).await;
    assert_eq!(again["enrolment"]["secret"], secret.as_str());
    let uri = page["enrolment"]["uri"].as_str().unwrap().to_string();
    assert_eq!(secret.len(), 32, "160 bits in base32: {secret}");
    // pyotp reads the URI the QR code holds as the same key, SHA-1, 6 digits, 30 s.
    assert_eq!(
        python(
            "import pyotp,sys; t=pyotp.parse_uri(sys.argv[1]); \
             print(t.secret, t.digits, t.interval, t.digest().name, t.issuer, t.name)",
            &[&uri],
        ),
        format!("{secret} 6 30 sha1 Selfcare demo")
    );

    // The page: the key as text and the QR code as an inline SVG (no script, no image), under
    // the unchanged CSP; the pending key is kept while it is not confirmed.
    let html = b.get("/users/two_factor").await;
    let csp = html.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("script-src 'none'") && csp.contains("img-src 'self' data:"));
    let html = html.text().await.unwrap();
    assert!(html.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(html.contains("<path fill=\"#000\" d=\"M"));
    assert!(!html.contains("<script") && !html.contains("<img"));
    let grouped: Vec<&str> = (0..8).map(|i| &secret[i * 4..i * 4 + 4]).collect();
    assert!(html.contains(&grouped.join(" ")));
    assert!(html.contains("action=\"/users/two_factor/enable\""));
    assert_eq!(
        b.json("/users/two_factor").await["enrolment"]["secret"],
        secret.as_str()
    );
    let (_, xml) = {
        let r = b
            .client
            .get(app.url("/users/two_factor"))
            .header("Accept", "application/xml")
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    };
    assert_eq!(text_of(&xml, "secret"), secret);
    assert_eq!(text_of(&xml, "enabled"), "0");

    // Refused, each with its reason, and nothing changes.
    let step = fresh_step().await;
    for (code, why) in [
        ("", "Enter the six-digit code"),
        (wrong_code(&secret, step).as_str(), "not the current code"),
        (code_at(&secret, step + 5).as_str(), "not the current code"),
    ] {
        let (status, answer) = b
            .post_json("/users/two_factor/enable", &[("code", code)])
            .await;
        assert_eq!(status, 400, "{code}: {answer}");
        assert!(
            answer["error"]["message"].as_str().unwrap().contains(why),
            "{answer}"
        );
        assert_eq!(b.json("/users/two_factor").await["enabled"], false);
    }
    assert_eq!(events(&app, "demo", "two_factor_on").await, 0);
    // A browser gets the page again with the reason and the same key to scan.
    let r = b
        .post(
            "/users/two_factor/enable",
            &[("code", &wrong_code(&secret, step))],
            "text/html",
        )
        .await;
    assert_eq!(r.status().as_u16(), 400);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("role=\"alert\">That is not the current code"),
        "{html}"
    );
    assert!(html.contains(&grouped.join(" ")) && html.contains("<svg "));

    // The current code switches it on; the ten recovery codes are shown this once.
    let (status, on) = b
        .post_json(
            "/users/two_factor/enable",
            &[("code", &code_at(&secret, step))],
        )
        .await;
    assert_eq!(status, 200, "{on}");
    assert_eq!(on["enabled"], true);
    assert!(on["enrolment"].is_null());
    let codes = on["recovery_codes"].as_array().unwrap();
    assert_eq!(codes.len(), 10);
    assert_eq!(on["recovery_codes_left"], 10);
    let again = b.json("/users/two_factor").await;
    assert_eq!(again["enabled"], true);
    assert_eq!(again["recovery_codes"].as_array().unwrap().len(), 0);
    assert!(again["enrolment"].is_null());
    assert_eq!(events(&app, "demo", "two_factor_on").await, 1);

    // Only hashes are stored.
    let hashes: Vec<(String,)> = sqlx::query_as("SELECT code_hash FROM two_factor_recovery_codes")
        .fetch_all(app.store.pool())
        .await
        .unwrap();
    assert_eq!(hashes.len(), 10);
    for (hash,) in &hashes {
        assert_eq!(hash.len(), 64);
        for code in codes {
            let plain = code.as_str().unwrap().replace('-', "");
            assert!(!hash.contains(&plain));
        }
    }

    // Switching on again is refused.
    let (status, answer) = b
        .post_json(
            "/users/two_factor/enable",
            &[("code", &code_at(&secret, step + 1))],
        )
        .await;
    assert_eq!(status, 400);
    assert!(answer["error"]["message"]
        .as_str()
        .unwrap()
        .contains("on already"));
    // So is asking for a key, and the key in use stays.
    let (status, answer) = b.post_json("/users/two_factor/enrol", &[]).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["error"]["code"], "invalid_input", "{answer}");
    assert_eq!(
        sqlx::query_as::<_, (String,)>("SELECT secret FROM two_factor")
            .fetch_one(app.store.pool())
            .await
            .unwrap()
            .0,
        secret
    );
}
on_both_databases!(enrolment_shows_a_secret_and_a_qr_code_and_a_code_switches_it_on, needs pyotp);

async fn a_password_then_a_code_logs_in_and_a_code_is_used_once(backend: Backend) {
    require_pyotp();
    let app = spawn_demo_app(backend).await;
    let (secret, step, _) = switch_on(&app, "demo", "demo").await;

    // The password alone starts no session: the browser is asked for a code.
    let b = Browser::new(&app);
    let answer = b.password("demo", "demo").await;
    assert_eq!(answer.status().as_u16(), 303);
    assert_eq!(location(&answer), "/callc/login/code");
    assert!(!b.logged_in().await);
    let form = b.get("/callc/login/code").await;
    assert_eq!(form.status().as_u16(), 200);
    let form = form.text().await.unwrap();
    assert!(form.contains("action=\"/callc/login/code\"") && form.contains("name=\"csrf_token\""));

    // A wrong code: refused, counted with the password attempts, still not logged in.
    let failures = failed_attempts(&app, "demo").await;
    let (status, page) = b.code(&wrong_code(&secret, step)).await;
    assert_eq!(status, 401);
    assert!(page.contains("The code is not right"), "{page}");
    assert_eq!(failed_attempts(&app, "demo").await, failures + 1);
    assert!(!b.logged_in().await);

    // The code of the step after the one that switched it on: logged in, recorded as
    // "password+totp".
    let code = code_at(&secret, step + 1);
    assert_eq!(b.code(&code).await, (303, "/callc/main".to_string()));
    assert!(b.logged_in().await);
    let (method,): (String,) = sqlx::query_as(
        "SELECT method FROM user_sessions WHERE ended_at IS NULL ORDER BY created_at DESC LIMIT 1",
    )
    .fetch_one(app.store.pool())
    .await
    .unwrap();
    assert_eq!(method, "password+totp");
    b.logout().await;

    // The same code again (and the one that switched it on): refused as used.
    assert_eq!(
        location(&b.password("demo", "demo").await),
        "/callc/login/code"
    );
    for used in [code.clone(), code_at(&secret, step)] {
        let (status, page) = b.code(&used).await;
        assert_eq!(status, 401);
        assert!(page.contains("used already"), "{page}");
    }
    assert!(!b.logged_in().await);

    // A JSON client is told that a code is needed, and may give it.
    let j = Browser::new(&app);
    let (status, answer) = j
        .post_json(
            "/callc/login",
            &[("username", "demo"), ("password", "demo")],
        )
        .await;
    assert_eq!(status, 401);
    assert_eq!(answer["error"]["code"], "not_logged_in", "{answer}");
    assert!(answer["error"]["message"]
        .as_str()
        .unwrap()
        .contains("/callc/login/code"));
    let (status, answer) = j.post_json("/callc/login/code", &[("code", &code)]).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (401, Some("not_logged_in"))
    );
    assert!(!j.logged_in().await);
}
on_both_databases!(a_password_then_a_code_logs_in_and_a_code_is_used_once, needs pyotp);

async fn two_logins_racing_with_one_code_only_one_wins(backend: Backend) {
    require_pyotp();
    let app = spawn_demo_app(backend).await;
    let (secret, step, _) = switch_on(&app, "demo", "demo").await;
    let (first, second) = (Browser::new(&app), Browser::new(&app));
    for b in [&first, &second] {
        assert_eq!(
            location(&b.password("demo", "demo").await),
            "/callc/login/code"
        );
    }
    let code = code_at(&secret, step + 1);
    let (a, b) = tokio::join!(first.code(&code), second.code(&code));
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(statuses, [303, 401], "{a:?} {b:?}");
    assert_eq!(
        first.logged_in().await as u8 + second.logged_in().await as u8,
        1
    );
}
on_both_databases!(two_logins_racing_with_one_code_only_one_wins, needs pyotp);

async fn wrong_codes_are_throttled_like_passwords(backend: Backend) {
    require_pyotp();
    let app = spawn_demo_app(backend).await;
    let (secret, step, _) = switch_on(&app, "demo", "demo").await;
    let b = Browser::new(&app);
    assert_eq!(
        location(&b.password("demo", "demo").await),
        "/callc/login/code"
    );
    let wrong = wrong_code(&secret, step);
    for _ in 0..5 {
        assert_eq!(b.code(&wrong).await.0, 401);
    }
    // Five failures for the name from this address lock it, as five wrong passwords would:
    // even the right code is not checked now, and neither is the password.
    let (status, page) = b.code(&code_at(&secret, step + 1)).await;
    assert_eq!(status, 429, "{page}");
    assert!(page.contains("Too many failed attempts"), "{page}");
    assert!(!b.logged_in().await);
    assert_eq!(b.password("demo", "demo").await.status().as_u16(), 429);
    assert_eq!(events(&app, "demo", "login_failed").await, 5);
}
on_both_databases!(wrong_codes_are_throttled_like_passwords, needs pyotp);

async fn a_recovery_code_logs_in_once(backend: Backend) {
    require_pyotp();
    let app = spawn_demo_app(backend).await;
    let (_, _, codes) = switch_on(&app, "demo", "demo").await;
    assert_eq!(codes.len(), 10);
    let b = Browser::new(&app);

    // Typed with spaces in upper case, it is still the code.
    assert_eq!(
        location(&b.password("demo", "demo").await),
        "/callc/login/code"
    );
    let typed = codes[0].to_uppercase().replace('-', " ");
    assert_eq!(b.code(&typed).await, (303, "/callc/main".to_string()));
    assert_eq!(b.json("/users/two_factor").await["recovery_codes_left"], 9);
    assert_eq!(events(&app, "demo", "two_factor_recovery_code").await, 1);
    b.logout().await;

    // Used once: refused the second time; another one works.
    assert_eq!(
        location(&b.password("demo", "demo").await),
        "/callc/login/code"
    );
    let (status, page) = b.code(&codes[0]).await;
    assert_eq!(status, 401);
    assert!(page.contains("used already"), "{page}");
    assert!(!b.logged_in().await);
    assert_eq!(b.code(&codes[1]).await, (303, "/callc/main".to_string()));
    assert_eq!(b.json("/users/two_factor").await["recovery_codes_left"], 8);
    assert_eq!(events(&app, "demo", "two_factor_recovery_code").await, 2);
    // The subscriber sees it in the activity log, in words.
    let activity = b.get("/users/activity").await.text().await.unwrap();
    assert!(activity.contains("Recovery code used"), "{activity}");
    assert!(activity.contains("Two-factor login switched on"));
}
on_both_databases!(a_recovery_code_logs_in_once, needs pyotp);

async fn switching_off_needs_a_code(backend: Backend) {
    require_pyotp();
    let app = spawn_demo_app(backend).await;
    let (secret, step, codes) = switch_on(&app, "demo", "demo").await;
    let b = Browser::new(&app);
    b.password("demo", "demo").await;
    assert_eq!(b.code(&codes[9]).await.0, 303);

    let failures = failed_attempts(&app, "demo").await;
    for (code, why) in [
        ("", "Enter a code"),
        (wrong_code(&secret, step).as_str(), "not right"),
        (codes[9].as_str(), "used already"),
    ] {
        let (status, answer) = b
            .post_json("/users/two_factor/disable", &[("code", code)])
            .await;
        assert_eq!(status, 400, "{code}: {answer}");
        assert!(
            answer["error"]["message"].as_str().unwrap().contains(why),
            "{answer}"
        );
        assert_eq!(b.json("/users/two_factor").await["enabled"], true);
    }
    // The wrong and the used code were counted like wrong passwords.
    assert_eq!(failed_attempts(&app, "demo").await, failures + 2);

    // A browser's form shows the page again with the reason.
    let r = b
        .post("/users/two_factor/disable", &[("code", "12")], "text/html")
        .await;
    assert_eq!(r.status().as_u16(), 400);
    assert!(r.text().await.unwrap().contains("The code is not right"));

    let (status, answer) = b
        .post_json(
            "/users/two_factor/disable",
            &[("code", &code_at(&secret, step + 1))],
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["status"], "ok");
    let page = b.json("/users/two_factor").await;
    assert_eq!(page["enabled"], false);
    assert!(page["enrolment"].is_null(), "{page}");
    // A new enrolment, with a new key.
    let (_, page) = b.post_json("/users/two_factor/enrol", &[]).await;
    assert_ne!(page["enrolment"]["secret"], secret.as_str());
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM two_factor_recovery_codes")
            .await,
        0
    );
    assert_eq!(events(&app, "demo", "two_factor_off").await, 1);
    b.logout().await;

    // The password alone logs in again.
    assert_eq!(location(&b.password("demo", "demo").await), "/callc/main");
}
on_both_databases!(switching_off_needs_a_code, needs pyotp);

async fn the_legacy_login_of_an_account_with_two_factors_is_refused(backend: Backend) {
    require_pyotp();
    let app = spawn_demo_app(backend).await;
    switch_on(&app, "demo", "demo").await;

    let (status, refused) = app.legacy_login("demo", "demo").await;
    assert_eq!(status, 200);
    assert_eq!(structure(&refused), ACTION);
    assert_eq!(text_of(&refused, "name"), "login");
    assert_eq!(text_of(&refused, "status"), "failed");
    assert_eq!(
        text_of(&refused, "status_message"),
        "Two-factor authentication is on for this account; log in in a browser"
    );
    let (status, _) = app.get_xml("/users/personal_details").await;
    assert_eq!(status, 401, "no session was started");

    // A wrong password says nothing of the second factor; others log in as before.
    let (status, wrong) = app.legacy_login("demo", "not the password").await;
    assert_eq!(status, 200);
    assert_eq!(
        text_of(&wrong, "status_message"),
        "Wrong user name or password"
    );
    let (status, ok) = app.legacy_login("demo2", "demo2").await;
    assert_eq!((status, text_of(&ok, "status").as_str()), (200, "ok"));
}
on_both_databases!(the_legacy_login_of_an_account_with_two_factors_is_refused, needs pyotp);

async fn the_operator_can_switch_it_off_for_a_lost_phone(backend: Backend) {
    require_pyotp();
    let app = spawn_demo_app(backend).await;
    switch_on(&app, "demo", "demo").await;
    let run = || {
        let out = Command::new(env!("CARGO_BIN_EXE_selfcare"))
            .args(["user", "two-factor-off", "demo"])
            .env("SELFCARE_DATABASE_URL", &app.database_url)
            .env("SELFCARE_DATA_DIR", &app.data_dir)
            .stdin(Stdio::null())
            .output()
            .expect("run selfcare");
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(run().contains("switched off"));
    assert!(run().contains("off already"));
    assert_eq!(events(&app, "demo", "two_factor_off").await, 1);
    let b = Browser::new(&app);
    assert_eq!(location(&b.password("demo", "demo").await), "/callc/main");
}
on_both_databases!(the_operator_can_switch_it_off_for_a_lost_phone, needs pyotp);
