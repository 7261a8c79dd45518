//! Money, dates and country names in the subscriber's language (CLDR through ICU4X): a Russian
//! subscriber reads `25,50 €` and `Германия`, an English one `$1,234.50`; a rate is found by its
//! country's name in either language; the XML, the JSON and the CSV stay as machines read them.

use selfcare::i18n::Lang;
use selfcare::locale;
use selfcare::money::Money;

use crate::common::{spawn_demo_app, text_of, Backend, TestApp};
use crate::export::{download, login, pdf_text, pdf_tools};
use crate::on_both_databases;

/// The page's text, as `GET` with a browser's `Accept` gives it.
async fn page(app: &TestApp, path: &str) -> String {
    let r = app.get(path).await;
    assert_eq!(r.status().as_u16(), 200, "{path}");
    r.text().await.unwrap()
}

/// The rates found by `q`: (name, price) of each `<rate>` of the XML page, which keeps the
/// stored English names and plain numbers whatever the language.
async fn xml_rates(app: &TestApp, q: &str) -> Vec<(String, String)> {
    let r = app
        .client
        .get(app.url("/tariffs/user_rates"))
        .query(&[("q", q), ("format", "xml")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let xml = r.text().await.unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    doc.descendants()
        .filter(|n| n.has_tag_name("rate"))
        .map(|rate| {
            let child = |name: &str| {
                rate.children()
                    .find(|c| c.has_tag_name(name))
                    .and_then(|c| c.text())
                    .unwrap_or("")
                    .to_string()
            };
            (child("ratename"), child("ratecost"))
        })
        .collect()
}

async fn a_russian_subscriber_reads_money_and_countries_as_cldr_writes_them(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    login(&app, "demo2").await;

    // demo2: a prepaid EUR account with 10.00 EUR of credit.
    let details = page(&app, "/users/personal_details").await;
    let balance = crate::common::balance_shown(&app, "demo2", Lang::Ru).await;
    assert!(
        balance.ends_with("\u{a0}€") && balance.contains(','),
        "{balance}"
    );
    for figure in [balance.as_str(), "10,00\u{a0}€"] {
        assert!(details.contains(figure), "{figure} in\n{details}");
    }
    let plain = crate::common::balance_text(&app, "demo2").await;
    assert!(!details.contains(&plain), "{plain} in\n{details}");

    // "Германия" finds Germany's rates, and so do "germany" and "ГЕРМ".
    let german = xml_rates(&app, "Германия").await;
    assert!(!german.is_empty(), "Германия finds rates");
    assert!(german.iter().all(|(name, _)| name.starts_with("Germany")));
    assert_eq!(xml_rates(&app, "germany").await, german);
    assert_eq!(xml_rates(&app, "ГЕРМ").await, german);
    // The XML is the seed's: English names, a plain decimal point.
    let (_, price) = &german[0];
    assert!(price.contains('.') && !price.contains(','), "{price}");

    // The page shows the country in Russian and the prices with a decimal comma.
    let html = page(
        &app,
        "/tariffs/user_rates?q=%D0%93%D0%B5%D1%80%D0%BC%D0%B0%D0%BD%D0%B8%D1%8F",
    )
    .await;
    assert!(html.contains("<span>Германия</span>"), "{html}");
    assert!(!html.contains("<span>Germany</span>"), "{html}");
    assert!(!html.contains("Франция"), "only Germany is found");
    let shown = locale::number(Lang::Ru, price);
    assert!(shown.contains(','), "{shown}");
    assert!(html.contains(&shown), "{shown} in\n{html}");

    // The JSON is unchanged: the stored name, a decimal string.
    let json: serde_json::Value = app
        .client
        .get(app.url("/tariffs/user_rates"))
        .query(&[("q", "Германия"), ("format", "json")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let first = &json["rates"][0];
    assert!(first["ratename"].as_str().unwrap().starts_with("Germany"));
    assert_eq!(first["ratecost"]["value"].as_str().unwrap(), price);

    // The destinations of the group: the country in Russian, its mobile numbers named so.
    let dest_id: i64 = json["rates"][0]["dest_id"].as_i64().unwrap();
    let dests = page(
        &app,
        &format!("/directions/dg_list_user_destinations/{dest_id}"),
    )
    .await;
    assert!(dests.contains("<span>Германия</span>"), "{dests}");
    assert!(dests.contains("Германия, мобильные"), "{dests}");

    // The calling plan names its countries in Russian, each of its tables (those worth
    // attention, then the others) in Russian alphabetical order (CLDR's: Ё with the Е's).
    let plan = page(&app, "/services/calling_plan").await;
    let tables: Vec<&str> = plan.split("<table").skip(1).collect();
    assert_eq!(tables.len(), 2);
    for table in tables {
        let mut names: Vec<&str> = table
            .split("<span class=\"strong\">")
            .skip(1)
            .filter_map(|rest| rest.split_once("</span>").map(|(name, _)| name))
            .collect();
        names.dedup();
        let keys: Vec<Vec<u8>> = names
            .iter()
            .map(|n| selfcare::locale::sort_key(Lang::Ru, n))
            .collect();
        assert!(keys.is_sorted(), "{names:?}");
    }
    // By code point Того would come first (ё is U+0451, after о).
    let at = |name: &str| {
        plan.find(&format!("<span class=\"strong\">{name}</span>"))
            .unwrap_or_else(|| panic!("{name} in the plan"))
    };
    assert!(
        at("Тёркс и Кайкос") < at("Того"),
        "Тёркс (т-е-р) before Того (т-о)"
    );
    assert!(plan.contains("<span class=\"strong\">Германия</span>"));

    // The PDF reads as the page; the CSV keeps plain numbers.
    let user = app
        .scalar("SELECT id FROM users WHERE username = 'demo2'")
        .await;
    let csv = download(
        &app,
        &format!("/tariffs/generate_personal_rates_csv/{user}?q=germany"),
    )
    .await;
    assert_eq!(csv.status, 200);
    let mut reader = csv::Reader::from_reader(csv.body.as_slice());
    // Its headings are in the reader's language; its price is the XML's, plain.
    let row = reader.records().next().unwrap().unwrap();
    assert!(
        row.iter().any(|cell| cell == price.as_str()),
        "CSV numbers stay plain: {price} in {row:?}"
    );
    if pdf_tools() {
        let pdf = download(
            &app,
            &format!("/tariffs/generate_personal_rates_pdf/{user}?q=germany"),
        )
        .await;
        assert_eq!(pdf.status, 200);
        let text = pdf_text(&pdf.body);
        assert!(text.contains("Германия"), "{text}");
        assert!(text.contains(&shown), "{shown} in\n{text}");
    }
}
on_both_databases!(a_russian_subscriber_reads_money_and_countries_as_cldr_writes_them);

async fn an_english_subscriber_reads_money_as_cldr_writes_it(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    login(&app, "demo").await;
    let (micros,): (i64,) =
        sqlx::query_as("SELECT balance_micros FROM users WHERE username = 'demo'")
            .fetch_one(app.store.pool())
            .await
            .unwrap();
    // The demo's postpaid account owes its open invoice: a negative balance in dollars.
    let balance = locale::money(Lang::En, Money(micros), 2, "USD");
    assert!(
        balance.starts_with("-$") || balance.starts_with('$'),
        "{balance}"
    );
    let main = page(&app, "/callc/main").await;
    assert!(main.contains(&balance), "{balance} in\n{main}");

    // The legacy XML keeps the seed's `-1976.56 USD` form.
    let legacy = spawn_demo_app(backend).await;
    legacy.legacy_login("demo", "demo").await;
    let (_, xml) = legacy.get_xml("/callc/main").await;
    assert_eq!(
        text_of(&xml, "balance"),
        Money(micros).with_currency(2, "USD")
    );

    // A search in Russian finds the country on an English page too, named in English.
    let html = page(
        &app,
        "/tariffs/user_rates?q=%D0%93%D0%B5%D1%80%D0%BC%D0%B0%D0%BD%D0%B8%D1%8F",
    )
    .await;
    assert!(html.contains("<span>Germany</span>"), "{html}");
}
on_both_databases!(an_english_subscriber_reads_money_as_cldr_writes_it);

// The rates page and the main page of a Russian subscriber on a phone: nothing scrolls
// sideways, the prices read with a decimal comma. With `SELFCARE_SCREENSHOTS` set, they are
// saved for a person to look at.
crate::with_tools!(russian_money_and_countries_fit_a_phone, needs chromium);
async fn russian_money_and_countries_fit_a_phone() {
    let app = spawn_demo_app(Backend::Sqlite).await;
    let b = crate::browser::Browser::start(390, 844)
        .await
        .expect("Chromium");
    b.log_in(&app.address, "demo2", "demo2").await;
    b.go(&format!("{}/tariffs/user_rates?q=Германия", app.address))
        .await;
    assert!(b.fits_sideways().await, "the rates page scrolls sideways");
    let name = b.find("a.dest span").await;
    assert_eq!(b.text(&name).await, "Германия");
    let price = b
        .script("return document.querySelector('td.num .price').textContent;")
        .await;
    assert!(price.as_str().unwrap().contains(','), "{price}");
    b.screenshot("locale-rates-phone-ru").await;
    b.go(&format!("{}/callc/main", app.address)).await;
    assert!(b.fits_sideways().await, "the main page scrolls sideways");
    let body = b.find("body").await;
    let balance = crate::common::balance_shown(&app, "demo2", Lang::Ru).await;
    // WebDriver gives no-break spaces as spaces.
    let spaced = |t: &str| t.replace(['\u{a0}', '\u{202f}'], " ");
    assert!(
        spaced(&b.text(&body).await).contains(&spaced(&balance)),
        "the balance {balance}"
    );
    b.screenshot("locale-main-phone-ru").await;
    // The pages with most money and dates (the menu's test checks every page for overflow).
    for (path, name) in [
        ("/stats/call_list", "calls"),
        ("/accounting/user_invoices", "invoices"),
        ("/services/calling_plan", "calling-plan"),
        ("/stats/missed_calls", "missed-calls"),
        ("/stats/user_stats", "statistics"),
    ] {
        b.go(&format!("{}{path}", app.address)).await;
        assert!(b.fits_sideways().await, "{path} scrolls sideways");
        b.screenshot(&format!("locale-{name}-phone-ru")).await;
    }
    b.quit().await;
}
