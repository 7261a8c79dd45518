//! Subscriber controls end to end: what the subscriber sets on the pages (spending limit,
//! barrings, the calling plan, the lost-phone block) is what the PBX is told by
//! `/pbx/authorize`, on both databases.

use crate::with_tools;
use std::collections::HashMap;

use selfcare::config::Secret;

use crate::common::{
    spawn_demo_app_with_settings, spawn_second_process, text_of, Backend, TestApp,
};
use crate::on_both_databases;

const TOKEN: &str = "pbx-token-for-the-tests-0123";

async fn app_with_pbx(backend: Backend) -> TestApp {
    spawn_demo_app_with_settings(backend, |s| {
        s.pbx.token = Some(Secret::new(TOKEN));
    })
    .await
}

async fn demo_account(app: &TestApp) -> String {
    let (name,): (String,) = sqlx::query_as(
        "SELECT d.username FROM devices d JOIN users u ON u.id = d.user_id
         WHERE u.username = 'demo' AND d.device_type = 'SIP' ORDER BY d.id LIMIT 1",
    )
    .fetch_one(app.store.pool())
    .await
    .unwrap();
    name
}

/// The PBX's question, read as the `key=value` lines it gets.
async fn ask(app: &TestApp, query: &[(&str, &str)]) -> (u16, HashMap<String, String>) {
    let r = reqwest::Client::new()
        .get(app.url("/pbx/authorize"))
        .bearer_auth(TOKEN)
        .query(query)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    let lines = text
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    (status, lines)
}

async fn call(app: &TestApp, account: &str, dst: &str) -> HashMap<String, String> {
    let (status, lines) = ask(app, &[("account", account), ("dst", dst)]).await;
    assert_eq!(status, 200, "{lines:?}");
    lines
}

fn denied(lines: &HashMap<String, String>, reason: &str) {
    assert_eq!(lines["allow"], "0", "{lines:?}");
    assert_eq!(lines["reason"], reason, "{lines:?}");
    assert_eq!(lines["max_duration"], "0");
}

fn allowed(lines: &HashMap<String, String>) -> i64 {
    assert_eq!(lines["allow"], "1", "{lines:?}");
    assert_eq!(lines["reason"], "", "{lines:?}");
    lines["max_duration"].parse().unwrap()
}

async fn exec(app: &TestApp, sql: &str) {
    sqlx::query(sql).execute(app.store.pool()).await.expect(sql);
}

/// A priced outgoing call of demo's, as an import would store it.
async fn priced_call(app: &TestApp, at: i64, price_micros: i64) {
    sqlx::query(
        "INSERT INTO calls (user_id, device_id, started_at, src, dst, direction, disposition,
                            duration_s, billsec, price_micros, processed, seen)
         SELECT u.id, NULL, $1, '101', '442079460000', 'out', 'ANSWERED', 60, 60, $2, 0, 1
         FROM users u WHERE u.username = 'demo'",
    )
    .bind(at)
    .bind(price_micros)
    .execute(app.store.pool())
    .await
    .unwrap();
}

/// The start of this month in London (demo's zone), UTC seconds.
fn london_month_start() -> i64 {
    let tz: chrono_tz::Tz = "Europe/London".parse().unwrap();
    selfcare::time::day_and_month_start(selfcare::time::now(), tz).1
}

on_both_databases!(the_pbx_is_told_what_the_subscriber_set);
async fn the_pbx_is_told_what_the_subscriber_set(backend: Backend) {
    let app = app_with_pbx(backend).await;
    let account = demo_account(&app).await;
    app.legacy_login("demo", "demo").await;
    // UK fixed numbers at 0.60 a minute, by the second: 0.01 buys one second.
    exec(
        &app,
        "UPDATE rates SET price_micros = 600000, connection_fee_micros = 0, increment_s = 1, min_time_s = 0
         WHERE rate_type = 'FIX' AND group_id = (SELECT id FROM destination_groups WHERE flag = 'gb')",
    )
    .await;
    // Nothing spent this month yet, so the limit below is what bounds the call.
    let month = london_month_start();
    exec(
        &app,
        &format!("DELETE FROM calls WHERE started_at >= {} AND user_id = (SELECT id FROM users WHERE username = 'demo')", month - 7200),
    )
    .await;

    // A national call, no limit: allowed for the longest call there is (postpaid, no credit limit).
    let uk = call(&app, &account, "+44 20 7946 0000").await;
    assert_eq!(allowed(&uk), 4 * 3600);
    assert_eq!(uk["rate"], "0.60");
    assert_eq!(uk["currency"], "USD");
    assert!(uk["prefix"].starts_with("4420"), "{uk:?}");

    // Premium-rate numbers are off until switched on in the calling plan.
    denied(
        &call(&app, &account, "+44 906 123 4567").await,
        "premium_disabled",
    );
    let r = app
        .client
        .put(app.url("/services/calling_plan"))
        .json(&serde_json::json!({"plans": [{"countryCode": "GB", "services": [{"type": "premium", "enabled": true}]}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let outcome: serde_json::Value = r.json().await.unwrap();
    assert_eq!(outcome["success"].as_array().unwrap().len(), 1, "{outcome}");
    let premium = call(&app, &account, "0044 906 123 4567").await;
    assert!(allowed(&premium) > 0);
    assert_eq!(premium["rate"], "1.50");
    // The premium barring wins over the plan.
    let r = app
        .post_form("/services/barrings", &[("premium", "1")])
        .await;
    assert_eq!(r.status().as_u16(), 200);
    denied(
        &call(&app, &account, "+449061234567").await,
        "premium_disabled",
    );
    app.post_form("/services/barrings", &[("premium", "0")])
        .await;

    // A limit of 50.00 with 49.90 spent leaves 0.10: ten seconds at 0.60 a minute.
    let r = app
        .post_form("/services/spending_limit", &[("limit", "50.00")])
        .await;
    assert_eq!(r.status().as_u16(), 200);
    priced_call(&app, month + 60, 49_900_000).await;
    assert_eq!(allowed(&call(&app, &account, "+442079460000").await), 10);
    // 50.00 spent: refused until the month ends.
    priced_call(&app, month + 120, 100_000).await;
    denied(
        &call(&app, &account, "+442079460000").await,
        "limit_reached",
    );
    // What was spent before the local month began does not count: move both calls to the
    // last second of the previous month (the roll-up follows the calls).
    exec(
        &app,
        &format!(
            "UPDATE calls SET started_at = {} WHERE started_at IN ({}, {})",
            month - 1,
            month + 60,
            month + 120
        ),
    )
    .await;
    assert_eq!(allowed(&call(&app, &account, "+442079460000").await), 5000);
    // ... and what is spent from its first second does.
    priced_call(&app, month, 50_000_000).await;
    denied(
        &call(&app, &account, "+442079460000").await,
        "limit_reached",
    );
    app.post_form("/services/spending_limit", &[("limit", "")])
        .await;
    allowed(&call(&app, &account, "+442079460000").await);

    // International barring: abroad refused, national allowed; "except home" lets the home
    // country through (demo lives in the UK, which is also the operator's country here).
    app.post_form("/services/barrings", &[("international", "1")])
        .await;
    denied(
        &call(&app, &account, "+33 1 23 45 67 89").await,
        "barred_international",
    );
    allowed(&call(&app, &account, "+442079460000").await);
    app.post_form("/services/barrings", &[("international", "0")])
        .await;
    allowed(&call(&app, &account, "+33 1 23 45 67 89").await);

    // Incoming calls: allowed until barred.
    let (_, lines) = ask(&app, &[("account", &account), ("direction", "in")]).await;
    allowed(&lines);
    app.post_form("/services/barrings", &[("incoming", "1")])
        .await;
    let (_, lines) = ask(&app, &[("account", &account), ("direction", "in")]).await;
    denied(&lines, "barred_incoming");

    // Bad questions: a clear answer, never a 500.
    denied(&call(&app, &account, "not a number").await, "bad_number");
    // A feature code is the dial plan's: allowed, free, not a country.
    let code = call(&app, &account, "*97").await;
    assert_eq!(
        (code["allow"].as_str(), code["destination"].as_str()),
        ("1", "local"),
        "{code:?}"
    );
    denied(
        &call(&app, "nobody-has-this", "+442079460000").await,
        "unknown_account",
    );
    let (status, lines) = ask(&app, &[("account", &account)]).await;
    assert_eq!((status, lines["reason"].as_str()), (400, "error"));
    // JSON for clients that ask for it.
    let r = reqwest::Client::new()
        .get(app.url("/pbx/authorize?format=json"))
        .bearer_auth(TOKEN)
        .query(&[("account", account.as_str()), ("dst", "+442079460000")])
        .send()
        .await
        .unwrap();
    let json: serde_json::Value = r.json().await.unwrap();
    assert_eq!(json["allow"], true);
    assert_eq!(json["max_duration"], 4 * 3600);

    // The changes are in the activity log, with old and new values.
    let (_, xml) = app.get_xml("/users/activity").await;
    assert!(xml.contains("premium: 0 → 1"), "{xml}");
    assert!(xml.contains("none → 50.00 USD"), "{xml}");
    assert!(xml.contains("United Kingdom Premium: off → on"), "{xml}");
}

on_both_databases!(the_pbx_needs_the_operator_token);
async fn the_pbx_needs_the_operator_token(backend: Backend) {
    let app = app_with_pbx(backend).await;
    let account = demo_account(&app).await;
    let url = app.url("/pbx/authorize");
    let query = [("account", account.as_str()), ("dst", "+442079460000")];
    let client = reqwest::Client::new();
    let r = client.get(&url).query(&query).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    let r = client
        .get(&url)
        .bearer_auth("pbx-token-for-the-tests-0124")
        .query(&query)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    // A subscriber's session is no token.
    app.legacy_login("demo", "demo").await;
    let r = app.client.get(&url).query(&query).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    // The token as the password of Basic authentication (switches that put it in the URL),
    // answered on one line for Asterisk's CURLOPT(hashcompat).
    let r = client
        .get(&url)
        .basic_auth("pbx", Some(TOKEN))
        .query(&[
            ("account", account.as_str()),
            ("dst", "+442079460000"),
            ("format", "hash"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let line = r.text().await.unwrap();
    let pairs: HashMap<String, String> = serde_urlencoded::from_str(&line).unwrap();
    assert_eq!(pairs["allow"], "1", "{line}");
    assert_eq!(pairs["destination"], "United Kingdom London", "{line}");
    let r = client
        .get(&url)
        .basic_auth("pbx", Some("wrong"))
        .query(&query)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    // Without a token configured, the endpoint does not exist.
    let other = spawn_second_process(&app, |s| s.pbx.token = None).await;
    let r = client
        .get(format!("{other}/pbx/authorize"))
        .bearer_auth(TOKEN)
        .query(&query)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
}

on_both_databases!(the_lost_phone_block_stops_everything_until_the_password_lifts_it);
async fn the_lost_phone_block_stops_everything_until_the_password_lifts_it(backend: Backend) {
    let app = app_with_pbx(backend).await;
    let account = demo_account(&app).await;
    app.submit_form(
        "/callc/login",
        &[("username", "demo"), ("password", "demo")],
    )
    .await;
    let r = app
        .submit_form("/services/lost_phone", &[("action", "block")])
        .await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(r.headers()["location"], "/callc/login?done=blocked");
    // This session has ended; the login page says why.
    let r = app.get("/callc/main").await;
    assert_eq!(r.status().as_u16(), 303);
    let login = app
        .get("/callc/login?done=blocked")
        .await
        .text()
        .await
        .unwrap();
    assert!(login.contains("Your account is blocked"), "{login}");
    denied(&call(&app, &account, "+442079460000").await, "blocked");
    let (_, lines) = ask(&app, &[("account", &account), ("direction", "in")]).await;
    denied(&lines, "blocked");

    // Logging in again works; the main page says the account is blocked.
    app.submit_form(
        "/callc/login",
        &[("username", "demo"), ("password", "demo")],
    )
    .await;
    let main = app.get("/callc/main?format=json").await;
    let main: serde_json::Value = main.json().await.unwrap();
    assert!(main["blocked_since"].is_string(), "{main}");
    let html = app.get("/callc/main").await.text().await.unwrap();
    assert!(html.contains("Your account is blocked"));
    // Lifting needs the password.
    let r = app
        .submit_form(
            "/services/lost_phone",
            &[("action", "lift"), ("current_password", "wrong")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 400);
    denied(&call(&app, &account, "+442079460000").await, "blocked");
    let r = app
        .submit_form(
            "/services/lost_phone",
            &[("action", "lift"), ("current_password", "demo")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    allowed(&call(&app, &account, "+442079460000").await);
}

on_both_databases!(bad_settings_are_refused_and_change_nothing);
async fn bad_settings_are_refused_and_change_nothing(backend: Backend) {
    let app = app_with_pbx(backend).await;
    app.legacy_login("demo", "demo").await;
    app.store
        .set_spending_limit_ceiling("USD", Some(500_000_000))
        .await
        .unwrap();
    for (limit, says) in [
        ("-5", "without a sign"),
        ("50.001", "Spending limit"),
        ("lots", "Spending limit"),
        ("500.01", "at most 500.00 USD"),
    ] {
        let r = app
            .post_form("/services/spending_limit", &[("limit", limit)])
            .await;
        assert_eq!(r.status().as_u16(), 400, "{limit}");
        let xml = r.text().await.unwrap();
        assert_eq!(text_of(&xml, "status"), "failed");
        assert!(
            text_of(&xml, "status_message").contains(says),
            "{limit}: {xml}"
        );
    }
    // The page's form sends a hidden 0 before a ticked checkbox's 1: the last one counts; a
    // field not sent stays as it is.
    let r = app
        .post_form(
            "/services/spending_limit",
            &[("limit", "25.00"), ("mail", "0"), ("mail", "1")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 200);
    app.post_form("/services/spending_limit", &[("mail", "0")])
        .await;
    let (_, xml) = app.get_xml("/services/spending_limit").await;
    assert_eq!(text_of(&xml, "limit"), "25.00");
    assert_eq!(text_of(&xml, "mail"), "0");
    // JSON: the limit as money, the mail switch and the barrings as booleans.
    let page: serde_json::Value = app
        .get("/services/spending_limit?format=json")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        page["spending_limit"],
        serde_json::json!({"value": "25.00", "currency": "USD"})
    );
    assert_eq!(page["limit_ceiling"]["value"], "500.00");
    assert_eq!(page["limit_mail"], false);
    assert_eq!(page["barrings"]["outgoing"], false);
    assert!(page["blocked_since"].is_null(), "{page}");
    app.post_form("/services/spending_limit", &[("limit", "")])
        .await;
    exec(&app, "DELETE FROM user_controls").await;
    exec(&app, "DELETE FROM audit_log WHERE action LIKE 'limit%'").await;
    let r = app
        .post_form("/services/barrings", &[("roaming", "1")])
        .await;
    assert_eq!(r.status().as_u16(), 400);
    let r = app
        .post_form("/services/barrings", &[("outgoing", "yes")])
        .await;
    assert_eq!(r.status().as_u16(), 400);
    let (_, xml) = app.get_xml("/services/barrings").await;
    assert_eq!(text_of(&xml, "limit"), "");
    assert_eq!(text_of(&xml, "outgoing"), "0");
    let page: serde_json::Value = app
        .get("/services/barrings?format=json")
        .await
        .json()
        .await
        .unwrap();
    assert!(page["spending_limit"].is_null(), "{page}");
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM user_controls").await,
        0,
        "nothing was written"
    );

    // The calling plan's PUT says what it did with each entry.
    let r = app
        .client
        .put(app.url("/services/calling_plan"))
        .json(&serde_json::json!({"plans": [
            {"countryCode": "XX", "services": [{"type": "premium", "enabled": true}]},
            {"countryCode": "GB", "services": [
                {"type": "premium", "enabled": "yes"},
                {"type": "standard", "enabled": true},
                {"type": "satellite", "enabled": true}
            ]},
            {"countryCode": "CU", "services": [{"type": "standard", "enabled": true}]},
            {"prefix": "+44", "services": [{"type": "premium", "enabled": true}]}
        ]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let out: serde_json::Value = r.json().await.unwrap();
    let reasons: Vec<&str> = out["skip"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        [
            "unknown country",
            "unchanged",
            "unknown service type",
            "risk above the operator's ceiling"
        ],
        "{out}"
    );
    assert_eq!(
        out["errors"][0]["error"], "enabled is not a boolean",
        "{out}"
    );
    assert_eq!(out["success"].as_array().unwrap().len(), 1, "{out}");
    // A body that is not the plan's shape: 400, told in JSON.
    let r = app
        .client
        .put(app.url("/services/calling_plan?format=json"))
        .json(&serde_json::json!({"countries": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);

    // The GET keeps the reference shape, beside the keys every page has.
    let plan: serde_json::Value = app
        .get("/services/calling_plan?format=json")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(plan["pagename"], "Calling plan");
    assert!(
        plan["userid"].is_i64() && plan["risk_ceiling"].is_i64(),
        "{plan}"
    );
    assert!(plan["links"]["next"].is_null() && plan["links"]["prev"].is_null());
    let uk = plan["callingPlans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["isoCode"] == "GB")
        .expect("the UK");
    assert_eq!(uk["countryCode"], "+44");
    assert_eq!(uk["region"], "Europe");
    assert_eq!(uk["type"], "calling_plan");
    let premium = uk["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["type"] == "premium")
        .unwrap();
    assert_eq!(premium["enabled"], true);
    assert_eq!(premium["allowed"], true);
    assert_eq!(premium["risk"], 2);
    let cuba = plan["callingPlans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["isoCode"] == "CU")
        .unwrap();
    assert_eq!(cuba["countryRisk"], 3);
    assert_eq!(cuba["services"][0]["enabled"], false, "high risk: off");
    let (status, xml) = app.get_xml("/services/calling_plan").await;
    assert_eq!(status, 200);
    roxmltree::Document::parse(&xml).unwrap();
}

on_both_databases!(the_operator_classifies_destinations_and_the_pbx_follows);
async fn the_operator_classifies_destinations_and_the_pbx_follows(backend: Backend) {
    use crate::import::{asterisk, ok, selfcare_run, set_up_operator, write};
    let app = crate::common::spawn_app_with_settings(backend, |s| {
        s.pbx.token = Some(Secret::new(TOKEN));
    })
    .await;
    let dir = set_up_operator(&app);
    // A deck that says which numbers are premium and how risky a destination is.
    let deck = write(
        &dir,
        "plan.csv",
        "prefix,destination,rate,fee,increment,minimum,date,type,service,risk\n\
         449,United Kingdom Premium,1.50,,1,0,,PRM,premium,2\n\
         53,Cuba,0.90,,1,0,,FIX,standard,3\n",
    );
    let out = ok(
        &app,
        &[
            "import",
            "rates",
            "--tariff",
            "Retail",
            deck.to_str().unwrap(),
        ],
    );
    assert!(out.contains("Calling plan: 2 service(s)"), "{out}");
    // A deck that contradicts itself is refused by its line.
    let bad = write(
        &dir,
        "bad.csv",
        "4490,UK Premium 2,1.50,,1,0,,PRM,premium,2\n4491,UK Premium 2,1.50,,1,0,,PRM,standard,2\n4492,X,1,,1,0,,PRM,gold,\n",
    );
    let (done, out) = selfcare_run(
        &app,
        &[
            "import",
            "rates",
            "--tariff",
            "Retail",
            bad.to_str().unwrap(),
        ],
    );
    assert!(!done);
    assert!(
        out.contains("bad.csv:2:") && out.contains("another service or risk"),
        "{out}"
    );
    assert!(
        out.contains("bad.csv:3:") && out.contains("standard or premium"),
        "{out}"
    );

    ok(&app, &["controls", "national-country", "gb"]);
    ok(&app, &["controls", "risk-ceiling", "2"]);
    ok(&app, &["controls", "limit-ceiling", "USD", "100"]);
    let shown = ok(&app, &["controls", "show"]);
    assert!(
        shown.contains("National country: GB; risk ceiling: 2."),
        "{shown}"
    );
    for bad in [
        &["controls", "risk-ceiling", "4"][..],
        &["controls", "national-country", "GBR"],
        &["controls", "country-risk", "ZZ", "2"],
        &[
            "controls", "service", "GB", "SAT", "--type", "premium", "--risk", "2",
        ],
        &["controls", "limit-ceiling", "USD", "-1"],
    ] {
        let (done, out) = selfcare_run(&app, bad);
        assert!(!done, "{bad:?}: {out}");
    }

    // alice (prepaid, nothing on her balance) on SIP/101.
    denied(&call(&app, "101", "+33 1 23 45 67 89").await, "no_credit");
    denied(
        &call(&app, "101", "+44 906 123 4567").await,
        "premium_disabled",
    );
    denied(&call(&app, "101", "+53 7 123 4567").await, "risk_too_high");
    ok(
        &app,
        &["balance", "adjust", "alice", "10.00", "--reason", "test"],
    );
    // France at 0.02 a minute: 10.00 pays for more than the longest call.
    assert_eq!(
        allowed(&call(&app, "101", "+33 1 23 45 67 89").await),
        4 * 3600
    );
    // Premium made high risk: above the ceiling, whatever the subscriber wants.
    ok(
        &app,
        &[
            "controls", "service", "GB", "PRM", "--type", "premium", "--risk", "3",
        ],
    );
    denied(
        &call(&app, "101", "+44 906 123 4567").await,
        "risk_too_high",
    );
    // Cuba's numbers made low risk: on by default; the country made high risk: off again.
    ok(
        &app,
        &[
            "controls", "service", "CU", "FIX", "--type", "standard", "--risk", "1",
        ],
    );
    assert!(allowed(&call(&app, "101", "+53 7 123 4567").await) > 0);
    ok(&app, &["controls", "country-risk", "CU", "3"]);
    denied(&call(&app, "101", "+53 7 123 4567").await, "risk_too_high");
    let out = ok(&app, &["controls", "unblock", "alice"]);
    assert!(out.contains("not blocked"), "{out}");

    // The limit's mail: at 80 %, then at 100 %, once each this month.
    sqlx::query("UPDATE users SET reg_email = 'alice@example.com' WHERE username = 'alice'")
        .execute(app.store.pool())
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO user_controls (user_id, spending_limit_micros, limit_mail)
         SELECT id, 250000, 1 FROM users WHERE username = 'alice'",
    )
    .execute(app.store.pool())
    .await
    .unwrap();
    let now = selfcare::time::now() / 60 * 60;
    let start = chrono::DateTime::from_timestamp(now, 0)
        .unwrap()
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    let mails =
        || app.scalar("SELECT COUNT(*) FROM mail_outbox WHERE recipient = 'alice@example.com'");
    // 600 s to France at 0.02 a minute: 0.20, 80 % of 0.25.
    for (n, id) in [(1, "c1"), (2, "c2"), (2, "c3")] {
        let cdr = asterisk(
            "",
            "101",
            "0033123456789",
            "SIP/101-1",
            "SIP/trunk-1",
            &start,
            &start,
            600,
            "ANSWERED",
            id,
        );
        let file = write(&dir, &format!("{id}.csv"), &cdr);
        ok(
            &app,
            &[
                "import",
                "cdrs",
                "--format",
                "asterisk",
                "--time-zone",
                "UTC",
                file.to_str().unwrap(),
            ],
        );
        assert_eq!(mails().await, n, "after {id}");
    }
    // A call the controls would have refused is imported and flagged, with the reason.
    let cdr = asterisk(
        "",
        "101",
        "00449061234567",
        "SIP/101-2",
        "SIP/trunk-2",
        &start,
        &start,
        30,
        "ANSWERED",
        "p1",
    );
    let file = write(&dir, "p1.csv", &cdr);
    let out = ok(
        &app,
        &[
            "import",
            "cdrs",
            "--format",
            "asterisk",
            "--time-zone",
            "UTC",
            file.to_str().unwrap(),
        ],
    );
    assert!(out.contains("against controls             1"), "{out}");
    let (flag,): (Option<String>,) =
        sqlx::query_as("SELECT control_flag FROM calls WHERE unique_id LIKE '%p1%'")
            .fetch_one(app.store.pool())
            .await
            .unwrap();
    assert_eq!(flag.as_deref(), Some("risk_too_high"));
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM calls WHERE control_flag IS NOT NULL")
            .await,
        1,
        "the calls to France were allowed"
    );
    let subjects: Vec<(String,)> = sqlx::query_as(
        "SELECT subject FROM mail_outbox WHERE recipient = 'alice@example.com' ORDER BY id",
    )
    .fetch_all(app.store.pool())
    .await
    .unwrap();
    assert_eq!(subjects[0].0, "80 % of your spending limit is used");
    assert_eq!(subjects[1].0, "Your spending limit is reached");
    denied(
        &call(&app, "101", "+33 1 23 45 67 89").await,
        "limit_reached",
    );
}

with_tools!(a_subscriber_sets_controls_in_the_browser, needs chromium);
/// In a browser: a limit with the mail box ticked, a barring, and premium numbers switched on
/// in the calling plan's form, each saved and shown back.
async fn a_subscriber_sets_controls_in_the_browser() {
    let app = app_with_pbx(Backend::Sqlite).await;
    let account = demo_account(&app).await;
    let Some(browser) = crate::browser::Browser::start(1280, 1000).await else {
        return;
    };
    browser.log_in(&app.address, "demo", "demo").await;
    browser
        .go(&format!("{}/services/spending_limit", app.address))
        .await;
    let limit = browser.find("input[name=limit]").await;
    browser.clear(&limit).await;
    browser.type_into(&limit, "75.50").await;
    let mail = browser.find("input[type=checkbox][name=mail]").await;
    browser.click(&mail).await;
    let save = browser.find("#limit button[type=submit]").await;
    browser.click(&save).await;
    browser.wait_for_url("done=limit_saved").await;
    let notice = browser.text(&browser.find(".notice").await).await;
    assert!(notice.contains("spending limit is saved"), "{notice}");
    assert_eq!(
        browser
            .attribute(&browser.find("input[name=limit]").await, "value")
            .await,
        "75.50"
    );
    assert_eq!(
        browser
            .attribute(
                &browser.find("input[type=checkbox][name=mail]").await,
                "checked"
            )
            .await,
        "true"
    );

    let premium = browser.find("input[type=checkbox][name=premium]").await;
    browser.click(&premium).await;
    let save = browser.find("#barrings button[type=submit]").await;
    browser.click(&save).await;
    browser.wait_for_url("done=barrings_saved").await;
    denied(
        &call(&app, &account, "+449061234567").await,
        "premium_disabled",
    );
    // From the page itself again (its address has no notice), so the next save is seen to land.
    browser
        .go(&format!("{}/services/barrings", app.address))
        .await;
    let premium = browser.find("input[type=checkbox][name=premium]").await;
    browser.click(&premium).await;
    let save = browser.find("#barrings button[type=submit]").await;
    browser.click(&save).await;
    browser.wait_for_url("done=barrings_saved").await;

    browser
        .go(&format!("{}/services/calling_plan", app.address))
        .await;
    let uk_premium = browser
        .find("input[type=checkbox][aria-label='United Kingdom Premium']")
        .await;
    browser.click(&uk_premium).await;
    let save = browser.find("form .form-actions button").await;
    browser.click(&save).await;
    browser.wait_for_url("done=saved").await;
    allowed(&call(&app, &account, "+449061234567").await);
    browser.quit().await;
}
