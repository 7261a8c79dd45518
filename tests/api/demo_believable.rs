//! The demo read as its subscribers read it, over the JSON pages: a household that makes a few
//! calls a day per line, a small office that makes more in office hours, invoices paid by
//! payments that add up to them, a prepaid balance that its payments, invoices and calls explain,
//! prices in each account's own currency, and statistics of the last 30 days.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use serde_json::Value;

use crate::common::{balance_of, browser, spawn_demo_app, text_of, Backend, TestApp};
use crate::on_both_databases;

const LONDON: Tz = chrono_tz::Europe::London;
const MOSCOW: Tz = chrono_tz::Europe::Moscow;

/// A subscriber's browser, logged in.
struct Visitor<'a> {
    app: &'a TestApp,
    client: reqwest::Client,
}

impl<'a> Visitor<'a> {
    async fn new(app: &'a TestApp, user: &str) -> Visitor<'a> {
        let client = browser(app, user, "demo reader").await;
        Visitor { app, client }
    }

    async fn get(&self, path: &str, accept: &str) -> String {
        let r = self
            .client
            .get(self.app.url(path))
            .header("Accept", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{path}");
        r.text().await.unwrap()
    }

    async fn json(&self, path: &str) -> Value {
        let body = self.get(path, "application/json").await;
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"))
    }
}

/// An amount's value in cents (`"-38.42"` → -3842).
fn cents(amount: &Value) -> i64 {
    let v = amount["value"]
        .as_str()
        .unwrap_or_else(|| panic!("{amount}"));
    let (negative, digits) = match v.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, v),
    };
    let (whole, frac) = digits.split_once('.').unwrap();
    assert_eq!(frac.len(), 2, "{v}");
    let c = whole.parse::<i64>().unwrap() * 100 + frac.parse::<i64>().unwrap();
    if negative {
        -c
    } else {
        c
    }
}

fn instant(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("{v}")))
        .unwrap()
        .with_timezone(&Utc)
}

fn today_in(tz: Tz) -> NaiveDate {
    Utc::now().with_timezone(&tz).date_naive()
}

/// What the statistics page shows without a period, checked to be the last 30 days; the
/// subscriber's voice lines (the devices page, fax machines aside).
async fn last_30_days(v: &Visitor<'_>, tz: Tz) -> (Value, usize) {
    let before = today_in(tz);
    let stats = v.json("/stats/user_stats").await;
    let after = today_in(tz);
    let period = (
        stats["period_start"].as_str().unwrap().to_string(),
        stats["period_end"].as_str().unwrap().to_string(),
    );
    let last_30 = |today: NaiveDate| ((today - Duration::days(29)).to_string(), today.to_string());
    assert!(
        period == last_30(before) || period == last_30(after),
        "{period:?}"
    );
    let days = stats["days"].as_array().unwrap();
    let sum: i64 = days
        .iter()
        .map(|d| d["calls_count"].as_i64().unwrap())
        .sum();
    assert_eq!(sum, stats["total_calls"].as_i64().unwrap());
    // The seed's XML says the same.
    let xml = v.get("/stats/user_stats", "application/xml").await;
    assert_eq!(
        (text_of(&xml, "start_date"), text_of(&xml, "end_date")),
        period
    );
    let devices = v.json("/devices/user_devices").await;
    let lines = devices["devices"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["device_type"] != "FAX")
        .count();
    (stats, lines)
}

async fn a_household_calls_a_few_times_a_day_and_an_office_more(backend: Backend) {
    let app = spawn_demo_app(backend).await;

    let home = Visitor::new(&app, "demo").await;
    let (stats, lines) = last_30_days(&home, LONDON).await;
    let home_calls = stats["total_calls"].as_i64().unwrap();
    let per_line = home_calls as f64 / 30.0 / lines as f64;
    assert!(
        (1.0..=10.0).contains(&per_line),
        "demo: {home_calls} calls in 30 days on {lines} lines"
    );

    let office = Visitor::new(&app, "demo2").await;
    let (stats, lines) = last_30_days(&office, MOSCOW).await;
    assert!((5..=10).contains(&lines), "an office of {lines} lines");
    let office_calls = stats["total_calls"].as_i64().unwrap();
    let office_per_line = office_calls as f64 / 30.0 / lines as f64;
    assert!(
        office_per_line > per_line && office_per_line <= 20.0,
        "demo2: {office_calls} calls in 30 days on {lines} lines"
    );
    // An office works on weekdays: a weekend day has a small part of a weekday's calls.
    let by_day: HashMap<String, i64> = stats["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["date"].as_str().unwrap().to_string(),
                d["calls_count"].as_i64().unwrap(),
            )
        })
        .collect();
    let first: NaiveDate = stats["period_start"].as_str().unwrap().parse().unwrap();
    let (mut weekday, mut weekend) = ((0, 0), (0, 0));
    for d in first.iter_days().take(29) {
        use chrono::Datelike;
        let n = by_day.get(&d.to_string()).copied().unwrap_or(0);
        let slot = match d.weekday() {
            chrono::Weekday::Sat | chrono::Weekday::Sun => &mut weekend,
            _ => &mut weekday,
        };
        slot.0 += n;
        slot.1 += 1;
    }
    let (weekday_avg, weekend_avg) = (
        weekday.0 as f64 / weekday.1 as f64,
        weekend.0 as f64 / weekend.1 as f64,
    );
    assert!(
        weekend_avg * 4.0 < weekday_avg,
        "weekdays {weekday_avg:.1}, weekends {weekend_avg:.1} calls a day"
    );
}
on_both_databases!(a_household_calls_a_few_times_a_day_and_an_office_more);

async fn postpaid_invoices_are_paid_by_payments_that_add_up(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    let v = Visitor::new(&app, "demo").await;
    let list = v.json("/accounting/user_invoices").await;
    let invoices = list["invoices"].as_array().unwrap();
    assert_eq!(invoices.len(), 3, "{list}");
    let main = v.json("/callc/main").await;
    let currency = main["balance"]["currency"].as_str().unwrap().to_string();

    let (mut paid_total, mut unpaid) = (0, Vec::new());
    for inv in invoices {
        let id = inv["invoice_id"].as_i64().unwrap();
        let page = v.json(&format!("/accounting/user_invoices/{id}")).await;
        let inv = &page["invoice"];
        assert_eq!(inv["currency"], currency.as_str());
        // Calls and subscriptions, then 20 % VAT (each figure shown rounded to the cent).
        let lines = page["lines"].as_array().unwrap();
        assert!(lines.iter().any(|l| l["kind"] == "calls"), "{page}");
        assert!(lines.iter().any(|l| l["kind"] == "subscription"), "{page}");
        let net = cents(&inv["price"]);
        let gross = cents(&inv["price_vat"]);
        assert!((gross - net * 6 / 5).abs() <= 1, "{net} {gross}");
        // A household's month: tens of dollars, not thousands.
        assert!((500..20_000).contains(&gross), "{page}");
        let issued = instant(&inv["issue_date"]);
        if inv["paid"] == true {
            let payments = page["payments"].as_array().unwrap();
            let mut sum = 0;
            for p in payments {
                assert_eq!(p["status"], "completed");
                assert_eq!(p["amount"]["currency"], currency.as_str());
                assert!(instant(&p["payment_date"]) > issued, "{page}");
                sum += cents(&p["amount"]);
            }
            assert_eq!(sum, gross, "invoice {id}: its payments add up to it");
            paid_total += gross;
        } else {
            assert!(page["payments"].as_array().unwrap().is_empty());
            assert!(inv["due_date"].is_string(), "{page}");
            unpaid.push((instant(&inv["period_start"]), gross));
        }
    }
    // Only the latest invoice is open, and it is what the balance owes.
    assert_eq!(unpaid.len(), 1, "{list}");
    let latest = invoices
        .iter()
        .map(|i| instant(&i["period_start"]))
        .max()
        .unwrap();
    assert_eq!(unpaid[0].0, latest);
    assert_eq!(cents(&main["balance"]), -unpaid[0].1, "{main}");
    balance_of(&app, "demo").await;
    // Every payment on the payments page paid one of them.
    let payments = v.json("/payments/personal_payments").await;
    let totals = payments["totals"].as_array().unwrap();
    assert_eq!(totals.len(), 1, "{payments}");
    assert_eq!(totals[0]["currency"], currency.as_str());
    assert_eq!(cents(&totals[0]["amount"]), paid_total);
}
on_both_databases!(postpaid_invoices_are_paid_by_payments_that_add_up);

async fn a_prepaid_balance_is_its_top_ups_less_its_invoices_and_calls(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    for user in ["demo2", "user3"] {
        let v = Visitor::new(&app, user).await;
        let main = v.json("/callc/main").await;
        assert_eq!(main["account"], "Prepaid", "{main}");
        let currency = main["balance"]["currency"].as_str().unwrap().to_string();
        let balance = cents(&main["balance"]);
        // The balance kept is the ledger's sum, and the page shows it.
        let micros = balance_of(&app, user).await;
        assert_eq!(
            main["balance"]["value"],
            selfcare::money::Money(micros).format(2).as_str(),
            "{user}"
        );

        let payments = v.json("/payments/personal_payments").await;
        let topups = &payments["totals"].as_array().unwrap()[0];
        assert_eq!(topups["currency"], currency.as_str());
        let invoices = v.json("/accounting/user_invoices").await;
        let billed = &invoices["totals"].as_array().unwrap()[0];
        assert_eq!(billed["currency"], currency.as_str());
        assert_eq!(cents(&billed["unpaid"]), 0, "{invoices}");
        // This month's calls are not invoiced yet: the call list of the month (its default).
        let month = v.json("/stats/call_list?per_page=1").await;
        let calls = cents(&month["total_price"]);
        let explained = cents(&topups["amount"]) - cents(&billed["price_vat"]) - calls;
        let invoices_n = billed["count"].as_i64().unwrap();
        assert!(
            (balance - explained).abs() <= invoices_n + 1,
            "{user}: balance {balance}, top-ups less invoices less this month's calls {explained}"
        );
        // Topped up before it ran out: never below zero, and no invoice far above the top-ups.
        let id = app.store.user_id_by_name(user).await.unwrap().unwrap();
        for e in app.store.ledger_entries(id, 10_000).await.unwrap() {
            assert!(e.balance_after_micros >= 0, "{user}: {e:?}");
        }
        for inv in invoices["invoices"].as_array().unwrap() {
            assert!(cents(&inv["price_vat"]) < cents(&topups["amount"]), "{inv}");
        }
    }
}
on_both_databases!(a_prepaid_balance_is_its_top_ups_less_its_invoices_and_calls);

async fn prices_are_in_the_accounts_own_currency(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    for user in ["demo", "demo2", "user3"] {
        let v = Visitor::new(&app, user).await;
        let main = v.json("/callc/main").await;
        let currency = main["balance"]["currency"].as_str().unwrap();
        let subs = v.json("/services/user_subscriptions").await;
        let list = subs["subscriptions"].as_array().unwrap();
        assert!(!list.is_empty(), "{user}");
        for s in list {
            assert_eq!(s["price"]["currency"], currency, "{user}: {s}");
        }
        let invoices = v.json("/accounting/user_invoices").await;
        for inv in invoices["invoices"].as_array().unwrap() {
            assert_eq!(inv["currency"], currency, "{user}: {inv}");
        }
    }
}
on_both_databases!(prices_are_in_the_accounts_own_currency);
