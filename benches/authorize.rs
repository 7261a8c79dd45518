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
//! the database's own time for the same statements, run directly by `sqlite3` or `psql` (the
//! statements of one question, with their values written in, repeated, minus the tool's start).
//! Not a test.

mod support;
use support::{percentile, DatabaseClient};

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use selfcare::config::Secret;
use selfcare::controls::authorize as q;
use selfcare::store::controls as c;
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

/// `sql` with its `$n` replaced by the values, as a tool would run it.
fn inline(sql: &str, values: &[String]) -> String {
    let mut s = sql.to_string();
    for (i, v) in values.iter().enumerate().rev() {
        s = s.replace(&format!("${}", i + 1), v);
    }
    s.split_whitespace().collect::<Vec<_>>().join(" ") + ";\n"
}

fn text(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The statements one question about `number` runs, values written in.
async fn statements(store: &Store, user: i64, account: &str, number: &str) -> String {
    let now = selfcare::time::now();
    let digits = number.trim_start_matches("00");
    let prefixes: Vec<String> = (1..=digits.len()).map(|n| text(&digits[..n])).collect();
    let (tariff,): (i64,) = sqlx::query_as("SELECT tariff_id FROM users WHERE id = $1")
        .bind(user)
        .fetch_one(store.pool())
        .await
        .unwrap();
    let month_start = now - 10 * 86_400;
    let hour = (month_start + 3599) / 3600;
    let mut values = vec![user.to_string(), tariff.to_string(), now.to_string()];
    values.extend(prefixes.iter().cloned());
    let mut s = String::new();
    s += &inline(
        q::CALLER,
        &[text(account), text(number), text(&format!("+{digits}"))],
    );
    s += &inline(&q::destination_sql(prefixes.len()), &values);
    s += &inline(
        c::SPEND_SINCE,
        &[
            user.to_string(),
            hour.to_string(),
            month_start.to_string(),
            (hour * 3600).to_string(),
        ],
    );
    s
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
    let mut settings = Settings::new(
        "127.0.0.1:0",
        Some(o.database_url.clone()),
        dir.path().into(),
    )
    .unwrap();
    settings.pbx.token = Some(Secret::new(TOKEN));
    let app = Application::build(settings).await.expect("portal");
    let url = format!("http://127.0.0.1:{}/pbx/authorize", app.port());
    tokio::spawn(app.run_until_stopped());
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

    // The database's own time for the same statements, run by its own tool.
    let mut one = String::new();
    for n in NUMBERS {
        one += &statements(&store, user, &account, n).await;
    }
    let client = DatabaseClient::for_url(&o.database_url);
    let repeats = 500;
    let empty = client.run_ms("");
    let whole = client.run_ms(&one.repeat(repeats));
    let per_question = (whole - empty) / (repeats * NUMBERS.len()) as f64;
    println!(
        "the same statements in the database's own client directly: {:.3} ms per question ({} questions)",
        per_question,
        repeats * NUMBERS.len()
    );
    store
        .save_user_controls(user, &before, &[], "")
        .await
        .unwrap();
}
