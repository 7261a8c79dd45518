//! Every page a subscriber opens most, at several history sizes side by side: the page over
//! HTTP, the database's own time for the same statements, our own time and the ratio.
//!
//! ```sh
//! selfcare --data-dir /tmp/d100k demo --users 10 --calls 100000      # once per size
//! selfcare --data-dir /tmp/d1m   demo --users 10 --calls 1000000
//! selfcare --data-dir /tmp/d10m  demo --users 10 --calls 10000000
//! cargo bench --bench pages -- --database-url sqlite:///tmp/d100k/selfcare.db \
//!     --database-url sqlite:///tmp/d1m/selfcare.db --database-url sqlite:///tmp/d10m/selfcare.db \
//!     [--user demo] [--requests 100] [--replays 30] [--clients 50] [--seconds 5] \
//!     [--connections N] [--rate 500] [--show-sql]
//! ```
//!
//! For each database it starts the portal in this process on a free port — HTTP, session,
//! routing, the handler, the queries, the templates — logs in as `--user` (password = name, as
//! in the demo) and asks each page `--requests` times, one after the other, after a few to warm
//! up: the median is the page's time.
//!
//! The database's time is the page's own statements run by the database's own client: a second
//! portal on the same database records the statements one request of the page runs, with their
//! values written in (`raw_sql/capture.rs`: SQLite's statement trace; a proxy reading
//! PostgreSQL's protocol), and `sqlite3` or `psql` runs them `--replays` times
//! (`raw_sql/replay.rs`). Own time = page − database: HTTP, the session, routing, the handler,
//! the driver and the template.
//!
//! Then the main page and the call list are asked by `--clients` clients at once for
//! `--seconds` (the load generator runs in this process, on the same cores): requests a second,
//! median and p99. With as many clients as that, each sending its next request when the last is
//! answered, the median is clients ÷ throughput (Little's law) whatever the page; so last the
//! two pages are asked at `--rate` requests a second, each sent at its time whether or not the
//! ones before were answered, and timed from that time (no coordinated omission): the latency a
//! user sees at that load. Not a test: no assertion on time.

use std::time::{Duration, Instant};

use selfcare::store::Store;
use selfcare::{Application, Settings};

mod support;

#[path = "raw_sql/capture.rs"]
mod capture;
#[path = "raw_sql/replay.rs"]
mod replay;

struct Options {
    databases: Vec<String>,
    user: String,
    requests: usize,
    replays: usize,
    clients: usize,
    seconds: u64,
    show_sql: bool,
    /// The portal's pool size (`--database-connections`); None: its default.
    connections: Option<u32>,
    /// Requests a second sent at fixed times, whatever the answers (`--rate`).
    rate: u32,
}

fn options() -> Options {
    let mut o = Options {
        databases: Vec::new(),
        user: "demo".into(),
        requests: 100,
        replays: 30,
        clients: 50,
        seconds: 5,
        show_sql: false,
        connections: None,
        rate: 500,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--database-url" => o.databases.extend(args.next()),
            "--user" => o.user = args.next().unwrap_or_default(),
            "--requests" => o.requests = args.next().and_then(|n| n.parse().ok()).unwrap_or(100),
            "--replays" => o.replays = args.next().and_then(|n| n.parse().ok()).unwrap_or(30),
            "--show-sql" => o.show_sql = true,
            "--clients" => o.clients = args.next().and_then(|n| n.parse().ok()).unwrap_or(50),
            "--seconds" => o.seconds = args.next().and_then(|n| n.parse().ok()).unwrap_or(5),
            "--connections" => o.connections = args.next().and_then(|n| n.parse().ok()),
            "--rate" => o.rate = args.next().and_then(|n| n.parse().ok()).unwrap_or(500),
            "--bench" => {}
            other => eprintln!("ignored argument {other}"),
        }
    }
    if o.databases.is_empty() {
        eprintln!(
            "usage: cargo bench --bench pages -- --database-url URL [--database-url URL …] [--user NAME] [--requests N] [--replays N] [--clients 50] [--seconds 5] [--connections N] [--rate 500] [--show-sql]"
        );
        std::process::exit(2);
    }
    o
}

/// The pages, by name and address (`{today}`, `{d29}`, `{d364}`: days in the user's zone).
const PAGES: &[(&str, &str)] = &[
    ("main page", "/callc/main"),
    ("call list, this month", "/stats/call_list"),
    (
        "call list, 365 days",
        "/stats/call_list?period_start={d364}&period_end={today}",
    ),
    (
        "call list, 365 days, page 21 (incoming)",
        "/stats/call_list?period_start={d364}&period_end={today}&direction=incoming&before={deep}",
    ),
    ("new calls", "/stats/new_calls_list"),
    ("missed calls, this month", "/stats/missed_calls"),
    (
        "missed calls, 365 days",
        "/stats/missed_calls?period_start={d364}&period_end={today}",
    ),
    (
        "statistics, 30 days",
        "/stats/user_stats?period_start={d29}&period_end={today}",
    ),
    (
        "statistics, 365 days",
        "/stats/user_stats?period_start={d364}&period_end={today}",
    ),
    ("payments", "/payments/personal_payments"),
    ("invoices", "/accounting/user_invoices"),
    ("rates", "/tariffs/user_rates"),
    ("devices", "/devices/user_devices"),
    ("personal details", "/users/personal_details"),
];

/// The pages asked by many clients at once.
const BUSY_PAGES: &[(&str, &str)] = &[
    ("main page", "/callc/main"),
    ("call list, this month", "/stats/call_list"),
];

/// One database's figures: calls in all, per page (page median, database, statements) in ms,
/// per busy page (requests/s, median ms, p99 ms) under `--clients` and at `--rate`.
struct Run {
    calls: i64,
    label: String,
    pages: Vec<(f64, f64, usize)>,
    busy: Vec<(f64, f64, f64)>,
    paced: Vec<(f64, f64, f64)>,
}

/// `url` asked `rate` times a second for `seconds`, each request sent at its own time and timed
/// from it: (requests/s answered, median ms, p99 ms).
async fn at_rate(client: &reqwest::Client, url: &str, rate: u32, seconds: u64) -> (f64, f64, f64) {
    let start = tokio::time::Instant::now();
    let total = rate as u64 * seconds;
    let mut tasks = Vec::with_capacity(total as usize);
    for i in 0..total {
        let due = start + Duration::from_secs_f64(i as f64 / rate as f64);
        tokio::time::sleep_until(due).await;
        let (client, url) = (client.clone(), url.to_string());
        tasks.push(tokio::spawn(async move {
            let r = client.get(&url).send().await.map_err(|e| e.to_string())?;
            if !r.status().is_success() {
                return Err(r.status().to_string());
            }
            r.bytes().await.map_err(|e| e.to_string())?;
            Ok(due.elapsed().as_secs_f64() * 1e3)
        }));
    }
    let mut all = Vec::with_capacity(tasks.len());
    for t in tasks {
        match t.await.unwrap() {
            Ok(ms) => all.push(ms),
            // Overloaded past its rate, the portal may time out: said, not hidden.
            Err(e) => eprintln!("{url}: {e}"),
        }
    }
    assert!(!all.is_empty(), "{url}: no request answered at {rate}/s");
    let answered = all.len() as f64 / start.elapsed().as_secs_f64();
    all.sort_by(|a, b| a.total_cmp(b));
    let p99 = all[(all.len() * 99 / 100).min(all.len() - 1)];
    (answered, all[all.len() / 2], p99)
}

/// `clients` tasks asking `url` one request after another for `seconds`.
async fn under_load(
    client: &reqwest::Client,
    url: &str,
    clients: usize,
    seconds: u64,
) -> (f64, f64, f64) {
    let until = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (client, url) = (client.clone(), url.to_string());
        tasks.push(tokio::spawn(async move {
            let mut took = Vec::new();
            while Instant::now() < until {
                let t = Instant::now();
                let r = client.get(&url).send().await.unwrap();
                assert!(r.status().is_success(), "{url}: {}", r.status());
                r.bytes().await.unwrap();
                took.push(t.elapsed().as_secs_f64() * 1e3);
            }
            took
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_by(|a, b| a.total_cmp(b));
    let p99 = all[(all.len() * 99 / 100).min(all.len() - 1)];
    (all.len() as f64 / seconds as f64, all[all.len() / 2], p99)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// A portal on `url` in this process, logged in as `user`: its base URL and client.
async fn portal(
    url: &str,
    user: &str,
    dir: &std::path::Path,
    connections: Option<u32>,
) -> (String, reqwest::Client) {
    let store = Store::connect_for_pages(url, connections)
        .await
        .expect("database");
    let settings = Settings::new("127.0.0.1:0", Some(url.to_string()), dir.to_path_buf()).unwrap();
    let app = Application::build_with_store(settings, store)
        .await
        .expect("portal");
    let base = format!("http://127.0.0.1:{}", app.port());
    // It stays up, idle, until the benchmark ends.
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let login = client
        .get(format!("{base}/api/login"))
        .query(&[("u", user), ("p", user)])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        login.contains("<status>ok</status>"),
        "login as {user} with password {user}: {login}"
    );
    (base, client)
}

/// One GET, checked; its time.
async fn ask(client: &reqwest::Client, url: &str) -> Duration {
    let t = Instant::now();
    let r = client.get(url).send().await.unwrap();
    let status = r.status();
    let body = r.text().await.unwrap();
    let took = t.elapsed();
    assert!(status.is_success(), "{url}: {status} {body}");
    took
}

async fn run(url: &str, o: &Options) -> Run {
    let store = Store::connect(url).await.expect("database");
    store.migrate().await.expect("migrations");
    let (calls,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM calls")
        .fetch_one(store.pool())
        .await
        .unwrap();
    let (user, tz_name): (i64, String) =
        sqlx::query_as("SELECT id, time_zone FROM users WHERE username = $1")
            .bind(&o.user)
            .fetch_one(store.pool())
            .await
            .expect("the user");
    let (mine,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM calls WHERE user_id = $1")
        .bind(user)
        .fetch_one(store.pool())
        .await
        .unwrap();
    let tz = selfcare::time::zone(&tz_name);
    let today = selfcare::period::local_date(selfcare::time::now(), tz);
    let day = |n: i64| (today - chrono::Duration::days(n)).to_string();
    // The key of the incoming call 1,000 places down the year's list: page 21 at 50 a page.
    let (t, id): (i64, i64) = sqlx::query_as(
        "SELECT started_at, id FROM calls WHERE user_id = $1 AND direction = 'in'
          ORDER BY started_at DESC, id DESC LIMIT 1 OFFSET 1000",
    )
    .bind(user)
    .fetch_one(store.pool())
    .await
    .expect("more than 1,000 incoming calls");
    let deep = format!("{t}.{id}");
    store.close().await;
    println!("{url}: {calls} calls, {} has {mine}", o.user);

    let dir = std::env::temp_dir().join(format!("selfcare-bench-{}", std::process::id()));
    // The portal timed, and one whose statements are recorded (through the proxy on
    // PostgreSQL, so the timed one has no extra hop).
    let (base, client) = portal(url, &o.user, &dir, o.connections).await;
    let recorded_url = if url.starts_with("sqlite:") {
        url.to_string()
    } else {
        capture::postgres_proxy(url).await
    };
    let (recorded_base, recorded_client) =
        portal(&recorded_url, &o.user, &dir, o.connections).await;

    let mut pages = Vec::new();
    for (name, path) in PAGES {
        let path = path
            .replace("{today}", &day(0))
            .replace("{d29}", &day(29))
            .replace("{d364}", &day(364))
            .replace("{deep}", &deep);
        let sep = if path.contains('?') { '&' } else { '?' };
        let page_url = format!("{base}{path}{sep}format=html");
        let mut http = Vec::new();
        for i in 0..o.requests + 5 {
            let took = ask(&client, &page_url).await;
            if i >= 5 {
                http.push(took.as_secs_f64() * 1e3);
            }
        }
        // The statements of one request, after a first one has warmed the recording portal.
        let recorded_page = format!("{recorded_base}{path}{sep}format=html");
        ask(&recorded_client, &recorded_page).await;
        capture::start();
        ask(&recorded_client, &recorded_page).await;
        let statements = capture::stop();
        if o.show_sql {
            println!("-- {name}: {} statements", statements.len());
            for s in &statements {
                println!("{};", s.literal());
            }
        }
        let database = replay::database_ms(url, &statements, o.replays);
        pages.push((median(http), database, statements.len()));
    }
    let mut busy = Vec::new();
    for (_, path) in BUSY_PAGES {
        let url = format!("{base}{path}?format=html");
        busy.push(under_load(&client, &url, o.clients, o.seconds).await);
    }
    let mut paced = Vec::new();
    for (_, path) in BUSY_PAGES {
        let url = format!("{base}{path}?format=html");
        paced.push(at_rate(&client, &url, o.rate, o.seconds).await);
    }
    let _ = std::fs::remove_dir_all(dir);
    Run {
        calls,
        label: match calls {
            n if n >= 1_000_000 => format!("{}M", n / 1_000_000),
            n => format!("{}k", n / 1_000),
        },
        pages,
        busy,
        paced,
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let o = options();
    if o.databases.iter().any(|u| u.starts_with("sqlite:")) {
        capture::trace_sqlite();
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut runs = Vec::new();
    for url in &o.databases {
        runs.push(run(url, &o).await);
    }
    runs.sort_by_key(|r| r.calls);
    println!(
        "\n{} requests a page, one at a time, HTML; ms: page (median) / database (its statements \
         in the database's own client, {} runs) / own (ratio) [statements]",
        o.requests, o.replays
    );
    println!(
        "load average at the start: {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    print!("{:<42}", "page");
    for r in &runs {
        print!(" | {:^31}", format!("{} calls", r.label));
    }
    println!();
    for (i, (name, _)) in PAGES.iter().enumerate() {
        print!("{name:<42}");
        for r in &runs {
            let (page, db, statements) = r.pages[i];
            print!(
                " | {:>5.2} / {:>5.2} / {:>5.2} ({:>4.1}×) [{statements}]",
                page,
                db,
                page - db,
                page / db.max(0.001)
            );
        }
        println!();
    }
    println!(
        "\n{} clients at once for {} s (the load generator shares the cores): requests/s, median / p99 ms",
        o.clients, o.seconds
    );
    print_busy(&runs, |r| &r.busy);
    println!(
        "\n{} requests a second, each sent at its time and timed from it, for {} s: \
         answered/s, median / p99 ms",
        o.rate, o.seconds
    );
    print_busy(&runs, |r| &r.paced);
}

/// One line per busy page: each run's (requests/s, median, p99) that `figures` picks.
fn print_busy(runs: &[Run], figures: impl Fn(&Run) -> &Vec<(f64, f64, f64)>) {
    for (i, (name, _)) in BUSY_PAGES.iter().enumerate() {
        print!("{name:<42}");
        for r in runs {
            let (rate, med, p99) = figures(r)[i];
            print!(" | {:>6.0}/s {:>6.1} / {:>6.1}", rate, med, p99);
        }
        println!();
    }
}
