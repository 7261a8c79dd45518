//! The money pages: rates (with currency conversion and VAT), destinations, payments, invoices
//! (list and detail) and subscriptions, in HTML, the seed's XML and JSON.

use crate::common::{spawn_demo_app, structure, text_of, Backend, TestApp};
use crate::on_both_databases;

/// The element names of `block` (a structure fragment, one element per line) repeated `n` times.
fn repeat(block: &str, n: usize) -> String {
    block.repeat(n)
}

fn texts(xml: &str, name: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(xml).expect("XML");
    doc.descendants()
        .filter(|n| n.has_tag_name(name))
        .map(|n| n.text().unwrap_or("").to_string())
        .collect()
}

async fn html_login(app: &TestApp, user: &str) {
    let r = app
        .submit_form("/callc/login", &[("username", user), ("password", user)])
        .await;
    assert_eq!(r.status().as_u16(), 303, "login of {user}");
}

async fn html(app: &TestApp, path: &str) -> (u16, String) {
    let r = app.get(path).await;
    let status = r.status().as_u16();
    (status, r.text().await.unwrap())
}

async fn exec(app: &TestApp, sql: &str) {
    sqlx::query(sql)
        .execute(app.store.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn user_id(app: &TestApp, name: &str) -> i64 {
    app.scalar(&format!("SELECT id FROM users WHERE username = '{name}'"))
        .await
}

/// Non-negative micro-units as the pages show them with 2 decimals (half a cent rounds up).
/// An amount as an English page shows it (`$1,234.50`, CLDR's way).
fn shown(micros: i64, currency: &str) -> String {
    selfcare::locale::money(
        selfcare::i18n::Lang::En,
        selfcare::money::Money(micros).round_to(2),
        2,
        currency,
    )
}

fn cents(micros: i64) -> String {
    let c = (micros + 5_000) / 10_000;
    format!("{}.{:02}", c / 100, c % 100)
}

// ---------------------------------------------------------------- rates

/// A tariff of our own for demo (USD, 20 % VAT): one group, "Testland <&\">", FIX 0.0200 and
/// MOB 0.0350 in force (an older MOB rate superseded, a newer one not yet in force), and
/// exchange rates around the demo's EUR 0.92 that must not be used. Returns the group's id.
async fn hand_tariff(app: &TestApp, currency: &str, fix: i64, mob: i64) -> i64 {
    let now = chrono::Utc::now().timestamp();
    let (tariff,): (i64,) =
        sqlx::query_as("INSERT INTO tariffs (name, currency) VALUES ('Hand', $1) RETURNING id")
            .bind(currency)
            .fetch_one(app.store.pool())
            .await
            .unwrap();
    let (group,): (i64,) = sqlx::query_as(
        "INSERT INTO destination_groups (name, flag) VALUES ('Testland <&\">', 'tl') RETURNING id",
    )
    .fetch_one(app.store.pool())
    .await
    .unwrap();
    exec(
        app,
        &format!(
            "INSERT INTO destinations (group_id, prefix, details, dir_code) VALUES
           ({group}, '99912', 'Testland City', 'FIX'), ({group}, '9997', 'Testland Mobile', 'MOB')"
        ),
    )
    .await;
    for (kind, price, from) in [
        ("FIX", fix, 0),
        ("MOB", 10_000, 0),
        ("MOB", mob, now - 100),
        ("MOB", 990_000, now + 86_400),
    ] {
        exec(
            app,
            &format!(
                "INSERT INTO rates (tariff_id, group_id, rate_type, price_micros, effective_from)
             VALUES ({tariff}, {group}, '{kind}', {price}, {from})"
            ),
        )
        .await;
    }
    exec(
        app,
        &format!(
            "UPDATE users SET tariff_id = {tariff}, vat_percent_bp = 2000 WHERE username = 'demo'"
        ),
    )
    .await;
    // EUR: 0.80 long ago and 0.50 from tomorrow; the demo's 0.92 of a month ago is in force.
    exec(
        app,
        &format!(
            "INSERT INTO exchange_rates (currency, rate_micros, valid_from) VALUES
               ('EUR', 800000, 1), ('EUR', 500000, {})",
            now + 86_400
        ),
    )
    .await;
    // A currency without a rate, and one whose only rate starts tomorrow: neither is offered.
    exec(app, "INSERT INTO currencies (code, name, decimals) VALUES ('GBP', 'Pound', 2), ('CHF', 'Franc', 2)").await;
    exec(
        app,
        &format!(
            "INSERT INTO exchange_rates (currency, rate_micros, valid_from) VALUES ('CHF', 900000, {})",
            now + 86_400
        ),
    )
    .await;
    group
}

const RATES_HEAD: &str = "\
page
  pagename
  language
  userid
  currency
  vat_percent
  aval_currencies
    currency
    currency
    currency
  rates
";
/// The seed's `<rate>` and our `<dest_id>` after its fields.
const RATE: &str = "    rate
      ratename
      rateicon
      ratetype
      ratecost
      rate_vat_cost
      dest_id
";

/// (type, without VAT, with VAT) of each `<rate>`.
fn prices(xml: &str) -> Vec<(String, String, String)> {
    let t = texts(xml, "ratetype");
    let c = texts(xml, "ratecost");
    let v = texts(xml, "rate_vat_cost");
    t.into_iter()
        .zip(c)
        .zip(v)
        .map(|((t, c), v)| (t, c, v))
        .collect()
}

fn p(t: &str, c: &str, v: &str) -> (String, String, String) {
    (t.to_string(), c.to_string(), v.to_string())
}

async fn rates_are_converted_and_taxed_as_computed_by_hand(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let group = hand_tariff(&app, "USD", 20_000, 35_000).await;
    let user = user_id(&app, "demo").await;
    html_login(&app, "demo").await;

    // Without a choice: the user's currency (USD, the tariff's), VAT 20 %.
    let (status, xml) = app.get_xml("/tariffs/user_rates").await;
    assert_eq!(status, 200);
    assert_eq!(structure(&xml), format!("{RATES_HEAD}{}", repeat(RATE, 2)));
    assert_eq!(text_of(&xml, "pagename"), "Rates");
    assert_eq!(text_of(&xml, "userid"), user.to_string());
    assert_eq!(text_of(&xml, "currency"), "USD");
    assert_eq!(text_of(&xml, "vat_percent"), "20");
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let offered: Vec<_> = doc
        .descendants()
        .find(|n| n.has_tag_name("aval_currencies"))
        .unwrap()
        .children()
        .filter(|n| n.is_element())
        .map(|n| n.text().unwrap().to_string())
        .collect();
    assert_eq!(
        offered,
        ["USD", "EUR", "RUB"],
        "GBP has no rate, CHF none yet"
    );
    assert_eq!(text_of(&xml, "ratename"), "Testland <&\">");
    assert_eq!(text_of(&xml, "rateicon"), "tl.svg");
    assert_eq!(
        texts(&xml, "dest_id"),
        [group.to_string(), group.to_string()]
    );
    // The MOB rate in force is 0.0350: not the older 0.0100, not tomorrow's 0.9900.
    assert_eq!(
        prices(&xml),
        [p("FIX", "0.0200", "0.0240"), p("MOB", "0.0350", "0.0420")]
    );

    // EUR at 0.92 per USD: 0.0200 → 0.0184, + 20 % = 0.02208 → 0.0221;
    // 0.0350 → 0.0322, + 20 % = 0.03864 → 0.0386.
    let xml = app.get_xml("/tariffs/user_rates?currency=EUR").await.1;
    assert_eq!(text_of(&xml, "currency"), "EUR");
    assert_eq!(
        prices(&xml),
        [p("FIX", "0.0184", "0.0221"), p("MOB", "0.0322", "0.0386")]
    );
    // RUB at 92.5 per USD, asked in lower case: 0.0350 → 3.2375, + 20 % = 3.885.
    let xml = app.get_xml("/tariffs/user_rates?currency=rub").await.1;
    assert_eq!(text_of(&xml, "currency"), "RUB");
    assert_eq!(
        prices(&xml),
        [p("FIX", "1.8500", "2.2200"), p("MOB", "3.2375", "3.8850")]
    );

    // The browser's page shows the same figures, a country per row, linked to its prefixes.
    let (status, page) = html(&app, "/tariffs/user_rates?currency=EUR").await;
    assert_eq!(status, 200);
    assert!(page.contains("0.0184") && page.contains("0.0221"), "{page}");
    assert!(page.contains("0.0322") && page.contains("0.0386"));
    assert!(page.contains(&format!(
        "href=\"/directions/dg_list_user_destinations/{group}\""
    )));
    assert!(page.contains("src=\"/static/flags/tl.svg\""));
    assert!(page.contains("Testland &#60;&#38;&#34;&#62;"), "escaped");
    assert!(!page.contains("Testland <&"));
    assert_eq!(page.matches("<tbody>").count(), 1);
    assert_eq!(
        page.matches("/directions/dg_list_user_destinations/")
            .count(),
        1,
        "FIX and MOB of a country share one row"
    );
    // JSON is the view model.
    let j = app.json("/tariffs/user_rates?currency=EUR").await;
    assert_eq!(
        j["rates"][0]["ratecost"],
        serde_json::json!({"value": "0.0184", "currency": "EUR"})
    );
    assert_eq!(j["rates"][1]["rate_vat_cost"]["value"], "0.0386");
    assert!(j["links"]["next"].is_null() && j["links"]["prev"].is_null());
    assert_eq!(j["rates"][0]["dest_id"], group);
}
on_both_databases!(rates_are_converted_and_taxed_as_computed_by_hand);

async fn a_tariff_in_another_currency_goes_through_the_base(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    // A EUR tariff: 0.0500 EUR/min. EUR is 0.92 per USD (base), RUB 92.5 per USD.
    hand_tariff(&app, "EUR", 50_000, 50_000).await;
    exec(
        &app,
        "UPDATE users SET currency = 'RUB' WHERE username = 'demo'",
    )
    .await;
    html_login(&app, "demo").await;
    // The user's currency, RUB: 0.05 / 0.92 × 92.5 = 5.02717… → 5.0272; + 20 % = 6.03260… → 6.0326.
    let xml = app.get_xml("/tariffs/user_rates").await.1;
    assert_eq!(text_of(&xml, "currency"), "RUB");
    assert_eq!(prices(&xml)[0], p("FIX", "5.0272", "6.0326"));
    // In USD: 0.05 / 0.92 = 0.054347… → 0.0543; + 20 % = 0.065217… → 0.0652.
    let xml = app.get_xml("/tariffs/user_rates?currency=USD").await.1;
    assert_eq!(prices(&xml)[0], p("FIX", "0.0543", "0.0652"));
    // In the tariff's own currency nothing is converted.
    let xml = app.get_xml("/tariffs/user_rates?currency=EUR").await.1;
    assert_eq!(prices(&xml)[0], p("FIX", "0.0500", "0.0600"));
}
on_both_databases!(a_tariff_in_another_currency_goes_through_the_base);

async fn an_unknown_currency_is_a_clear_failure(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    hand_tariff(&app, "USD", 20_000, 35_000).await;
    html_login(&app, "demo").await;
    for (asked, says) in [
        ("XYZ", "Unknown currency XYZ"),
        ("GBP", "Unknown currency GBP"),
        ("CHF", "Unknown currency CHF"),
        ("%3Cb%3E", "three-letter code"),
        ("EURO", "three-letter code"),
    ] {
        let (status, xml) = app
            .get_xml(&format!("/tariffs/user_rates?currency={asked}"))
            .await;
        assert_eq!(status, 400, "{asked}");
        assert_eq!(
            structure(&xml),
            "action\n  name\n  status\n  status_message\n"
        );
        assert_eq!(text_of(&xml, "name"), "user_rates");
        assert_eq!(text_of(&xml, "status"), "failed");
        let message = text_of(&xml, "status_message");
        assert!(message.contains(says), "{asked}: {message}");
        if says.starts_with("Unknown") {
            assert!(message.contains("USD, EUR, RUB"), "{message}");
        }
    }
    let j = app
        .json("/tariffs/user_rates?currency=XYZ&format=json")
        .await;
    assert_eq!(j["error"]["code"], "invalid_input", "{j}");
    assert!(
        j["error"]["message"].as_str().unwrap().contains("XYZ"),
        "{j}"
    );

    let (status, page) = html(&app, "/tariffs/user_rates?currency=%3Cscript%3E").await;
    assert_eq!(status, 400);
    assert!(page.contains("three-letter code") && !page.contains("<script>"));
    let (status, page) = html(&app, "/tariffs/user_rates?currency=XYZ").await;
    assert_eq!(status, 400);
    assert!(page.contains("Unknown currency XYZ"), "{page}");
    // A search longer than anyone types is refused, not run.
    let long = "a".repeat(101);
    let (status, page) = html(&app, &format!("/tariffs/user_rates?q={long}")).await;
    assert_eq!(status, 400);
    assert!(page.contains("too long"));
}
on_both_databases!(an_unknown_currency_is_a_clear_failure);

async fn rates_are_searched_by_country_or_prefix(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    html_login(&app, "demo").await;

    // All groups of the demo tariff, each with its types.
    let xml = app.get_xml("/tariffs/user_rates").await.1;
    let all = app.scalar("SELECT COUNT(*) FROM rates").await;
    assert!(all > 400, "{all} demo rates");
    assert_eq!(texts(&xml, "rate").len() as i64, all);

    // By name, in any case: as many rates as the groups so named have.
    let united = app
        .scalar(
            "SELECT COUNT(*) FROM rates r JOIN destination_groups g ON g.id = r.group_id
             WHERE LOWER(g.name) LIKE '%united%'",
        )
        .await;
    assert!(united >= 4);
    let xml = app.get_xml("/tariffs/user_rates?q=UNITED").await.1;
    let names = texts(&xml, "ratename");
    assert_eq!(names.len() as i64, united);
    assert!(names.iter().all(|n| n.to_lowercase().contains("united")));

    // By prefix, and by a whole number dialled with + and spaces: the United Kingdom only.
    for q in ["4420", "%2B44%2020%207946%200000"] {
        let xml = app.get_xml(&format!("/tariffs/user_rates?q={q}")).await.1;
        let mut names = texts(&xml, "ratename");
        names.dedup();
        assert_eq!(names, ["United Kingdom"], "{q}");
    }
    // LIKE wildcards are text, not patterns.
    let xml = app.get_xml("/tariffs/user_rates?q=%25").await.1;
    assert!(texts(&xml, "rate").is_empty());

    // The browser's search keeps the currency and says how many groups matched, or that none did.
    let (_, page) = html(&app, "/tariffs/user_rates?currency=EUR&q=4420").await;
    assert!(page.contains("United Kingdom"));
    assert!(!page.contains("Afghanistan"));
    assert!(page.contains("value=\"4420\""));
    assert!(page.contains("name=\"currency\" value=\"EUR\""));
    assert!(page.contains("<strong>1</strong>"), "one group matched");
    let (status, page) = html(&app, "/tariffs/user_rates?q=Atlantis").await;
    assert_eq!(status, 200);
    assert!(page.contains("No destination matches your search."));
    // Russian
    let (_, page) = html(&app, "/tariffs/user_rates?lang=ru").await;
    assert!(page.contains("Тарифы") && page.contains("Городские") && page.contains("с НДС"));
}
on_both_databases!(rates_are_searched_by_country_or_prefix);

async fn a_user_without_a_tariff_sees_an_empty_rates_page(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    exec(
        &app,
        "UPDATE users SET tariff_id = NULL WHERE username = 'demo'",
    )
    .await;
    html_login(&app, "demo").await;
    let (status, page) = html(&app, "/tariffs/user_rates").await;
    assert_eq!(status, 200);
    assert!(page.contains("Your tariff has no rates yet."));
    let (_, xml) = app.get_xml("/tariffs/user_rates").await;
    assert_eq!(structure(&xml), RATES_HEAD);
}
on_both_databases!(a_user_without_a_tariff_sees_an_empty_rates_page);

// ---------------------------------------------------------------- destinations

const DESTINATIONS_HEAD: &str = "\
page
  pagename
  language
  groupname
  groupicon
  directions
";
const DIRECTION: &str = "    direction
      details
      prefix
      dir_code
";

async fn destinations_list_a_groups_prefixes_and_nothing_outside_the_tariff(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let uk = app
        .scalar("SELECT id FROM destination_groups WHERE name = 'United Kingdom'")
        .await;
    let prefixes = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM destinations WHERE group_id = {uk}"
        ))
        .await;
    html_login(&app, "demo").await;
    let (status, xml) = app
        .get_xml(&format!("/directions/dg_list_user_destinations/{uk}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        structure(&xml),
        format!(
            "{DESTINATIONS_HEAD}{}",
            repeat(DIRECTION, prefixes as usize)
        )
    );
    assert_eq!(text_of(&xml, "pagename"), "Destinations");
    assert_eq!(text_of(&xml, "groupname"), "United Kingdom");
    assert_eq!(text_of(&xml, "groupicon"), "gb.svg");
    let listed = texts(&xml, "prefix");
    assert!(listed.contains(&"4420".to_string()));
    let codes = texts(&xml, "dir_code");
    assert!(codes.contains(&"FIX".to_string()) && codes.contains(&"MOB".to_string()));

    // A group no rate of the user's tariff covers, one that does not exist, and garbage: 404.
    let (outside,): (i64,) = sqlx::query_as(
        "INSERT INTO destination_groups (name, flag) VALUES ('Nowhere', 'xx') RETURNING id",
    )
    .fetch_one(app.store.pool())
    .await
    .unwrap();
    exec(&app, &format!(
        "INSERT INTO destinations (group_id, prefix, details, dir_code) VALUES ({outside}, '888', 'Nowhere', 'FIX')"
    ))
    .await;
    for path in [
        format!("/directions/dg_list_user_destinations/{outside}"),
        "/directions/dg_list_user_destinations/999999".to_string(),
        "/directions/dg_list_user_destinations/abc".to_string(),
        "/directions/dg_list_user_destinations/99999999999999999999999".to_string(),
    ] {
        let (status, xml) = app.get_xml(&path).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(text_of(&xml, "status"), "failed");
        assert!(!xml.contains("888"));
    }

    let (status, page) = html(&app, &format!("/directions/dg_list_user_destinations/{uk}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("United Kingdom London") && page.contains("4420"));
    assert!(page.contains("/static/flags/gb.svg"));
    let (status, _) = html(
        &app,
        &format!("/directions/dg_list_user_destinations/{outside}"),
    )
    .await;
    assert_eq!(status, 404);
}
on_both_databases!(destinations_list_a_groups_prefixes_and_nothing_outside_the_tariff);

// ---------------------------------------------------------------- payments

const PAYMENTS_HEAD: &str = "\
page
  pagename
  language
  userid
  payments
";
const PAYMENT: &str = "    payment
      payment_date
      confirmed_date
      payment_type
      amount
      vat
      amount_vat
      currency
      completed
      payment_id
      state
      reason
      refunded
";

async fn payments_are_listed_newest_first_with_totals_per_currency(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let user = user_id(&app, "demo").await;
    // One payment of our own in euros, on 1 July 2024 12:00 UTC (13:00 in London), confirmed
    // two hours later: 10.00 EUR + 15 % VAT = 11.50 EUR.
    exec(&app, &format!(
        "INSERT INTO payments (user_id, paid_at, confirmed_at, payment_type, amount_micros, vat_percent_bp,
                               amount_vat_micros, currency, completed)
         VALUES ({user}, 1719835200, 1719842400, 'Voucher <&\">', 10000000, 1500, 11500000, 'EUR', 1)"
    ))
    .await;
    // And a bank transfer announced just now, not confirmed yet (the newest).
    let now = chrono::Utc::now().timestamp();
    exec(
        &app,
        &format!(
            "INSERT INTO payments (user_id, paid_at, payment_type, amount_micros, vat_percent_bp,
                               amount_vat_micros, currency, completed, state)
         VALUES ({user}, {now}, 'Bank transfer', 5000000, 0, 5000000, 'USD', 0, 'pending')"
        ),
    )
    .await;
    let count = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM payments WHERE user_id = {user}"
        ))
        .await;
    html_login(&app, "demo").await;
    let xml = app.get_xml("/payments/personal_payments").await.1;
    assert_eq!(
        structure(&xml),
        format!("{PAYMENTS_HEAD}{}", repeat(PAYMENT, count as usize))
    );
    assert_eq!(text_of(&xml, "pagename"), "Payments");
    assert_eq!(text_of(&xml, "userid"), user.to_string());
    let dates = texts(&xml, "payment_date");
    let mut sorted = dates.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(dates, sorted, "newest first");
    // Ours is the oldest: the last one.
    let last = |name: &str| texts(&xml, name).last().unwrap().clone();
    assert_eq!(last("payment_date"), "2024-07-01 13:00:00");
    assert_eq!(last("confirmed_date"), "2024-07-01 15:00:00");
    assert_eq!(last("payment_type"), "Voucher <&\">");
    assert_eq!(last("amount"), "10.00");
    assert_eq!(last("vat"), "15.0");
    assert_eq!(last("amount_vat"), "11.50");
    assert_eq!(last("currency"), "EUR");
    assert_eq!(last("completed"), "Yes");
    // The newest payment is not confirmed yet.
    assert_eq!(texts(&xml, "confirmed_date")[0], "");
    assert_eq!(texts(&xml, "completed")[0], "No");

    // HTML: every payment, and the completed ones totalled per currency.
    let (status, page) = html(&app, "/payments/personal_payments").await;
    assert_eq!(status, 200);
    assert_eq!(page.matches("<tr>").count() as i64, 1 + count);
    let usd = app
        .scalar(&format!(
            "SELECT CAST(SUM(amount_vat_micros) AS BIGINT) FROM payments
             WHERE user_id = {user} AND completed = 1 AND currency = 'USD'"
        ))
        .await;
    assert!(page.contains(&shown(usd, "USD")), "USD total {usd}");
    assert!(page.contains("EUR · payments: 1"), "EUR totalled apart");
    assert!(page.contains("Without VAT: €10.00"), "EUR total");
    assert!(page.contains("Voucher &#60;&#38;&#34;&#62;"));
    let (_, page) = html(&app, "/payments/personal_payments?lang=ru").await;
    assert!(page.contains("Платежи") && page.contains("Проведённые платежи"));
}
on_both_databases!(payments_are_listed_newest_first_with_totals_per_currency);

async fn money_pages_without_records_say_so(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let user = user_id(&app, "demo").await;
    for table in ["payments", "subscriptions"] {
        exec(&app, &format!("DELETE FROM {table} WHERE user_id = {user}")).await;
    }
    exec(&app, &format!(
        "DELETE FROM invoice_lines WHERE invoice_id IN (SELECT id FROM invoices WHERE user_id = {user})"
    ))
    .await;
    exec(
        &app,
        &format!("DELETE FROM invoices WHERE user_id = {user}"),
    )
    .await;
    html_login(&app, "demo").await;
    for (path, says, xml_head) in [
        (
            "/payments/personal_payments",
            "No payments yet.",
            PAYMENTS_HEAD,
        ),
        (
            "/accounting/user_invoices",
            "No invoices yet.",
            INVOICES_HEAD,
        ),
        (
            "/services/user_subscriptions",
            "No subscriptions yet.",
            SUBSCRIPTIONS_HEAD,
        ),
    ] {
        let (status, page) = html(&app, path).await;
        assert_eq!(status, 200, "{path}");
        assert!(page.contains(says), "{path}");
        let (status, xml) = app.get_xml(path).await;
        assert_eq!(status, 200);
        assert_eq!(structure(&xml), xml_head, "{path}");
    }
}
on_both_databases!(money_pages_without_records_say_so);

// ---------------------------------------------------------------- invoices

const INVOICES_HEAD: &str = "\
page
  pagename
  language
  userid
  invoices
";
/// The seed's `<invoice>` and our `<invoice_id>` after its fields.
const INVOICE: &str = "    invoice
      user
      inv_number
      period_start
      period_end
      issue_date
      paid
      paid_date
      price
      vat
      price_vat
      invoice_id
";

async fn invoices_are_listed_and_opened_only_by_their_owner(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let user = user_id(&app, "demo").await;
    let count = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM invoices WHERE user_id = {user}"
        ))
        .await;
    assert!(count > 0);
    let newest = app
        .scalar(&format!(
            "SELECT id FROM invoices WHERE user_id = {user} ORDER BY issued_at DESC, id DESC LIMIT 1"
        ))
        .await;
    html_login(&app, "demo").await;
    let xml = app.get_xml("/accounting/user_invoices").await.1;
    assert_eq!(
        structure(&xml),
        format!("{INVOICES_HEAD}{}", repeat(INVOICE, count as usize))
    );
    assert_eq!(text_of(&xml, "invoice_id"), newest.to_string());
    assert_eq!(text_of(&xml, "user"), "John Smith");
    assert_eq!(text_of(&xml, "vat"), "20.0");
    let price_vat = app
        .scalar(&format!(
            "SELECT price_vat_micros FROM invoices WHERE id = {newest}"
        ))
        .await;
    assert_eq!(text_of(&xml, "price_vat"), cents(price_vat));
    let number: (String,) = sqlx::query_as("SELECT number FROM invoices WHERE id = $1")
        .bind(newest)
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(text_of(&xml, "inv_number"), number.0);
    // Paid: `Yes` with a date, or `No` with none.
    for (paid, date) in texts(&xml, "paid").iter().zip(texts(&xml, "paid_date")) {
        assert_eq!(paid == "Yes", !date.is_empty(), "{paid} {date}");
    }

    // One invoice with its lines, in XML and HTML.
    let lines: Vec<(String, i64)> = sqlx::query_as(
        "SELECT description, amount_micros FROM invoice_lines WHERE invoice_id = $1 ORDER BY position",
    )
    .bind(newest)
    .fetch_all(app.store.pool())
    .await
    .unwrap();
    assert!(!lines.is_empty());
    let xml = app
        .get_xml(&format!("/accounting/user_invoices/{newest}"))
        .await
        .1;
    assert_eq!(
        texts(&xml, "description"),
        lines.iter().map(|l| l.0.clone()).collect::<Vec<_>>()
    );
    assert_eq!(
        texts(&xml, "amount"),
        lines.iter().map(|l| cents(l.1)).collect::<Vec<_>>()
    );
    let (status, page) = html(&app, &format!("/accounting/user_invoices/{newest}")).await;
    assert_eq!(status, 200);
    for (description, amount) in &lines {
        // As askama writes text into HTML (`N'Djamena` → `N&#39;Djamena`).
        let escaped = description
            .replace('&', "&#38;")
            .replace('\'', "&#39;")
            .replace('"', "&#34;")
            .replace('<', "&#60;")
            .replace('>', "&#62;");
        assert!(page.contains(&escaped), "{description}");
        assert!(page.contains(&shown(*amount, "USD")));
    }
    assert!(page.contains(&number.0));
    let (_, list) = html(&app, "/accounting/user_invoices").await;
    assert!(list.contains(&format!("href=\"/accounting/user_invoices/{newest}\"")));

    // demo2's invoice, a missing one and garbage: 404 for demo, nothing shown.
    let theirs = app
        .scalar("SELECT MIN(i.id) FROM invoices i JOIN users u ON u.id = i.user_id WHERE u.username = 'demo2'")
        .await;
    for path in [
        format!("/accounting/user_invoices/{theirs}"),
        "/accounting/user_invoices/999999".to_string(),
        "/accounting/user_invoices/-1".to_string(),
        "/accounting/user_invoices/x".to_string(),
    ] {
        let (status, xml) = app.get_xml(&path).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(text_of(&xml, "name"), "user_invoice");
        assert_eq!(text_of(&xml, "status"), "failed");
        let (status, page) = html(&app, &path).await;
        assert_eq!(status, 404);
        assert!(!page.contains("INV-"), "{path}");
    }
}
on_both_databases!(invoices_are_listed_and_opened_only_by_their_owner);

// ---------------------------------------------------------------- subscriptions

const SUBSCRIPTIONS_HEAD: &str = "\
page
  pagename
  language
  userid
  subscriptions
";
const SUBSCRIPTION: &str = "    subscription
      service
      date_added
      acivation_start
      acivation_end
      price
";

async fn subscriptions_show_price_with_currency_and_open_ends(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let user = user_id(&app, "demo").await;
    // An ended subscription of our own, added 2024-01-10 09:00 UTC, active until 2024-03-01.
    let (service,): (i64,) = sqlx::query_as(
        "INSERT INTO services (name, price_micros, currency, period) VALUES ('Fax <&\"> box', 12500000, 'EUR', 'month') RETURNING id",
    )
    .fetch_one(app.store.pool())
    .await
    .unwrap();
    exec(
        &app,
        &format!(
            "INSERT INTO subscriptions (user_id, service_id, added_at, active_from, active_until)
         VALUES ({user}, {service}, 1704877200, 1704877200, 1709251200)"
        ),
    )
    .await;
    let count = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM subscriptions WHERE user_id = {user}"
        ))
        .await;
    html_login(&app, "demo").await;
    let xml = app.get_xml("/services/user_subscriptions").await.1;
    assert_eq!(
        structure(&xml),
        format!(
            "{SUBSCRIPTIONS_HEAD}{}",
            repeat(SUBSCRIPTION, count as usize)
        )
    );
    assert_eq!(text_of(&xml, "pagename"), "User subscriptions");
    let last = |name: &str| texts(&xml, name).last().unwrap().clone();
    assert_eq!(last("service"), "Fax <&\"> box");
    assert_eq!(last("date_added"), "2024-01-10 09:00:00");
    assert_eq!(last("acivation_start"), "2024-01-10 09:00:00");
    assert_eq!(last("acivation_end"), "2024-03-01 00:00:00");
    assert_eq!(last("price"), "12.50 EUR");
    // The demo's subscriptions are open-ended.
    assert_eq!(texts(&xml, "acivation_end")[0], "");
    let demo_price = app
        .scalar(&format!(
            "SELECT v.price_micros FROM subscriptions s JOIN services v ON v.id = s.service_id
             WHERE s.user_id = {user} ORDER BY s.added_at DESC, s.id DESC LIMIT 1"
        ))
        .await;
    assert_eq!(
        texts(&xml, "price")[0],
        format!("{} USD", cents(demo_price))
    );

    // HTML: the active monthly services totalled (the ended one not counted).
    let active = app
        .scalar(&format!(
            "SELECT CAST(SUM(v.price_micros) AS BIGINT) FROM subscriptions s JOIN services v ON v.id = s.service_id
             WHERE s.user_id = {user} AND s.active_until IS NULL AND v.period = 'month'"
        ))
        .await;
    let (status, page) = html(&app, "/services/user_subscriptions").await;
    assert_eq!(status, 200);
    assert!(page.contains(&shown(active, "USD")), "total {active}");
    assert!(page.contains("Fax &#60;&#38;&#34;&#62; box"));
    assert!(page.contains("open-ended") && page.contains("Ended"));
    assert!(
        !page.contains("€12.50</dd>"),
        "an ended service is not in the monthly total"
    );
}
on_both_databases!(subscriptions_show_price_with_currency_and_open_ends);

async fn money_pages_need_a_session(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    for path in [
        "/tariffs/user_rates",
        "/directions/dg_list_user_destinations/1",
        "/payments/personal_payments",
        "/accounting/user_invoices",
        "/accounting/user_invoices/1",
        "/services/user_subscriptions",
    ] {
        let r = app.get(path).await;
        assert_eq!(r.status().as_u16(), 303, "{path}");
        assert_eq!(r.headers()["location"], "/callc/login");
        let (status, xml) = app.get_xml(path).await;
        assert_eq!(status, 401, "{path}");
        assert_eq!(text_of(&xml, "status"), "failed");
    }
}
on_both_databases!(money_pages_need_a_session);

/// Walks a keyset-paged list from its first page to its last by `links.next`, then back by
/// `links.prev`; returns the ids of each page, in order.
async fn walk(app: &TestApp, first: &str, list: &str, id: &str) -> Vec<Vec<i64>> {
    let ids = |page: &serde_json::Value| -> Vec<i64> {
        page[list]
            .as_array()
            .unwrap_or_else(|| panic!("no {list} in {page}"))
            .iter()
            .map(|row| row[id].as_i64().unwrap())
            .collect()
    };
    let mut page = app.json(first).await;
    assert!(page["links"]["prev"].is_null(), "{page}");
    let mut pages = vec![ids(&page)];
    while let Some(next) = page["links"]["next"].as_str().map(str::to_string) {
        assert!(next.contains("format=json"), "{next}");
        page = app.json(&next).await;
        pages.push(ids(&page));
        assert!(pages.len() < 100, "the pages never end");
    }
    // Back from the last page: the same pages, in reverse.
    let mut back = vec![ids(&page)];
    while let Some(prev) = page["links"]["prev"].as_str().map(str::to_string) {
        page = app.json(&prev).await;
        back.push(ids(&page));
        assert!(back.len() < 100, "the pages never end");
    }
    back.reverse();
    assert_eq!(back, pages, "back by prev is the same pages");
    pages
}

async fn payments_and_invoices_page_by_time_then_id(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let id = user_id(&app, "demo").await;
    // Payments and invoices at one instant: only their ids order them.
    exec(
        &app,
        &format!(
            "INSERT INTO payments (user_id, paid_at, payment_type, amount_micros, vat_percent_bp,
                 amount_vat_micros, currency, completed)
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 7)
             SELECT {id}, 1700000000, 'Same second ' || i, i * 10000, 0, i * 10000, 'USD', 1 FROM n"
        ),
    )
    .await;
    exec(
        &app,
        &format!(
            "INSERT INTO invoices (user_id, number, period_start, period_end, issued_at, currency,
                 price_micros, vat_percent_bp, price_vat_micros)
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5)
             SELECT {id}, 'PAGE-' || i, 1000000 + i, 1000001 + i, 1700000000, 'USD', 0, 0, 0 FROM n"
        ),
    )
    .await;
    html_login(&app, "demo").await;

    for (path, list, key, table, at) in [
        (
            "/payments/personal_payments",
            "payments",
            "payment_id",
            "payments",
            "paid_at",
        ),
        (
            "/accounting/user_invoices",
            "invoices",
            "invoice_id",
            "invoices",
            "issued_at",
        ),
    ] {
        let all: Vec<(i64,)> = sqlx::query_as(&format!(
            "SELECT id FROM {table} WHERE user_id = $1 ORDER BY {at} DESC, id DESC"
        ))
        .bind(id)
        .fetch_all(app.store.pool())
        .await
        .unwrap();
        let all: Vec<i64> = all.into_iter().map(|(i,)| i).collect();
        assert!(all.len() > 6, "{path}: enough rows for three pages");
        // Every row once, newest first, three to a page.
        let pages = walk(&app, &format!("{path}?per_page=3&format=json"), list, key).await;
        assert!(
            pages.iter().all(|p| !p.is_empty() && p.len() <= 3),
            "{pages:?}"
        );
        assert_eq!(pages.concat(), all, "{path}");
        // Without `per_page`, 50 to a page: all of them here, and no links.
        let whole = app.json(path).await;
        assert_eq!(whole[list].as_array().unwrap().len(), all.len().min(50));
        assert!(whole["links"]["prev"].is_null(), "{whole}");

        // The XML pages the same way (its elements unchanged); HTML links older and newer.
        let second = app.json(&format!("{path}?per_page=3")).await["links"]["next"]
            .as_str()
            .unwrap()
            .replace("&format=json", "")
            .replace("format=json&", "");
        let (status, xml) = app.get_xml(&second).await;
        assert_eq!(status, 200, "{second}");
        let tag = if list == "payments" {
            "payment_id"
        } else {
            "invoice_id"
        };
        let shown: Vec<i64> = texts(&xml, tag)
            .iter()
            .map(|t| t.parse().unwrap())
            .collect();
        assert_eq!(shown, pages[1], "{second}");
        let (status, page) = html(&app, &second).await;
        assert_eq!(status, 200);
        assert!(
            page.contains("rel=\"prev\"") && page.contains("rel=\"next\""),
            "{page}"
        );

        // A page position that is not one is refused in the one error shape.
        let bad = app
            .json(&format!("{path}?before=yesterday&format=json"))
            .await;
        assert_eq!(bad["error"]["code"], "invalid_input", "{bad}");
        let bad = app.json(&format!("{path}?per_page=501&format=json")).await;
        assert_eq!(bad["error"]["code"], "invalid_input", "{bad}");
    }

    // Exports are whole whatever the page asks.
    let d = app
        .get("/payments/personal_payments?per_page=2&format=csv")
        .await
        .text()
        .await
        .unwrap();
    let payments = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM payments WHERE user_id = {id}"
        ))
        .await;
    assert_eq!(d.trim_end().lines().count() as i64, payments + 1, "{d}");
    let d = app
        .get("/accounting/user_invoices?per_page=2&format=csv")
        .await
        .text()
        .await
        .unwrap();
    let invoices = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM invoices WHERE user_id = {id}"
        ))
        .await;
    assert_eq!(d.trim_end().lines().count() as i64, invoices + 1, "{d}");
}
on_both_databases!(payments_and_invoices_page_by_time_then_id);
