//! `selfcare bench import`: how fast CDRs import and calls rate, and how much memory it takes.
//!
//! Into an EMPTY database it loads a synthetic rate deck (1,000 destinations, about 5,000
//! prefixes) and subscribers with one SIP device each, writes N synthetic `Master.csv` records
//! exactly as Asterisk writes them (70 % outgoing, 5 % of those to numbers no prefix matches,
//! 30 % incoming, over one month), then measures, each through the code the commands use:
//! the import (`import cdrs`), re-rating every call after a price change (`rate`), and rating
//! alone in memory (prefix lookup and price, no database). Peak memory is the process's resident
//! high-water mark (VmHWM), reset before each phase.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::cdr::Format;
use super::import::{self, thousands, ImportOptions};
use super::number::Dialing;
use super::rater::Rater;
use super::{deck, rerate};
use crate::store::seed::{self, NewDevice};
use crate::store::users::NewUser;
use crate::store::Store;

pub struct BenchOptions {
    pub records: u64,
    pub users: u32,
    pub work_dir: PathBuf,
    pub keep_files: bool,
}

const GROUPS: usize = 1000;
/// 2024-03-01 00:00:00 UTC: the synthetic month.
const MONTH_START: i64 = 1_709_251_200;
const MONTH_SECONDS: i64 = 31 * 86_400;

pub async fn run(store: &Store, opts: &BenchOptions) -> anyhow::Result<()> {
    anyhow::ensure!(
        store.user_count().await? == 0,
        "the benchmark needs an empty database (it adds users, a tariff and calls)"
    );
    anyhow::ensure!(opts.users >= 1, "--users must be at least 1");
    std::fs::create_dir_all(&opts.work_dir)
        .with_context(|| format!("cannot create {}", opts.work_dir.display()))?;
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    println!(
        "Benchmark: {} records, {} subscribers, {:?} database",
        thousands(opts.records),
        opts.users,
        store.backend()
    );

    // The deck, then the same deck with other prices (for the re-rating).
    let prefixes = deck_prefixes(&mut rng);
    let deck1 = opts.work_dir.join("bench-deck.csv");
    let deck2 = opts.work_dir.join("bench-deck-2.csv");
    write_deck(&deck1, &prefixes, 1)?;
    write_deck(&deck2, &prefixes, 2)?;
    let t = Instant::now();
    let s = deck::import_deck(store, "Bench", Some("USD"), &deck1, &Default::default()).await?;
    println!(
        "Rate deck: {} prefixes in {} destinations imported in {:.2} s",
        thousands(s.destinations_created as u64),
        s.groups_created,
        t.elapsed().as_secs_f64()
    );
    let (tariff, _) = store
        .tariff_by_name("Bench")
        .await?
        .context("the bench tariff")?;
    add_users(store, opts.users, tariff).await?;

    let cdr_file = opts.work_dir.join("bench-Master.csv");
    let t = Instant::now();
    write_master_csv(&cdr_file, opts.records, opts.users, &prefixes, &mut rng)?;
    let size = std::fs::metadata(&cdr_file)?.len();
    println!(
        "Master.csv: {} records, {:.1} MB ({} bytes/record), written in {:.1} s",
        thousands(opts.records),
        size as f64 / 1e6,
        size / opts.records.max(1),
        t.elapsed().as_secs_f64()
    );

    reset_peak_memory();
    let cpu = cpu_seconds();
    let writer = SubscriberWrites::start(store);
    let summary = import::import_cdrs(
        store,
        ImportOptions {
            format: Format::Asterisk,
            files: vec![cdr_file.clone()],
            skip_bad: false,
            reject_file: None,
            time_zone: chrono_tz::Tz::UTC,
            dialing: Dialing::default(),
            progress: true,
            rules: Default::default(),
        },
    )
    .await?;
    let waits = writer.stop().await;
    println!("{summary}");
    println!(
        "IMPORT: {} records in {:.1} s = {:.0} records/s; this process's CPU {:.1} s; peak memory {}",
        thousands(summary.records),
        summary.seconds,
        summary.records as f64 / summary.seconds,
        cpu_seconds() - cpu,
        peak_memory()
    );
    println!("MEANWHILE: {waits}");
    anyhow::ensure!(
        summary.imported == opts.records,
        "expected every record imported"
    );

    deck::import_deck(store, "Bench", Some("USD"), &deck2, &Default::default()).await?;
    reset_peak_memory();
    let cpu = cpu_seconds();
    let r = rerate::rerate(
        store,
        i64::MIN,
        i64::MAX,
        Dialing::default(),
        &Default::default(),
        true,
    )
    .await?;
    println!("{r}");
    println!(
        "RE-RATE (read, rate, write changed): {} calls in {:.1} s = {:.0} calls/s, {} changed; this process's CPU {:.1} s; peak memory {}",
        thousands(r.calls),
        r.seconds,
        r.calls as f64 / r.seconds,
        thousands(r.changed),
        cpu_seconds() - cpu,
        peak_memory()
    );

    reset_peak_memory();
    let rater = Rater::new(store.rating_data().await?, Dialing::default());
    let pool: Vec<(String, i64)> = (0..100_000)
        .map(|_| {
            let p = &prefixes[rng.gen_range(0..prefixes.len())].0;
            (
                format!("00{p}{}", rng.gen_range(100_000..999_999)),
                rng.gen_range(0..600),
            )
        })
        .collect();
    let users = opts.users as i64;
    let t = Instant::now();
    let mut priced = 0u64;
    for i in 0..opts.records {
        let (number, billsec) = &pool[(i % pool.len() as u64) as usize];
        let user = 1 + (i as i64 % users);
        if let super::rater::Rating::Priced { .. } =
            rater.rate(user, true, MONTH_START + 60, number, *billsec)
        {
            priced += 1;
        }
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "RATING in memory ({} prefixes): {} calls in {:.2} s = {:.0} calls/s ({} priced); peak memory {}",
        thousands(rater.prefix_count() as u64),
        thousands(opts.records),
        secs,
        opts.records as f64 / secs,
        thousands(priced),
        peak_memory()
    );

    if !opts.keep_files {
        for f in [&cdr_file, &deck1, &deck2] {
            let _ = std::fs::remove_file(f);
        }
    }
    Ok(())
}

/// About 5,000 distinct prefixes in 1,000 destinations: (prefix, destination index).
/// A subscriber's small write (an activity-log row) every 100 ms on its own connection while
/// the import runs: how long a portal's write waits for the database's write lock.
struct SubscriberWrites {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<Vec<f64>>,
    store: Store,
}

impl SubscriberWrites {
    fn start(store: &Store) -> SubscriberWrites {
        use std::sync::atomic::Ordering;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (flag, db) = (stop.clone(), store.clone());
        let task = tokio::spawn(async move {
            let mut waits = Vec::new();
            while !flag.load(Ordering::Relaxed) {
                let t = Instant::now();
                if db.audit(None, "bench_write", "", "").await.is_ok() {
                    waits.push(t.elapsed().as_secs_f64() * 1000.0);
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            waits
        });
        SubscriberWrites {
            stop,
            task,
            store: store.clone(),
        }
    }

    /// "N writes, median …, p99 …, longest … ms".
    async fn stop(self) -> String {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut waits = self.task.await.unwrap_or_default();
        let _ = sqlx::query("DELETE FROM audit_log WHERE action = 'bench_write'")
            .execute(self.store.pool())
            .await;
        if waits.is_empty() {
            return "no subscriber write got through".into();
        }
        waits.sort_by(f64::total_cmp);
        let at = |q: f64| waits[((waits.len() - 1) as f64 * q) as usize];
        format!(
            "{} subscriber writes (one every 100 ms): median {:.1} ms, p99 {:.1} ms, longest {:.1} ms",
            waits.len(),
            at(0.5),
            at(0.99),
            waits[waits.len() - 1]
        )
    }
}

fn deck_prefixes(rng: &mut ChaCha8Rng) -> Vec<(String, usize)> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for g in 0..GROUPS {
        // A country code of 2 or 3 digits that does not start with 0 or 9 (9x stays unmatched).
        let cc = format!(
            "{}",
            rng.gen_range(10..89) * if g % 3 == 0 { 10 } else { 1 }
        );
        for _ in 0..rng.gen_range(2..9) {
            let p = format!("{cc}{}", rng.gen_range(0..10_000));
            if seen.insert(p.clone()) {
                out.push((p, g));
            }
        }
    }
    out
}

fn write_deck(path: &Path, prefixes: &[(String, usize)], version: i64) -> anyhow::Result<()> {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(
        w,
        "prefix,destination,rate,connection fee,increment,minimum,effective date"
    )?;
    for (p, g) in prefixes {
        let rate = (g % 97 + 1) as i64 * 1000 * version;
        let (inc, min) = if g % 10 == 0 { (60, 60) } else { (1, 0) };
        let fee = if g % 5 == 0 { "0.01" } else { "" };
        writeln!(
            w,
            "{p},Destination {g},0.{rate:06},{fee},{inc},{min},2024-01-01"
        )?;
    }
    w.flush()?;
    Ok(())
}

async fn add_users(store: &Store, users: u32, tariff: i64) -> anyhow::Result<()> {
    let mut tx = store.pool().begin().await?;
    let now = crate::time::now();
    for n in 0..users {
        let name = format!("bench{n}");
        let id = seed::insert_user(
            &mut tx,
            &NewUser {
                username: &name,
                password_hash: "!", // no password can match: these accounts cannot log in
                first_name: "",
                last_name: "",
                language: "en",
                currency: "USD",
                time_zone: "UTC",
                account_type: "postpaid",
                balance_micros: 0,
                credit_limit_micros: None,
                tariff_id: Some(tariff),
                created_at: now,
            },
        )
        .await?;
        let device = format!("b{n}");
        seed::insert_device(
            &mut tx,
            &NewDevice {
                user_id: id,
                device_type: "SIP",
                description: "",
                extension: &device,
                username: &device,
                secret: "",
                caller_id: "",
                last_registered_at: None,
                created_at: now,
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

fn write_master_csv(
    path: &Path,
    records: u64,
    users: u32,
    prefixes: &[(String, usize)],
    rng: &mut ChaCha8Rng,
) -> anyhow::Result<()> {
    let mut w = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let fmt = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0)
            .unwrap_or_default()
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    };
    for i in 0..records {
        let start =
            MONTH_START + (i as i128 * MONTH_SECONDS as i128 / records.max(1) as i128) as i64;
        let dev = format!("b{}", rng.gen_range(0..users));
        let pick = rng.gen_range(0..100);
        let (disposition, billsec) = match pick {
            0..=69 => ("ANSWERED", rng.gen_range(1..900)),
            70..=84 => ("NO ANSWER", 0),
            85..=92 => ("BUSY", 0),
            _ => ("FAILED", 0),
        };
        let ring = rng.gen_range(0..20);
        let answer = if billsec > 0 {
            fmt(start + ring)
        } else {
            String::new()
        };
        let end = fmt(start + ring + billsec);
        let (src, dst, channel, dstchannel, context) = if rng.gen_bool(0.7) {
            let number = if rng.gen_bool(0.95) {
                let p = &prefixes[rng.gen_range(0..prefixes.len())].0;
                format!("00{p}{}", rng.gen_range(100_000..999_999))
            } else {
                format!("0099{}", rng.gen_range(1_000_000..9_999_999))
            };
            (
                dev.clone(),
                number.clone(),
                format!("SIP/{dev}-{i:08x}"),
                format!("SIP/trunk-{i:08x}"),
                "from-internal",
            )
        } else {
            (
                format!("44{}", rng.gen_range(1_000_000_000_u64..9_999_999_999)),
                "s".to_string(),
                format!("SIP/trunk-{i:08x}"),
                format!("SIP/{dev}-{i:08x}"),
                "from-trunk",
            )
        };
        writeln!(
            w,
            "\"\",\"{src}\",\"{dst}\",\"{context}\",\"\"\"{src}\"\" <{src}>\",\"{channel}\",\"{dstchannel}\",\"Dial\",\"SIP/trunk/{dst},60\",\"{}\",\"{answer}\",\"{end}\",\"{}\",\"{billsec}\",\"{disposition}\",\"DOCUMENTATION\",\"{}.{i}\",\"\"",
            fmt(start),
            ring + billsec,
            start,
        )?;
    }
    w.flush()?;
    Ok(())
}

/// User + system CPU seconds this process has used (Linux; 0 elsewhere). With SQLite that is
/// all the work; a PostgreSQL server's share is not in it.
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the command name (which is in parentheses and may hold spaces).
            let rest = &s[s.rfind(')')? + 2..];
            let f: Vec<&str> = rest.split_whitespace().collect();
            let ticks = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
            Some(ticks / 100.0) // USER_HZ is 100 on Linux
        })
        .unwrap_or(0.0)
}

/// Resets the resident-memory high-water mark (Linux; elsewhere a no-op).
fn reset_peak_memory() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// VmHWM from /proc/self/status, e.g. `42.1 MB`.
pub fn peak_memory() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| format!("{:.1} MB", kb / 1024.0))
        .unwrap_or_else(|| "unknown".to_string())
}
