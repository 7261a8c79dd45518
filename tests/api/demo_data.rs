use chrono::Datelike;
use selfcare::billing::invoice::bill;
use selfcare::billing::month::Month;

use crate::common::{spawn_demo_app, Backend, TestApp};
use crate::on_both_databases;

async fn demo_data_has_what_the_pages_need(backend: Backend) {
    let app = spawn_demo_app(backend).await;
    assert_eq!(app.scalar("SELECT COUNT(*) FROM users").await, 3);
    assert!(app.scalar("SELECT COUNT(*) FROM destination_groups").await >= 200);
    assert!(
        app.scalar("SELECT COUNT(DISTINCT group_id) FROM rates WHERE rate_type = 'FIX'")
            .await
            >= 200
    );
    assert!(
        app.scalar("SELECT COUNT(DISTINCT group_id) FROM rates WHERE rate_type = 'MOB'")
            .await
            >= 200
    );
    assert!(app.scalar("SELECT COUNT(*) FROM currencies").await >= 2);
    assert!(app.scalar("SELECT COUNT(*) FROM exchange_rates").await >= 2);
    for table in [
        "payments",
        "invoices",
        "invoice_lines",
        "subscriptions",
        "phonebook_entries",
        "clis",
    ] {
        assert!(
            app.scalar(&format!("SELECT COUNT(*) FROM {table}")).await > 0,
            "{table}"
        );
    }
    assert!(
        app.scalar("SELECT COUNT(DISTINCT device_type) FROM devices")
            .await
            >= 3
    );
    assert!(
        app.scalar("SELECT COUNT(*) FROM devices WHERE device_type = 'FAX'")
            .await
            >= 1
    );
    // Every disposition in both directions, all from the first of the month three months back
    // in the subscriber's zone until now.
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM (SELECT DISTINCT direction, disposition FROM calls) x")
            .await,
        8
    );
    let now = chrono::Utc::now().timestamp();
    let zones: Vec<(i64, String)> = sqlx::query_as("SELECT id, time_zone FROM users")
        .fetch_all(app.store.pool())
        .await
        .unwrap();
    for (user, zone) in zones {
        let tz: chrono_tz::Tz = zone.parse().unwrap();
        let first = Month::of(now, tz).before(3).bounds(tz).0;
        assert_eq!(
            app.scalar(&format!(
                "SELECT COUNT(*) FROM calls WHERE user_id = {user}
                 AND (started_at < {first} OR started_at > {now})"
            ))
            .await,
            0,
            "{zone}"
        );
    }
    // Outgoing answered calls are priced; invoices are numbered without gaps.
    assert_eq!(app.scalar("SELECT COUNT(*) FROM calls WHERE direction = 'out' AND disposition = 'ANSWERED' AND price_micros <= 0").await, 0);
    let invoices = app.scalar("SELECT COUNT(*) FROM invoices").await;
    let numbers: Vec<(String,)> = sqlx::query_as("SELECT number FROM invoices ORDER BY id")
        .fetch_all(app.store.pool())
        .await
        .unwrap();
    let seqs: Vec<i64> = numbers
        .iter()
        .map(|(n,)| n.rsplit('-').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(seqs, (1..=invoices).collect::<Vec<_>>());

    // Each invoice lists the month's outgoing calls per destination name, as `bill` does: the
    // same calls, seconds and amounts as the call records, the largest amount first, then the
    // subscriptions; the lines add up to the invoice.
    let heads: Vec<(i64, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT id, user_id, period_start, period_end, price_micros FROM invoices ORDER BY id",
    )
    .fetch_all(app.store.pool())
    .await
    .unwrap();
    for (id, user, start, end, net) in heads {
        let lines: Vec<(String, String, i64, i64, i64)> = sqlx::query_as(
            "SELECT kind, description, quantity, seconds, amount_micros FROM invoice_lines
             WHERE invoice_id = $1 ORDER BY position",
        )
        .bind(id)
        .fetch_all(app.store.pool())
        .await
        .unwrap();
        assert_eq!(lines.iter().map(|l| l.4).sum::<i64>(), net, "invoice {id}");
        let calls = lines.iter().take_while(|l| l.0 == "calls").count();
        assert!(calls > 1, "invoice {id}: {lines:?}");
        assert!(lines[calls..].iter().all(|l| l.0 == "subscription"));
        assert!(
            lines[..calls].windows(2).all(|w| w[0].4 >= w[1].4),
            "invoice {id}: not largest first"
        );
        let mut got: Vec<(String, i64, i64, i64)> = lines[..calls]
            .iter()
            .map(|l| (l.1.clone(), l.2, l.3, l.4))
            .collect();
        got.sort();
        let mut want: Vec<(String, i64, i64, i64)> = sqlx::query_as(
            "SELECT d.details, COUNT(*), CAST(SUM(c.billsec) AS BIGINT),
                    CAST(SUM(c.price_micros) AS BIGINT)
             FROM calls c JOIN destinations d ON d.id = c.destination_id
             WHERE c.user_id = $1 AND c.direction = 'out' AND c.started_at >= $2
               AND c.started_at <= $3
             GROUP BY d.details",
        )
        .bind(user)
        .bind(start)
        .bind(end)
        .fetch_all(app.store.pool())
        .await
        .unwrap();
        want.sort(); // in Rust: the databases' collations differ
        assert_eq!(got, want, "invoice {id}");
    }
    demo_invoices_are_local_months_as_bill_makes_them(&app).await;

    // Fax files are real PDFs on disk.
    let paths: Vec<(String,)> = sqlx::query_as("SELECT file_path FROM faxes")
        .fetch_all(app.store.pool())
        .await
        .unwrap();
    assert!(!paths.is_empty());
    for (p,) in paths {
        let bytes = std::fs::read(app.data_dir.join(&p)).unwrap();
        assert!(
            bytes.starts_with(b"%PDF-1.4") && bytes.ends_with(b"%%EOF\n"),
            "{p}"
        );
    }
}
on_both_databases!(demo_data_has_what_the_pages_need);

/// Each demo invoice is for a calendar month of its subscriber's zone (demo is in London, demo2
/// in Moscow), and is the invoice `bill` makes for that month: the same period, lines and totals.
async fn demo_invoices_are_local_months_as_bill_makes_them(app: &TestApp) {
    type Lines = Vec<(String, String, i64, i64, i64)>;
    let heads: Vec<(i64, i64, i64, i64, i64, i64, String)> = sqlx::query_as(
        "SELECT i.id, i.user_id, i.period_start, i.period_end, i.price_micros,
                i.price_vat_micros, u.time_zone
         FROM invoices i JOIN users u ON u.id = i.user_id ORDER BY i.id",
    )
    .fetch_all(app.store.pool())
    .await
    .unwrap();
    let lines = |id: i64| async move {
        let lines: Lines = sqlx::query_as(
            "SELECT kind, description, quantity, seconds, amount_micros FROM invoice_lines
             WHERE invoice_id = $1 ORDER BY position",
        )
        .bind(id)
        .fetch_all(app.store.pool())
        .await
        .unwrap();
        lines
    };
    let mut demo = Vec::new();
    let mut months = std::collections::BTreeSet::new();
    for (id, user, start, end, net, gross, zone) in heads {
        let tz: chrono_tz::Tz = zone.parse().unwrap();
        let local = |t: i64| {
            chrono::DateTime::from_timestamp(t, 0)
                .unwrap()
                .with_timezone(&tz)
                .naive_local()
        };
        // Local midnight of the 1st, the second before the next 1st's local midnight.
        let (first, last, next) = (local(start), local(end), local(end + 1));
        assert_eq!(
            (first.day(), first.time(), next.day(), next.time()),
            (1, chrono::NaiveTime::MIN, 1, chrono::NaiveTime::MIN),
            "invoice {id} in {zone}: {first} to {last}"
        );
        assert_eq!((first.year(), first.month()), (last.year(), last.month()));
        months.insert(Month::parse(&first.format("%Y-%m").to_string()).unwrap());
        demo.push(((user, start, end), (lines(id).await, net, gross)));
    }
    assert!(
        demo.iter().any(|((_, start, _), _)| start % 86_400 != 0),
        "no invoice in a zone other than UTC's offset"
    );

    // Billed again from the calls and subscriptions, the months come out the same (the demo's
    // payments of its invoices let go of them first).
    for sql in [
        "UPDATE payments SET invoice_id = NULL",
        "DELETE FROM invoice_lines",
        "DELETE FROM invoices",
    ] {
        sqlx::query(sql).execute(app.store.pool()).await.unwrap();
    }
    for month in months {
        bill(
            &app.store,
            month,
            chrono::Utc::now().timestamp(),
            &Default::default(),
        )
        .await
        .unwrap();
    }
    for ((user, start, end), want) in demo {
        let (id, net, gross): (i64, i64, i64) = sqlx::query_as(
            "SELECT id, price_micros, price_vat_micros FROM invoices
             WHERE user_id = $1 AND period_start = $2 AND period_end = $3",
        )
        .bind(user)
        .bind(start)
        .bind(end)
        .fetch_one(app.store.pool())
        .await
        .unwrap_or_else(|e| panic!("no billed invoice for {user} {start}..{end}: {e}"));
        assert_eq!(
            (lines(id).await, net, gross),
            want,
            "user {user} {start}..{end}"
        );
    }
}

#[tokio::test]
async fn the_same_seed_gives_the_same_data() {
    async fn fingerprint(seed: u64) -> Vec<(String, String, i64, i64)> {
        let app = crate::common::spawn_app(Backend::Sqlite).await;
        let opts = selfcare::demo::DemoOptions {
            users: 2,
            calls: Some(500),
            seed,
        };
        let summary = selfcare::demo::fill(&app.store, &app.data_dir, &opts)
            .await
            .unwrap();
        // `--calls` is the number of calls in all, exactly.
        assert_eq!(summary.calls, 500);
        assert_eq!(app.scalar("SELECT COUNT(*) FROM calls").await, 500);
        sqlx::query_as(
            "SELECT src, dst, billsec, COALESCE(price_micros, -1) FROM calls ORDER BY id",
        )
        .fetch_all(app.store.pool())
        .await
        .unwrap()
    }
    let a = fingerprint(42).await;
    assert_eq!(a, fingerprint(42).await);
    assert_ne!(a, fingerprint(43).await);
}
