//! MOR's stateless API: requests/s of `/api/main_page?u=…&p=…`, the first call with argon2,
//! then from the verified-credential cache; beside it the same page through a session, and
//! `/api/login` (argon2 on every request) for what the API would cost without the cache.
//!
//! ```sh
//! cargo bench --bench mor_api -- [--seconds 10] [--clients 8] [--database-url URL]
//! ```
//!
//! Starts a portal in this process on a fresh SQLite database with the demo data (or on
//! `--database-url`, which must be empty). Each measure runs for `--seconds`, first one request
//! after another, then `--clients` clients without pause. Not a test.

mod support;
use support::percentile;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Options {
    seconds: u64,
    clients: usize,
    database_url: Option<String>,
}

fn options() -> Options {
    let mut o = Options {
        seconds: 10,
        clients: 8,
        database_url: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--seconds" => o.seconds = args.next().and_then(|n| n.parse().ok()).unwrap_or(10),
            "--clients" => o.clients = args.next().and_then(|n| n.parse().ok()).unwrap_or(8),
            "--database-url" => o.database_url = args.next(),
            "--bench" => {}
            other => eprintln!("ignored argument {other}"),
        }
    }
    o
}

/// One request: its time, after checking it is the page (or the ok action), not a refusal;
/// None for a 429 (the login's bounded queue is full: refused at once, unchecked).
async fn one(client: &reqwest::Client, url: &str) -> Option<Duration> {
    let t = Instant::now();
    let r = client.get(url).send().await.expect("answer");
    if r.status().as_u16() == 429 {
        r.bytes().await.expect("body");
        return None;
    }
    assert!(r.status().is_success(), "{url} answered {}", r.status());
    let body = r.text().await.expect("body");
    assert!(
        !body.contains("<error>") && !body.contains("<status>failed</status>"),
        "{url} refused: {body}"
    );
    Some(t.elapsed())
}

/// `clients` clients asking `url` without pause for `window`: every answered request's time,
/// sorted, and how many were refused with 429.
async fn run(
    client: &reqwest::Client,
    url: &str,
    clients: usize,
    window: Duration,
) -> (Vec<Duration>, usize) {
    let stop = Arc::new(AtomicBool::new(false));
    let refused = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (client, url) = (client.clone(), url.to_string());
        let (stop, refused) = (stop.clone(), refused.clone());
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                match one(&client, &url).await {
                    Some(t) => times.push(t),
                    None => {
                        refused.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            times
        }));
    }
    tokio::time::sleep(window).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("client"));
    }
    all.sort();
    (all, refused.load(Ordering::Relaxed))
}

fn report(label: &str, (times, refused): (Vec<Duration>, usize), window: Duration) {
    println!(
        "{label:<48} {:>8.1} requests/s  median {:>8.2} ms  p99 {:>8.2} ms  429: {refused}",
        times.len() as f64 / window.as_secs_f64(),
        percentile(&times, 0.5).as_secs_f64() * 1e3,
        percentile(&times, 0.99).as_secs_f64() * 1e3,
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let o = options();
    let (_dir, base) = support::demo_portal(o.database_url.as_deref()).await;
    let window = Duration::from_secs(o.seconds);
    println!(
        "selfcare MOR API: {} s a measure, {} clients, {}",
        o.seconds,
        o.clients,
        if o.database_url.is_some() {
            "the given database"
        } else {
            "SQLite"
        }
    );

    // No cookies: every call stands alone, as MOR's clients send them.
    let stateless = reqwest::Client::new();
    let api = format!("{base}/api/main_page?u=demo&p=demo");
    let first = one(&stateless, &api).await.expect("answered");
    println!(
        "first /api/main_page (a login: argon2)        {:>8.2} ms",
        first.as_secs_f64() * 1e3
    );
    let second = one(&stateless, &api).await.expect("answered");
    println!(
        "second /api/main_page (the cache)              {:>8.2} ms",
        second.as_secs_f64() * 1e3
    );

    let session = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    one(&session, &format!("{base}/api/login?u=demo&p=demo")).await;
    let page = format!("{base}/callc/main?format=xml");
    // Each login is a fresh client (its own session), for argon2 on every request.
    let login = format!("{base}/api/login?u=demo2&p=demo2");

    for clients in [1, o.clients] {
        report(
            &format!("/api/main_page?u=&p=, cached, {clients} client(s)"),
            run(&stateless, &api, clients, window).await,
            window,
        );
        report(
            &format!("/callc/main (XML) in a session, {clients} client(s)"),
            run(&session, &page, clients, window).await,
            window,
        );
        report(
            &format!("/api/login (argon2 each), {clients} client(s)"),
            run(&stateless, &login, clients, window).await,
            window,
        );
    }
}
