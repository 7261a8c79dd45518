use crate::common::{spawn_demo_app, structure, text_of, Backend};
use crate::on_both_databases;

/// The seed's main page, element by element.
const MAIN: &str = "\
page
  pagename
  username
  userid
  language
  stats
    missed_calls
      missed_today
      missed_total
    call_history
      calls
        call_counts
        period
        call_duration
      calls
        call_counts
        period
        call_duration
    finances
      account
      balance
      credit
";

async fn main_page_xml_is_the_seed_filled_from_the_database(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    app.legacy_login("demo", "demo").await;
    // A legacy session gets XML without asking.
    let r = app.get("/callc/main").await;
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/xml"));
    let xml = r.text().await.unwrap();
    assert_eq!(structure(&xml), MAIN);

    let user = app
        .scalar("SELECT id FROM users WHERE username = 'demo'")
        .await;
    let missed_total = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM calls WHERE user_id = {user} AND direction = 'in'
               AND disposition IN ('NO ANSWER', 'BUSY', 'FAILED') AND processed = 0"
        ))
        .await;
    assert!(missed_total > 0);
    assert_eq!(text_of(&xml, "userid"), user.to_string());
    assert_eq!(text_of(&xml, "missed_total"), missed_total.to_string());
    assert_eq!(text_of(&xml, "username"), "John Smith");
    // The demo's postpaid account: its earlier invoices paid, its open invoice owed.
    let open = app
        .scalar(&format!(
            "SELECT price_vat_micros FROM invoices WHERE user_id = {user} AND paid_at IS NULL"
        ))
        .await;
    let expected = -selfcare::money::Money(open).round_to(2);
    assert_eq!(text_of(&xml, "balance"), expected.with_currency(2, "USD"));
    assert_eq!(
        text_of(&xml, "balance"),
        crate::common::balance_text(&app, "demo").await
    );
    assert_eq!(text_of(&xml, "credit"), "No Limit");
    assert_eq!(text_of(&xml, "account"), "Postpaid");

    let doc = roxmltree::Document::parse(&xml).unwrap();
    let periods: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("period"))
        .map(|n| n.text().unwrap())
        .collect();
    assert_eq!(periods, ["Month", "Day"]);
    let month_calls: i64 = doc
        .descendants()
        .find(|n| n.has_tag_name("call_counts"))
        .unwrap()
        .text()
        .unwrap()
        .parse()
        .unwrap();
    assert!(month_calls > 0, "demo calls this month");

    // demo2 has a credit limit in euros.
    let other = crate::common::spawn_demo_app(backend).await;
    other.legacy_login("demo2", "demo2").await;
    let xml = other.get("/callc/main").await.text().await.unwrap();
    assert_eq!(text_of(&xml, "credit"), "10.00 EUR");
    assert_eq!(
        text_of(&xml, "balance"),
        crate::common::balance_text(&other, "demo2").await
    );
    assert_eq!(text_of(&xml, "language"), "ru");
}
on_both_databases!(main_page_xml_is_the_seed_filled_from_the_database);

async fn month_and_day_figures_match_the_database(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let user = app
        .scalar("SELECT id FROM users WHERE username = 'demo'")
        .await;
    // Three calls of this user now: answered 61 s out, busy in, answered 3599 s in.
    let now = chrono::Utc::now().timestamp();
    sqlx::query("DELETE FROM calls WHERE user_id = $1")
        .bind(user)
        .execute(app.store.pool())
        .await
        .unwrap();
    for (dir, disp, secs) in [
        ("out", "ANSWERED", 61),
        ("in", "BUSY", 0),
        ("in", "ANSWERED", 3599),
    ] {
        sqlx::query(
            "INSERT INTO calls (user_id, started_at, src, dst, direction, disposition, duration_s, billsec)
             VALUES ($1, $2, '1', '2', $3, $4, $5, $5)",
        )
        .bind(user)
        .bind(now - 5)
        .bind(dir)
        .bind(disp)
        .bind(secs as i64)
        .execute(app.store.pool())
        .await
        .unwrap();
    }
    app.legacy_login("demo", "demo").await;
    let json: serde_json::Value = app
        .get("/callc/main?format=json")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(json["missed_today"], 1);
    assert_eq!(json["missed_total"], 1);
    for period in json["calls"].as_array().unwrap() {
        assert_eq!(period["call_counts"], 3);
        assert_eq!(period["call_duration"], "01:01:00");
    }
}
on_both_databases!(month_and_day_figures_match_the_database);

async fn names_with_markup_are_escaped_in_every_format(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let nasty = "<b>Tom</b> & \"Jerry\" 'O'";
    sqlx::query("UPDATE users SET first_name = $1, last_name = '' WHERE username = 'demo'")
        .bind(nasty)
        .execute(app.store.pool())
        .await
        .unwrap();
    app.submit_form(
        "/callc/login",
        &[("username", "demo"), ("password", "demo")],
    )
    .await;
    let (_, xml) = app.get_xml("/callc/main").await;
    assert_eq!(text_of(&xml, "username"), nasty);
    let html = app.get("/callc/main").await.text().await.unwrap();
    assert!(!html.contains("<b>Tom</b>"), "HTML is escaped");
    assert!(html.contains("&#60;b&#62;Tom&#60;/b&#62;"), "{html}");
    let json: serde_json::Value = app
        .get("/callc/main?format=json")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(json["username"], nasty);
}
on_both_databases!(names_with_markup_are_escaped_in_every_format);

async fn security_headers_are_on_every_answer(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    for path in [
        "/callc/login",
        "/callc/main",
        "/nope",
        "/static/css/selfcare.css",
    ] {
        let r = app.get(path).await;
        let h = r.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"),
            "{path}: {csp}"
        );
        assert!(h.contains_key("referrer-policy"), "{path}");
    }
}
on_both_databases!(security_headers_are_on_every_answer);

/// The main page reads whole days and hours from the roll-ups and the partial hours from the
/// calls: in a zone whose midnight is half past a UTC hour, every figure is still the calls'
/// own, and the unprocessed count follows calls being processed and removed.
async fn figures_match_the_calls_in_a_half_hour_zone(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let user = app
        .scalar("SELECT id FROM users WHERE username = 'demo'")
        .await;
    let pool = app.store.pool();
    sqlx::query("UPDATE users SET time_zone = 'Asia/Kolkata' WHERE id = $1")
        .bind(user)
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM calls WHERE user_id = $1")
        .bind(user)
        .execute(pool)
        .await
        .unwrap();
    let now = chrono::Utc::now().timestamp();
    let tz: chrono_tz::Tz = "Asia/Kolkata".parse().unwrap();
    let (day, month) = selfcare::time::day_and_month_start(now, tz);
    let times = [
        month - 1,
        month,
        month + 1799,
        month + 1800,
        day - 1801,
        day - 1,
        day,
        day + 1799,
        now - 5,
        // Whole UTC days of the month (read from the daily roll-up) once the month is a few
        // days old; before the month otherwise.
        month + 2 * 86_400 + 100,
        day - 2 * 86_400 - 100,
    ];
    for (i, at) in times.iter().enumerate() {
        let (direction, disposition) = match i % 3 {
            0 => ("in", "NO ANSWER"),
            1 => ("out", "ANSWERED"),
            _ => ("in", "ANSWERED"),
        };
        sqlx::query(
            "INSERT INTO calls (user_id, started_at, src, dst, direction, disposition, duration_s,
                                billsec, price_micros)
             VALUES ($1, $2, '1', '2', $3, $4, $5, $5, $6)",
        )
        .bind(user)
        .bind(at)
        .bind(direction)
        .bind(disposition)
        .bind(10 * (i as i64 + 1))
        .bind(1_250_000 * (i as i64 + 1))
        .execute(pool)
        .await
        .unwrap();
    }
    let missed = "direction = 'in' AND disposition <> 'ANSWERED'";
    let month_calls = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM calls WHERE user_id = {user} AND started_at >= {month}"
        ))
        .await;
    let month_seconds = app
        .scalar(&format!(
            "SELECT CAST(SUM(billsec) AS BIGINT) FROM calls WHERE user_id = {user} AND started_at >= {month}"
        ))
        .await;
    let month_spend = app
        .scalar(&format!(
            "SELECT CAST(SUM(price_micros) AS BIGINT) FROM calls WHERE user_id = {user} AND started_at >= {month}"
        ))
        .await;
    let day_calls = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM calls WHERE user_id = {user} AND started_at >= {day}"
        ))
        .await;
    let day_seconds = app
        .scalar(&format!(
            "SELECT CAST(SUM(billsec) AS BIGINT) FROM calls WHERE user_id = {user} AND started_at >= {day}"
        ))
        .await;
    let missed_today = app
        .scalar(&format!(
        "SELECT COUNT(*) FROM calls WHERE user_id = {user} AND started_at >= {day} AND {missed}"
    ))
        .await;

    app.legacy_login("demo", "demo").await;
    let json = app.json("/callc/main").await;
    assert_eq!(json["calls"][0]["period"], "Month");
    assert_eq!(json["calls"][0]["call_counts"], month_calls, "{json}");
    assert_eq!(json["calls"][0]["seconds"], month_seconds, "{json}");
    assert_eq!(json["calls"][1]["call_counts"], day_calls, "{json}");
    assert_eq!(json["calls"][1]["seconds"], day_seconds, "{json}");
    assert_eq!(json["missed_today"], missed_today, "{json}");
    let missed_total = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM calls WHERE user_id = {user} AND {missed}"
        ))
        .await;
    assert_eq!(json["missed_total"], missed_total, "{json}");
    assert_eq!(
        json["spend_month"]["value"],
        selfcare::money::Money(month_spend).format(2),
        "{json}"
    );

    // Processing one missed call and removing another: the count follows.
    let missed_ids: Vec<(i64,)> = sqlx::query_as(&format!(
        "SELECT id FROM calls WHERE user_id = {user} AND {missed} ORDER BY id"
    ))
    .fetch_all(pool)
    .await
    .unwrap();
    sqlx::query("UPDATE calls SET processed = 1 WHERE id = $1")
        .bind(missed_ids[0].0)
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("UPDATE calls SET seen = 1 WHERE user_id = $1")
        .bind(user)
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM calls WHERE id = $1")
        .bind(missed_ids[1].0)
        .execute(pool)
        .await
        .unwrap();
    assert_eq!(
        app.json("/callc/main").await["missed_total"],
        missed_total - 2
    );
    // The missed-calls page says the same, whatever period it shows.
    let missed: serde_json::Value = app
        .get("/stats/missed_calls?format=json&period_start=2000-01-01&period_end=2000-01-31")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(missed["unprocessed"], missed_total - 2, "{missed}");
    assert_eq!(missed["missed_total"], 0, "{missed}");
}

on_both_databases!(figures_match_the_calls_in_a_half_hour_zone);

/// "What happened": the newest calls, newest first, the other party with `+` and the
/// phonebook's name where there is one, missed ones marked.
async fn the_latest_calls_name_who_called(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let user = app
        .scalar("SELECT id FROM users WHERE username = 'demo'")
        .await;
    let now = chrono::Utc::now().timestamp() + 3600;
    sqlx::query(
        "INSERT INTO phonebook_entries (user_id, number, name, name_key, added_at)
         VALUES ($1, '447700900555', 'Granny', 'granny', 0)",
    )
    .bind(user)
    .execute(app.store.pool())
    .await
    .unwrap();
    for (i, (direction, disposition, src, dst)) in [
        ("in", "NO ANSWER", "447700900555", "44207946000"),
        ("out", "ANSWERED", "44207946000", "4930901820100"),
        ("out", "ANSWERED", "44207946000", "112"),
    ]
    .into_iter()
    .enumerate()
    {
        sqlx::query(
            "INSERT INTO calls (user_id, started_at, src, dst, direction, disposition, duration_s, billsec)
             VALUES ($1, $2, $3, $4, $5, $6, 30, $7)",
        )
        .bind(user)
        .bind(now + i as i64)
        .bind(src)
        .bind(dst)
        .bind(direction)
        .bind(disposition)
        .bind(if disposition == "ANSWERED" { 30 } else { 0 })
        .execute(app.store.pool())
        .await
        .unwrap();
    }
    app.legacy_login("demo", "demo").await;
    let json = app.json("/callc/main").await;
    let recent = json["recent_calls"].as_array().unwrap();
    assert_eq!(recent.len(), 5, "{json}");
    assert_eq!(recent[0]["number"], "112", "short numbers as they are");
    assert_eq!(recent[1]["number"], "+4930901820100");
    assert!(recent[1]["name"].is_null());
    assert_eq!(recent[2]["number"], "+447700900555");
    assert_eq!(recent[2]["name"], "Granny");
    assert_eq!(recent[2]["direction"], "incoming");
    assert_eq!(recent[2]["answered"], false);
    let html = app
        .get("/callc/main?format=html")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("<strong>Granny</strong>"), "{html}");
    assert!(html.contains("href=\"/stats/call_list\""));

    // The new calls, the call list and the missed calls name them the same way; XML keeps the
    // digits.
    let day = |d: i64| (chrono::Utc::now() + chrono::Duration::days(d)).format("%Y-%m-%d");
    let period = format!("period_start={}&period_end={}", day(-1), day(1));
    let list: serde_json::Value = app
        .get(&format!("/stats/call_list?{period}&format=json"))
        .await
        .json()
        .await
        .unwrap();
    let granny = list["calls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["called_from"] == "447700900555")
        .expect("the missed call in the list");
    assert_eq!(granny["from_name"], "Granny", "{granny}");
    assert!(granny["to_name"].is_null(), "{granny}");
    for path in [
        // First: the call list marks the calls it shows seen.
        "/stats/new_calls_list?format=html".to_string(),
        format!("/stats/call_list?{period}&format=html"),
        format!("/stats/missed_calls?{period}&format=html"),
    ] {
        let html = app.get(&path).await.text().await.unwrap();
        assert!(
            html.contains("<span class=\"name\">Granny</span> <span class=\"number muted\">+447700900555</span>"),
            "{path}: the caller by name, then the number with +"
        );
        assert!(
            html.contains(">+44207946000<"),
            "{path}: the own line with +"
        );
        assert!(!html.contains(">447700900555<"), "{path}: no bare digits");
    }
    let xml = app
        .get(&format!("/stats/call_list?{period}&format=xml"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        xml.contains("<called_from>447700900555</called_from>"),
        "XML as the seed"
    );
}
on_both_databases!(the_latest_calls_name_who_called);

/// Missed calls: "Mark all as processed" clears the count the main page and the missed-calls
/// page share (any date); "Call back" opens the callback form with the caller's number in it.
async fn all_missed_calls_processed_at_once_and_called_back(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    app.submit_form(
        "/callc/login",
        &[("username", "demo"), ("password", "demo")],
    )
    .await;
    let before = app.json("/callc/main").await["missed_total"]
        .as_i64()
        .unwrap();
    assert!(before > 0);
    let html = app
        .get("/stats/missed_calls?period_start=2000-01-01")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("name=\"processed\" value=\"all\""),
        "the button"
    );
    let caller = html
        .split("/functions/callback?dst=")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a Call back link")
        .to_string();

    let r = app
        .submit_form(
            "/stats/missed_calls?period_start=2000-01-01",
            &[("processed", "all")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert!(
        location.ends_with(&format!("marked_all={before}")),
        "{location}"
    );
    let html = app.get(&location).await.text().await.unwrap();
    assert!(html.contains(&format!("Missed calls marked as processed: {before}.")));
    assert!(
        !html.contains("name=\"processed\" value=\"all\""),
        "nothing left"
    );
    assert_eq!(app.json("/callc/main").await["missed_total"], 0);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'calls_processed'")
            .await,
        1
    );

    // Call back: the form starts with the caller's number; a number that is not one is ignored.
    let form = app
        .get(&format!("/functions/callback?dst={caller}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        form.contains(&format!(
            "name=\"dst\" type=\"tel\" required maxlength=\"40\" value=\"{caller}\""
        )),
        "{caller} in\n{form}"
    );
    let form = app
        .get("/functions/callback?dst=%3Cscript%3E")
        .await
        .text()
        .await
        .unwrap();
    assert!(!form.contains("<script>"));
}
on_both_databases!(all_missed_calls_processed_at_once_and_called_back);
