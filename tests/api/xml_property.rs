//! A property: whatever Unicode text is in the data (as a PBX, an import or an outside caller may
//! put it there) and in the query string, every XML page is well-formed XML. Random strings from
//! proptest are written into every free-text column a page shows, then every page is read back
//! with a real XML parser.

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, TestRunner};

use crate::common::{spawn_demo_app, Backend, TestApp};
use crate::on_both_databases;

/// Cases per database: each one rewrites the data and reads every page.
const CASES: u32 = 24;

/// Free-text columns the pages show, set for the demo user's rows (`$1` the text, `$2` the
/// user); columns that must stay unique get the row's id appended.
const COLUMNS: &[&str] = &[
    "UPDATE users SET first_name = $1, last_name = $1, reg_address = $1, reg_city = $1,
        reg_state = $1, reg_postcode = $1, reg_phone = $1, reg_mobile = $1, reg_email = $1,
        alias = $1, personal_id = $1, vat_reg_number = $1, agreement_number = $1 WHERE id = $2",
    "UPDATE phonebook_entries SET name = $1, number = $1 || id WHERE user_id = $2",
    "UPDATE devices SET description = $1, caller_id = $1 WHERE user_id = $2",
    "UPDATE clis SET description = $1, cli = $1 || id
        WHERE device_id IN (SELECT id FROM devices WHERE user_id = $2)",
    "UPDATE calls SET src = $1, dst = $1 WHERE user_id = $2",
    "UPDATE audit_log SET detail = $1, address = $1 WHERE user_id = $2",
    "UPDATE invoices SET number = $1 || id WHERE user_id = $2",
    "UPDATE payments SET payment_type = $1 WHERE user_id = $2",
    "UPDATE callback_requests SET src = $1, dst = $1, reason = $1 WHERE user_id = $2",
];

/// Columns shared by every user (the tariff's destinations, the services).
const SHARED: &[&str] = &[
    "UPDATE destinations SET details = $1",
    "UPDATE services SET name = $1 || id",
    "UPDATE destination_groups SET name = $1 || id",
];

/// Every page with an XML form, `{u}` the user's id, `{q}` the text, percent-encoded.
const PAGES: &[&str] = &[
    "/callc/main",
    "/users/personal_details",
    "/devices/user_devices",
    "/devices/user_device_clis",
    "/tariffs/user_rates",
    "/directions/dg_list_user_destinations/{u}?q={q}",
    "/payments/personal_payments",
    "/payments/topup",
    "/accounting/user_invoices",
    "/services/user_subscriptions",
    "/phonebooks/list/{u}",
    "/phonebooks/list/{u}?q={q}",
    "/stats/call_list",
    "/stats/call_list?period_start={q}&period_end={q}&device={q}",
    "/stats/new_calls_list",
    "/stats/missed_calls",
    "/stats/missed_calls?calltype={q}",
    "/stats/user_stats",
    "/stats/faxes_list/{u}?fax_status={q}",
    "/functions/callback",
    "/users/activity",
    "/services/barrings",
    "/services/spending_limit?done={q}",
    "/services/calling_plan",
    "/callc/login?lang={q}",
];

/// Any text PostgreSQL can store (everything but NUL), up to 40 characters, biased towards the
/// characters XML 1.0 forbids.
fn text() -> impl Strategy<Value = String> {
    use proptest::prelude::*;
    let forbidden = prop_oneof![
        Just('\u{FFFF}'),
        Just('\u{FFFE}'),
        (1u32..0x20).prop_map(|c| char::from_u32(c).unwrap_or('x')),
        Just('\u{D7FF}'),
        Just('\u{E000}'),
        Just('\u{10FFFF}'),
    ];
    let anything = any::<char>().prop_filter("no NUL", |c| *c != '\0');
    proptest::collection::vec(
        prop_oneof![anything, forbidden, Just('<'), Just('&')],
        0..40,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

async fn write_everywhere(app: &TestApp, user: i64, text: &str) {
    for sql in COLUMNS {
        sqlx::query(sql)
            .bind(text)
            .bind(user)
            .execute(app.store.pool())
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    for sql in SHARED {
        sqlx::query(sql)
            .bind(text)
            .execute(app.store.pool())
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

on_both_databases!(every_xml_page_parses_whatever_text_it_holds);
async fn every_xml_page_parses_whatever_text_it_holds(b: Backend) {
    let app = spawn_demo_app(b).await;
    let demo = app
        .scalar("SELECT id FROM users WHERE username = 'demo'")
        .await;
    // One callback request, so that page has a row to show.
    sqlx::query(
        "INSERT INTO callback_requests (user_id, device_id, src, dst, status, reason, created_at, updated_at)
         SELECT user_id, id, '101', '102', 'failed', 'busy', 0, 0 FROM devices
         WHERE user_id = $1 AND device_type = 'SIP' LIMIT 1",
    )
    .bind(demo)
    .execute(app.store.pool())
    .await
    .unwrap();
    let (status, _) = app.legacy_login("demo", "demo").await;
    assert_eq!(status, 200);

    let mut runner = TestRunner::new(Config {
        cases: CASES,
        ..Config::default()
    });
    let strategy = text();
    for _ in 0..CASES {
        let text = strategy.new_tree(&mut runner).expect("a value").current();
        write_everywhere(&app, demo, &text).await;
        let encoded: String = url_encode(&text);
        for page in PAGES {
            let path = page
                .replace("{u}", &demo.to_string())
                .replace("{q}", &encoded);
            let (status, xml) = app.get_xml(&path).await;
            assert!(status < 500, "{path} answered {status} for {text:?}");
            if let Err(e) = roxmltree::Document::parse(&xml) {
                panic!("{path} is not well-formed for {text:?}: {e}\n{xml}");
            }
        }
    }
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
