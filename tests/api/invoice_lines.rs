//! Invoice lines: `bill` lists a month's calls as one line per destination (count, billed
//! seconds, amount), the largest amount first, the calls to no known destination as "Other
//! destinations" in the reader's language, subscriptions after; the totals are those of all the
//! calls. The invoice's JSON, HTML, XML, CSV and PDF show the same lines and totals.

use crate::common::{spawn_app, text_of, Backend, TestApp};
use crate::export::{assert_qpdf_ok, csv_rows, pdf_text, pdf_tools};
use crate::import::{asterisk, ok, set_up_operator, user_id, write};
use crate::on_both_databases;

/// alice's April 2024 (UTC): calls to three destinations of the deck, one not answered, and one
/// to bob's extension, which has no destination. Prices by the deck of `set_up_operator`.
fn april_calls() -> String {
    let mut s = String::new();
    let mut n = 0;
    let mut call = |dst: &str, day: u32, billsec: i64, disposition: &str| {
        n += 1;
        let start = format!("2024-04-{day:02} 10:00:00");
        let answer = if billsec > 0 {
            start.clone()
        } else {
            String::new()
        };
        s += &asterisk(
            "",
            "101",
            dst,
            &format!("SIP/101-0000{n:04}"),
            "SIP/trunk-00000001",
            &start,
            &answer,
            billsec,
            disposition,
            &format!("1712000000.{n}"),
        );
    };
    call("00442079460000", 10, 60, "ANSWERED"); // London: 60 s × 0.008/min = 0.008
    call("00442079460001", 11, 90, "ANSWERED"); // London: 90 s × 0.008/min = 0.012
    call("00447700900123", 12, 61, "ANSWERED"); // UK mobile: 120 s × 0.05/min + 0.01 = 0.11
    call("00447700900124", 13, 0, "BUSY"); // UK mobile, busy: 0
    call("0033123456789", 14, 10, "ANSWERED"); // France: minimum 30 s × 0.02/min = 0.01
    call("0033123456780", 15, 45, "ANSWERED"); // France: 48 s (6 s steps) × 0.02/min = 0.016
    call("201", 16, 20, "ANSWERED"); // bob's extension: internal, free, no destination
    s
}

/// The cells of the rows of the first table body of an HTML page, tags left out.
fn html_rows(html: &str) -> Vec<Vec<String>> {
    let body = &html[html.find("<tbody>").expect("a table")..];
    let body = &body[..body.find("</tbody>").expect("a table's end")];
    body.split("<tr>")
        .skip(1)
        .map(|row| {
            row.split("<td")
                .skip(1)
                .map(|cell| {
                    let cell = &cell[cell.find('>').unwrap() + 1..cell.find("</td>").unwrap()];
                    let mut text = String::new();
                    let mut in_tag = false;
                    for c in cell.chars() {
                        match c {
                            '<' => in_tag = true,
                            '>' => in_tag = false,
                            c if !in_tag => text.push(c),
                            _ => {}
                        }
                    }
                    text.trim().to_string()
                })
                .collect()
        })
        .collect()
}

async fn get(app: &TestApp, path: &str, accept: &str) -> reqwest::Response {
    let r = app.get_as(path, accept).await;
    assert_eq!(r.status().as_u16(), 200, "{path}");
    r
}

/// A JSON value as text; an amount (`{"value", "currency"}`) as its value.
fn s(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Object(o) if o.contains_key("value") => s(&o["value"]),
        other => other.to_string(),
    }
}

async fn bill_lists_calls_per_destination_with_the_same_totals(backend: Backend) {
    let app = spawn_app(backend).await;
    let dir = set_up_operator(&app);
    let master = write(&dir, "Master.csv", &april_calls());
    let out = ok(
        &app,
        &[
            "import",
            "cdrs",
            "--format",
            "asterisk",
            master.to_str().unwrap(),
        ],
    );
    // Seven records, eight calls: alice's call to bob's extension is also bob's incoming call.
    assert!(
        out.contains("(rated 8, unmatched number 0, no rate 0)"),
        "{out}"
    );
    let alice = user_id(&app, "alice").await;
    // alice also subscribes to call recording, 3.50 a month; VAT 20 %.
    for sql in [
        "INSERT INTO services (name, price_micros, currency, period)
         VALUES ('Call recording', 3500000, 'USD', 'month')"
            .to_string(),
        format!(
            "INSERT INTO subscriptions (user_id, service_id, added_at, active_from)
             SELECT {alice}, id, 1704067200, 1704067200 FROM services"
        ),
        format!("UPDATE users SET vat_percent_bp = 2000 WHERE id = {alice}"),
    ] {
        sqlx::query(&sql).execute(app.store.pool()).await.unwrap();
    }

    let out = ok(&app, &["bill", "--period", "2024-04"]);
    assert!(
        out.contains("1 invoice(s) issued (INV-2024-000001"),
        "{out}"
    );

    // One line per destination, largest amount first, the internal call last; then the service.
    let lines: Vec<(i64, String, String, i64, i64, i64)> = sqlx::query_as(
        "SELECT l.position, l.kind, l.description, l.quantity, l.seconds, l.amount_micros
         FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id
         WHERE i.user_id = $1 ORDER BY l.position",
    )
    .bind(alice)
    .fetch_all(app.store.pool())
    .await
    .unwrap();
    let line = |pos, kind: &str, desc: &str, qty, secs, amount| {
        (pos, kind.to_string(), desc.to_string(), qty, secs, amount)
    };
    assert_eq!(
        lines,
        [
            line(1, "calls", "United Kingdom Mobile", 2, 61, 110_000),
            line(2, "calls", "France", 2, 55, 26_000),
            line(3, "calls", "United Kingdom London", 2, 150, 20_000),
            line(4, "calls", "", 1, 20, 0),
            line(5, "subscription", "Call recording", 1, 0, 3_500_000),
        ]
    );
    // The totals are those of every call, as one line for all of them had: 0.156 + 3.50, VAT 20 %.
    let calls_price = app
        .scalar(&format!(
            "SELECT CAST(SUM(price_micros) AS BIGINT) FROM calls WHERE user_id = {alice}"
        ))
        .await;
    assert_eq!(calls_price, 156_000);
    let (number, net, gross): (String, i64, i64) = sqlx::query_as(
        "SELECT number, price_micros, price_vat_micros FROM invoices WHERE user_id = $1",
    )
    .bind(alice)
    .fetch_one(app.store.pool())
    .await
    .unwrap();
    assert_eq!(
        (number.as_str(), net, gross),
        ("INV-2024-000001", 3_656_000, 4_387_200)
    );
    let invoice_id = app
        .scalar(&format!("SELECT id FROM invoices WHERE user_id = {alice}"))
        .await;

    // alice reads it: JSON first, the other formats must say the same.
    let r = app
        .submit_form(
            "/callc/login",
            &[("username", "alice"), ("password", "alice pw")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let path = format!("/accounting/user_invoices/{invoice_id}");
    let page: serde_json::Value = get(&app, &format!("{path}?lang=en"), "application/json")
        .await
        .json()
        .await
        .unwrap();
    let want = [
        ("calls", "United Kingdom Mobile", "2", "00:01:01", "0.11"),
        ("calls", "France", "2", "00:00:55", "0.03"),
        ("calls", "United Kingdom London", "2", "00:02:30", "0.02"),
        ("calls", "Other destinations", "1", "00:00:20", "0.00"),
        ("subscription", "Call recording", "1", "", "3.50"),
    ];
    let got: Vec<(String, String, String, String, String)> = page["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                s(&l["kind"]),
                s(&l["description"]),
                s(&l["quantity"]),
                s(&l["duration"]),
                s(&l["amount"]),
            )
        })
        .collect();
    let want_owned: Vec<(String, String, String, String, String)> = want
        .iter()
        .map(|w| (w.0.into(), w.1.into(), w.2.into(), w.3.into(), w.4.into()))
        .collect();
    assert_eq!(got, want_owned);
    let inv = &page["invoice"];
    let totals = [
        ("price", "3.66"),
        ("price_vat", "4.39"),
        ("currency", "USD"),
    ];
    for (key, value) in totals {
        assert_eq!(s(&inv[key]), value, "{key}");
    }
    assert_eq!(s(&page["vat_amount"]), "0.73");
    assert_eq!(page["vat_amount"]["currency"], "USD");
    // A call line's duration is in seconds too; other lines have none.
    assert_eq!(page["lines"][0]["seconds"], 61);
    assert!(page["lines"][4]["seconds"].is_null());

    // HTML: the same rows, then net, VAT and total.
    let html = get(&app, &path, "text/html").await.text().await.unwrap();
    let rows = html_rows(&html);
    let html_want: Vec<Vec<String>> = want
        .iter()
        .map(|w| {
            let duration = if w.3.is_empty() { "—" } else { w.3 };
            vec![
                w.1.to_string(),
                w.2.to_string(),
                duration.to_string(),
                format!("${}", w.4),
            ]
        })
        .collect();
    assert_eq!(rows, html_want);
    let foot = &html[html.find("<tfoot>").unwrap()..html.find("</tfoot>").unwrap()];
    for figure in ["$3.66", "$0.73", "$4.39"] {
        assert!(foot.contains(figure), "{figure} not in {foot}");
    }

    // XML: the same lines and totals.
    let (status, xml) = app.get_xml(&path).await;
    assert_eq!(status, 200, "{xml}");
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let xml_lines: Vec<(String, String, String, String, String)> = doc
        .descendants()
        .filter(|n| n.has_tag_name("line"))
        .map(|l| {
            let field = |name: &str| {
                l.children()
                    .find(|c| c.has_tag_name(name))
                    .and_then(|c| c.text())
                    .unwrap_or("")
                    .to_string()
            };
            (
                field("kind"),
                field("description"),
                field("quantity"),
                field("duration"),
                field("amount"),
            )
        })
        .collect();
    assert_eq!(xml_lines, want_owned);
    assert_eq!(text_of(&xml, "price"), "3.66");
    assert_eq!(text_of(&xml, "vat_amount"), "0.73");
    assert_eq!(text_of(&xml, "price_vat"), "4.39");

    // CSV: the lines, row for row.
    let csv_body = get(&app, &format!("{path}?format=csv"), "text/html")
        .await
        .bytes()
        .await
        .unwrap();
    let (_, csv_rows) = csv_rows(&csv_body);
    assert_eq!(csv_rows.len(), want.len());
    for (row, w) in csv_rows.iter().zip(&want) {
        assert_eq!(
            (row["description"].as_str(), row["quantity"].as_str()),
            (w.1, w.2)
        );
        assert_eq!(
            (row["duration"].as_str(), row["amount"].as_str()),
            (w.3, w.4)
        );
    }

    // PDF: each line on a line of its own with its figures, and the same totals.
    if pdf_tools() {
        let pdf = get(&app, &format!("{path}?format=pdf"), "text/html")
            .await
            .bytes()
            .await
            .unwrap();
        assert_qpdf_ok(&pdf);
        let text = pdf_text(&pdf);
        for w in &want {
            assert!(
                text.lines().any(|l| l.contains(w.1)
                    && l.contains(&format!(" {} ", w.2))
                    && l.contains(w.3)
                    && l.trim_end().ends_with(w.4)),
                "no line {w:?} in\n{text}"
            );
        }
        for (label, figure) in [
            ("Without VAT", "$3.66"),
            ("VAT 20.0 %", "$0.73"),
            ("Total", "$4.39"),
        ] {
            assert!(
                text.lines()
                    .any(|l| l.contains(label) && l.trim_end().ends_with(figure)),
                "no {label} {figure} in\n{text}"
            );
        }
    }

    // In Russian, our words are translated; destination and service names stay as stored.
    let page: serde_json::Value = get(&app, &format!("{path}?lang=ru"), "application/json")
        .await
        .json()
        .await
        .unwrap();
    let descriptions: Vec<String> = page["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| s(&l["description"]))
        .collect();
    assert_eq!(
        descriptions,
        [
            "United Kingdom Mobile",
            "France",
            "United Kingdom London",
            "Прочие направления",
            "Call recording"
        ]
    );
    if pdf_tools() {
        let pdf = get(&app, &format!("{path}?format=pdf"), "text/html")
            .await
            .bytes()
            .await
            .unwrap();
        let text = pdf_text(&pdf);
        assert!(
            text.lines()
                .any(|l| l.contains("Прочие направления") && l.contains("00:00:20")),
            "{text}"
        );
    }
}
on_both_databases!(bill_lists_calls_per_destination_with_the_same_totals);
