//! Clients written against Kolmisoft MOR itself: its `/billing/` installation prefix, `HEAD`
//! wherever `GET` works, and MOR's stateless API (`/api/<name>?u=…&p=…`, its optional `hash`,
//! failures as HTTP 200), replayed with the request shapes MOR's clients send.

use sha1::Digest;

use crate::common::{spawn_demo_app, structure, text_of, Backend, TestApp};
use crate::import::selfcare;
use crate::on_both_databases;

async fn the_billing_prefix_and_head_requests_work(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    // A program logs in under MOR's prefix (a form POST, no browser, no CSRF token) and reads
    // pages under it.
    let r = app
        .post_form("/billing/api/login", &[("u", "demo"), ("p", "demo")])
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let xml = r.text().await.unwrap();
    assert!(xml.contains("<status>ok</status>"), "{xml}");
    let r = app.get("/billing/callc/main?format=xml").await;
    assert_eq!(r.status().as_u16(), 200);
    let xml = r.text().await.unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    assert_eq!(doc.root_element().tag_name().name(), "page");
    // Not a prefix: `/billingx/…` is not MOR's folder.
    assert_eq!(app.get("/billingx/callc/main").await.status().as_u16(), 404);

    // HEAD answers as GET would, without the body.
    let get = app.get("/callc/main?format=xml").await;
    let length = get.headers()["content-length"].clone();
    let content_type = get.headers()["content-type"].clone();
    let body = get.bytes().await.unwrap();
    let head = app
        .client
        .head(app.url("/callc/main?format=xml"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status().as_u16(), 200);
    assert_eq!(head.headers()["content-length"], length);
    assert_eq!(head.headers()["content-type"], content_type);
    assert_eq!(length.to_str().unwrap(), body.len().to_string());
    assert!(head.bytes().await.unwrap().is_empty());
    let head = app
        .client
        .head(app.url("/billing/callc/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status().as_u16(), 200);
    // A route without GET has no HEAD either.
    let head = app
        .client
        .head(app.url("/callc/logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status().as_u16(), 405);
}
on_both_databases!(the_billing_prefix_and_head_requests_work);

async fn lists_keep_their_query_and_page_size(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    app.legacy_login("demo", "demo").await;
    // The phonebook's short address keeps the format and the search on its way.
    let r = app.get("/phonebooks/list?format=json&q=Office").await;
    assert_eq!(r.status().as_u16(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert!(to.ends_with("?format=json&q=Office"), "{to}");
    let r = app.get(&to).await;
    assert_eq!(r.status().as_u16(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert!(v.is_object());

    // Missed calls take `per_page` like the call list, and page with it.
    let period = "period_start=2000-01-01&period_end=2100-01-01";
    let page = |q: String| {
        let app = &app;
        async move {
            let r = app
                .get(&format!("/stats/missed_calls?{q}&format=json"))
                .await;
            assert_eq!(r.status().as_u16(), 200, "{q}");
            r.json::<serde_json::Value>().await.unwrap()
        }
    };
    let v = page(format!("{period}&per_page=3")).await;
    assert_eq!(v["calls"].as_array().unwrap().len(), 3);
    let older = v["links"]["next"]
        .as_str()
        .expect("an older page")
        .to_string();
    assert!(older.contains("per_page=3"), "{older}");
    let next = page(older.split_once('?').unwrap().1.replace("&format=json", "")).await;
    assert_eq!(next["calls"].as_array().unwrap().len(), 3);
    let ids = |page: &serde_json::Value| -> Vec<i64> {
        page["calls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["call_id"].as_i64().unwrap())
            .collect()
    };
    assert!(
        ids(&next).iter().all(|id| !ids(&v).contains(id)),
        "no overlap"
    );
    let newer = next["links"]["prev"]
        .as_str()
        .expect("a newer page")
        .to_string();
    let back = page(newer.split_once('?').unwrap().1.replace("&format=json", "")).await;
    assert_eq!(ids(&back), ids(&v));
    let r = app
        .get(&format!(
            "/stats/missed_calls?{period}&per_page=0&format=json"
        ))
        .await;
    assert_eq!(r.status().as_u16(), 400);
}
on_both_databases!(lists_keep_their_query_and_page_size);

/// A MOR client: no cookie store (each call stands alone), no browser headers.
fn mor_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// MOR's hash: SHA-1 (hex) of the hashed parameters' values in order, then the secret key.
fn mor_hash(values: &[&str], key: &str) -> String {
    let mut h = sha1::Sha1::new();
    for v in values {
        h.update(v.as_bytes());
    }
    h.update(key.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// A GET with the parameters in the query: (status, body), after checking no cookie was set.
async fn mor_get(app: &TestApp, path: &str, params: &[(&str, &str)]) -> (u16, String) {
    let r = mor_client()
        .get(app.url(path))
        .query(params)
        .send()
        .await
        .unwrap();
    assert!(
        r.headers().get("set-cookie").is_none(),
        "{path}: a stateless call set a cookie"
    );
    (r.status().as_u16(), r.text().await.unwrap())
}

/// A POST form, as MOR's PHP and Ruby clients send: (status, body), no cookie set.
async fn mor_post(app: &TestApp, path: &str, form: &[(&str, &str)]) -> (u16, String) {
    let r = mor_client()
        .post(app.url(path))
        .form(form)
        .send()
        .await
        .unwrap();
    assert!(
        r.headers().get("set-cookie").is_none(),
        "{path}: a stateless call set a cookie"
    );
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The error of MOR's failed answer (`<status><error>…`), after checking its shape.
fn mor_error(xml: &str) -> String {
    assert_eq!(structure(xml), "page\n  status\n    error\n", "{xml}");
    text_of(xml, "error")
}

async fn mor_api_pages_are_our_pages_without_a_session(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let me = [("u", "demo"), ("p", "demo")];
    // The same page through a legacy session, for comparison: the same handler answers both.
    app.legacy_login("demo", "demo").await;
    let pages = [
        ("main_page", "/callc/main"),
        ("user_devices", "/devices/user_devices"),
        ("user_rates", "/tariffs/user_rates"),
        ("personal_payments", "/payments/personal_payments"),
        ("user_invoices", "/accounting/user_invoices"),
        ("user_subscriptions", "/services/user_subscriptions"),
        ("new_calls_list", "/stats/new_calls_list"),
        ("user_details_get", "/users/personal_details"),
    ];
    for (name, ours) in pages {
        let (status, page) = app.get_xml(ours).await;
        assert_eq!(status, 200, "{ours}");
        let (status, xml) = mor_get(&app, &format!("/api/{name}"), &me).await;
        assert_eq!(status, 200, "{name}: {xml}");
        assert_eq!(xml, page, "/api/{name} is {ours}");
        // A POST form under MOR's prefix: the same answer.
        let (status, posted) = mor_post(&app, &format!("/billing/api/{name}"), &me).await;
        assert_eq!(status, 200, "{name}");
        assert_eq!(posted, page, "POST /billing/api/{name}");
    }
    // MOR's `user_id` naming the caller itself is accepted; another user is not found.
    let demo = app
        .scalar("SELECT id FROM users WHERE username = 'demo'")
        .await;
    let (_, own) = mor_post(
        &app,
        "/billing/api/user_details_get",
        &[("u", "demo"), ("p", "demo"), ("user_id", &demo.to_string())],
    )
    .await;
    let (_, page) = app.get_xml("/users/personal_details").await;
    assert_eq!(own, page);
    let (status, other) = mor_post(
        &app,
        "/api/user_details_get",
        &[
            ("u", "demo"),
            ("p", "demo"),
            ("user_id", &(demo + 1).to_string()),
        ],
    )
    .await;
    assert_eq!(
        (status, mor_error(&other)),
        (200, "User was not found".into())
    );

    // A destination group of the rates page, by MOR's `dest_gr_id`.
    let (_, rates) = mor_get(&app, "/api/user_rates", &me).await;
    let group = text_of(&rates, "dest_id");
    let (_, ours) = app
        .get_xml(&format!("/directions/dg_list_user_destinations/{group}"))
        .await;
    let (status, xml) = mor_get(
        &app,
        "/api/dg_list_user_destinations",
        &[("u", "demo"), ("p", "demo"), ("dest_gr_id", &group)],
    )
    .await;
    assert_eq!((status, &xml), (200, &ours));
    // A group that is not the user's: the page's own refusal, with HTTP 200.
    let (status, xml) = mor_get(
        &app,
        "/api/dg_list_user_destinations",
        &[("u", "demo"), ("p", "demo"), ("dest_gr_id", "999999")],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(text_of(&xml, "status"), "failed");

    // The call list with MOR's epoch period: exactly the calls of those seconds.
    let (first, last): (i64, i64) = sqlx::query_as(
        "SELECT MIN(started_at), MAX(started_at) FROM calls c JOIN users u ON u.id = c.user_id
         WHERE u.username = 'demo' AND c.direction = 'out'",
    )
    .fetch_one(app.store.pool())
    .await
    .unwrap();
    let (start, end) = (last.to_string(), last.to_string());
    let (status, xml) = mor_get(
        &app,
        "/billing/api/user_calls",
        &[
            ("u", "demo"),
            ("p", "demo"),
            ("period_start", &start),
            ("period_end", &end),
        ],
    )
    .await;
    assert_eq!(status, 200, "{xml}");
    let doc = roxmltree::Document::parse(&xml).unwrap();
    assert_eq!(doc.root_element().tag_name().name(), "page");
    let one = doc.descendants().filter(|n| n.has_tag_name("call")).count();
    assert!(one >= 1, "the newest call's second has a call: {xml}");
    let (_, all) = mor_get(
        &app,
        "/api/user_calls",
        &[
            ("u", "demo"),
            ("p", "demo"),
            ("period_start", &first.to_string()),
            ("period_end", &last.to_string()),
        ],
    )
    .await;
    let doc = roxmltree::Document::parse(&all).unwrap();
    let many = doc.descendants().filter(|n| n.has_tag_name("call")).count();
    assert!(many > one, "{one} then {many}");

    // The login form needs nobody.
    let (status, form) = mor_get(&app, "/api/login_form", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(text_of(&form, "pagename"), "Login page");

    // JSON keeps its real statuses; the page itself in JSON is the page's JSON.
    let (status, body) = mor_get(
        &app,
        "/api/main_page",
        &[("u", "demo"), ("p", "nope"), ("format", "json")],
    )
    .await;
    assert_eq!(status, 401);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"]["code"], "not_logged_in");
    assert_eq!(v["error"]["message"], "Wrong user name or password");
    let (status, body) = mor_get(
        &app,
        "/api/main_page",
        &[("u", "demo"), ("p", "demo"), ("format", "json")],
    )
    .await;
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["pagename"], "Main page");

    // A browser sent to MOR's logout by another site's page is refused, with the real status.
    let r = app
        .client
        .get(app.url("/api/logout"))
        .header("Sec-Fetch-Site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert_eq!(
        app.get("/callc/main?format=xml").await.status().as_u16(),
        200
    );
}
on_both_databases!(mor_api_pages_are_our_pages_without_a_session);

async fn a_credential_is_checked_once_and_follows_every_change_at_once(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let attempts = || app.scalar("SELECT COUNT(*) FROM login_attempts");
    // Wrong password: MOR's failed answer, HTTP 200.
    let (status, xml) = mor_get(&app, "/api/main_page", &[("u", "demo"), ("p", "nope")]).await;
    assert_eq!(status, 200);
    assert_eq!(mor_error(&xml), "Wrong user name or password");
    let (_, xml) = mor_get(&app, "/api/main_page", &[("u", "nobody"), ("p", "demo")]).await;
    assert_eq!(mor_error(&xml), "Wrong user name or password");

    // The first right call is a login (an attempt recorded, argon2); the next ones are not.
    let before = attempts().await;
    let (status, _) = mor_get(&app, "/api/main_page", &[("u", "demo"), ("p", "demo")]).await;
    assert_eq!(status, 200);
    assert_eq!(attempts().await, before + 1);
    for _ in 0..5 {
        let (status, xml) =
            mor_post(&app, "/api/user_devices", &[("u", "demo"), ("p", "demo")]).await;
        assert_eq!(status, 200);
        assert_eq!(text_of(&xml, "pagename"), "Devices");
    }
    assert_eq!(attempts().await, before + 1, "no login after the first");

    // A new password: the remembered one stops working at once, the new one works.
    let hash = selfcare::password::hash("fresh pw").unwrap();
    sqlx::query("UPDATE users SET password_hash = $1 WHERE username = 'demo'")
        .bind(&hash)
        .execute(app.store.pool())
        .await
        .unwrap();
    let (status, xml) = mor_get(&app, "/api/main_page", &[("u", "demo"), ("p", "demo")]).await;
    assert_eq!(
        (status, mor_error(&xml)),
        (200, "Wrong user name or password".into())
    );
    let (_, xml) = mor_get(&app, "/api/main_page", &[("u", "demo"), ("p", "fresh pw")]).await;
    assert_eq!(text_of(&xml, "pagename"), "Main page");

    // Blocked: refused at once, though the credential is remembered.
    let before = attempts().await;
    sqlx::query("UPDATE users SET blocked = 1 WHERE username = 'demo'")
        .execute(app.store.pool())
        .await
        .unwrap();
    let (_, xml) = mor_get(&app, "/api/main_page", &[("u", "demo"), ("p", "fresh pw")]).await;
    assert_eq!(mor_error(&xml), "Wrong user name or password");
    assert_eq!(attempts().await, before, "refused from the cache's check");
    sqlx::query("UPDATE users SET blocked = 0 WHERE username = 'demo'")
        .execute(app.store.pool())
        .await
        .unwrap();

    // Two-factor login on: a stateless call cannot give a code, and is told so.
    let demo2 = app
        .scalar("SELECT id FROM users WHERE username = 'demo2'")
        .await;
    sqlx::query(
        "INSERT INTO two_factor (user_id, secret, enabled, created_at) VALUES ($1, 'JBSWY3DPEHPK3PXP', 1, 0)",
    )
    .bind(demo2)
    .execute(app.store.pool())
    .await
    .unwrap();
    let (status, xml) = mor_get(&app, "/api/main_page", &[("u", "demo2"), ("p", "demo2")]).await;
    assert_eq!(status, 200);
    assert!(mor_error(&xml).contains("Two-factor"), "{xml}");

    // Locked out by the login throttle (failures from this address): even a remembered
    // credential waits, with MOR's failed answer, 429 and the time to wait.
    let (_, xml) = mor_get(&app, "/api/main_page", &[("u", "demo"), ("p", "fresh pw")]).await;
    assert_eq!(text_of(&xml, "pagename"), "Main page");
    // (The throttle counts failures after the last success's second.)
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    for _ in 0..5 {
        mor_get(&app, "/api/main_page", &[("u", "demo"), ("p", "wrong")]).await;
    }
    let r = mor_client()
        .get(app.url("/api/main_page?u=demo&p=fresh%20pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 429);
    assert!(r.headers().contains_key("retry-after"));
    let xml = r.text().await.unwrap();
    assert!(
        mor_error(&xml).contains("Too many failed attempts"),
        "{xml}"
    );
}
on_both_databases!(a_credential_is_checked_once_and_follows_every_change_at_once);

async fn the_api_secret_key_asks_for_mors_hash(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let (done, out) = selfcare(&app, &["api-key", "set"], "Very Secret Key\n");
    assert!(done, "{out}");
    assert!(out.contains("set"), "{out}");
    let key = "Very Secret Key";

    // No hash, or a wrong one: MOR's error, HTTP 200.
    let (status, xml) = mor_post(
        &app,
        "/billing/api/main_page",
        &[("u", "demo"), ("p", "demo")],
    )
    .await;
    assert_eq!((status, mor_error(&xml)), (200, "Incorrect hash".into()));
    let (_, xml) = mor_post(
        &app,
        "/billing/api/main_page",
        &[
            ("u", "demo"),
            ("p", "demo"),
            ("hash", &mor_hash(&["demo"], key)),
        ],
    )
    .await;
    assert_eq!(mor_error(&xml), "Incorrect hash", "u is not hashed");
    // A page without hashed parameters: the key alone.
    let (status, xml) = mor_post(
        &app,
        "/billing/api/main_page",
        &[("u", "demo"), ("p", "demo"), ("hash", &mor_hash(&[], key))],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(text_of(&xml, "pagename"), "Main page");

    // The call list: period_start, then period_end, then the key (the order of the request's
    // fields does not matter).
    let (ps, pe) = ("946684800", "4102444799");
    let right = mor_hash(&[ps, pe], key);
    let (_, xml) = mor_get(
        &app,
        "/api/user_calls",
        &[
            ("period_end", pe),
            ("u", "demo"),
            ("p", "demo"),
            ("period_start", ps),
            ("hash", &right),
        ],
    )
    .await;
    assert!(xml.contains("<call"), "{xml}");
    let (_, xml) = mor_get(
        &app,
        "/api/user_calls",
        &[
            ("u", "demo"),
            ("p", "demo"),
            ("period_start", ps),
            ("period_end", pe),
            ("hash", &mor_hash(&[pe, ps], key)),
        ],
    )
    .await;
    assert_eq!(mor_error(&xml), "Incorrect hash");

    // MOR's login with its hash: a session, and the user's id in the answer.
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let r = client
        .post(app.url("/billing/api/user_login"))
        .form(&[("u", "demo"), ("p", "demo"), ("hash", &mor_hash(&[], key))])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let xml = r.text().await.unwrap();
    assert_eq!(text_of(&xml, "status"), "ok");
    let demo = app
        .scalar("SELECT id FROM users WHERE username = 'demo'")
        .await;
    assert_eq!(text_of(&xml, "user_id"), demo.to_string());
    let r = client
        .get(app.url("/callc/main?format=xml"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    // MOR's logout (with its hash) ends that session.
    let r = client
        .post(app.url("/billing/api/user_logout"))
        .form(&[("hash", &mor_hash(&[], key))])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let xml = r.text().await.unwrap();
    assert_eq!(
        (text_of(&xml, "name"), text_of(&xml, "status")),
        ("logout".into(), "ok".into())
    );
    let r = client
        .get(app.url("/callc/main?format=xml"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401, "logged out");
    // Logout without a session answers the same action.
    let (status, xml) = mor_get(&app, "/api/logout", &[("hash", &mor_hash(&[], key))]).await;
    assert_eq!((status, text_of(&xml, "status")), (200, "ok".into()));

    // The key cleared: no hash needed.
    let (done, out) = selfcare(&app, &["api-key", "clear"], "");
    assert!(done, "{out}");
    let (_, xml) = mor_get(&app, "/api/main_page", &[("u", "demo"), ("p", "demo")]).await;
    assert_eq!(text_of(&xml, "pagename"), "Main page");
}
on_both_databases!(the_api_secret_key_asks_for_mors_hash);

async fn calls_sent_together_log_in_once(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    // A client starting with eight calls at once: one login (one attempt, one argon2), the
    // others wait for it and use it; none is taken for a guess.
    let calls = (0..8).map(|_| mor_get(&app, "/api/user_rates", &[("u", "demo"), ("p", "demo")]));
    for (status, xml) in futures_util::future::join_all(calls).await {
        assert_eq!(status, 200, "{xml}");
        assert_eq!(text_of(&xml, "pagename"), "Rates", "{xml}");
    }
    assert_eq!(app.scalar("SELECT COUNT(*) FROM login_attempts").await, 1);
}
on_both_databases!(calls_sent_together_log_in_once);
