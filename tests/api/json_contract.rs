//! The JSON API is one documented contract: every page's real answer is checked against
//! `/api/openapi.json` by an independent OpenAPI 3.1 validator (Python's openapi-core, which
//! `.ci/run` installs), and the contract's rules are read back from real answers.

use std::process::Command;

use serde_json::Value;

use crate::common::{missing, spawn_demo_app, Backend, TestApp};
use crate::on_both_databases;

/// Every page a logged-in subscriber reads with GET (`{…}` filled in by `concrete`).
const PAGES: &[&str] = &[
    "/callc/main",
    "/accounts/tree",
    "/users/activity",
    "/users/personal_details",
    "/users/change_password",
    "/users/sessions",
    "/users/two_factor",
    "/users/pin",
    "/devices/user_devices",
    "/devices/user_device_clis",
    "/phonebooks/list/{userid}",
    "/dids",
    "/dids/available",
    "/functions/callback",
    "/stats/call_list",
    "/stats/new_calls_list",
    "/stats/missed_calls",
    "/stats/user_stats",
    "/stats/faxes",
    "/stats/faxes_list/{userid}",
    "/payments/personal_payments",
    "/payments/topup",
    "/payments/methods",
    "/payments/auto_topup",
    "/accounting/user_invoices",
    "/accounting/user_invoices/{invoice_id}",
    "/services/user_subscriptions",
    "/services/calling_plan",
    "/services/spending_limit",
    "/services/barrings",
    "/tariffs/user_rates",
    "/directions/dg_list_user_destinations/{dest_id}",
];

/// The demo subscriber's session cookie, from a login as a program makes it.
async fn session_cookie(app: &TestApp) -> String {
    let r = reqwest::Client::new()
        .get(app.url("/api/login"))
        .query(&[("u", "demo"), ("p", "demo")])
        .send()
        .await
        .expect("login");
    let set = r
        .headers()
        .get("set-cookie")
        .expect("a session cookie")
        .to_str()
        .unwrap();
    set.split(';').next().unwrap().to_string()
}

async fn concrete(app: &TestApp, page: &str) -> String {
    let user = app
        .scalar("SELECT id FROM users WHERE username = 'demo'")
        .await;
    let mut url = page.replace("{userid}", &user.to_string());
    if url.contains("{invoice_id}") {
        let id = app
            .scalar(&format!(
                "SELECT MIN(id) FROM invoices WHERE user_id = {user}"
            ))
            .await;
        url = url.replace("{invoice_id}", &id.to_string());
    }
    if url.contains("{dest_id}") {
        let id = app.scalar("SELECT MIN(id) FROM destination_groups").await;
        url = url.replace("{dest_id}", &id.to_string());
    }
    url
}

async fn every_json_page_matches_the_openapi_document(backend: Backend) {
    if Command::new("python3")
        .args(["-c", "import openapi_core, requests"])
        .status()
        .map_or(true, |s| !s.success())
    {
        missing("Python's openapi-core and requests (pip install openapi-core requests)");
    }
    let app = spawn_demo_app(backend).await;
    let cookie = session_cookie(&app).await;
    let mut urls = Vec::new();
    for page in PAGES {
        urls.push(concrete(&app, page).await);
    }
    let user = app
        .scalar("SELECT id FROM users WHERE username = 'demo'")
        .await;
    // Pages before the login (asked with the session: they answer the same), other periods
    // and searches, narrow pages so that every list's `links.next` is followed, and answers
    // that are errors (the one error shape).
    for url in [
        "/callc/login".to_string(),
        "/callc/login/code".to_string(),
        "/users/password_reset".to_string(),
        "/users/password_reset/not-a-token".to_string(),
        "/stats/call_list?per_page=5".to_string(),
        "/stats/missed_calls?per_page=2".to_string(),
        "/stats/new_calls_list?per_page=2".to_string(),
        format!("/stats/faxes_list/{user}?per_page=1&period_start=2000-01-01"),
        "/functions/callback?per_page=1".to_string(),
        "/stats/user_stats?period_start=2026-01-01&period_end=2026-12-31".to_string(),
        "/payments/personal_payments?per_page=2".to_string(),
        "/accounting/user_invoices?per_page=1".to_string(),
        "/dids/available?country=GB".to_string(),
        "/tariffs/user_rates?currency=EUR&q=united".to_string(),
        "/users/activity?per_page=1".to_string(),
        format!("/phonebooks/list/{user}?per_page=2"),
        "/accounting/user_invoices/999999999".to_string(),
        "/stats/call_list?date_from=yesterday".to_string(),
        "/stats/new_calls_list?before=junk".to_string(),
        "/accounting/user_invoices?before=x".to_string(),
        "/users/activity?before=x".to_string(),
    ] {
        urls.push(url);
    }
    let out = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/support/openapi_check.py"
        ))
        .arg(&app.address)
        .arg(&cookie)
        .args(&urls)
        .output()
        .expect("openapi_check.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    // The script asked for every page (and followed each list's `links.next` once).
    for url in &urls {
        assert!(
            stdout.contains(&format!(" {url}\n")),
            "{url} not checked:\n{stdout}"
        );
    }
}
on_both_databases!(every_json_page_matches_the_openapi_document, needs openapi_core);

async fn get_json(app: &TestApp, cookie: &str, url: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .get(app.url(url))
        .header("Cookie", cookie)
        .header("Accept", "application/json")
        .send()
        .await
        .expect("GET");
    let status = r.status().as_u16();
    (status, r.json().await.expect("JSON"))
}

/// The rules, read off real answers: money as a decimal string with its currency, booleans,
/// instants with an offset, the one error shape, links that lead on.
async fn the_contract_holds_in_real_answers(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let cookie = session_cookie(&app).await;

    let (status, main) = get_json(&app, &cookie, "/callc/main").await;
    assert_eq!(status, 200);
    let balance = &main["balance"];
    assert!(
        balance["value"].as_str().unwrap().parse::<f64>().is_ok(),
        "{main}"
    );
    assert_eq!(balance["currency"], "USD");
    assert!(main["card_payments"].is_boolean());

    // Errors: one shape, a stable code, the subscriber's language.
    let (status, err) = get_json(&app, &cookie, "/accounting/user_invoices/999999999").await;
    assert_eq!(status, 404);
    assert_eq!(err["error"]["code"], "not_found", "{err}");
    assert!(err["error"]["message"].is_string());
    let (_, err_ru) = get_json(&app, &cookie, "/accounting/user_invoices/999999999?lang=ru").await;
    assert_eq!(err_ru["error"]["code"], "not_found");
    assert_ne!(err_ru["error"]["message"], err["error"]["message"]);
    let (status, bad) = get_json(&app, &cookie, "/stats/call_list?date_from=yesterday").await;
    assert_eq!(status, 400);
    assert_eq!(bad["error"]["code"], "invalid_input", "{bad}");
    let (status, bad_ru) = get_json(&app, &cookie, "/stats/call_list?before=junk&lang=ru").await;
    assert_eq!(status, 400);
    assert!(
        bad_ru["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Неизвестная позиция страницы"),
        "{bad_ru}"
    );
    let anonymous = reqwest::Client::new()
        .get(app.url("/callc/main?format=json"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    let body: Value = anonymous.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_logged_in");

    // Cursor paging: `next` leads to the following calls, `prev` back, never an overlap.
    let (_, first) = get_json(&app, &cookie, "/stats/call_list?per_page=5").await;
    let next = first["links"]["next"].as_str().expect("a next link");
    assert!(first["links"]["prev"].is_null());
    let (_, second) = get_json(&app, &cookie, next).await;
    let ids = |page: &Value| -> Vec<i64> {
        page["calls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["call_id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(ids(&first).len(), 5);
    assert!(ids(&second).iter().all(|id| !ids(&first).contains(id)));
    let prev = second["links"]["prev"].as_str().expect("a prev link");
    let (_, back) = get_json(&app, &cookie, prev).await;
    assert_eq!(ids(&back), ids(&first));
    let date = first["calls"][0]["date"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(date).is_ok(),
        "{date} is not RFC 3339"
    );
}
on_both_databases!(the_contract_holds_in_real_answers);

/// The one page for people who connect a program: every page of the document listed, with its
/// XML and JSON addresses; the pages themselves no longer carry those links.
async fn the_api_help_page_lists_every_documented_page(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let cookie = session_cookie(&app).await;
    let doc: Value = serde_json::from_str(&html_with(&app, &cookie, "/api/openapi.json").await)
        .expect("the document");
    let html = html_with(&app, &cookie, "/help/api?format=html&lang=ru").await;
    assert!(html.contains("Подключение программы"), "{html}");
    for path in doc["paths"].as_object().unwrap().keys() {
        assert!(html.contains(&format!("<code>{path}</code>")), "{path}");
    }
    assert!(html.contains("href=\"/callc/main?format=xml\""));
    // Summed up in the reader's language; the document itself stays in English.
    assert!(html.contains("Баланс, долг и расходы"), "{html}");
    assert!(!html.contains("Balance, what is owed"), "{html}");
    assert_eq!(
        doc["paths"]["/callc/main"]["get"]["summary"],
        "Balance, what is owed and spent, missed calls and this month's calls"
    );
    let main = html_with(&app, &cookie, "/callc/main?format=html").await;
    assert!(!main.contains("format=xml"), "no XML link on the pages");
    let account = html_with(&app, &cookie, "/users/personal_details?format=html").await;
    assert!(
        account.contains("href=\"/help/api\""),
        "the help is in the Account section's menu"
    );
}

/// A page's text, asked with a session cookie.
async fn html_with(app: &TestApp, cookie: &str, url: &str) -> String {
    reqwest::Client::new()
        .get(app.url(url))
        .header("Cookie", cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}
on_both_databases!(the_api_help_page_lists_every_documented_page);
