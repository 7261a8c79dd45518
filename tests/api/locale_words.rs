//! Every word of ours in the exports is in the reader's language: the PDF and CSV downloads of a
//! Russian subscriber (calls, payments, invoices, one invoice, rates, phonebook), read back with
//! `pdftotext` and the csv crate, hold no English word and no raw locale key. What is left once
//! the subscriber's own data (every string of the page's JSON but the codes we translate) is
//! taken out must be Russian.

use std::collections::BTreeSet;

use selfcare::i18n::Lang;

use crate::common::{spawn_demo_app, Backend};
use crate::export::{csv_rows, download, login, pdf_text, user_id};
use crate::on_both_databases;

/// JSON fields holding a code or the seed's spelling that the exports say in words.
const WORD_FIELDS: [&str; 6] = [
    "direction",
    "hangup_cause",
    "payment_type",
    "ratetype",
    "paid",
    "completed",
];

/// Every string of a JSON document but the coded fields: the subscriber's data.
fn data_strings(v: &serde_json::Value, field: &str, out: &mut BTreeSet<String>) {
    match v {
        serde_json::Value::String(s) if !WORD_FIELDS.contains(&field) => {
            out.insert(s.clone());
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| data_strings(x, field, out)),
        serde_json::Value::Object(o) => o.iter().for_each(|(k, x)| data_strings(x, k, out)),
        _ => {}
    }
}

/// The Latin words of `text` once the data is taken out (longest strings first, so a name is
/// not cut by a shorter one inside it), and any locale key it shows.
fn english_left(text: &str, data: &BTreeSet<String>) -> Vec<String> {
    let mut data: Vec<&String> = data.iter().filter(|s| s.chars().count() > 1).collect();
    data.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut rest = text.to_string();
    for s in data {
        rest = rest.replace(s.as_str(), " ");
    }
    let mut left: Vec<String> = rest
        .split(|c: char| !(c.is_ascii_alphabetic() || c == '.' || c == '_'))
        .map(|w| w.trim_matches('.'))
        .filter(|w| w.chars().filter(char::is_ascii_alphabetic).count() > 1)
        .filter(|w| !is_currency_code(w))
        .map(str::to_string)
        .collect();
    left.sort();
    left.dedup();
    left
}

/// `EUR`, `USD`: ISO codes are the same in every language.
fn is_currency_code(w: &str) -> bool {
    w.len() == 3 && w.chars().all(|c| c.is_ascii_uppercase())
}

/// Saves a download in `$SELFCARE_SCREENSHOTS` when that names a folder, for a person to look at.
fn keep(name: &str, body: &[u8]) {
    if let Some(dir) = std::env::var_os("SELFCARE_SCREENSHOTS") {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(std::path::Path::new(&dir).join(name), body).unwrap();
    }
}

/// The subscriber's exports: (what, PDF and CSV URLs, the JSON pages that hold its data).
fn exports(id: i64, invoice: i64) -> Vec<(&'static str, String, String, Vec<String>)> {
    let calls = "/stats/call_list?per_page=500".to_string();
    vec![
        (
            "calls",
            format!("/stats/call_list_to_pdf/{id}"),
            format!("/stats/call_list_to_csv/{id}"),
            vec![calls],
        ),
        (
            "payments",
            "/payments/personal_payments?format=pdf".into(),
            "/payments/personal_payments?format=csv".into(),
            vec!["/payments/personal_payments?per_page=500".into()],
        ),
        (
            "invoices",
            "/accounting/user_invoices?format=pdf".into(),
            "/accounting/user_invoices?format=csv".into(),
            vec!["/accounting/user_invoices?per_page=500".into()],
        ),
        (
            "invoice",
            format!("/accounting/user_invoices/{invoice}?format=pdf"),
            format!("/accounting/user_invoices/{invoice}?format=csv"),
            vec![format!("/accounting/user_invoices/{invoice}")],
        ),
        (
            "rates",
            format!("/tariffs/generate_personal_rates_pdf/{id}"),
            format!("/tariffs/generate_personal_rates_csv/{id}"),
            vec!["/tariffs/user_rates".into()],
        ),
        (
            "phonebook",
            format!("/phonebooks/list/{id}?format=pdf"),
            format!("/phonebooks/list/{id}?format=csv"),
            vec![format!("/phonebooks/list/{id}?per_page=500")],
        ),
    ]
}

async fn a_russian_subscribers_exports_are_in_russian(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    login(&app, "demo2").await;
    let id = user_id(&app, "demo2").await;
    let invoice = app
        .scalar(&format!(
            "SELECT MAX(id) FROM invoices WHERE user_id = {id}"
        ))
        .await;
    // The session's language, as the subscriber chose it.
    app.get("/callc/main?lang=ru").await;
    for (what, pdf, csv, pages) in exports(id, invoice) {
        // The login name is the subscriber's own, as the file name and title show it.
        let mut data = BTreeSet::from(["demo2".to_string()]);
        for page in &pages {
            data_strings(&app.json(page).await, "", &mut data);
        }

        let d = download(&app, &pdf).await;
        assert_eq!(d.status, 200, "{pdf}");
        keep(&format!("{what}-ru.pdf"), &d.body);
        let text = pdf_text(&d.body);
        assert!(text.contains("стр. 1 из"), "{what}: {text}");
        let left = english_left(&text, &data);
        assert!(
            left.is_empty(),
            "{what} PDF: English or keys {left:?} in\n{text}"
        );

        let d = download(&app, &csv).await;
        assert_eq!(d.status, 200, "{csv}");
        keep(&format!("{what}-ru.csv"), &d.body);
        let body = String::from_utf8(d.body.clone()).expect("UTF-8");
        // The cells as a spreadsheet shows them (quotes undone), a line a row.
        let cells: Vec<String> = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(d.body.as_slice())
            .records()
            .map(|r| {
                r.expect("a CSV record")
                    .iter()
                    .collect::<Vec<_>>()
                    .join("\t")
            })
            .collect();
        let left = english_left(&cells.join("\n"), &data);
        assert!(
            left.is_empty(),
            "{what} CSV: English or keys {left:?} in\n{body}"
        );
        // The heading row is Russian, and read back it names the JSON's fields.
        let headings = body.lines().next().unwrap_or_default();
        assert!(
            headings.chars().any(|c| ('а'..='я').contains(&c)),
            "{what}: {headings}"
        );
        let (fields, rows) = csv_rows(&d.body);
        assert!(!fields.is_empty() && !rows.is_empty(), "{what}: {body}");
    }
}
on_both_databases!(a_russian_subscribers_exports_are_in_russian, needs poppler);

/// What the check above looks for is really found: English words of ours and raw keys are left,
/// a name from the data and a currency code are not.
#[test]
fn english_words_and_keys_are_noticed() {
    let data = BTreeSet::from(["John Smith".to_string()]);
    let text = "Звонки John Smith EUR\nPaid calls.status.busy Да";
    assert_eq!(english_left(text, &data), ["Paid", "calls.status.busy"]);
    assert!(english_left(Lang::Ru.t("calls.status.busy"), &data).is_empty());
}
