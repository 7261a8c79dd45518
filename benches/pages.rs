//! The call pages against an existing database, through the real HTTP stack and directly.
//!
//! ```sh
//! selfcare demo --users 10 --calls 10000000 --database-url URL     # once
//! cargo bench --bench pages -- --database-url URL [--user demo] [--requests 200]
//! ```
//!
//! For each page it times `--requests` requests (after a few to warm up) through a portal
//! started in this process on a free port — HTTP, session, routing, the handler, the queries,
//! the templates — and the same store calls the handler makes, run directly. The medians show
//! the database's share and the ratio the portal's own overhead. Not a test: no assertion on
//! time; the figures are for the README.

use std::time::{Duration, Instant};

use chrono::Datelike;
use selfcare::call_filter::{CallFilter, Direction, Status};
use selfcare::period::{local_date, Period};
use selfcare::store::call_list::{Cursor, Key};
use selfcare::store::Store;
use selfcare::{Application, Settings};

struct Options {
    database_url: String,
    user: String,
    requests: usize,
}

fn options() -> Options {
    let mut o = Options {
        database_url: String::new(),
        user: "demo".into(),
        requests: 100,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--database-url" => o.database_url = args.next().unwrap_or_default(),
            "--user" => o.user = args.next().unwrap_or_default(),
            "--requests" => o.requests = args.next().and_then(|n| n.parse().ok()).unwrap_or(100),
            "--bench" => {}
            other => eprintln!("ignored argument {other}"),
        }
    }
    if o.database_url.is_empty() {
        eprintln!(
            "usage: cargo bench --bench pages -- --database-url URL [--user NAME] [--requests N]"
        );
        std::process::exit(2);
    }
    o
}

/// One page of the benchmark: its URL and the store calls its handler makes.
struct Scenario {
    name: &'static str,
    path: String,
    filter: CallFilter,
    kind: Kind,
    cursor: Cursor,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    CallList,
    Missed,
    Stats,
}

fn stats(samples: &mut [Duration]) -> (f64, f64) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let median = ms(samples[samples.len() / 2]);
    let p99 = ms(samples[((samples.len() * 99) / 100).min(samples.len() - 1)]);
    (median, p99)
}

async fn direct(store: &Store, user: i64, tz: chrono_tz::Tz, s: &Scenario) {
    store.account(user).await.unwrap().expect("the account");
    match s.kind {
        Kind::CallList => {
            store.device_choices(user).await.unwrap();
            let page = store
                .call_page(user, &s.filter, s.cursor, 50)
                .await
                .unwrap();
            store.call_totals(user, &s.filter).await.unwrap();
            let unseen: Vec<i64> = page
                .rows
                .iter()
                .filter(|r| r.seen == 0)
                .map(|r| r.id)
                .collect();
            store.mark_seen(user, &unseen).await.unwrap();
        }
        Kind::Missed => {
            store
                .call_page(user, &s.filter, s.cursor, 50)
                .await
                .unwrap();
            store.missed_counts(user, &s.filter.period).await.unwrap();
        }
        Kind::Stats => {
            let today = local_date(selfcare::time::now(), tz);
            let first = today.with_day(1).unwrap();
            store
                .call_counters(
                    user,
                    &Period::days(today, today, tz),
                    &Period::days(first, today, tz),
                )
                .await
                .unwrap();
            store
                .calls_by_day(user, &s.filter.period, tz)
                .await
                .unwrap();
        }
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let o = options();
    let store = Store::connect(&o.database_url).await.expect("database");
    store.migrate().await.expect("migrations");
    let (user, tz_name): (i64, String) =
        sqlx::query_as("SELECT id, time_zone FROM users WHERE username = $1")
            .bind(&o.user)
            .fetch_one(store.pool())
            .await
            .expect("the user");
    let tz = selfcare::time::zone(&tz_name);
    let (all,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM calls")
        .fetch_one(store.pool())
        .await
        .unwrap();
    let (mine, first, last): (i64, Option<i64>, Option<i64>) = sqlx::query_as(
        "SELECT COUNT(*), MIN(started_at), MAX(started_at) FROM calls WHERE user_id = $1",
    )
    .bind(user)
    .fetch_one(store.pool())
    .await
    .unwrap();
    let (hours,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM call_hours WHERE user_id = $1")
        .bind(user)
        .fetch_one(store.pool())
        .await
        .unwrap();
    let day = |t: Option<i64>| {
        t.map(|t| selfcare::time::format_instant(t, tz))
            .unwrap_or_default()
    };
    println!("database: {:?}, {all} calls in all", store.backend());
    println!(
        "user {} (id {user}, {tz_name}): {mine} calls from {} to {}; {hours} rows of call_hours",
        o.user,
        day(first),
        day(last)
    );

    let now = selfcare::time::now();
    let today = local_date(now, tz);
    let days_back = |n: i64| today - chrono::Duration::days(n);
    let period = |a: chrono::NaiveDate, b: chrono::NaiveDate| Period::days(a, b, tz);
    // A key 60 days back: the start of a page deep in the history.
    let (t, id): (i64, i64) = sqlx::query_as(
        "SELECT started_at, id FROM calls WHERE user_id = $1 AND started_at < $2 ORDER BY started_at DESC, id DESC LIMIT 1",
    )
    .bind(user)
    .bind(now - 60 * 86_400)
    .fetch_one(store.pool())
    .await
    .expect("calls 60 days back");
    let deep = Key { started_at: t, id };
    let month = Period::month_of(now, tz);
    let year = period(days_back(364), today);
    let scenarios = vec![
        Scenario {
            name: "call list, first page (this month)",
            path: "/stats/call_list".into(),
            filter: CallFilter::period(month.clone()),
            kind: Kind::CallList,
            cursor: Cursor::First,
        },
        Scenario {
            name: "call list, first page (365 days)",
            path: format!("/stats/call_list?period_start={}&period_end={today}", days_back(364)),
            filter: CallFilter::period(year.clone()),
            kind: Kind::CallList,
            cursor: Cursor::First,
        },
        Scenario {
            name: "call list, incoming busy, 60 days deep (365 days)",
            path: format!(
                "/stats/call_list?period_start={}&period_end={today}&direction=incoming&status=busy&before={}",
                days_back(364),
                deep.param()
            ),
            filter: CallFilter {
                direction: Direction::Incoming,
                status: Status::Busy,
                ..CallFilter::period(year.clone())
            },
            kind: Kind::CallList,
            cursor: Cursor::Before(deep),
        },
        Scenario {
            name: "missed calls (this month)",
            path: "/stats/missed_calls".into(),
            filter: CallFilter::missed(month.clone()),
            kind: Kind::Missed,
            cursor: Cursor::First,
        },
        Scenario {
            name: "missed calls (365 days)",
            path: format!("/stats/missed_calls?period_start={}&period_end={today}", days_back(364)),
            filter: CallFilter::missed(year.clone()),
            kind: Kind::Missed,
            cursor: Cursor::First,
        },
        Scenario {
            name: "statistics (30 days)",
            path: format!("/stats/user_stats?period_start={}&period_end={today}", days_back(29)),
            filter: CallFilter::period(period(days_back(29), today)),
            kind: Kind::Stats,
            cursor: Cursor::First,
        },
        Scenario {
            name: "statistics (365 days)",
            path: format!("/stats/user_stats?period_start={}&period_end={today}", days_back(364)),
            filter: CallFilter::period(year.clone()),
            kind: Kind::Stats,
            cursor: Cursor::First,
        },
    ];

    // The portal, on a free port, on the same database.
    let dir = std::env::temp_dir().join(format!("selfcare-bench-{}", std::process::id()));
    let settings = Settings::new("127.0.0.1:0", Some(o.database_url.clone()), dir.clone()).unwrap();
    let app = Application::build_with_store(settings, store.clone())
        .await
        .expect("portal");
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let login = client
        .get(format!("{base}/api/login"))
        .query(&[("u", o.user.as_str()), ("p", o.user.as_str())])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        login.contains("<status>ok</status>"),
        "login as {0} with password {0}: {login}",
        o.user
    );

    println!(
        "{} requests each, HTML pages (the legacy session asks ?format=html)\n",
        o.requests
    );
    println!(
        "{:<52} {:>10} {:>9} {:>10} {:>9} {:>7}",
        "page", "http med", "http p99", "db med", "db p99", "ratio"
    );
    for s in &scenarios {
        let sep = if s.path.contains('?') { '&' } else { '?' };
        let url = format!("{base}{}{sep}format=html", s.path);
        let mut http = Vec::with_capacity(o.requests);
        let mut db = Vec::with_capacity(o.requests);
        for i in 0..o.requests + 3 {
            let t = Instant::now();
            let r = client.get(&url).send().await.unwrap();
            let status = r.status();
            let body = r.text().await.unwrap();
            let took = t.elapsed();
            assert!(status.is_success(), "{url}: {status} {body}");
            let t = Instant::now();
            direct(&store, user, tz, s).await;
            let took_db = t.elapsed();
            if i >= 3 {
                http.push(took);
                db.push(took_db);
            }
        }
        let (hm, hp) = stats(&mut http);
        let (dm, dp) = stats(&mut db);
        println!(
            "{:<52} {:>8.1}ms {:>7.1}ms {:>8.1}ms {:>7.1}ms {:>6.2}x",
            s.name,
            hm,
            hp,
            dm,
            dp,
            hm / dm
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}
