//! A flood of failed logins, and what a logged-in subscriber's page takes meanwhile.
//!
//! ```sh
//! cargo bench --bench login_flood -- [--flood 500] [--seconds 10] [--database-url URL]
//! ```
//!
//! Starts a portal in this process on a fresh SQLite database with the demo data (or on
//! `--database-url`, which must be empty), logs a subscriber in, then times the main page
//! (`/callc/main`, JSON) one request after another: first alone, then while `--flood` clients
//! send failed logins without pause, each from its own loopback address (127.0.x.y, so the
//! per-address lock does not absorb them) for a name of its own. Prints the page's median, p99
//! and worst time, the flood's answers by status, and the process's peak memory. Not a test.

mod support;
use support::percentile;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Options {
    flood: usize,
    seconds: u64,
    database_url: Option<String>,
}

fn options() -> Options {
    let mut o = Options {
        flood: 500,
        seconds: 10,
        database_url: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--flood" => o.flood = args.next().and_then(|n| n.parse().ok()).unwrap_or(500),
            "--seconds" => o.seconds = args.next().and_then(|n| n.parse().ok()).unwrap_or(10),
            "--database-url" => o.database_url = args.next(),
            "--bench" => {}
            other => eprintln!("ignored argument {other}"),
        }
    }
    o
}

/// Times the main page for `for_how_long`, one request after another.
async fn time_page(client: &reqwest::Client, url: &str, for_how_long: Duration) -> Vec<Duration> {
    let mut times = Vec::new();
    let end = Instant::now() + for_how_long;
    while Instant::now() < end {
        let t = Instant::now();
        let r = client.get(url).send().await.expect("page");
        assert!(r.status().is_success(), "the page answered {}", r.status());
        r.bytes().await.expect("body");
        times.push(t.elapsed());
    }
    times.sort();
    times
}

fn report(label: &str, times: &[Duration]) {
    println!(
        "{label:<28} {:>6} requests  median {:>7.1} ms  p99 {:>7.1} ms  worst {:>7.1} ms",
        times.len(),
        percentile(times, 0.5).as_secs_f64() * 1e3,
        percentile(times, 0.99).as_secs_f64() * 1e3,
        times.last().copied().unwrap_or_default().as_secs_f64() * 1e3
    );
}

fn peak_memory_mb() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.trim_start_matches("VmHWM:").trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let o = options();
    let (_dir, base) = support::demo_portal(o.database_url.as_deref()).await;

    let subscriber = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let r = subscriber
        .get(format!("{base}/api/login?u=demo&p=demo"))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let page = format!("{base}/callc/main?format=json");
    let window = Duration::from_secs(o.seconds);
    println!(
        "selfcare login flood: {} clients, {} s, {}",
        o.flood,
        o.seconds,
        if o.database_url.is_some() {
            "the given database"
        } else {
            "SQLite"
        }
    );
    time_page(&subscriber, &page, Duration::from_secs(1)).await; // warm up
    report(
        "main page, alone",
        &time_page(&subscriber, &page, window).await,
    );

    let stop = Arc::new(AtomicBool::new(false));
    let statuses: Arc<Vec<AtomicUsize>> = Arc::new((0..600).map(|_| AtomicUsize::new(0)).collect());
    let mut flood = Vec::new();
    for i in 0..o.flood {
        let (stop, statuses, base) = (stop.clone(), statuses.clone(), base.clone());
        // One loopback address per client: 127.0.x.y.
        let source = IpAddr::V4(Ipv4Addr::new(
            127,
            0,
            (1 + i / 250) as u8,
            (1 + i % 250) as u8,
        ));
        flood.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .local_address(source)
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap();
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let answer = client
                    .post(format!("{base}/api/login"))
                    .form(&[("u", format!("flood{i}")), ("p", format!("guess{n}"))])
                    .send()
                    .await;
                let code = answer.map(|r| r.status().as_u16() as usize).unwrap_or(599);
                statuses[code.min(599)].fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    report(
        "main page, during the flood",
        &time_page(&subscriber, &page, window).await,
    );
    stop.store(true, Ordering::Relaxed);
    for f in flood {
        let _ = f.await;
    }
    let answers: Vec<String> = statuses
        .iter()
        .enumerate()
        .filter(|(_, n)| n.load(Ordering::Relaxed) > 0)
        .map(|(code, n)| {
            let label = if code == 599 {
                "no answer".to_string()
            } else {
                code.to_string()
            };
            format!("{label}: {}", n.load(Ordering::Relaxed))
        })
        .collect();
    println!("flood answers: {}", answers.join(", "));
    println!(
        "peak memory of the process (portal and clients): {}",
        peak_memory_mb()
    );
}
