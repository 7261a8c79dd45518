//! The call list's exports (`/stats/call_list_to_csv|pdf/{userid}`): every call of the filter,
//! the same calls and figures as the page, read back with a CSV reader and with `pdftotext`;
//! exports do not mark calls seen; a list past the PDF cap is offered as CSV; another user's ids
//! are 404 and bad filters are told on the page.

use std::collections::HashMap;

use chrono::{Duration, TimeZone, Utc};
use chrono_tz::Tz;

use crate::common::{spawn_demo_app, spawn_demo_app_with_settings, text_of, Backend, TestApp};
use crate::export::{
    assert_qpdf_ok, csv_rows, download, exec, login, pdf_pages, pdf_text, pdf_tools, user_id,
};
use crate::on_both_databases;

const LONDON: Tz = chrono_tz::Europe::London;

fn days_ago(n: i64) -> String {
    (Utc::now().with_timezone(&LONDON).date_naive() - Duration::days(n)).to_string()
}

/// The CSV's columns: the page's JSON fields of a call.
const FIELDS: [&str; 9] = [
    "date",
    "called_from",
    "called_to",
    "destination",
    "direction",
    "hangup_cause",
    "duration",
    "seconds",
    "price",
];

/// One call of the page's JSON, as the CSV's cells: the instant in its local time, the
/// price's value (empty when not rated).
fn json_call(v: &serde_json::Value) -> Vec<String> {
    FIELDS
        .iter()
        .map(|k| match (*k, &v[*k]) {
            ("date", serde_json::Value::String(s)) => chrono::DateTime::parse_from_rfc3339(s)
                .unwrap()
                .naive_local()
                .format("%Y-%m-%d %H:%M:%S")
                .to_string(),
            ("price", serde_json::Value::Null) => String::new(),
            ("price", money) => money["value"].as_str().unwrap().to_string(),
            (_, serde_json::Value::String(s)) => s.clone(),
            (_, other) => other.to_string(),
        })
        .collect()
}

fn csv_call(row: &HashMap<String, String>) -> Vec<String> {
    FIELDS.iter().map(|k| row[*k].clone()).collect()
}

async fn unseen(app: &TestApp, user: i64) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM calls WHERE user_id = {user} AND seen = 0"
    ))
    .await
}

async fn the_csv_holds_every_call_of_the_filter_as_the_page_shows_them(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    login(&app, "demo").await;
    let id = user_id(&app, "demo").await;
    // Most of the demo's history (a household's few calls a day: some 240 answered outgoing).
    let (from, till) = (days_ago(88), days_ago(1));
    // The seed's names for the filter, plus the result filter the page has.
    let filter = format!("call_type=outgoing&date_from={from}&date_till={till}&status=answered");
    let unseen_before = unseen(&app, id).await;
    let d = download(&app, &format!("/stats/call_list_to_csv/{id}?{filter}")).await;
    assert_eq!(d.status, 200);
    assert!(d.content_type.starts_with("text/csv"), "{}", d.content_type);
    assert_eq!(
        d.disposition,
        format!("attachment; filename=\"calls-demo-{from}_{till}.csv\"")
    );
    let (headers, rows) = csv_rows(&d.body);
    assert_eq!(headers, FIELDS);
    assert_eq!(
        unseen(&app, id).await,
        unseen_before,
        "an export marks nothing seen"
    );

    // As many calls as the page counts for the same filter, and as the database holds.
    let page = app
        .json(&format!(
            "/stats/call_list?{filter}&per_page=100&format=json"
        ))
        .await;
    let total = page["total_calls"].as_i64().unwrap();
    assert!(
        total > 200,
        "the demo has calls for more than two pages: {total}"
    );
    assert_eq!(rows.len() as i64, total);
    let from_utc = LONDON
        .from_local_datetime(&format!("{from}T00:00:00").parse().unwrap())
        .earliest()
        .unwrap()
        .timestamp();
    let till_utc = LONDON
        .from_local_datetime(&format!("{till}T00:00:00").parse().unwrap())
        .earliest()
        .unwrap()
        .timestamp()
        + 86_400;
    let in_db = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM calls WHERE user_id = {id} AND direction = 'out'
               AND disposition = 'ANSWERED' AND started_at >= {from_utc} AND started_at < {till_utc}"
        ))
        .await;
    assert_eq!(rows.len() as i64, in_db);

    // Row for row what the page lists, in the page's order (newest first).
    let listed = page["calls"].as_array().unwrap();
    assert_eq!(listed.len(), 100);
    for (i, call) in listed.iter().enumerate() {
        assert_eq!(csv_call(&rows[i]), json_call(call), "row {i}");
    }
    // The next page continues where the CSV does.
    let older = page["links"]["next"].as_str().expect("an older page");
    assert!(older.contains("format=json"), "{older}");
    let next = app.json(older).await;
    for (i, call) in next["calls"].as_array().unwrap().iter().enumerate() {
        assert_eq!(csv_call(&rows[100 + i]), json_call(call), "row {}", 100 + i);
    }
    // Every row is of the filter, and the prices add up to the page's total.
    assert!(rows
        .iter()
        .all(|r| r["direction"] == "outgoing" && r["hangup_cause"] == "Answered"));
    let sum: f64 = rows
        .iter()
        .map(|r| r["price"].parse::<f64>().unwrap())
        .sum();
    let total_price: f64 = page["total_price"]["value"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    // Call prices are shown rounded to 1/1000, the total to 1/100.
    assert!(
        (sum - total_price).abs() <= 0.0005 * rows.len() as f64 + 0.005,
        "{sum} vs {total_price}"
    );

    // `?format=csv` on the page itself is the same file.
    let same = download(&app, &format!("/stats/call_list?{filter}&format=csv")).await;
    assert_eq!(same.body, d.body);
}
on_both_databases!(the_csv_holds_every_call_of_the_filter_as_the_page_shows_them);

/// Three calls on one day long ago, to a destination with a Cyrillic name, from a device.
async fn calls_of_one_day(app: &TestApp, user: i64) -> i64 {
    exec(
        app,
        "INSERT INTO destinations (group_id, prefix, details, dir_code)
         SELECT MIN(id), '7999555', 'Россия Москва № 1 €', 'MOB' FROM destination_groups",
    )
    .await;
    let dest = app
        .scalar("SELECT id FROM destinations WHERE prefix = '7999555'")
        .await;
    // 2020-01-15 09:00 London is 09:00 UTC.
    let day = 1_579_078_800;
    for (i, (src, disposition, billsec, price)) in [
        ("=HYPERLINK(\"http://x\")", "ANSWERED", 65, "1234567"),
        ("442079460001", "BUSY", 0, "0"),
        ("442079460002", "ANSWERED", 3600, "-500000"),
    ]
    .iter()
    .enumerate()
    {
        exec(
            app,
            &format!(
                "INSERT INTO calls (user_id, started_at, src, dst, destination_id, direction,
                     disposition, duration_s, billsec, price_micros)
                 VALUES ({user}, {}, '{}', '79995550000', {dest}, 'out', '{disposition}',
                     {billsec}, {billsec}, {price})",
                day + i as i64 * 60,
                src.replace('\'', "''"),
            ),
        )
        .await;
    }
    dest
}

async fn the_pdf_lists_the_calls_with_filter_period_and_totals(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    login(&app, "demo").await;
    let id = user_id(&app, "demo").await;
    calls_of_one_day(&app, id).await;
    let filter = "date_from=2020-01-15&date_till=2020-01-15&call_type=all";
    let d = download(&app, &format!("/stats/call_list_to_pdf/{id}?{filter}")).await;
    assert_eq!(d.status, 200);
    assert_eq!(d.content_type, "application/pdf");
    assert_eq!(
        d.disposition,
        "attachment; filename=\"calls-demo-2020-01-15_2020-01-15.pdf\""
    );
    // The CSV of the same filter: a formula is inert, a negative price stays a number.
    let csv = download(&app, &format!("/stats/call_list_to_csv/{id}?{filter}")).await;
    let (_, rows) = csv_rows(&csv.body);
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[2]["called_from"], "'=HYPERLINK(\"http://x\")");
    assert_eq!(rows[0]["price"], "-0.500");
    assert_eq!(rows[0]["destination"], "Россия Москва № 1 €");
    assert_eq!(rows[0]["duration"], "01:00:00");
    assert_eq!(rows[0]["seconds"], "3600");
    if !pdf_tools() {
        return;
    }
    assert_qpdf_ok(&d.body);
    // Dates as CLDR writes them in English (its no-break spaces read as spaces).
    let text = pdf_text(&d.body).replace(['\u{a0}', '\u{202f}'], " ");
    for needle in [
        "Calls",
        "John Smith (demo)",
        "Incoming or outgoing: Both · Result: All results · Device: All devices",
        "Period: Jan 15, 2020, 12:00 AM – Jan 15, 2020, 11:59 PM",
        "Россия Москва № 1 €",
        "Jan 15, 2020, 9:02 AM",
        "442079460001",
        "01:00:00",
        "-0.500",
        "1.235",
        "page 1 of 1",
    ] {
        assert!(text.contains(needle), "{needle:?} not in\n{text}");
    }
    // Totals: three calls, 1:01:05 of talk, $0.73.
    let totals: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for needle in ["Calls 3", "Talk time 01:01:05", "Price $0.73"] {
        assert!(totals.contains(needle), "{needle:?} not in\n{text}");
    }

    // Russian readers get Russian headings; a busy-only filter lists one call.
    let r = app
        .client
        .get(app.url(&format!(
            "/stats/call_list_to_pdf/{id}?{filter}&status=busy&lang=ru"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let text = pdf_text(&r.bytes().await.unwrap());
    assert!(
        text.contains("+442079460001"),
        "numbers as people read them: {text}"
    );
    assert!(!text.contains("442079460002"), "{text}");
}
on_both_databases!(the_pdf_lists_the_calls_with_filter_period_and_totals);

async fn a_long_call_list_is_offered_as_csv_instead_of_a_pdf(backend: Backend) {
    let app = spawn_demo_app_with_settings(backend, |s| s.pdf_max_rows = 150).await;
    login(&app, "demo").await;
    let id = user_id(&app, "demo").await;
    let from = days_ago(60);
    let page = app
        .json(&format!("/stats/call_list?date_from={from}&format=json"))
        .await;
    let total = page["total_calls"].as_i64().unwrap();
    assert!(total > 150);
    let path = format!("/stats/call_list_to_pdf/{id}?date_from={from}");
    let d = download(&app, &path).await;
    assert_eq!(d.status, 422);
    let html = String::from_utf8(d.body).unwrap();
    assert!(
        html.contains(&format!(
            "This list has {total} rows; a PDF is made of 150 rows at most."
        )),
        "{html}"
    );
    let href = format!("{path}&#38;format=csv");
    assert!(html.contains(&format!("href=\"{href}\"")), "{html}");
    let csv = download(&app, &href.replace("&#38;", "&")).await;
    assert_eq!(csv.status, 200);
    assert_eq!(csv_rows(&csv.body).1.len() as i64, total);

    // Under the cap, a PDF of several pages: the header row on each, every page numbered.
    exec(
        &app,
        &format!(
            "INSERT INTO calls (user_id, started_at, src, dst, direction, disposition, duration_s,
                 billsec, price_micros)
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 120)
             SELECT {id}, 1579078800 + i * 60, 'Офис ' || i, '12125550100', 'out', 'ANSWERED', 30,
                 30, 10000 FROM n"
        ),
    )
    .await;
    let d = download(
        &app,
        &format!("/stats/call_list_to_pdf/{id}?date_from=2020-01-15&date_till=2020-01-15"),
    )
    .await;
    assert_eq!(d.status, 200);
    if pdf_tools() {
        assert_qpdf_ok(&d.body);
        let pages = pdf_pages(&d.body);
        assert!(pages >= 2, "120 rows take more than a page: {pages}");
        let text = pdf_text(&d.body);
        for n in 1..=pages {
            assert!(text.contains(&format!("page {n} of {pages}")), "{text}");
        }
        assert_eq!(text.matches("Destination").count(), pages, "{text}");
        assert!(
            text.contains("Офис 1 ") && text.contains("Офис 120"),
            "{text}"
        );
        assert!(text.contains("Calls") && text.contains("120"), "{text}");
    }
}
on_both_databases!(a_long_call_list_is_offered_as_csv_instead_of_a_pdf);

async fn call_exports_check_ids_and_filters(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let other = user_id(&app, "demo2").await;
    let other_device = app
        .scalar(&format!(
            "SELECT MIN(id) FROM devices WHERE user_id = {other}"
        ))
        .await;
    login(&app, "demo").await;
    let id = user_id(&app, "demo").await;
    for path in [
        format!("/stats/call_list_to_csv/{other}"),
        format!("/stats/call_list_to_pdf/{other}"),
        format!("/stats/call_list_to_csv/{other}?format=json"),
        format!("/stats/call_list_to_csv/{id}?device={other_device}"),
        format!("/stats/call_list_to_pdf/{id}?device={other_device}"),
        "/stats/call_list_to_csv/abc".to_string(),
    ] {
        let d = download(&app, &path).await;
        assert_eq!(d.status, 404, "{path}");
        assert!(d.disposition.is_empty(), "{path}: no file");
    }
    // A bad filter is told on the call list page itself, with the typed values kept.
    for (path, message) in [
        (
            format!("/stats/call_list_to_csv/{id}?date_from=2025-02-30"),
            "2025-02-30",
        ),
        (
            format!("/stats/call_list_to_pdf/{id}?call_type=sideways"),
            "Unknown direction",
        ),
        (
            format!("/stats/call_list_to_csv/{id}?direction=incoming&call_type=outgoing"),
            "give one of them",
        ),
    ] {
        let d = download(&app, &path).await;
        assert_eq!(d.status, 400, "{path}");
        assert!(d.content_type.starts_with("text/html"), "{path}");
        assert!(d.disposition.is_empty(), "{path}: no file");
        let html = String::from_utf8(d.body).unwrap();
        assert!(html.contains(message), "{path}: {html}");
    }
    // A legacy XML client is told in the page's XML.
    app.legacy_login("demo", "demo").await;
    let r = app
        .get(&format!(
            "/stats/call_list_to_csv/{id}?date_from=junk&format=xml"
        ))
        .await;
    assert_eq!(r.status().as_u16(), 400);
    let xml = r.text().await.unwrap();
    assert!(!text_of(&xml, "error_msg").is_empty(), "{xml}");
}
on_both_databases!(call_exports_check_ids_and_filters);

async fn the_call_list_links_its_exports_with_its_filter(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    login(&app, "demo").await;
    let id = user_id(&app, "demo").await;
    let from = days_ago(10);
    let d = download(
        &app,
        &format!("/stats/call_list?period_start={from}&direction=incoming"),
    )
    .await;
    let html = String::from_utf8(d.body).unwrap();
    let page = app
        .json(&format!(
            "/stats/call_list?period_start={from}&direction=incoming&format=json"
        ))
        .await;
    let query = page["filter_query"].as_str().unwrap();
    for (format, name) in [
        ("pdf", "Download these calls as PDF"),
        ("csv", "Download all these calls as CSV (spreadsheet)"),
    ] {
        let href = format!("/stats/call_list_to_{format}/{id}?{query}");
        let anchor = format!("<a href=\"{}\">{name}</a>", href.replace('&', "&#38;"));
        assert!(html.contains(&anchor), "{anchor} not in the page");
        let d = download(&app, &href).await;
        assert_eq!(d.status, 200, "{href}");
    }
    let (_, rows) = csv_rows(
        &download(&app, &format!("/stats/call_list_to_csv/{id}?{query}"))
            .await
            .body,
    );
    assert_eq!(rows.len() as i64, page["total_calls"].as_i64().unwrap());
    assert!(rows.iter().all(|r| r["direction"] == "incoming"));
}
on_both_databases!(the_call_list_links_its_exports_with_its_filter);
