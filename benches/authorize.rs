//! What the PBX waits for on every call: `GET /pbx/authorize`, against an existing database.
//!
//! ```sh
//! cargo bench --bench authorize -- --database-url URL [--concurrency 50] [--seconds 10]
//! ```
//!
//! Starts a portal in this process on `--database-url` (a database with demo data, e.g. from
//! `selfcare demo --users 10 --calls 10000000`), gives `demo` a spending limit for the run (so
//! the month's spend is read too; removed afterwards), and asks about a mix of numbers (UK
//! fixed and mobile, France, a premium number). Prints the data size; one client's median and
//! p99; then `--concurrency` clients asking without pause: requests per second and p99. Last,
//! the database's own time for the same statements, run directly by `sqlite3` or `psql`: a
//! second portal records what one question about each number runs (`raw_sql/capture.rs`, as the
//! pages bench does), and the database's client runs them again (`raw_sql/replay.rs`).
//! Not a test.

mod support;
use support::percentile;
#[path = "raw_sql/capture.rs"]
mod capture;
#[path = "raw_sql/replay.rs"]
mod replay;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use selfcare::config::Secret;
use selfcare::store::Store;
use selfcare::{Application, Settings};

const TOKEN: &str = "benchmark-token-0123456789";
const NUMBERS: [&str; 4] = [
    "00442079460000",
    "00447700900123",
    "0033123456789",
    "00449061234567",
];

struct Options {
    database_url: String,
    concurrency: usize,
    seconds: u64,
}

fn options() -> Options {
    let mut o = Options {
        database_url: String::new(),
        concurrency: 50,
        seconds: 10,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--database-url" => o.database_url = args.next().unwrap_or_default(),
            "--concurrency" => {
                o.concurrency = args.next().and_then(|n| n.parse().ok()).unwrap_or(50)
            }
            "--seconds" => o.seconds = args.next().and_then(|n| n.parse().ok()).unwrap_or(10),
            "--bench" => {}
            other => eprintln!("ignored argument {other}"),
        }
    }
    assert!(
        !o.database_url.is_empty(),
        "--database-url: a database with demo data"
    );
    o
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

async fn ask(client: &reqwest::Client, url: &str, account: &str, dst: &str) -> Duration {
    let t = Instant::now();
    let r = client
        .get(url)
        .bearer_auth(TOKEN)
        .query(&[("account", account), ("dst", dst)])
        .send()
        .await
        .expect("answer");
    assert!(r.status().is_success(), "{}", r.status());
    r.bytes().await.expect("body");
    t.elapsed()
}

/// A portal on `url` in this process that answers the PBX: its `/pbx/authorize` address.
async fn portal(url: &str, dir: &std::path::Path) -> String {
    let mut settings = Settings::new("127.0.0.1:0", Some(url.to_string()), dir.into()).unwrap();
    settings.pbx.token = Some(Secret::new(TOKEN));
    let app = Application::build(settings).await.expect("portal");
    let url = format!("http://127.0.0.1:{}/pbx/authorize", app.port());
    tokio::spawn(app.run_until_stopped());
    url
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let o = options();
    let store = Store::connect(&o.database_url).await.expect("database");
    let (calls,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM calls")
        .fetch_one(store.pool())
        .await
        .unwrap();
    let (user, account): (i64, String) = sqlx::query_as(
        "SELECT u.id, d.username FROM users u JOIN devices d ON d.user_id = u.id
         WHERE u.username = 'demo' AND d.device_type = 'SIP' ORDER BY d.id LIMIT 1",
    )
    .fetch_one(store.pool())
    .await
    .expect("the demo user");
    let (demo_calls,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM calls WHERE user_id = $1")
        .bind(user)
        .fetch_one(store.pool())
        .await
        .unwrap();
    let before = store.user_controls(user).await.unwrap();
    let mut limited = before.clone();
    limited.spending_limit_micros = Some(1_000_000_000_000);
    store
        .save_user_controls(user, &limited, &[], "")
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    if o.database_url.starts_with("sqlite:") {
        capture::trace_sqlite();
    }
    let url = portal(&o.database_url, dir.path()).await;
    println!(
        "selfcare /pbx/authorize: {} calls in the database, {} of them demo's; {}",
        calls,
        demo_calls,
        if o.database_url.starts_with("postgres") {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    );

    // One client, one question after another.
    let client = reqwest::Client::new();
    for n in NUMBERS.iter().cycle().take(200) {
        ask(&client, &url, &account, n).await; // warm up
    }
    let mut times = Vec::new();
    let end = Instant::now() + Duration::from_secs(o.seconds);
    let mut i = 0;
    while Instant::now() < end {
        times.push(ask(&client, &url, &account, NUMBERS[i % NUMBERS.len()]).await);
        i += 1;
    }
    times.sort();
    println!(
        "one client:        {:>7} questions, {:>7.0}/s, median {:.2} ms, p99 {:.2} ms",
        times.len(),
        times.len() as f64 / o.seconds as f64,
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.99))
    );

    // Many clients without pause.
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for k in 0..o.concurrency {
        let (stop, url, account) = (stop.clone(), url.clone(), account.clone());
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut times = Vec::new();
            let mut i = k;
            while !stop.load(Ordering::Relaxed) {
                times.push(ask(&client, &url, &account, NUMBERS[i % NUMBERS.len()]).await);
                i += 1;
            }
            times
        }));
    }
    tokio::time::sleep(Duration::from_secs(o.seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort();
    println!(
        "{:>2} clients:        {:>7} questions, {:>7.0}/s, median {:.2} ms, p99 {:.2} ms",
        o.concurrency,
        all.len(),
        all.len() as f64 / o.seconds as f64,
        ms(percentile(&all, 0.5)),
        ms(percentile(&all, 0.99))
    );

    // The database's own time for the same statements, run by its own tool: those one
    // question about each number runs, recorded by a second portal (through a proxy on
    // PostgreSQL, so that the timed one had no extra hop).
    let recorded_url = if o.database_url.starts_with("sqlite:") {
        o.database_url.clone()
    } else {
        capture::postgres_proxy(&o.database_url).await
    };
    let recorded = portal(&recorded_url, dir.path()).await;
    let client = reqwest::Client::new();
    for n in NUMBERS {
        ask(&client, &recorded, &account, n).await; // its connections opened
    }
    capture::start();
    for n in NUMBERS {
        ask(&client, &recorded, &account, n).await;
    }
    let statements = capture::stop();
    let per_question =
        replay::database_ms(&o.database_url, &statements, 100) / NUMBERS.len() as f64;
    println!(
        "the same statements in the database's own client directly: {:.3} ms per question ({} statements for {} questions)",
        per_question,
        statements.len(),
        NUMBERS.len()
    );
    store
        .save_user_controls(user, &before, &[], "")
        .await
        .unwrap();
}
