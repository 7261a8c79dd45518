//! Export benchmark (not a test: it asserts nothing and prints figures). Run in release:
//!
//! ```sh
//! cargo bench --bench export                                     # PDF, CSV, streamed on SQLite
//! SELFCARE_BENCH_POSTGRES=postgres://postgres@127.0.0.1:5432/postgres \
//!     cargo bench --bench export                                 # + streamed on PostgreSQL vs COPY
//! ```
//!
//! 1. PDF: a 10,000-row call-list-shaped table (8 columns, Latin and Cyrillic text) laid out and
//!    rendered by `export::pdf::render`: pages/s, rows/s, size.
//! 2. CSV encoding in memory, 1,000,000 rows: rows/s.
//! 3. A real portal on a fresh SQLite file and, with SELFCARE_BENCH_POSTGRES, on a fresh
//!    PostgreSQL database, holding 100,000 and then 1,000,000 calls of one subscriber (then as
//!    many payments); the streamed CSV
//!    download over HTTP (`/stats/call_list_to_csv/1`, `/payments/personal_payments?format=csv`):
//!    time to the first byte, rows/s, and the growth of this process's peak memory (server and
//!    client run in it); next to the database's own CSV of the same rows: PostgreSQL's
//!    `COPY (…) TO STDOUT WITH CSV` through `psql`, SQLite's `sqlite3 -csv` (Debian `sqlite3`). At 100,000 calls, the call list's PDF of its newest 10,000 calls over HTTP
//!    (pages/s, with `pdfinfo` counting the pages). Last, on PostgreSQL, a client that
//!    disconnects after the first chunks of the call export: whether the query still runs.

use std::time::{Duration, Instant};

use selfcare::export::{csv, pdf, Column, Export, FileName};
use selfcare::i18n::Lang;

fn call_rows(n: usize) -> Vec<Vec<String>> {
    let places = [
        "United Kingdom Mobile",
        "Москва",
        "Germany Fixed",
        "Санкт-Петербург мобильные",
        "United States",
        "France Mobile",
    ];
    (0..n)
        .map(|i| {
            let secs = (i * 37) % 3600;
            vec![
                format!(
                    "2025-{:02}-{:02} {:02}:{:02}:{:02}",
                    1 + i % 12,
                    1 + i % 28,
                    i % 24,
                    i % 60,
                    (i * 7) % 60
                ),
                format!("4420794600{:02}", i % 100),
                format!("+7495{:07}", (i * 7919) % 10_000_000),
                places[i % places.len()].to_string(),
                format!(
                    "{:02}:{:02}:{:02}",
                    secs / 3600,
                    (secs / 60) % 60,
                    secs % 60
                ),
                secs.to_string(),
                if i % 50 == 0 {
                    format!("-{}.{:04}", i % 3, i % 10_000)
                } else {
                    format!("{}.{:04}", i % 3, (i * 13) % 10_000)
                },
                ["ANSWERED", "NO ANSWER", "BUSY"][i % 3].to_string(),
            ]
        })
        .collect()
}

fn call_columns() -> Vec<Column> {
    vec![
        Column::date_time("calldate", "Date"),
        Column::text("src", "Source"),
        Column::text("dst", "Destination number"),
        Column::text("destination", "Destination"),
        Column::text("duration", "Duration"),
        Column::number("billsec", "Billed s"),
        Column::number("price", "Price"),
        Column::text("disposition", "Status"),
    ]
}

fn pdf_bench() {
    let rows = 10_000;
    let export = Export {
        file: FileName::new("calls", "demo", "2025-01-01_2025-12-31"),
        lang: Lang::En,
        title: "Calls — Мария Иванова".into(),
        subtitle: vec![
            "Мария Иванова (demo2)".into(),
            "Outgoing, answered · 2025-01-01 – 2025-12-31".into(),
        ],
        parties: Vec::new(),
        facts: Vec::new(),
        columns: call_columns(),
        rows: call_rows(rows),
        totals: vec![("Calls".into(), rows.to_string())],
        grand_total: false,
        empty: String::new(),
    };
    let text_bytes: usize = export.rows.iter().flatten().map(String::len).sum();
    // One warm-up (fonts parsed), then timed runs.
    let before = peak_rss_mb();
    let _ = pdf::render(&export).expect("PDF");
    let peak = peak_rss_mb();
    let runs = 3;
    let started = Instant::now();
    let mut size = 0;
    for _ in 0..runs {
        size = pdf::render(&export).expect("PDF").len();
    }
    let each = started.elapsed() / runs;
    let pages = pdf::page_count(&export);
    // What stays resident after the documents are dropped, before and after the portal gives
    // the freed memory back (as it does after each PDF download).
    let kept = rss_mb();
    pdf::release_freed_memory();
    let released = rss_mb();
    println!(
        "PDF memory: resident {kept:.0} MB after the renders, {released:.0} MB once the freed \
         memory is given back (release_freed_memory)"
    );
    println!(
        "PDF: {rows} rows × {} columns ({:.1} MB of cell text) → {pages} pages, {:.2} MB; \
         {:.2} s per document: {:.0} pages/s, {:.0} rows/s; peak memory {before:.0} → {peak:.0} MB",
        export.columns.len(),
        text_bytes as f64 / 1e6,
        size as f64 / 1e6,
        each.as_secs_f64(),
        pages as f64 / each.as_secs_f64(),
        rows as f64 / each.as_secs_f64(),
    );
}

fn csv_bench() {
    let columns = call_columns();
    let sample = call_rows(10_000);
    let n = 1_000_000;
    let started = Instant::now();
    let mut enc = csv::Encoder::new(&columns);
    let mut bytes = 0;
    for i in 0..n {
        enc.row(&sample[i % sample.len()]);
        if enc.buffered() >= 64 * 1024 {
            bytes += enc.take().len();
        }
    }
    bytes += enc.take().len();
    let t = started.elapsed().as_secs_f64();
    println!(
        "CSV encoding: {n} rows, {:.0} MB in {t:.2} s: {:.0} rows/s",
        bytes as f64 / 1e6,
        n as f64 / t
    );
}

/// This process's resident memory now (VmRSS), in MB.
fn rss_mb() -> f64 {
    status_mb("VmRSS:")
}

/// This process's peak resident memory (VmHWM), in MB.
fn peak_rss_mb() -> f64 {
    status_mb("VmHWM:")
}

/// A memory figure of /proc/self/status, in MB.
fn status_mb(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// A list the portal streams as CSV, with the rows to add and the same rows as the database
/// itself would write them.
struct List {
    table: &'static str,
    url: String,
    /// The same rows, columns and order as the portal's CSV, for the database's own CSV output
    /// (`COPY (…) TO STDOUT WITH CSV` on PostgreSQL, `sqlite3 -csv` on SQLite).
    own: String,
}

/// `i` from `first` to `last`, as a recursive count (both engines have it).
fn numbers(first: i64, last: i64) -> String {
    format!(
        "WITH RECURSIVE n(i) AS (SELECT CAST({first} AS BIGINT) UNION ALL SELECT i + 1 FROM n WHERE i < {last})"
    )
}

impl List {
    /// Calls every 20 s back from `now` (1,000,000 calls span 231 days), to every destination
    /// in turn; the export asks for two years.
    fn calls(now: i64) -> List {
        let from = now - 2 * 366 * 86_400;
        List {
            table: "calls",
            url: "/stats/call_list_to_csv/1?date_from=2000-01-01".to_string(),
            own: format!(
                "SELECT c.started_at, c.src, c.dst, \
                 (SELECT d.details FROM destinations d WHERE d.id = c.destination_id), \
                 c.direction, c.disposition, c.billsec, c.price_micros FROM calls c \
                 WHERE c.user_id = 1 AND c.started_at >= {from} \
                 ORDER BY c.started_at DESC, c.id DESC"
            ),
        }
    }

    fn payments() -> List {
        List {
            table: "payments",
            url: "/payments/personal_payments?format=csv".to_string(),
            own: "SELECT p.paid_at, p.confirmed_at, p.payment_type, p.amount_micros, \
                p.vat_percent_bp, p.amount_vat_micros, p.currency, p.completed \
                FROM payments p JOIN currencies c ON c.code = p.currency WHERE p.user_id = 1 \
                ORDER BY p.paid_at DESC, p.id DESC"
                .to_string(),
        }
    }

    /// Adds rows `first..=last` for the user `demo` (id 1 on a fresh database).
    fn insert(&self, now: i64, first: i64, last: i64) -> String {
        let n = numbers(first, last);
        match self.table {
            "calls" => format!(
                "INSERT INTO calls (user_id, started_at, src, dst, destination_id, direction,
                     disposition, duration_s, billsec, price_micros)
                 {n}, d AS (SELECT id, ROW_NUMBER() OVER (ORDER BY id) - 1 AS k FROM destinations)
                 SELECT 1, {now} - i * 20, '442079460001', '4930' || (1000000 + i), d.id, 'out',
                     CASE WHEN i % 5 = 0 THEN 'NO ANSWER' ELSE 'ANSWERED' END,
                     i % 600 + 10, CASE WHEN i % 5 = 0 THEN 0 ELSE i % 600 END,
                     CASE WHEN i % 5 = 0 THEN 0 ELSE (i % 600) * 300 END
                 FROM n JOIN d ON d.k = i % (SELECT COUNT(*) FROM destinations)"
            ),
            _ => format!(
                "INSERT INTO payments (user_id, paid_at, payment_type, amount_micros,
                     vat_percent_bp, amount_vat_micros, currency, completed)
                 {n} SELECT 1, 1600000000 + i * 60, 'Bulk ' || i, i * 10000, 2000, i * 12000,
                     'USD', 1 FROM n"
            ),
        }
    }
}

/// The database's own CSV of a query and how long it took, through its command-line client.
fn database_csv(url: &str, sql: &str) -> Option<(usize, f64)> {
    let started = Instant::now();
    let out = if let Some(file) = url.strip_prefix("sqlite://") {
        std::process::Command::new("sqlite3")
            .args([
                "-csv",
                "-header",
                file.split('?').next().unwrap_or(file),
                sql,
            ])
            .output()
    } else {
        std::process::Command::new("psql")
            .args([
                url,
                "-q",
                "-c",
                &format!("COPY ({sql}) TO STDOUT WITH CSV HEADER"),
            ])
            .output()
    };
    let t = started.elapsed().as_secs_f64();
    match out {
        Ok(o) if o.status.success() => {
            Some((o.stdout.iter().filter(|b| **b == b'\n').count() - 1, t))
        }
        _ => None,
    }
}

/// Downloads the list's CSV over HTTP, then runs PostgreSQL's COPY of the same rows, and prints
/// both rates.
async fn measure_csv(client: &reqwest::Client, address: &str, url: &str, list: &List) {
    let before = peak_rss_mb();
    let started = Instant::now();
    let mut resp = client
        .get(format!("{address}{}", list.url))
        .send()
        .await
        .expect("CSV");
    assert_eq!(resp.status().as_u16(), 200, "{}", list.url);
    let mut first: Option<Duration> = None;
    let mut bytes = 0_usize;
    let mut lines = 0_usize;
    while let Some(chunk) = resp.chunk().await.expect("chunk") {
        first.get_or_insert_with(|| started.elapsed());
        bytes += chunk.len();
        lines += chunk.iter().filter(|b| **b == b'\n').count();
    }
    let t = started.elapsed().as_secs_f64();
    let rows = lines.saturating_sub(1);
    let peak = peak_rss_mb();

    let engine = if url.starts_with("sqlite:") {
        ("SQLite", "sqlite3 -csv")
    } else {
        ("PostgreSQL", "COPY … TO STDOUT WITH CSV (psql)")
    };
    let own = match database_csv(url, &list.own) {
        Some((own_rows, own_t)) => format!(
            "{}: {own_rows} rows in {own_t:.2} s, {:.0} rows/s; the portal reaches {:.0} % of it",
            engine.1,
            own_rows as f64 / own_t,
            100.0 * (rows as f64 / t) / (own_rows as f64 / own_t)
        ),
        None => format!("{}: not available", engine.1),
    };
    println!(
        "Streamed CSV of {} over HTTP ({}): {rows} rows, {:.0} MB; first byte after \
         {:.1} ms, all in {t:.2} s: {:.0} rows/s; peak memory {before:.0} → {peak:.0} MB\n  {own}",
        list.table,
        engine.0,
        bytes as f64 / 1e6,
        first.unwrap_or_default().as_secs_f64() * 1e3,
        rows as f64 / t,
    );
}

/// The call list's PDF over HTTP for the newest 10,000 calls (calls are 20 s apart).
async fn measure_pdf(client: &reqwest::Client, address: &str, now: i64, engine: &str) {
    let from = chrono::DateTime::from_timestamp(now - 10_000 * 20 + 20, 0)
        .unwrap()
        .format("%Y-%m-%d %H:%M:%S");
    let path = format!("/stats/call_list_to_pdf/1?date_from={from}");
    let started = Instant::now();
    let resp = client
        .get(format!("{address}{}", path.replace(' ', "%20")))
        .send()
        .await
        .expect("PDF");
    assert_eq!(resp.status().as_u16(), 200, "{path}");
    let body = resp.bytes().await.expect("PDF body");
    let t = started.elapsed().as_secs_f64();
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), &body).expect("write PDF");
    let info = std::process::Command::new("pdfinfo")
        .arg(file.path())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
        .unwrap_or_default();
    let pages: usize = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    println!(
        "Call list PDF over HTTP ({engine}, up to 10,000 calls): {pages} pages, {:.1} MB in \
         {t:.2} s: {:.0} pages/s",
        body.len() as f64 / 1e6,
        pages as f64 / t
    );
}

/// A fresh database for the streamed benchmark: a temporary PostgreSQL database on `server`
/// (dropped at the end), or a SQLite file in `dir`.
async fn bench_database(server: Option<&str>, dir: &std::path::Path) -> String {
    use selfcare::store::Store;
    match server {
        Some(server) => {
            let name = format!("selfcare_bench_{:08x}", rand::random::<u32>());
            let admin = Store::connect(server).await.expect("PostgreSQL server");
            sqlx::query(&format!("CREATE DATABASE \"{name}\""))
                .execute(admin.pool())
                .await
                .expect("create database");
            let base = server.rsplit_once('/').map_or(server, |(b, _)| b);
            format!("{base}/{name}")
        }
        None => format!("sqlite://{}?mode=rwc", dir.join("bench.db").display()),
    }
}

async fn streamed_csv_bench(server: Option<String>) {
    use selfcare::store::Store;
    use selfcare::{Application, Settings};

    let dir = tempfile::tempdir().expect("temp dir");
    let url = bench_database(server.as_deref(), dir.path()).await;
    let settings =
        Settings::new("127.0.0.1:0", Some(url.clone()), dir.path().join("data")).expect("settings");
    let app = Application::build(settings).await.expect("portal");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let store = Store::connect(&url).await.expect("connect");
    selfcare::demo::fill(
        &store,
        dir.path(),
        &selfcare::demo::DemoOptions {
            users: 2,
            calls: Some(0),
            seed: 1,
        },
    )
    .await
    .expect("demo data");
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    client
        .get(format!("{address}/api/login?u=demo&p=demo"))
        .send()
        .await
        .expect("login");

    let now = chrono::Utc::now().timestamp();
    let engine = if server.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    for list in [List::calls(now), List::payments()] {
        let mut have = 0_i64;
        for target in [100_000_i64, 1_000_000] {
            sqlx::query(&list.insert(now, have + 1, target))
                .execute(store.pool())
                .await
                .expect("bulk rows");
            have = target;
            sqlx::query(&format!("ANALYZE {}", list.table))
                .execute(store.pool())
                .await
                .ok();
            measure_csv(&client, &address, &url, &list).await;
            if list.table == "calls" && target == 100_000 {
                measure_pdf(&client, &address, now, engine).await;
            }
        }
    }
    if let Some(server) = &server {
        disconnect_bench(&client, &address, &store, now).await;
        store.close().await;
        let admin = Store::connect(server).await.expect("PostgreSQL server");
        let name = url.rsplit('/').next().unwrap_or_default();
        sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .execute(admin.pool())
            .await
            .ok();
    }
}

/// A client that reads the first chunks of the call export and disconnects: the query must end
/// on the server (PostgreSQL shows it in `pg_stat_activity`).
async fn disconnect_bench(
    client: &reqwest::Client,
    address: &str,
    store: &selfcare::store::Store,
    now: i64,
) {
    let active = || async {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM pg_stat_activity
             WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()
               AND query LIKE '%FROM calls c WHERE%'",
        )
        .fetch_one(store.pool())
        .await
        .unwrap_or((-1,));
        n
    };
    let mut resp = client
        .get(format!("{address}{}", List::calls(now).url))
        .send()
        .await
        .expect("CSV");
    let _ = resp.chunk().await;
    let _ = resp.chunk().await;
    let during = active().await;
    drop(resp);
    let dropped = Instant::now();
    let mut after = during;
    while dropped.elapsed() < Duration::from_secs(10) {
        after = active().await;
        if after == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!(
        "Disconnect after the first chunks: export queries running: {during} while reading, \
         {after} after {:.0} ms",
        dropped.elapsed().as_secs_f64() * 1e3
    );
}

fn main() {
    pdf_bench();
    csv_bench();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(streamed_csv_bench(None));
    match std::env::var("SELFCARE_BENCH_POSTGRES") {
        Ok(server) if !server.trim().is_empty() => rt.block_on(streamed_csv_bench(Some(server))),
        _ => {
            println!("(set SELFCARE_BENCH_POSTGRES to measure the streamed CSV on PostgreSQL too)")
        }
    }
}
