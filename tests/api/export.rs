//! CSV and PDF exports of the rates, payments and invoices pages: the same data as the page's
//! JSON row for row, formula injection neutralised, PDFs that `qpdf --check` accepts and whose
//! text `pdftotext` reads back (rows, totals, Cyrillic, page numbers), another user's ids 404,
//! and lists past the PDF cap offered as CSV.

use std::collections::HashMap;
use std::io::Write;
use std::process::Command;

use selfcare::export::{Column, ExportRow};
use selfcare::i18n::Lang;
use selfcare::i18n::Lang::Ru;

use crate::common::{spawn_demo_app, spawn_demo_app_with_settings, text_of, Backend, TestApp};
use crate::on_both_databases;

pub(crate) struct Download {
    pub(crate) status: u16,
    pub(crate) content_type: String,
    pub(crate) disposition: String,
    pub(crate) body: Vec<u8>,
}

pub(crate) async fn download(app: &TestApp, path: &str) -> Download {
    let r = app.get_as(path, "text/html").await;
    let header = |name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    Download {
        status: r.status().as_u16(),
        content_type: header("content-type"),
        disposition: header("content-disposition"),
        body: r.bytes().await.expect("body").to_vec(),
    }
}

pub(crate) async fn login(app: &TestApp, user: &str) {
    let r = app
        .submit_form("/callc/login", &[("username", user), ("password", user)])
        .await;
    assert_eq!(r.status().as_u16(), 303, "login of {user}");
}

pub(crate) async fn exec(app: &TestApp, sql: &str) {
    sqlx::query(sql)
        .execute(app.store.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

pub(crate) async fn user_id(app: &TestApp, name: &str) -> i64 {
    app.scalar(&format!("SELECT id FROM users WHERE username = '{name}'"))
        .await
}

/// The columns of every export in every language: a CSV's heading row names its export.
fn every_export() -> Vec<Vec<Column>> {
    use selfcare::pages::calls::call_list as calls;
    use selfcare::pages::money::{invoices, payments, rates};
    use selfcare::pages::phone::phonebook;
    Lang::ALL
        .into_iter()
        .flat_map(|l| {
            [
                calls::CallView::columns(l),
                payments::PaymentView::columns(l),
                invoices::InvoiceView::columns(l),
                invoices::LineView::columns(l),
                phonebook::EntryView::columns(l),
                rates::Rate::columns(l),
            ]
        })
        .collect()
}

/// The rows of a CSV file as field → cell maps, read with the csv crate, to hold against the
/// page's JSON: the heading row (the reader's words) must be an export's, its field names come
/// back, and a cell of our words comes back as the code JSON has (`Входящий звонок` → `incoming`).
pub(crate) fn csv_rows(body: &[u8]) -> (Vec<String>, Vec<HashMap<String, String>>) {
    let mut reader = csv::Reader::from_reader(body);
    let headings: Vec<String> = reader
        .headers()
        .expect("a header row")
        .iter()
        .map(str::to_string)
        .collect();
    let columns = every_export()
        .into_iter()
        .find(|c| c.iter().map(|c| &c.label).eq(headings.iter()))
        .unwrap_or_else(|| panic!("no export has the headings {headings:?}"));
    let code = |column: &Column, cell: &str| match column.words {
        Some(w) => w
            .table
            .iter()
            .find(|(_, key)| w.lang.t(key) == cell)
            .map_or(cell, |(code, _)| code)
            .to_string(),
        None => cell.to_string(),
    };
    let rows = reader
        .records()
        .map(|r| {
            let r = r.expect("a well-formed CSV record");
            assert_eq!(r.len(), columns.len(), "every row has every column");
            columns
                .iter()
                .zip(r.iter())
                .map(|(c, cell)| (c.key.to_string(), code(c, cell)))
                .collect()
        })
        .collect();
    (columns.iter().map(|c| c.key.to_string()).collect(), rows)
}

fn temp_pdf(body: &[u8]) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new()
        .suffix(".pdf")
        .tempfile()
        .expect("temp file");
    f.write_all(body).expect("write PDF");
    f
}

/// The text of a PDF as poppler's `pdftotext` reads it (what a person copies).
pub(crate) fn pdf_text(body: &[u8]) -> String {
    assert!(
        body.starts_with(b"%PDF-"),
        "not a PDF: {:?}",
        String::from_utf8_lossy(&body[..body.len().min(200)])
    );
    let f = temp_pdf(body);
    let out = Command::new("pdftotext")
        .arg("-layout")
        .arg(f.path())
        .arg("-")
        .output()
        .expect("pdftotext (Debian poppler-utils) is installed");
    assert!(
        out.status.success(),
        "pdftotext: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 text")
}

/// Whether poppler's `pdftotext` and `qpdf` are installed. CI installs them (`.ci/run`), and there
/// their absence fails the run; on a developer's machine without them the PDF reading is left out.
pub(crate) fn pdf_tools() -> bool {
    let has = |cmd: &str, arg: &str| {
        Command::new(cmd)
            .arg(arg)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let ok = has("pdftotext", "-v") && has("qpdf", "--version") && has("pdfinfo", "-v");
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI needs poppler-utils and qpdf for the PDF tests"
        );
        println!("poppler-utils or qpdf missing (apt-get install poppler-utils qpdf): PDFs not read back");
    }
    ok
}

/// `qpdf --check` finds no damage.
pub(crate) fn assert_qpdf_ok(body: &[u8]) {
    if !pdf_tools() {
        return;
    }
    let f = temp_pdf(body);
    let out = Command::new("qpdf")
        .arg("--check")
        .arg(f.path())
        .output()
        .expect("qpdf is installed");
    assert!(
        out.status.success(),
        "qpdf --check failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The number of pages poppler sees.
pub(crate) fn pdf_pages(body: &[u8]) -> usize {
    let f = temp_pdf(body);
    let out = Command::new("pdfinfo")
        .arg(f.path())
        .output()
        .expect("pdfinfo");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    text.lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no page count in {text}"))
}

fn s(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A money, yes/no or instant of the JSON contract as the CSV, XML and PDF write it: an amount's
/// value, `Yes`/`No`, `2026-12-05 14:30:00` (an RFC 3339 instant in its own offset), empty for
/// `null`; other values as `s` has them.
fn shown(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Object(o) if o.contains_key("value") => s(&o["value"]),
        serde_json::Value::Bool(b) => if *b { "Yes" } else { "No" }.to_string(),
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(t) => match chrono::DateTime::parse_from_rfc3339(t) {
            Ok(at) => at.format("%Y-%m-%d %H:%M:%S").to_string(),
            Err(_) => t.clone(),
        },
        other => s(other),
    }
}

/// A JSON value as a person reads it in a PDF in `lang`: an amount's number or an instant as
/// CLDR writes them (`-6,00`, `5 дек. 2026 г., 20:39`), no-break spaces read as spaces.
fn read(v: &serde_json::Value, lang: selfcare::i18n::Lang) -> String {
    let plain = shown(v);
    let person = match v {
        serde_json::Value::Object(o) if o.contains_key("value") => {
            selfcare::locale::number(lang, &plain)
        }
        _ => selfcare::locale::local_text(lang, &plain),
    };
    spaced(&person)
}

/// An amount with its currency as a PDF in `lang` writes it (`1 794,53 €`).
fn read_money(v: &serde_json::Value, lang: selfcare::i18n::Lang) -> String {
    let value = s(&v["value"]);
    let decimals = value.split_once('.').map_or(0, |(_, f)| f.len()) as u32;
    let abs = selfcare::money::Money::parse(value.trim_start_matches('-'), decimals).unwrap();
    let m = if value.starts_with('-') { -abs } else { abs };
    spaced(&selfcare::locale::money(
        lang,
        m,
        decimals,
        &s(&v["currency"]),
    ))
}

/// CLDR's no-break spaces (U+00A0, U+202F) as plain ones, to compare PDF text.
fn spaced(t: &str) -> String {
    t.replace(['\u{a0}', '\u{202f}'], " ")
}

/// The local date of today in a zone, as file names carry it.
fn today_in(zone: &str) -> String {
    let tz: chrono_tz::Tz = zone.parse().unwrap();
    chrono::Utc::now()
        .with_timezone(&tz)
        .format("%Y-%m-%d")
        .to_string()
}

// ---------------------------------------------------------------- rates

async fn rates_csv_is_the_pages_data_row_for_row(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    login(&app, "demo").await;
    let id = user_id(&app, "demo").await;
    let page = app.json("/tariffs/user_rates?currency=EUR").await;
    let rates = page["rates"].as_array().unwrap();
    assert!(rates.len() > 50, "the demo tariff has many rates");

    for path in [
        format!("/tariffs/generate_personal_rates_csv/{id}?currency=EUR"),
        "/tariffs/user_rates?currency=EUR&format=csv".to_string(),
    ] {
        let d = download(&app, &path).await;
        assert_eq!(d.status, 200, "{path}");
        assert!(
            d.content_type.starts_with("text/csv; charset=utf-8"),
            "{}",
            d.content_type
        );
        let day = today_in("Europe/London");
        assert_eq!(
            d.disposition,
            format!("attachment; filename=\"rates-EUR-demo-{day}.csv\""),
            "{path}"
        );
        let (headers, rows) = csv_rows(&d.body);
        assert_eq!(
            headers,
            ["ratename", "ratetype", "ratecost", "rate_vat_cost"]
        );
        assert_eq!(rows.len(), rates.len(), "one CSV row per rate");
        for (row, rate) in rows.iter().zip(rates) {
            for key in &headers {
                assert_eq!(row[key], shown(&rate[key]), "{key} of {rate}");
            }
        }
        // RFC 4180 line ends.
        assert!(d.body.windows(2).any(|w| w == b"\r\n"));
    }

    // The search filters the export as it filters the page.
    let found = app.json("/tariffs/user_rates?q=united").await;
    let d = download(
        &app,
        &format!("/tariffs/generate_personal_rates_csv/{id}?q=united"),
    )
    .await;
    let (_, rows) = csv_rows(&d.body);
    assert_eq!(rows.len(), found["rates"].as_array().unwrap().len());
    assert!(rows
        .iter()
        .all(|r| r["ratename"].to_lowercase().contains("united")));
}
on_both_databases!(rates_csv_is_the_pages_data_row_for_row);

async fn rates_pdf_has_the_rows_totals_and_page_numbers(backend: Backend) {
    if !pdf_tools() {
        return;
    }
    let app = spawn_demo_app(backend).await;
    login(&app, "demo").await;
    let id = user_id(&app, "demo").await;
    let page = app.json("/tariffs/user_rates?currency=EUR").await;
    let rates = page["rates"].as_array().unwrap();

    let d = download(
        &app,
        &format!("/tariffs/generate_personal_rates_pdf/{id}?currency=EUR"),
    )
    .await;
    assert_eq!(d.status, 200);
    assert_eq!(d.content_type, "application/pdf");
    assert_eq!(
        d.disposition,
        format!(
            "attachment; filename=\"rates-EUR-demo-{}.pdf\"",
            today_in("Europe/London")
        )
    );
    assert_qpdf_ok(&d.body);
    let text = pdf_text(&d.body);
    let pages = pdf_pages(&d.body);
    assert!(pages > 1, "{} rates fit on one page?", rates.len());
    // Every page is numbered "page n of N".
    for n in 1..=pages {
        assert!(
            text.contains(&format!("page {n} of {pages}")),
            "page {n} of {pages} in\n{text}"
        );
    }
    // The title names whose rates, the currency and VAT; the last line counts them.
    assert!(text.contains("John Smith (demo)"), "{text}");
    assert!(text.contains("Prices per minute in EUR"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("Listed") && l.trim_end().ends_with(&format!(" {}", rates.len()))),
        "the count at the end:\n{text}"
    );
    // Every rate's row is there: name, type (in words) and both prices on one line.
    let lines: Vec<&str> = text.lines().collect();
    for rate in rates {
        let kind = s(&rate["ratetype"]);
        let (name, kind, cost, vat) = (
            s(&rate["ratename"]),
            selfcare::export::key_in(selfcare::pages::money::rates::RATE_TYPES, &kind)
                .map_or(kind.clone(), |k| Lang::En.t(k).to_string()),
            shown(&rate["ratecost"]),
            shown(&rate["rate_vat_cost"]),
        );
        assert!(
            lines.iter().any(|l| l.contains(&name)
                && l.contains(&kind)
                && l.contains(&cost)
                && l.contains(&vat)),
            "no line with {name} {kind} {cost} {vat}"
        );
    }
    // The header row is repeated on every page.
    let headers = text.matches("Destination").count();
    assert!(headers >= pages, "{headers} headers on {pages} pages");
}
on_both_databases!(rates_pdf_has_the_rows_totals_and_page_numbers);

// ---------------------------------------------------------------- payments

/// A refund (negative amount), a payment type that is a formula, and one with Cyrillic, `№`
/// and `€`, for user `name`.
async fn tricky_payments(app: &TestApp, name: &str) {
    let id = user_id(app, name).await;
    let now = chrono::Utc::now().timestamp();
    for (offset, kind, amount) in [
        (
            100,
            "=HYPERLINK(\"http://evil.example/\",\"Click\")",
            -5_000_000_i64,
        ),
        (200, "Перевод № 7 €", 12_340_000),
        (300, "@SUM(1+1)", 1_000_000),
    ] {
        sqlx::query(
            "INSERT INTO payments (user_id, paid_at, confirmed_at, payment_type, amount_micros,
                 vat_percent_bp, amount_vat_micros, currency, completed)
             VALUES ($1, $2, $2, $3, $4, 2000, $5, 'EUR', 1)",
        )
        .bind(id)
        .bind(now - offset)
        .bind(kind)
        .bind(amount)
        .bind(amount * 12 / 10)
        .execute(app.store.pool())
        .await
        .unwrap();
    }
}

async fn payments_csv_is_the_pages_data_and_neutralises_formulas(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    tricky_payments(&app, "demo2").await;
    login(&app, "demo2").await;
    let page = app.json("/payments/personal_payments").await;
    let payments = page["payments"].as_array().unwrap();
    let id = user_id(&app, "demo2").await;
    let count = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM payments WHERE user_id = {id}"
        ))
        .await;
    assert_eq!(payments.len() as i64, count);

    let d = download(&app, "/payments/personal_payments?format=csv").await;
    assert_eq!(d.status, 200);
    assert!(
        d.disposition
            .starts_with("attachment; filename=\"payments-demo2-"),
        "{}",
        d.disposition
    );
    assert!(d.disposition.ends_with(".csv\""), "{}", d.disposition);
    let (headers, rows) = csv_rows(&d.body);
    assert_eq!(
        headers,
        [
            "payment_date",
            "confirmed_date",
            "payment_type",
            "amount",
            "vat",
            "amount_vat",
            "currency",
            "completed"
        ]
    );
    assert_eq!(rows.len(), payments.len());
    for (row, p) in rows.iter().zip(payments) {
        for key in &headers {
            // The CSV keeps the XML's column name for the VAT rate.
            let field = if key == "vat" { "vat_percent" } else { key };
            let want = shown(&p[field]);
            if key == "payment_type" && want.starts_with(['=', '@', '+', '-']) {
                // Inert: a quote in front, the rest as it was.
                assert_eq!(row[key], format!("'{want}"));
            } else {
                assert_eq!(row[key], want, "{key}");
            }
        }
    }
    let refund = rows
        .iter()
        .find(|r| r["payment_type"].contains("HYPERLINK"))
        .expect("the formula row");
    assert_eq!(
        refund["payment_type"],
        "'=HYPERLINK(\"http://evil.example/\",\"Click\")"
    );
    // Negative numbers stay numbers.
    assert_eq!(refund["amount"], "-5.00");
    assert_eq!(refund["amount_vat"], "-6.00");
    assert_eq!(refund["amount"].parse::<f64>().unwrap(), -5.0);
    assert!(rows.iter().any(|r| r["payment_type"] == "'@SUM(1+1)"));
    assert!(rows.iter().any(|r| r["payment_type"] == "Перевод № 7 €"));
}
on_both_databases!(payments_csv_is_the_pages_data_and_neutralises_formulas);

async fn payments_pdf_renders_cyrillic_euro_and_numero(backend: Backend) {
    if !pdf_tools() {
        return;
    }
    let app = spawn_demo_app(backend).await;
    tricky_payments(&app, "demo2").await;
    login(&app, "demo2").await;
    let page = app.json("/payments/personal_payments").await;
    // demo2 reads Russian: the PDF does too.
    let d = download(&app, "/payments/personal_payments?format=pdf").await;
    assert_eq!(d.status, 200);
    assert_eq!(d.content_type, "application/pdf");
    assert_qpdf_ok(&d.body);
    let text = spaced(&pdf_text(&d.body));
    assert!(text.contains("Мария Иванова (demo2)"), "{text}");
    assert!(text.contains("Перевод № 7 €"), "{text}");
    assert!(text.contains("Платежи"), "{text}");
    assert!(text.contains("стр. 1 из 1"), "{text}");
    // Each payment's date and amount with VAT, and the completed total per currency.
    for p in page["payments"].as_array().unwrap() {
        let (date, amount) = (read(&p["payment_date"], Ru), read(&p["amount_vat"], Ru));
        assert!(
            text.lines()
                .any(|l| l.contains(&date) && l.contains(&amount)),
            "no line with {date} and {amount}"
        );
    }
    for t in page["totals"].as_array().unwrap() {
        let line = read_money(&t["amount_vat"], Ru);
        assert!(
            text.lines()
                .any(|l| l.contains("Зачисленные платежи") && l.contains(&line)),
            "no total {line} in\n{text}"
        );
    }
}
on_both_databases!(payments_pdf_renders_cyrillic_euro_and_numero);

async fn a_long_streamed_csv_holds_every_payment(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let id = user_id(&app, "demo").await;
    // 5,000 more payments in one statement (a recursive count works on both engines).
    exec(
        &app,
        &format!(
            "INSERT INTO payments (user_id, paid_at, payment_type, amount_micros, vat_percent_bp,
                 amount_vat_micros, currency, completed)
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
             SELECT {id}, 1600000000 + i * 60, 'Bulk ' || i, i * 10000, 0, i * 10000, 'USD', 1 FROM n"
        ),
    )
    .await;
    login(&app, "demo").await;
    let d = download(&app, "/payments/personal_payments?format=csv").await;
    assert_eq!(d.status, 200);
    let (_, rows) = csv_rows(&d.body);
    let count = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM payments WHERE user_id = {id}"
        ))
        .await;
    assert_eq!(rows.len() as i64, count);
    // Newest first, as the page lists them; the oldest bulk payment last.
    assert_eq!(rows.last().unwrap()["payment_type"], "Bulk 1");
    assert_eq!(rows.last().unwrap()["amount"], "0.01");
    assert!(d.body.len() > 64 * 1024, "more than one chunk was streamed");
}
on_both_databases!(a_long_streamed_csv_holds_every_payment);

async fn a_list_past_the_pdf_cap_is_offered_as_csv(backend: Backend) {
    // The demo household has two payments (of its two paid invoices).
    let app = spawn_demo_app_with_settings(backend, |s| s.pdf_max_rows = 1).await;
    login(&app, "demo").await;
    let payments = app.json("/payments/personal_payments").await["payments"]
        .as_array()
        .unwrap()
        .len();
    assert!(payments > 1);
    let d = download(&app, "/payments/personal_payments?format=pdf").await;
    assert_eq!(d.status, 422);
    assert!(d.content_type.starts_with("text/html"));
    let html = String::from_utf8(d.body).unwrap();
    assert!(
        html.contains(&format!(
            "This list has {payments} rows; a PDF is made of 1 rows at most."
        )),
        "{html}"
    );
    let href = "/payments/personal_payments?format=csv";
    assert!(html.contains(&format!("href=\"{href}\"")), "{html}");
    let csv = download(&app, href).await;
    assert_eq!(csv_rows(&csv.body).1.len(), payments);

    // The seed's PDF route with a search keeps its parameters in the CSV link.
    let id = user_id(&app, "demo").await;
    let d = download(
        &app,
        &format!("/tariffs/generate_personal_rates_pdf/{id}?currency=EUR&q=united"),
    )
    .await;
    assert_eq!(d.status, 422);
    let html = String::from_utf8(d.body).unwrap();
    let href = format!(
        "/tariffs/generate_personal_rates_pdf/{id}?currency=EUR&#38;q=united&#38;format=csv"
    );
    assert!(html.contains(&href), "{html}");
    let csv = download(&app, &href.replace("&#38;", "&")).await;
    assert_eq!(csv.status, 200);
    assert!(csv.content_type.starts_with("text/csv"));

    // A legacy XML client is told in XML.
    app.legacy_login("demo", "demo").await;
    let (status, xml) = {
        let r = app.get("/payments/personal_payments?format=pdf").await;
        (r.status().as_u16(), r.text().await.unwrap())
    };
    assert_eq!(status, 422);
    assert_eq!(text_of(&xml, "status"), "failed");
    assert!(
        text_of(&xml, "status_message").contains("format=csv"),
        "{xml}"
    );
}
on_both_databases!(a_list_past_the_pdf_cap_is_offered_as_csv);

// ---------------------------------------------------------------- invoices

async fn an_invoice_pdf_names_seller_and_buyer_with_the_pages_figures(backend: Backend) {
    if !pdf_tools() {
        return;
    }
    let app = spawn_demo_app_with_settings(backend, |s| {
        s.operator = selfcare::config::Operator {
            name: "Example Telecom Ltd".into(),
            address: vec!["1 Main Street".into(), "Springfield".into()],
            vat_number: "GB123456789".into(),
            email: "billing@example.com".into(),
            phone: "+44 20 7946 0000".into(),
            payment_instructions: vec!["IBAN GB33 EXMP 0000 0000 0000 00".into()],
        };
    })
    .await;
    login(&app, "demo2").await;
    let id = user_id(&app, "demo2").await;
    let invoice_id = app
        .scalar(&format!(
            "SELECT MAX(id) FROM invoices WHERE user_id = {id}"
        ))
        .await;
    // Unpaid, so that it says how to pay (a paid one does not: `payment_instructions` empty).
    sqlx::query("UPDATE invoices SET paid_at = NULL WHERE id = $1")
        .bind(invoice_id)
        .execute(app.store.pool())
        .await
        .unwrap();
    let path = format!("/accounting/user_invoices/{invoice_id}");
    let page = app.json(&path).await;
    let inv = &page["invoice"];

    // The invoice page links its PDF by name.
    let html = String::from_utf8(download(&app, &path).await.body).unwrap();
    assert!(
        html.contains(&format!(
            "<a href=\"{path}?format=pdf\">Скачать этот счёт в PDF</a>"
        )),
        "{html}"
    );

    let d = download(&app, &format!("{path}?format=pdf")).await;
    assert_eq!(d.status, 200);
    assert_eq!(d.content_type, "application/pdf");
    let number = s(&inv["inv_number"]);
    assert!(
        d.disposition
            .starts_with(&format!("attachment; filename=\"invoice-{number}-demo2-")),
        "{}",
        d.disposition
    );
    assert_qpdf_ok(&d.body);
    let text = spaced(&pdf_text(&d.body));
    for want in [
        format!("Счёт {number}"),
        "Example Telecom Ltd".to_string(),
        "Springfield".to_string(),
        "GB123456789".to_string(),
        "Мария Иванова".to_string(),
        "Москва".to_string(),
        // The day it was issued, without the period end's 23:59:59.
        spaced(&selfcare::locale::local_text(
            Ru,
            &shown(&inv["issue_date"])[..10],
        )),
        read_money(&inv["price"], Ru),
        read_money(&page["vat_amount"], Ru),
        read_money(&inv["price_vat"], Ru),
        // One line per destination called in the month: several pages, numbered.
        format!("стр. 1 из {}", pdf_pages(&d.body)),
        format!("стр. {0} из {0}", pdf_pages(&d.body)),
    ] {
        assert!(text.contains(&want), "{want:?} not in\n{text}");
    }
    for line in page["lines"].as_array().unwrap() {
        let (desc, amount) = (s(&line["description"]), read(&line["amount"], Ru));
        assert!(
            text.lines()
                .any(|l| l.contains(&desc) && l.contains(&amount)),
            "no line {desc} {amount} in\n{text}"
        );
    }
    assert!(
        !text.contains(&read(&inv["issue_date"], Ru)),
        "no time of issue"
    );
    // Unpaid, it says how to pay besides by card, and by when.
    assert_eq!(inv["paid"], false);
    assert!(text.contains("Как оплатить"), "{text}");
    assert!(text.contains("IBAN GB33 EXMP 0000 0000 0000 00"), "{text}");
    assert_eq!(
        page["payment_instructions"][0],
        "IBAN GB33 EXMP 0000 0000 0000 00"
    );
    if let Some(due) = inv["due_date"].as_str() {
        let due = spaced(&selfcare::locale::local_text(Ru, due));
        assert!(text.contains(&due), "due {due} in\n{text}");
    }
    // The total line says Итого with the gross figure.
    assert!(text
        .lines()
        .any(|l| l.contains("Итого") && l.contains(&read_money(&inv["price_vat"], Ru))));

    // Its lines as CSV are the page's lines.
    let d = download(&app, &format!("{path}?format=csv")).await;
    let (headers, rows) = csv_rows(&d.body);
    assert_eq!(headers, ["description", "quantity", "duration", "amount"]);
    let lines = page["lines"].as_array().unwrap();
    assert_eq!(rows.len(), lines.len());
    for (row, line) in rows.iter().zip(lines) {
        for key in &headers {
            assert_eq!(row[key], shown(&line[key]), "{key}");
        }
    }

    // The same figures as the XML.
    let (status, xml) = app.get_xml(&path).await;
    assert_eq!(status, 200);
    assert_eq!(text_of(&xml, "price_vat"), shown(&inv["price_vat"]));
}
on_both_databases!(an_invoice_pdf_names_seller_and_buyer_with_the_pages_figures);

// ---------------------------------------------------------------- access and links

async fn export_routes_with_another_users_id_answer_404(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let other = user_id(&app, "demo2").await;
    let other_invoice = app
        .scalar(&format!(
            "SELECT MIN(id) FROM invoices WHERE user_id = {other}"
        ))
        .await;
    login(&app, "demo").await;
    let paths = [
        format!("/tariffs/generate_personal_rates_pdf/{other}"),
        format!("/tariffs/generate_personal_rates_csv/{other}"),
        format!("/tariffs/generate_personal_rates_csv/{other}?format=pdf"),
        format!("/accounting/user_invoices/{other_invoice}?format=pdf"),
        format!("/accounting/user_invoices/{other_invoice}?format=csv"),
        "/tariffs/generate_personal_rates_pdf/999999".to_string(),
        "/tariffs/generate_personal_rates_csv/abc".to_string(),
    ];
    for path in &paths {
        let d = download(&app, path).await;
        assert_eq!(d.status, 404, "{path}");
        // A browser is told on a page, not handed a file.
        assert!(
            d.content_type.starts_with("text/html"),
            "{path}: {}",
            d.content_type
        );
        assert!(d.disposition.is_empty(), "{path}");
    }
    // A legacy XML client gets the seed's failed action.
    app.legacy_login("demo", "demo").await;
    for path in &paths {
        let r = app.get(path).await;
        assert_eq!(r.status().as_u16(), 404, "{path}");
        let xml = r.text().await.unwrap();
        assert_eq!(text_of(&xml, "status"), "failed", "{path}");
    }
    // The own id works for the legacy session too, and the route's format wins over XML.
    let own = user_id(&app, "demo").await;
    let d = download(&app, &format!("/tariffs/generate_personal_rates_csv/{own}")).await;
    assert_eq!(d.status, 200);
    assert!(d.content_type.starts_with("text/csv"));
}
on_both_databases!(export_routes_with_another_users_id_answer_404);

async fn pages_link_their_exports_by_name(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    login(&app, "demo").await;
    let id = user_id(&app, "demo").await;
    for (page, links) in [
        (
            "/tariffs/user_rates?currency=EUR",
            vec![
                (
                    format!("/tariffs/generate_personal_rates_pdf/{id}?currency=EUR"),
                    "Download rates as PDF",
                    "application/pdf",
                ),
                (
                    format!("/tariffs/generate_personal_rates_csv/{id}?currency=EUR"),
                    "Download rates as CSV (spreadsheet)",
                    "text/csv",
                ),
            ],
        ),
        (
            "/payments/personal_payments",
            vec![
                (
                    "/payments/personal_payments?format=pdf".to_string(),
                    "Download payments as PDF",
                    "application/pdf",
                ),
                (
                    "/payments/personal_payments?format=csv".to_string(),
                    "Download payments as CSV (spreadsheet)",
                    "text/csv",
                ),
            ],
        ),
        (
            "/accounting/user_invoices",
            vec![
                (
                    "/accounting/user_invoices?format=pdf".to_string(),
                    "Download the list of invoices as PDF",
                    "application/pdf",
                ),
                (
                    "/accounting/user_invoices?format=csv".to_string(),
                    "Download the list of invoices as CSV (spreadsheet)",
                    "text/csv",
                ),
            ],
        ),
    ] {
        let html = String::from_utf8(download(&app, page).await.body).unwrap();
        for (href, name, kind) in links {
            let anchor = format!("<a href=\"{}\">{name}</a>", href.replace('&', "&amp;"));
            assert!(html.contains(&anchor), "{page} lacks {anchor}");
            let d = download(&app, &href).await;
            assert_eq!(d.status, 200, "{href}");
            assert!(
                d.content_type.starts_with(kind),
                "{href}: {}",
                d.content_type
            );
            if kind == "application/pdf" {
                assert_qpdf_ok(&d.body);
            }
        }
    }
    // The invoices list as CSV is its JSON, row for row.
    let list = app.json("/accounting/user_invoices").await;
    let (headers, rows) = csv_rows(
        &download(&app, "/accounting/user_invoices?format=csv")
            .await
            .body,
    );
    let invoices = list["invoices"].as_array().unwrap();
    assert_eq!(rows.len(), invoices.len());
    for (row, inv) in rows.iter().zip(invoices) {
        for key in &headers {
            // The CSV keeps the XML's column name for the VAT rate.
            let field = if key == "vat" { "vat_percent" } else { key };
            assert_eq!(row[key], shown(&inv[field]), "{key}");
        }
    }
    // A page without exports says so, in the page's format.
    let d = download(&app, "/callc/main?format=pdf").await;
    assert_eq!(d.status, 400);
    assert!(String::from_utf8(d.body)
        .unwrap()
        .contains("This page has no pdf export"));
}
on_both_databases!(pages_link_their_exports_by_name);
