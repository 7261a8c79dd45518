//! Invoices are for the subscriber's calendar months: a month starts at local midnight of its 1st
//! in the subscriber's time zone and ends the second before the next month's, whatever the
//! offset (Moscow, a half-hour zone) and across DST changes (New York in November). A month is
//! billed once it has ended where the subscriber lives, once only, and the invoice pages show the
//! subscriber's days.

use std::path::Path;

use selfcare::billing::invoice::{bill, BillSummary};
use selfcare::billing::month::Month;

use crate::common::{spawn_app, text_of, Backend, TestApp};
use crate::import::{asterisk, ok, set_up_operator, user_id, write};
use crate::on_both_databases;

fn utc(s: &str) -> i64 {
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
        .unwrap()
        .and_utc()
        .timestamp()
}

/// A call of `device` (alice's `101` or bob's `bob-desk`) at a local time of the PBX.
struct Call {
    device: &'static str,
    start: &'static str,
    number: &'static str,
    billsec: i64,
}

const fn alice(start: &'static str, number: &'static str, billsec: i64) -> Call {
    Call {
        device: "101",
        start,
        number,
        billsec,
    }
}

const fn bob(start: &'static str, number: &'static str, billsec: i64) -> Call {
    Call {
        device: "bob-desk",
        start,
        number,
        billsec,
    }
}

// Numbers of the deck of `set_up_operator`, with what a call of the given seconds costs there.
/// United Kingdom London: 60 s = 0.008.
const LONDON: &str = "00442079460000";
/// France: 10 s = 0.01 (its 30 s minimum).
const FRANCE: &str = "0033123456789";
/// United Kingdom Mobile: 61 s = 0.11 (two minutes and the fee).
const MOBILE: &str = "00447700900123";
/// United Kingdom: 60 s = 0.01.
const UK: &str = "00441610000000";

/// Imports the calls as an Asterisk PBX in `pbx_zone` writes them.
fn import(app: &TestApp, dir: &Path, pbx_zone: &str, calls: &[Call]) {
    let mut csv = String::new();
    for (n, c) in calls.iter().enumerate() {
        let src = if c.device == "101" { "101" } else { "201" };
        let account = if c.device == "101" { "" } else { "bob-desk" };
        csv += &asterisk(
            account,
            src,
            c.number,
            &format!("SIP/{}-{n:08x}", c.device),
            "SIP/trunk-00000001",
            c.start,
            c.start,
            c.billsec,
            "ANSWERED",
            &format!("{}.{n}", utc(c.start)),
        );
    }
    let file = write(dir, &format!("zone-{}.csv", calls.len()), &csv);
    let out = ok(
        app,
        &[
            "import",
            "cdrs",
            "--format",
            "asterisk",
            "--time-zone",
            pbx_zone,
            file.to_str().unwrap(),
        ],
    );
    assert!(
        out.contains(&format!("(rated {}, unmatched number 0", calls.len())),
        "{out}"
    );
}

async fn set_zone(app: &TestApp, user: &str, zone: &str) {
    sqlx::query("UPDATE users SET time_zone = $1 WHERE username = $2")
        .bind(zone)
        .bind(user)
        .execute(app.store.pool())
        .await
        .unwrap();
}

/// An invoice as stored: period (UTC epoch seconds) and its call lines (name, calls, amount).
#[derive(Debug, PartialEq, Eq)]
struct Stored {
    start: i64,
    end: i64,
    lines: Vec<(String, i64, i64)>,
}

fn stored(start: &str, end: &str, lines: &[(&str, i64, i64)]) -> Stored {
    Stored {
        start: utc(start),
        end: utc(end),
        lines: lines
            .iter()
            .map(|(name, calls, amount)| (name.to_string(), *calls, *amount))
            .collect(),
    }
}

/// The user's invoices, oldest first.
async fn invoices(app: &TestApp, user: &str) -> Vec<Stored> {
    let id = user_id(app, user).await;
    let heads: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT id, period_start, period_end FROM invoices WHERE user_id = $1
         ORDER BY period_start",
    )
    .bind(id)
    .fetch_all(app.store.pool())
    .await
    .unwrap();
    let mut out = Vec::new();
    for (invoice, start, end) in heads {
        let lines = sqlx::query_as(
            "SELECT description, quantity, amount_micros FROM invoice_lines
             WHERE invoice_id = $1 AND kind = 'calls' ORDER BY position",
        )
        .bind(invoice)
        .fetch_all(app.store.pool())
        .await
        .unwrap();
        out.push(Stored { start, end, lines });
    }
    out
}

/// Bills each month, then again: the second runs make nothing new.
async fn bill_twice(app: &TestApp, months: &[&str]) -> Vec<String> {
    let outs: Vec<String> = months
        .iter()
        .map(|m| ok(app, &["bill", "--period", m]))
        .collect();
    let count = "SELECT COUNT(*) FROM invoices";
    let before = app.scalar(count).await;
    for m in months {
        let again = ok(app, &["bill", "--period", m]);
        assert!(again.contains("0 invoice(s) issued"), "{m}: {again}");
    }
    assert_eq!(app.scalar(count).await, before);
    outs
}

/// What alice sees of her invoices, oldest first: the HTML list's period column, the XML list's
/// `period_start`/`period_end`, and each invoice's own page (HTML and JSON).
async fn assert_alice_sees(app: &TestApp, days: &[(&str, &str)]) {
    let r = app
        .submit_form(
            "/callc/login",
            &[("username", "alice"), ("password", "alice pw")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let html = app
        .get("/accounting/user_invoices?lang=en")
        .await
        .text()
        .await
        .unwrap();
    let (status, xml) = app.get_xml("/accounting/user_invoices").await;
    assert_eq!(status, 200, "{xml}");
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let mut xml_periods: Vec<(String, String)> = doc
        .descendants()
        .filter(|n| n.has_tag_name("invoice"))
        .map(|i| {
            let field = |name: &str| {
                i.children()
                    .find(|c| c.has_tag_name(name))
                    .and_then(|c| c.text())
                    .unwrap_or("")
                    .to_string()
            };
            (field("period_start"), field("period_end"))
        })
        .collect();
    xml_periods.sort();
    let want: Vec<(String, String)> = days
        .iter()
        .map(|(first, last)| (format!("{first} 00:00:00"), format!("{last} 23:59:59")))
        .collect();
    assert_eq!(xml_periods, want);

    let ids: Vec<(i64,)> =
        sqlx::query_as("SELECT id FROM invoices WHERE user_id = $1 ORDER BY period_start")
            .bind(user_id(app, "alice").await)
            .fetch_all(app.store.pool())
            .await
            .unwrap();
    assert_eq!(ids.len(), days.len());
    for ((id,), (first, last)) in ids.iter().zip(days) {
        // The days as the English page writes them (`Sep 1, 2024`).
        let (from, to) = (
            selfcare::locale::local_text(selfcare::i18n::Lang::En, first),
            selfcare::locale::local_text(selfcare::i18n::Lang::En, last),
        );
        let shown = format!("{from} – {to}");
        // The list keeps each day on one line.
        let listed =
            format!("<span class=\"nowrap\">{from}</span> – <span class=\"nowrap\">{to}</span>");
        assert!(html.contains(&listed), "{listed} not in the list:\n{html}");
        let path = format!("/accounting/user_invoices/{id}");
        let page = app.get(&path).await.text().await.unwrap();
        assert!(page.contains(&shown), "{shown} not on {path}:\n{page}");
        let json: serde_json::Value = app.json(&path).await;
        // The same instant in JSON, with the subscriber's offset.
        let end = json["invoice"]["period_end"].as_str().unwrap();
        assert!(
            end.starts_with(&format!("{last}T23:59:59")),
            "{path}: {end}"
        );
        assert!(chrono::DateTime::parse_from_rfc3339(end).is_ok(), "{end}");
        let (_, xml) = app.get_xml(&path).await;
        assert_eq!(text_of(&xml, "period_start"), format!("{first} 00:00:00"));
    }
}

async fn a_moscow_evening_call_is_billed_in_its_local_month(backend: Backend) {
    let app = spawn_app(backend).await;
    let dir = set_up_operator(&app);
    set_zone(&app, "alice", "Europe/Moscow").await;
    // Moscow is UTC+3: the first two calls are on 30 September in UTC, the last on 31 October.
    import(
        &app,
        &dir,
        "Europe/Moscow",
        &[
            alice("2024-09-30 23:50:00", MOBILE, 61),
            alice("2024-10-01 00:10:00", LONDON, 60),
            alice("2024-10-31 23:30:00", FRANCE, 10),
            alice("2024-11-01 00:30:00", UK, 60),
        ],
    );
    let outs = bill_twice(&app, &["2024-09", "2024-10", "2024-11"]).await;
    assert!(outs[1].contains("INV-2024-000002"), "{}", outs[1]);
    assert_eq!(
        invoices(&app, "alice").await,
        [
            stored(
                "2024-08-31 21:00:00",
                "2024-09-30 20:59:59",
                &[("United Kingdom Mobile", 1, 110_000)]
            ),
            stored(
                "2024-09-30 21:00:00",
                "2024-10-31 20:59:59",
                &[("France", 1, 10_000), ("United Kingdom London", 1, 8_000)]
            ),
            stored(
                "2024-10-31 21:00:00",
                "2024-11-30 20:59:59",
                &[("United Kingdom", 1, 10_000)]
            ),
        ]
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM invoices").await, 3);
    assert_eq!(
        app.scalar("SELECT value FROM counters WHERE name = 'invoice'")
            .await,
        3
    );
    assert_alice_sees(
        &app,
        &[
            ("2024-09-01", "2024-09-30"),
            ("2024-10-01", "2024-10-31"),
            ("2024-11-01", "2024-11-30"),
        ],
    )
    .await;
}
on_both_databases!(a_moscow_evening_call_is_billed_in_its_local_month);

async fn new_york_months_follow_the_november_dst_change(backend: Backend) {
    let app = spawn_app(backend).await;
    let dir = set_up_operator(&app);
    set_zone(&app, "alice", "America/New_York").await;
    // Summer time (UTC−4) ends on 3 November 2024; December is in UTC−5.
    import(
        &app,
        &dir,
        "America/New_York",
        &[
            alice("2024-10-31 23:50:00", LONDON, 60),
            alice("2024-11-01 00:10:00", FRANCE, 10),
            alice("2024-11-30 23:50:00", MOBILE, 61),
            alice("2024-12-01 00:10:00", UK, 60),
        ],
    );
    bill_twice(&app, &["2024-10", "2024-11", "2024-12"]).await;
    let got = invoices(&app, "alice").await;
    assert_eq!(
        got,
        [
            stored(
                "2024-10-01 04:00:00",
                "2024-11-01 03:59:59",
                &[("United Kingdom London", 1, 8_000)]
            ),
            stored(
                "2024-11-01 04:00:00",
                "2024-12-01 04:59:59",
                &[("United Kingdom Mobile", 1, 110_000), ("France", 1, 10_000)]
            ),
            stored(
                "2024-12-01 05:00:00",
                "2025-01-01 04:59:59",
                &[("United Kingdom", 1, 10_000)]
            ),
        ]
    );
    // November has 30 days and the hour given back.
    assert_eq!(got[1].end + 1 - got[1].start, 30 * 86_400 + 3600);
    assert_alice_sees(
        &app,
        &[
            ("2024-10-01", "2024-10-31"),
            ("2024-11-01", "2024-11-30"),
            ("2024-12-01", "2024-12-31"),
        ],
    )
    .await;
}
on_both_databases!(new_york_months_follow_the_november_dst_change);

async fn a_half_hour_zone_bills_by_its_own_midnight(backend: Backend) {
    let app = spawn_app(backend).await;
    let dir = set_up_operator(&app);
    set_zone(&app, "alice", "Asia/Kolkata").await;
    // UTC+5:30: both calls are on 30 April in UTC, a quarter of an hour either side of midnight.
    import(
        &app,
        &dir,
        "Asia/Kolkata",
        &[
            alice("2024-04-30 23:45:00", LONDON, 60),
            alice("2024-05-01 00:15:00", FRANCE, 10),
        ],
    );
    bill_twice(&app, &["2024-04", "2024-05"]).await;
    assert_eq!(
        invoices(&app, "alice").await,
        [
            stored(
                "2024-03-31 18:30:00",
                "2024-04-30 18:29:59",
                &[("United Kingdom London", 1, 8_000)]
            ),
            stored(
                "2024-04-30 18:30:00",
                "2024-05-31 18:29:59",
                &[("France", 1, 10_000)]
            ),
        ]
    );
    assert_alice_sees(
        &app,
        &[("2024-04-01", "2024-04-30"), ("2024-05-01", "2024-05-31")],
    )
    .await;
}
on_both_databases!(a_half_hour_zone_bills_by_its_own_midnight);

fn issued(s: &BillSummary) -> Vec<&str> {
    s.issued.iter().map(String::as_str).collect()
}

async fn a_month_is_billed_when_it_has_ended_in_the_subscribers_zone(backend: Backend) {
    let app = spawn_app(backend).await;
    let dir = set_up_operator(&app);
    set_zone(&app, "alice", "Europe/Moscow").await;
    set_zone(&app, "bob", "America/New_York").await;
    import(
        &app,
        &dir,
        "UTC",
        &[
            alice("2024-10-15 10:00:00", LONDON, 60),
            bob("2024-10-15 10:00:00", FRANCE, 10),
        ],
    );
    let october = Month::parse("2024-10").unwrap();

    // October ends at 2024-10-31 20:59:59 UTC in Moscow, 2024-11-01 03:59:59 UTC in New York.
    let e = bill(
        &app.store,
        october,
        utc("2024-10-31 20:59:59"),
        &Default::default(),
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("has not ended yet"), "{e}");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM invoices").await, 0);

    let s = bill(
        &app.store,
        october,
        utc("2024-10-31 21:00:00"),
        &Default::default(),
    )
    .await
    .unwrap();
    assert_eq!(issued(&s), ["INV-2024-000001"]);
    assert_eq!(s.not_billed.len(), 1, "{s}");
    assert_eq!(s.not_billed[0].0, "bob");
    assert!(
        s.not_billed[0]
            .1
            .contains("the month ends at 2024-11-01 00:00:00 in America/New_York"),
        "{s}"
    );

    let s = bill(
        &app.store,
        october,
        utc("2024-11-01 03:59:59"),
        &Default::default(),
    )
    .await
    .unwrap();
    assert!(s.issued.is_empty() && s.already_invoiced == 1, "{s}");
    assert_eq!(s.not_billed.len(), 1, "{s}");

    let s = bill(
        &app.store,
        october,
        utc("2024-11-01 04:00:00"),
        &Default::default(),
    )
    .await
    .unwrap();
    assert_eq!(issued(&s), ["INV-2024-000002"]);
    assert!(s.not_billed.is_empty() && s.already_invoiced == 1, "{s}");
    assert_eq!(
        invoices(&app, "bob").await,
        [stored(
            "2024-10-01 04:00:00",
            "2024-11-01 03:59:59",
            &[("France", 1, 10_000)]
        )]
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM invoices").await, 2);
}
on_both_databases!(a_month_is_billed_when_it_has_ended_in_the_subscribers_zone);

async fn a_change_of_zone_bills_no_call_twice_and_drops_none(backend: Backend) {
    let app = spawn_app(backend).await;
    let dir = set_up_operator(&app);
    // Both are billed October as UTC months (the zone of `user add`, and of every invoice
    // before invoices followed the subscriber's zone).
    import(
        &app,
        &dir,
        "UTC",
        &[
            alice("2024-10-10 10:00:00", FRANCE, 10),
            // 01:00 on 1 November in Moscow.
            alice("2024-10-31 22:00:00", LONDON, 60),
            alice("2024-11-15 10:00:00", FRANCE, 10),
            bob("2024-10-10 10:00:00", LONDON, 60),
            // 22:00 on 31 October in New York.
            bob("2024-11-01 02:00:00", MOBILE, 61),
            bob("2024-11-15 10:00:00", FRANCE, 10),
        ],
    );
    let out = ok(&app, &["bill", "--period", "2024-10"]);
    assert!(out.contains("2 invoice(s) issued"), "{out}");
    set_zone(&app, "alice", "Europe/Moscow").await;
    set_zone(&app, "bob", "America/New_York").await;

    // October is still invoiced, though its local bounds moved.
    let out = ok(&app, &["bill", "--period", "2024-10"]);
    assert!(
        out.contains("0 invoice(s) issued; 2 subscriber(s) already invoiced"),
        "{out}"
    );
    // November starts where October's invoice ended: alice's 01:00 call is not billed twice,
    // bob's evening call of 31 October (New York) is not lost between the two.
    bill_twice(&app, &["2024-11"]).await;
    assert_eq!(
        invoices(&app, "alice").await,
        [
            stored(
                "2024-10-01 00:00:00",
                "2024-10-31 23:59:59",
                &[("France", 1, 10_000), ("United Kingdom London", 1, 8_000)]
            ),
            stored(
                "2024-11-01 00:00:00",
                "2024-11-30 20:59:59",
                &[("France", 1, 10_000)]
            ),
        ]
    );
    assert_eq!(
        invoices(&app, "bob").await,
        [
            stored(
                "2024-10-01 00:00:00",
                "2024-10-31 23:59:59",
                &[("United Kingdom London", 1, 8_000)]
            ),
            stored(
                "2024-11-01 00:00:00",
                "2024-12-01 04:59:59",
                &[("United Kingdom Mobile", 1, 110_000), ("France", 1, 10_000)]
            ),
        ]
    );
    // Every call is on exactly one invoice.
    assert_eq!(
        app.scalar("SELECT CAST(SUM(quantity) AS BIGINT) FROM invoice_lines WHERE kind = 'calls'")
            .await,
        app.scalar("SELECT COUNT(*) FROM calls").await
    );
}
on_both_databases!(a_change_of_zone_bills_no_call_twice_and_drops_none);
