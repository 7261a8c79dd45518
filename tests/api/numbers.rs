//! Numbers (DIDs) end to end, on both databases: the operator loads a pool, subscribers race
//! for a number, hold, allocate, forward and release it; the PBX asks where its calls go;
//! imported calls to it reach its owner; a call between two subscribers is both of theirs;
//! the fee is on the next invoice.

use crate::with_tools;
use std::collections::HashMap;

use selfcare::config::Secret;

use crate::common::{
    spawn_app_with_settings, spawn_demo_app_with_settings, text_of, Backend, TestApp,
};
use crate::import::{asterisk, ok, selfcare_run, set_up_operator, user_id, write};
use crate::on_both_databases;

const TOKEN: &str = "pbx-token-for-the-number-tests";

/// A second subscriber's client, logged in as legacy clients do (cookie session).
async fn client_of(app: &TestApp, user: &str, password: &str) -> reqwest::Client {
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let r = c
        .get(app.url("/api/login"))
        .query(&[("u", user), ("p", password)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "login {user}");
    c
}

/// POSTs a form asking for JSON: (status, body as JSON or as text).
async fn post(
    c: &reqwest::Client,
    app: &TestApp,
    path: &str,
    form: &[(&str, &str)],
) -> (u16, serde_json::Value) {
    let r = c
        .post(app.url(path))
        .query(&[("format", "json")])
        .form(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    )
}

async fn get_json(c: &reqwest::Client, app: &TestApp, path: &str) -> serde_json::Value {
    let r = c
        .get(app.url(path))
        .query(&[("format", "json")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "{path}");
    r.json().await.unwrap()
}

/// The PBX's question `/pbx/route?did=…`, read as the `key=value` lines it gets.
async fn route(app: &TestApp, did: &str) -> HashMap<String, String> {
    let r = reqwest::Client::new()
        .get(app.url("/pbx/route"))
        .bearer_auth(TOKEN)
        .query(&[("did", did)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    r.text()
        .await
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn hold_key(page: &serde_json::Value, did: &str) -> String {
    page["holds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["number"] == did)
        .and_then(|h| h["hold_key"].as_str())
        .unwrap_or_else(|| panic!("no hold key for {did} in {page}"))
        .to_string()
}

async fn state_of(app: &TestApp, did: &str) -> String {
    let (s,): (String,) = sqlx::query_as("SELECT state FROM dids WHERE number = $1")
        .bind(did)
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    s
}

on_both_databases!(the_pool_pages_forwards_and_back_without_overlap);
async fn the_pool_pages_forwards_and_back_without_overlap(backend: Backend) {
    let app = spawn_demo_app_with_settings(backend, |_| {}).await;
    let demo = client_of(&app, "demo", "demo").await;
    // The links carry `format=json` themselves.
    let get = |path: String| {
        let r = demo.get(app.url(&path)).send();
        async move { r.await.unwrap().json::<serde_json::Value>().await.unwrap() }
    };
    let numbers = |page: &serde_json::Value| -> Vec<String> {
        page["numbers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["number"].as_str().unwrap().to_string())
            .collect()
    };
    let in_pool = app
        .scalar("SELECT COUNT(*) FROM dids WHERE country = 'GB' AND state = 'free'")
        .await;
    assert!(in_pool > 50, "the demo pool has more than a page");
    let mut page = get("/dids/available?country=GB&format=json".to_string()).await;
    assert!(page["links"]["prev"].is_null(), "{page}");
    let mut pages = vec![numbers(&page)];
    while let Some(next) = page["links"]["next"].as_str().map(str::to_string) {
        assert!(next.contains("format=json"), "{next}");
        page = get(next).await;
        pages.push(numbers(&page));
        assert!(pages.len() < 100);
    }
    let all = pages.concat();
    let mut sorted = all.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(all, sorted, "in number order, none twice");
    assert_eq!(all.len() as i64, in_pool);
    let mut back = vec![numbers(&page)];
    while let Some(prev) = page["links"]["prev"].as_str().map(str::to_string) {
        page = get(prev).await;
        back.push(numbers(&page));
        assert!(back.len() < 100);
    }
    back.reverse();
    assert_eq!(back, pages, "back by prev is the same pages");
}

on_both_databases!(two_subscribers_race_for_a_number_and_one_gets_it);
async fn two_subscribers_race_for_a_number_and_one_gets_it(backend: Backend) {
    let app =
        spawn_demo_app_with_settings(backend, |s| s.pbx.token = Some(Secret::new(TOKEN))).await;
    // demo2 reads Russian; the messages checked below are the English ones.
    sqlx::query("UPDATE users SET language = 'en'")
        .execute(app.store.pool())
        .await
        .unwrap();
    let demo = client_of(&app, "demo", "demo").await;
    let demo2 = client_of(&app, "demo2", "demo2").await;
    let did = "+442079460100";

    // The pool lists it, with its fee.
    let pool = get_json(&demo, &app, "/dids/available?country=gb&region=London").await;
    let listed = pool["numbers"].as_array().unwrap();
    assert!(
        listed
            .iter()
            .any(|n| n["number"] == did && n["monthly_fee"]["value"] == "3.00"),
        "{pool}"
    );

    // Both hold it at once: exactly one wins, the other is told it is taken.
    let hold = [("did", did)];
    let ((s1, p1), (s2, p2)) = tokio::join!(
        post(&demo, &app, "/dids/hold", &hold),
        post(&demo2, &app, "/dids/hold", &hold),
    );
    let mut statuses = [s1, s2];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "{p1} {p2}");
    let (winner, loser, page, lost) = if s1 == 200 {
        (&demo, &demo2, p1, p2)
    } else {
        (&demo2, &demo, p2, p1)
    };
    assert!(
        lost.to_string().contains("Someone else holds or has"),
        "{lost}"
    );
    let key = hold_key(&page, did);
    assert_eq!(state_of(&app, did).await, "held");

    // The loser cannot take it with any key; the winner not with a wrong one.
    let (s, _) = post(
        loser,
        &app,
        "/dids/allocate",
        &[
            ("did", did),
            ("hold_key", &key),
            ("destination", "+447700900123"),
        ],
    )
    .await;
    assert_eq!(s, 409);
    let (s, body) = post(
        winner,
        &app,
        "/dids/allocate",
        &[
            ("did", did),
            ("hold_key", "0000"),
            ("destination", "+447700900123"),
        ],
    )
    .await;
    assert_eq!(s, 409, "{body}");
    assert!(
        body.to_string().contains("hold key does not match"),
        "{body}"
    );
    // Bad destinations are refused and change nothing.
    for (dest, why) in [
        ("hello", "one of your devices"),
        ("+44", "7 to 15 digits"),
        (did, "to itself"),
    ] {
        let (s, body) = post(
            winner,
            &app,
            "/dids/allocate",
            &[("did", did), ("hold_key", &key), ("destination", dest)],
        )
        .await;
        assert_eq!(s, 400, "{dest}: {body}");
        assert!(body.to_string().contains(why), "{dest}: {body}");
    }
    assert_eq!(state_of(&app, did).await, "held");
    let subscriptions = app.scalar("SELECT COUNT(*) FROM subscriptions").await;

    // Allocated, forwarded: the fee is a subscription, once, whatever the retries.
    let allocate = [
        ("did", did),
        ("hold_key", key.as_str()),
        ("destination", "+44 7700 900123"),
    ];
    let ((a1, _), (a2, _)) = tokio::join!(
        post(winner, &app, "/dids/allocate", &allocate),
        post(winner, &app, "/dids/allocate", &allocate),
    );
    let mut statuses = [a1, a2];
    statuses.sort();
    assert_eq!(statuses, [200, 409]);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM subscriptions").await,
        subscriptions + 1
    );
    assert_eq!(
        app.scalar(&format!("SELECT COUNT(*) FROM did_allocations a JOIN dids d ON d.id = a.did_id WHERE d.number = '{did}'")).await,
        1
    );
    let mine = get_json(winner, &app, "/dids").await;
    let n = &mine["numbers"][0];
    assert_eq!(
        (
            n["number"].as_str(),
            n["destination_type"].as_str(),
            n["destination"].as_str()
        ),
        (Some(did), Some("forward"), Some("+447700900123")),
        "{mine}"
    );
    // The numbers one owns are given whole; money and instants as the contract has them.
    assert!(mine["links"]["next"].is_null() && mine["links"]["prev"].is_null());
    assert_eq!(n["monthly_fee"]["currency"], n["currency"], "{mine}");
    assert!(chrono::DateTime::parse_from_rfc3339(n["allocated"].as_str().unwrap()).is_ok());
    let r = route(&app, did).await;
    assert_eq!(
        (r["route"].as_str(), r["number"].as_str()),
        ("forward", "+447700900123"),
        "{r:?}"
    );
    assert!(r["max_duration"].parse::<i64>().unwrap() > 0, "{r:?}");
    // A forward is the owner's own call: not to a premium number his plan keeps off.
    let (s, body) = post(
        winner,
        &app,
        &format!("/dids/{did}/destination"),
        &[("destination", "+44 906 123 4567")],
    )
    .await;
    assert_eq!(s, 400, "{body}");
    assert!(body.to_string().contains("premium_disabled"), "{body}");
    assert_eq!(route(&app, did).await["number"], "+447700900123");
    // Barred later: the PBX is told to refuse the forward, as any call of his.
    post(winner, &app, "/services/barrings", &[("outgoing", "1")]).await;
    let r = route(&app, did).await;
    assert_eq!(
        (r["route"].as_str(), r["reason"].as_str()),
        ("reject", "barred_outgoing"),
        "{r:?}"
    );
    post(winner, &app, "/services/barrings", &[("outgoing", "0")]).await;

    // Pointed at a device of his: the PBX rings it.
    let winner_name = if std::ptr::eq(winner, &demo) {
        "demo"
    } else {
        "demo2"
    };
    let ext: (String, String) = sqlx::query_as(
        "SELECT d.extension, d.username FROM devices d JOIN users u ON u.id = d.user_id
         WHERE u.username = $1 AND d.device_type = 'SIP'",
    )
    .bind(winner_name)
    .fetch_one(app.store.pool())
    .await
    .unwrap();
    let (s, _) = post(
        winner,
        &app,
        &format!("/dids/{did}/destination"),
        &[("destination", &ext.0)],
    )
    .await;
    assert_eq!(s, 200);
    let r = route(&app, did).await;
    assert_eq!(
        (r["route"].as_str(), r["device"].as_str()),
        ("device", ext.1.as_str()),
        "{r:?}"
    );
    // The other subscriber's device is not a destination, and his number is not ours to change.
    let (s, _) = post(
        loser,
        &app,
        &format!("/dids/{did}/destination"),
        &[("destination", "+447700900123")],
    )
    .await;
    assert_eq!(s, 404);
    let (s, _) = post(loser, &app, &format!("/dids/{did}/release"), &[]).await;
    assert_eq!(s, 404);
    assert_eq!(state_of(&app, did).await, "active");
    // An incoming barring of the owner: the PBX is told to refuse.
    let (s, _) = post(winner, &app, "/services/barrings", &[("incoming", "1")]).await;
    assert_eq!(s, 200);
    assert_eq!(route(&app, did).await["reason"], "barred_incoming");
    post(winner, &app, "/services/barrings", &[("incoming", "0")]).await;

    // A hold runs out: allocation is refused, and the number is free for anyone again.
    let other = "+442079460101";
    let (s, page) = post(loser, &app, "/dids/hold", &[("did", other)]).await;
    assert_eq!(s, 200, "{page}");
    let key = hold_key(&page, other);
    sqlx::query("UPDATE dids SET held_until = held_until - 3600 WHERE number = $1")
        .bind(other)
        .execute(app.store.pool())
        .await
        .unwrap();
    let (s, body) = post(
        loser,
        &app,
        "/dids/allocate",
        &[
            ("did", other),
            ("hold_key", &key),
            ("destination", "+447700900123"),
        ],
    )
    .await;
    assert_eq!(s, 409);
    assert!(body.to_string().contains("has run out"), "{body}");
    let (s, _) = post(winner, &app, "/dids/hold", &[("did", other)]).await;
    assert_eq!(s, 200);

    // Released: closed for the quarantine, its subscription ended, not offered, nobody's.
    let (s, _) = post(winner, &app, &format!("/dids/{did}/release"), &[]).await;
    assert_eq!(s, 200);
    assert_eq!(state_of(&app, did).await, "closed");
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM subscriptions WHERE active_until IS NOT NULL AND service_id = (SELECT id FROM services WHERE name = 'Number +442079460100')").await,
        1
    );
    let pool = get_json(&demo, &app, "/dids/available?country=GB").await;
    assert!(
        !pool["numbers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["number"] == did),
        "{pool}"
    );
    assert_eq!(route(&app, did).await["route"], "none");
    let (s, _) = post(loser, &app, "/dids/hold", &[("did", did)]).await;
    assert_eq!(s, 409);

    // XML clients read the same pages.
    let xml = demo
        .get(app.url("/dids?format=xml"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(text_of(&xml, "pagename"), "Numbers");
    let xml = demo
        .get(app.url("/dids/available?country=GB&format=xml"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        roxmltree::Document::parse(&xml)
            .unwrap()
            .descendants()
            .filter(|n| n.has_tag_name("did"))
            .count()
            > 10
    );
    // Bad input in a URL or a query: a clear answer, never a 500.
    let r = demo
        .get(app.url("/dids/available?country=GBR&format=json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let (s, _) = post(&demo, &app, "/dids/hold", &[("did", "12345")]).await;
    assert_eq!(s, 400);
    let (s, _) = post(&demo, &app, "/dids/not-a-number/release", &[]).await;
    assert_eq!(s, 404);
}

const POOL: &str = "\
number,country,region,monthly_fee,setup_fee
+44 161 496 0100,GB,Manchester,2.50,1.00
+441614960101,gb,Manchester,2.50,0
";

/// (direction, disposition, price) of a user's calls from the record with this key (and its legs).
async fn legs(app: &TestApp, user: i64) -> Vec<(String, String, Option<i64>, String)> {
    let rows: Vec<(String, String, Option<i64>, String)> = sqlx::query_as(
        "SELECT direction, disposition, price_micros, unique_id FROM calls WHERE user_id = $1 ORDER BY unique_id",
    )
    .bind(user)
    .fetch_all(app.store.pool())
    .await
    .unwrap();
    // The stored key is the uniqueid, a digest of the record, and the leg's suffix.
    rows.into_iter()
        .map(|(d, s, p, key)| {
            let (head, rest) = key.split_once('/').unwrap_or((&key, ""));
            let suffix = rest.find(':').map_or("", |i| &rest[i..]);
            (d, s, p, format!("{head}{suffix}"))
        })
        .collect()
}

on_both_databases!(calls_to_a_number_reach_its_owner_and_calls_between_subscribers_are_both_theirs);
async fn calls_to_a_number_reach_its_owner_and_calls_between_subscribers_are_both_theirs(
    backend: Backend,
) {
    let app = spawn_app_with_settings(backend, |s| s.pbx.token = Some(Secret::new(TOKEN))).await;
    let dir = set_up_operator(&app);
    let (alice, bob) = (user_id(&app, "alice").await, user_id(&app, "bob").await);

    // The operator loads the pool; a bad file loads nothing and names its lines.
    let bad = write(&dir, "bad.csv", "number,country,region,monthly_fee,setup_fee\n0161 496 0100,GB,Manchester,2.50,0\n+441614960102,GBR,Manchester,2.50,0\n");
    let (done, out) = selfcare_run(&app, &["did", "import", bad.to_str().unwrap()]);
    assert!(!done);
    assert!(
        out.contains("bad.csv:2")
            && out.contains("bad.csv:3")
            && out.contains("nothing was loaded"),
        "{out}"
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM dids").await, 0);
    let pool = write(&dir, "pool.csv", POOL);
    let out = ok(&app, &["did", "import", pool.to_str().unwrap()]);
    assert!(out.contains("2 number(s) added"), "{out}");

    // bob picks a number, ringing his desk phone (extension 201).
    let bob_client = client_of(&app, "bob", "bob pw").await;
    let did = "+441614960100";
    let (s, page) = post(&bob_client, &app, "/dids/hold", &[("did", did)]).await;
    assert_eq!(s, 200, "{page}");
    let key = hold_key(&page, did);
    let (s, body) = post(
        &bob_client,
        &app,
        "/dids/allocate",
        &[("did", did), ("hold_key", &key), ("destination", "201")],
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(route(&app, did).await["extension"], "201");

    // Three records: a stranger calls bob's number, nobody answers; alice (SIP/101) calls bob's
    // extension; alice dials bob's number in international form.
    let day = "2024-03-05";
    let mut cdrs = asterisk(
        "",
        "442071234567",
        "+441614960100",
        "SIP/trunk-00000001",
        "",
        &format!("{day} 09:00:00"),
        "",
        0,
        "NO ANSWER",
        "n.1",
    );
    cdrs += &asterisk(
        "",
        "101",
        "201",
        "SIP/101-00000002",
        "PJSIP/bob-desk-00000003",
        &format!("{day} 10:00:00"),
        &format!("{day} 10:00:05"),
        60,
        "ANSWERED",
        "n.2",
    );
    cdrs += &asterisk(
        "",
        "101",
        "00441614960100",
        "SIP/101-00000004",
        "PJSIP/bob-desk-00000005",
        &format!("{day} 11:00:00"),
        &format!("{day} 11:00:05"),
        30,
        "ANSWERED",
        "n.3",
    );
    // Numbers are attributed by who had them when: put bob's allocation before these calls.
    sqlx::query("UPDATE did_allocations SET allocated_at = 1700000000")
        .execute(app.store.pool())
        .await
        .unwrap();
    let file = write(&dir, "Master.csv", &cdrs);
    let args = [
        "import",
        "cdrs",
        "--format",
        "asterisk",
        "--time-zone",
        "UTC",
        file.to_str().unwrap(),
    ];
    ok(&app, &args);

    let as_tuples = |v: Vec<(String, String, Option<i64>, String)>| v;
    assert_eq!(
        as_tuples(legs(&app, alice).await),
        vec![
            ("out".into(), "ANSWERED".into(), Some(0), "n.2".into()),
            ("out".into(), "ANSWERED".into(), Some(0), "n.3".into()),
        ],
        "alice's on-net calls are hers, free"
    );
    assert_eq!(
        legs(&app, bob).await,
        vec![
            ("in".into(), "NO ANSWER".into(), Some(0), "n.1".into()),
            ("in".into(), "ANSWERED".into(), Some(0), "n.2:in".into()),
            ("in".into(), "ANSWERED".into(), Some(0), "n.3:in".into()),
        ],
        "bob sees the call to his number and both of alice's"
    );
    // Once each: importing the file again adds nothing.
    ok(&app, &args);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM calls").await, 5);

    // bob's missed calls show the stranger's call to his number.
    let xml = bob_client
        .get(
            app.url("/stats/missed_calls?period_start=2024-03-01&period_end=2024-03-31&format=xml"),
        )
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(text_of(&xml, "missed_total"), "1", "{xml}");
    assert_eq!(text_of(&xml, "called_to"), "+441614960100", "{xml}");

    // The on-net rule priced: 0.06 a minute by the second, after `selfcare rate`.
    ok(&app, &["did", "on-net-rate", "0.06"]);
    ok(&app, &["rate", "--quiet"]);
    let alice_prices: Vec<Option<i64>> = legs(&app, alice).await.into_iter().map(|l| l.2).collect();
    assert_eq!(alice_prices, vec![Some(60_000), Some(30_000)]);

    // The fee is billed: the month bob has the number in is on his invoice (by `bill`).
    sqlx::query("UPDATE subscriptions SET added_at = 1709251200, active_from = 1709251200 WHERE user_id = $1")
        .bind(bob)
        .execute(app.store.pool())
        .await
        .unwrap();
    let out = ok(&app, &["bill", "--period", "2024-03"]);
    assert!(out.contains("invoice"), "{out}");
    let lines: Vec<(String, i64)> = sqlx::query_as(
        "SELECT l.description, l.amount_micros FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id
         WHERE i.user_id = $1 AND l.kind = 'subscription' ORDER BY l.position",
    )
    .bind(bob)
    .fetch_all(app.store.pool())
    .await
    .unwrap();
    assert_eq!(
        lines,
        vec![
            ("Number +441614960100".to_string(), 2_500_000),
            ("Number +441614960100 setup".to_string(), 1_000_000)
        ]
    );
    // The portal's own services are named in the reader's language: subscriptions, invoice.
    let subs = get_json(&bob_client, &app, "/services/user_subscriptions?lang=ru").await;
    let names: Vec<&str> = subs["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["service"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"Номер +441614960100"), "{subs}");
    assert!(
        names.contains(&"Подключение номера +441614960100"),
        "{subs}"
    );
    let invoice = app
        .scalar(&format!("SELECT id FROM invoices WHERE user_id = {bob}"))
        .await;
    let page = get_json(
        &bob_client,
        &app,
        &format!("/accounting/user_invoices/{invoice}?lang=ru"),
    )
    .await;
    let lines = page.to_string();
    assert!(
        lines.contains("Подключение номера +441614960100"),
        "{lines}"
    );
    assert!(!lines.contains("Number +"), "{lines}");

    // The operator takes the number back: closed, then freed again early.
    let out = ok(&app, &["did", "release", did]);
    assert!(out.contains("closed"), "{out}");
    let (done, out) = selfcare_run(&app, &["did", "terminate", "+441614960100"]);
    assert!(done, "{out}");
    let (done, out) = selfcare_run(&app, &["did", "free", "+441614960100"]);
    assert!(!done && out.contains("terminated for good"), "{out}");
    let out = ok(&app, &["did", "list", "--all"]);
    assert!(
        out.contains("+441614960100\tterminated") && out.contains("+441614960101\tfree"),
        "{out}"
    );
}

with_tools!(a_subscriber_picks_a_number_in_the_browser, needs chromium);
/// In a browser: pick a number in Manchester from the pool, hold it, point it at the softphone
/// and take it; then it is listed as one's own and the PBX rings the softphone. On a phone-sized
/// window too.
async fn a_subscriber_picks_a_number_in_the_browser() {
    let app =
        spawn_demo_app_with_settings(Backend::Sqlite, |s| s.pbx.token = Some(Secret::new(TOKEN)))
            .await;
    for (width, height, name) in [(1280, 1000, "desktop"), (390, 844, "phone")] {
        let Some(browser) = crate::browser::Browser::start(width, height).await else {
            return;
        };
        browser.log_in(&app.address, "demo", "demo").await;
        browser.go(&format!("{}/dids/available", app.address)).await;
        let country = browser.find("select[name=country]").await;
        browser.click(&country).await;
        let gb = browser.find("select[name=country] option[value=GB]").await;
        browser.click(&gb).await;
        browser
            .click(
                &browser
                    .find("form[action='/dids/available'] button[type=submit]")
                    .await,
            )
            .await;
        browser.wait_for_url("country=GB").await;
        let manchester = browser
            .find("select[name=region] option[value=Manchester]")
            .await;
        browser.click(&manchester).await;
        browser
            .click(
                &browser
                    .find("form[action='/dids/available'] button[type=submit]")
                    .await,
            )
            .await;
        browser.wait_for_url("region=Manchester").await;
        browser.screenshot(&format!("numbers-pool-{name}")).await;
        let first = browser.text(&browser.find("tbody td.mono").await).await;
        assert!(first.starts_with("+44161496"), "{first}");
        browser
            .click(&browser.find("tbody button[type=submit]").await)
            .await;
        let held = browser.text(&browser.find("#hold h2").await).await;
        assert!(held.contains(&first), "{held}");
        browser.screenshot(&format!("numbers-hold-{name}")).await;
        let dest = browser.find("#hold input[name=destination]").await;
        browser.clear(&dest).await;
        browser.type_into(&dest, "102").await;
        browser
            .click(&browser.find("#hold button[type=submit]").await)
            .await;
        browser.wait_for_url("done=allocated").await;
        let notice = browser.text(&browser.find(".notice").await).await;
        assert!(notice.contains("The number is yours"), "{notice}");
        let mine = browser.all("section.card h2.mono").await;
        let mut numbers = Vec::new();
        for e in mine {
            numbers.push(browser.text(&e).await);
        }
        assert!(numbers.contains(&first), "{numbers:?}");
        browser.screenshot(&format!("numbers-mine-{name}")).await;
        let r = route(&app, &first).await;
        assert_eq!(
            (r["route"].as_str(), r["extension"].as_str()),
            ("device", "102"),
            "{r:?}"
        );
        browser.quit().await;
    }
}

on_both_databases!(a_call_between_the_two_demo_subscribers_is_seen_by_both);
async fn a_call_between_the_two_demo_subscribers_is_seen_by_both(backend: Backend) {
    let app = spawn_demo_app_with_settings(backend, |_| {}).await;
    let dir = app.data_dir.parent().unwrap().to_path_buf();
    // demo's desk phone (101) rings demo2's number; she answers on her desk phone (201).
    let today = chrono::Utc::now()
        .date_naive()
        .format("%Y-%m-%d")
        .to_string();
    let cdrs = asterisk(
        "",
        "101",
        "+74951230501",
        "SIP/101-00000001",
        "SIP/201-00000002",
        &format!("{today} 00:10:00"),
        &format!("{today} 00:10:04"),
        95,
        "ANSWERED",
        "demo.1",
    );
    let file = write(&dir, "Master.csv", &cdrs);
    let args = [
        "import",
        "cdrs",
        "--format",
        "asterisk",
        "--time-zone",
        "UTC",
        file.to_str().unwrap(),
    ];
    ok(&app, &args);
    ok(&app, &args); // twice: still once each
    let period = [
        ("period_start", format!("{today} 00:00:00")),
        ("period_end", format!("{today} 23:59:59")),
    ];
    let mut seen = Vec::new();
    for (user, direction) in [("demo", "outgoing"), ("demo2", "incoming")] {
        let c = client_of(&app, user, user).await;
        let mut q: Vec<(&str, &str)> = period.iter().map(|(k, v)| (*k, v.as_str())).collect();
        q.push(("format", "json"));
        let page: serde_json::Value = c
            .get(app.url("/stats/call_list"))
            .query(&q)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let calls: Vec<&serde_json::Value> = page["calls"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["called_to"] == "+74951230501")
            .collect();
        assert_eq!(calls.len(), 1, "{user}: {page}");
        assert_eq!(calls[0]["direction"], direction, "{user}");
        assert_eq!(calls[0]["seconds"], 95, "{user}");
        seen.push(calls[0]["price"].clone());
    }
    // On the network: free for demo (his currency) and for demo2 (incoming).
    assert_eq!(
        seen,
        vec![
            serde_json::json!({"value": "0.000", "currency": "USD"}),
            serde_json::json!({"value": "0.000", "currency": "EUR"})
        ]
    );
}
