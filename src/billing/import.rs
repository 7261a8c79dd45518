//! `selfcare import cdrs`: call records from PBX files into `calls`, matched to devices and rated.
//!
//! The files are streamed: a reader thread parses, matches and rates records and hands batches of
//! 2,000 calls to the database side through a short queue, so memory stays flat whatever the
//! file size and parsing overlaps the inserts. All the files of one run go in ONE transaction:
//! a bad record (without `--skip-bad`) or any failure leaves the database as it was. With
//! `--skip-bad` the bad records are written to a reject file (CSV, quoted as Asterisk quotes, so
//! it can be fixed and imported again) and their reasons to `<reject file>.errors`.
//!
//! Matching a record to a device (and so to its owner): the accountcode names a device (the call
//! is incoming when the destination channel is that device and the channel is not); else the
//! calling device (Asterisk's channel, FreeSWITCH's caller id number) makes it outgoing; else the
//! called device (Asterisk's destination channel, or the dialled number as a device name or as
//! one of a device's CLIs) makes it incoming. A record that names no device belongs to nobody
//! and is counted, not stored: importing it again after `selfcare device add` picks it up.
//! Imported calls that started more than a day ago are marked seen (as the demo data is), so a
//! history import does not flood the subscriber's new calls.
//!
//! One call is billed once, whatever legs the switch logs. FreeSWITCH with `legs="ab"` writes a
//! record for each leg: the a-leg (the caller's channel) and the b-leg (the channel FreeSWITCH
//! originated to the callee, which shares the caller's number and the dialled number). The
//! a-leg is the call: it is billed, and it already becomes the callee's incoming row when the
//! callee is a subscriber. A b-leg is skipped and counted ("b-legs" in the summary). A record
//! is a b-leg when
//! 1. its template logs `${aleg_uuid}` or `${originating_leg_uuid}` and the record has one
//!    (FreeSWITCH sets them on originated legs only: exact, record by record); else
//! 2. its template logs `${direction}`, the record is `outbound` (FreeSWITCH originated the
//!    channel) and names no b-leg of its own (a call FreeSWITCH itself originated, bridged
//!    to a far end, is an outbound a-leg with a `${bleg_uuid}`); or
//! 3. its uuid is another record's `${bleg_uuid}` in the files of this import, in any order
//!    and any file. With a template that has `${bleg_uuid}` (every shipped one but
//!    `opencdrrate`) a first pass over the files collects those uuids, 16 bytes each, before
//!    the records are read; memory grows with the number of bridged calls, not the file.
//!
//! Rule 3 sees one import. Across imports (a file rotated between the two legs), the a-leg's
//! call keeps the uuid it names (`calls.b_leg_uuid`), and each import removes the calls that
//! turn out to be b-legs of a call, whichever leg came first, crediting a prepaid balance what
//! it was charged for them; a month already invoiced is left as its invoice has it.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use chrono_tz::Tz;

use sha2::Digest;

use super::cdr::{self, Cdr, Format, Template};
use super::number::Dialing;
use super::rater::Rater;
use crate::money::Money;
use crate::store::cdrs::{self, ImportedCall, IMPORT_BATCH};
use crate::store::import_staging::{self, Staging};
use crate::store::ledger::{EntryKind, Posting};
use crate::store::numbers::NumberSpan;
use crate::store::Store;

pub struct ImportOptions {
    pub format: Format,
    pub files: Vec<PathBuf>,
    pub skip_bad: bool,
    /// Where bad records go with `skip_bad` [default: the first file's path + `.rejected`].
    pub reject_file: Option<PathBuf>,
    /// The zone the PBX wrote its times in.
    pub time_zone: Tz,
    pub dialing: Dialing,
    /// Print a progress line to standard error every few seconds.
    pub progress: bool,
    /// What a debit of a prepaid balance may set off (low-balance mail, automatic top-up).
    pub rules: crate::wallet::Rules,
}

/// What an import did.
#[derive(Debug, Default)]
pub struct ImportSummary {
    pub records: u64,
    pub imported: u64,
    pub duplicates: u64,
    pub bad: u64,
    pub no_device: u64,
    /// FreeSWITCH b-legs: the callee's side of a call its a-leg bills, skipped.
    pub b_legs: u64,
    /// Calls an earlier import stored that turn out to be b-legs of calls of this one (or the
    /// other way round), removed and, on prepaid accounts, credited back.
    pub b_legs_removed: u64,
    /// Such calls left alone because their month is invoiced.
    pub b_legs_invoiced: u64,
    pub rated: u64,
    pub unmatched: u64,
    pub no_rate: u64,
    /// New calls in a period that already has an invoice (not on it: the next one takes them).
    pub in_invoiced_periods: u64,
    /// New calls the subscriber's controls would have refused (`calls.control_flag`).
    pub flagged: u64,
    pub seconds: f64,
    /// Device names seen in records that matched no device, most frequent first (at most 5).
    pub unknown_devices: Vec<(String, u64)>,
    /// The first bad records: `file:line: reason`.
    pub errors: Vec<String>,
    pub reject_file: Option<PathBuf>,
}

impl ImportSummary {
    /// Adds the counts of stored calls of `other` (one slice of a publish).
    fn add(&mut self, other: &ImportSummary) {
        self.imported += other.imported;
        self.duplicates += other.duplicates;
        self.rated += other.rated;
        self.unmatched += other.unmatched;
        self.no_rate += other.no_rate;
        self.in_invoiced_periods += other.in_invoiced_periods;
        self.flagged += other.flagged;
    }
}

/// How many bad records are named in the error message or summary.
const ERRORS_SHOWN: usize = 20;

/// Who had a subscriber's number during a time: (from, until, user, device, forward to).
type Span = (i64, Option<i64>, i64, Option<i64>, Option<String>);

/// One `calls` row a record becomes: a record may be the caller's outgoing call and the
/// callee's incoming one (a call between subscribers), and a call to a forwarded number is
/// also its owner's outgoing call to where it is forwarded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leg {
    pub user_id: i64,
    pub device_id: Option<i64>,
    pub outgoing: bool,
    /// The number dialled: the record's, or the forward's for a forward leg.
    pub dst: String,
    /// Appended to the record's key, so each row has its own and a re-import skips it.
    pub key_suffix: &'static str,
}

/// Looks devices and subscribers' numbers up by the names CDRs use.
pub struct DeviceMatcher {
    by_name: HashMap<String, (i64, i64)>,
    by_cli: HashMap<String, (i64, i64)>,
    /// By the number's digits, oldest allocation first.
    numbers: HashMap<String, Vec<Span>>,
    dialing: Dialing,
}

impl DeviceMatcher {
    /// From (device id, user id, username, extension), (device id, user id, cli) and the
    /// numbers' allocations.
    pub fn new(
        devices: Vec<cdrs::DeviceKey>,
        clis: Vec<(i64, i64, String)>,
        spans: Vec<NumberSpan>,
        dialing: Dialing,
    ) -> Self {
        let mut by_name = HashMap::new();
        for (id, user, username, extension) in devices {
            by_name.insert(extension, (id, user));
            by_name.insert(username, (id, user));
        }
        let mut by_cli = HashMap::new();
        for (id, user, cli) in clis {
            if let Some(n) = dialing.normalise(&cli) {
                by_cli.insert(n, (id, user));
            }
            by_cli.insert(cli, (id, user));
        }
        let mut numbers: HashMap<String, Vec<Span>> = HashMap::new();
        for (number, user, from, until, device, forward) in spans {
            numbers
                .entry(number.trim_start_matches('+').to_string())
                .or_default()
                .push((from, until, user, device, forward));
        }
        DeviceMatcher {
            by_name,
            by_cli,
            numbers,
            dialing,
        }
    }

    fn name(&self, s: &str) -> Option<(i64, i64)> {
        if s.is_empty() {
            None
        } else {
            self.by_name.get(s).copied()
        }
    }

    /// The allocation of the dialled number at `at`, when it is a subscriber's number.
    fn number_at(&self, dst: &str, at: i64) -> Option<&Span> {
        let digits = self.dialing.normalise(dst)?;
        self.numbers
            .get(&digits)?
            .iter()
            .rev()
            .find(|(from, until, ..)| *from <= at && until.is_none_or(|u| at < u))
    }

    /// (device id, user id, outgoing) of the record, or None when it names no device and no
    /// subscriber's number.
    pub fn find(&self, cdr: &Cdr) -> Option<(Option<i64>, i64, bool)> {
        if let Some((device, user)) = self.name(&cdr.accountcode) {
            // Incoming only when the call went to this device and did not come from it.
            let to_it = self.name(&cdr.to_device).map(|d| d.0) == Some(device);
            let from_it = self.name(&cdr.from_device).map(|d| d.0) == Some(device);
            return Some((Some(device), user, from_it || !to_it));
        }
        if let Some((device, user)) = self.name(&cdr.from_device) {
            return Some((Some(device), user, true));
        }
        self.callee(cdr).map(|(device, user)| (device, user, false))
    }

    /// Who the record's call went to: the called device, the dialled number as a device name,
    /// as a subscriber's number (DID) at the time, or as one of a device's CLIs.
    fn callee(&self, cdr: &Cdr) -> Option<(Option<i64>, i64)> {
        let device = self
            .name(&cdr.to_device)
            .or_else(|| self.name(&cdr.dst))
            .map(|(d, u)| (Some(d), u));
        device
            .or_else(|| {
                self.number_at(&cdr.dst, cdr.started_at)
                    .map(|(_, _, user, device, _)| (*device, *user))
            })
            .or_else(|| {
                self.by_cli
                    .get(cdr.dst.as_str())
                    .copied()
                    .or_else(|| {
                        self.dialing
                            .normalise(&cdr.dst)
                            .and_then(|n| self.by_cli.get(&n).copied())
                    })
                    .map(|(d, u)| (Some(d), u))
            })
    }

    /// The rows the record becomes (none when it is nobody's).
    pub fn legs(&self, cdr: &Cdr) -> Vec<Leg> {
        let Some((device_id, user_id, outgoing)) = self.find(cdr) else {
            return Vec::new();
        };
        let mut legs = vec![Leg {
            user_id,
            device_id,
            outgoing,
            dst: cdr.dst.clone(),
            key_suffix: "",
        }];
        if outgoing {
            // A call to another subscriber (his device or his number) is his incoming call too.
            let on_net = self
                .name(&cdr.to_device)
                .or_else(|| self.name(&cdr.dst))
                .map(|(d, u)| (Some(d), u))
                .or_else(|| {
                    self.number_at(&cdr.dst, cdr.started_at)
                        .map(|(_, _, u, d, _)| (*d, *u))
                });
            if let Some((device, callee)) = on_net.filter(|(_, u)| *u != user_id) {
                legs.push(Leg {
                    user_id: callee,
                    device_id: device,
                    outgoing: false,
                    dst: cdr.dst.clone(),
                    key_suffix: ":in",
                });
            }
        }
        if let Some((_, _, owner, _, Some(forward))) = self.number_at(&cdr.dst, cdr.started_at) {
            // The owner forwards his number: the call on to the forward is his, and paid by him.
            legs.push(Leg {
                user_id: *owner,
                device_id: None,
                outgoing: true,
                dst: forward.clone(),
                key_suffix: ":fwd",
            });
        }
        legs
    }
}

/// Counts the reader thread keeps.
#[derive(Default)]
struct ReaderTotals {
    bad: u64,
    b_legs: u64,
    no_device: u64,
    unknown_devices: HashMap<String, u64>,
    errors: Vec<String>,
}

enum Msg {
    Batch(Vec<ImportedCall>),
}

/// Imports the files; see the module documentation.
pub async fn import_cdrs(store: &Store, opts: ImportOptions) -> anyhow::Result<ImportSummary> {
    anyhow::ensure!(!opts.files.is_empty(), "no file to import");
    for f in &opts.files {
        anyhow::ensure!(f.is_file(), "{} is not a readable file", f.display());
    }
    let started = Instant::now();
    let rater = Rater::new(store.rating_data().await?, opts.dialing.clone());
    let screen = crate::controls::screen::Screen::new(store.screen_data().await?);
    let matcher = DeviceMatcher::new(
        store.devices_for_matching().await?,
        store.clis_for_matching().await?,
        store.number_spans().await?,
        opts.dialing.clone(),
    );
    let mut invoiced: HashMap<i64, Vec<(i64, i64)>> = HashMap::new();
    for (user, start, end) in store.invoiced_periods().await? {
        invoiced.entry(user).or_default().push((start, end));
    }
    let reject_path = opts.reject_file.clone().unwrap_or_else(|| {
        let mut p = opts.files[0].clone().into_os_string();
        p.push(".rejected");
        PathBuf::from(p)
    });

    let read = Arc::new(AtomicU64::new(0));
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Msg>(4);
    let reader = {
        let read = read.clone();
        let files = opts.files.clone();
        let (format, tz, skip_bad) = (opts.format.clone(), opts.time_zone, opts.skip_bad);
        let reject_path = reject_path.clone();
        tokio::task::spawn_blocking(move || {
            read_files(
                &files,
                format,
                tz,
                skip_bad,
                &reject_path,
                &rater,
                &screen,
                &matcher,
                &read,
                &tx,
            )
        })
    };

    let mut summary = ImportSummary::default();
    let mut tally = Tally {
        prepaid: store.prepaid_user_ids().await?,
        invoiced,
        charges: HashMap::new(),
        spenders: Default::default(),
    };
    let mut sink = Sink::open(store).await?;
    let mut last_report = Instant::now();
    let mut db_error = None;
    while let Some(Msg::Batch(batch)) = rx.recv().await {
        if let Err(e) = sink.take(&batch, &mut tally, &mut summary).await {
            db_error = Some(e);
            break;
        }
        if opts.progress && last_report.elapsed().as_secs() >= 2 {
            last_report = Instant::now();
            let n = read.load(Ordering::Relaxed);
            eprintln!(
                "  {} records read ({:.0} records/s)",
                thousands(n),
                n as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    drop(rx); // a reader still sending stops at its next batch
    let totals = reader.await.context("the reader thread failed")?;
    if let Some(e) = db_error {
        return Err(anyhow::Error::new(e).context("writing calls; nothing was imported"));
    }
    let totals = totals?;
    summary.records = read.load(Ordering::Relaxed);
    summary.bad = totals.bad;
    summary.no_device = totals.no_device;
    summary.b_legs = totals.b_legs;
    summary.errors = totals.errors;
    let mut unknown: Vec<(String, u64)> = totals.unknown_devices.into_iter().collect();
    unknown.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    unknown.truncate(5);
    summary.unknown_devices = unknown;
    if summary.bad > 0 && !opts.skip_bad {
        sink.abandon().await?;
        let more = if summary.bad as usize > summary.errors.len() {
            format!(
                "\n… and {} more",
                summary.bad as usize - summary.errors.len()
            )
        } else {
            String::new()
        };
        anyhow::bail!(
            "{} bad record(s); nothing was imported (fix them, or import with --skip-bad to set them aside):\n{}{more}",
            summary.bad,
            summary.errors.join("\n")
        );
    }
    sink.finish(&opts.rules, &mut tally, &mut summary).await?;
    if summary.imported > 0 {
        store.after_bulk_load().await?;
    }
    if summary.bad > 0 {
        summary.reject_file = Some(reject_path);
    }
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// Calls published per transaction on SQLite: a few tenths of a second of the write lock, so
/// subscribers' writes wait that long at most while a long import publishes.
const PUBLISH_SLICE: i64 = 10_000;

/// What the stored calls add up to, as the summary, the charges and the limit mails need them.
struct Tally {
    prepaid: std::collections::HashSet<i64>,
    invoiced: HashMap<i64, Vec<(i64, i64)>>,
    /// Prepaid subscriber → (calls, micro-units) not charged yet.
    charges: HashMap<i64, (u64, i64)>,
    /// Subscribers whose new calls cost something: their spending limit's mail may be due.
    spenders: std::collections::BTreeSet<i64>,
}

impl Tally {
    /// Counts `inserted` of `offered` calls (the rest were stored before).
    fn count(&mut self, summary: &mut ImportSummary, offered: usize, inserted: Vec<Inserted>) {
        summary.duplicates += (offered - inserted.len()) as u64;
        summary.imported += inserted.len() as u64;
        for (user, at, status, price) in inserted {
            if price.is_some_and(|p| p != 0) {
                self.spenders.insert(user);
            }
            if self.prepaid.contains(&user) {
                let c = self.charges.entry(user).or_default();
                c.0 += 1;
                c.1 += price.unwrap_or(0);
            }
            match status {
                "rated" => summary.rated += 1,
                "unmatched" => summary.unmatched += 1,
                _ => summary.no_rate += 1,
            }
            if self
                .invoiced
                .get(&user)
                .is_some_and(|ps| ps.iter().any(|(s, e)| (*s..=*e).contains(&at)))
            {
                summary.in_invoiced_periods += 1;
            }
        }
    }

    /// Charges, flags and mails for what was counted since the last time, in `db`'s
    /// transaction, with the calls they come from.
    async fn settle(
        &mut self,
        db: &mut sqlx::AnyConnection,
        rules: &crate::wallet::Rules,
        first_new_after: i64,
        summary: &mut ImportSummary,
    ) -> sqlx::Result<()> {
        summary.flagged += cdrs::flagged_after(db, first_new_after).await?;
        if summary.in_invoiced_periods > 0 {
            crate::store::local_calls::leave_out_late(db, first_new_after).await?;
        }
        charge_prepaid(db, rules, std::mem::take(&mut self.charges)).await?;
        let spenders: Vec<i64> = std::mem::take(&mut self.spenders).into_iter().collect();
        crate::controls::limit_mail::after_calls(db, &spenders, crate::time::now()).await
    }
}

/// Where the calls go while the files are read. PostgreSQL: straight into `calls`, in the
/// import's one transaction (its row locks block nobody). SQLite: into a staging table, then
/// published a slice at a time once every record is read and known good (see
/// `store::import_staging`): the files are still all or nothing, and subscribers' writes wait
/// for one slice at most. A failure while publishing says how far it got; the same import run
/// again adds exactly the rest (calls are keyed).
enum Sink {
    Direct {
        db: sqlx::Transaction<'static, sqlx::Any>,
        first_new_after: i64,
    },
    Staged(Staging),
}

impl Sink {
    async fn open(store: &Store) -> sqlx::Result<Sink> {
        if store.backend() == crate::store::Backend::Sqlite {
            return Ok(Sink::Staged(Staging::open(store).await?));
        }
        let mut db = store.begin_write().await?;
        // Before any lock on `calls`: no month is split out of the default partition while
        // this import writes (`calls_make_month` holds the same lock exclusively). Otherwise
        // the split waits for this transaction's read of `calls_default` while this one waits
        // for the split's lock to insert into it, and PostgreSQL ends one as a deadlock.
        sqlx::query("SELECT pg_advisory_xact_lock_shared(hashtext('calls_make_month'))")
            .execute(&mut *db)
            .await?;
        let first_new_after = cdrs::max_call_id(&mut db).await?;
        Ok(Sink::Direct {
            db,
            first_new_after,
        })
    }

    async fn take(
        &mut self,
        batch: &[ImportedCall],
        tally: &mut Tally,
        summary: &mut ImportSummary,
    ) -> sqlx::Result<()> {
        match self {
            Sink::Direct { db, .. } => {
                let inserted = insert_batch(db, batch).await?;
                tally.count(summary, batch.len(), inserted);
            }
            Sink::Staged(staging) => {
                let before = staging.staged();
                staging.stage(batch).await?;
                // A record twice in the files is staged once.
                summary.duplicates += batch.len() as u64 - (staging.staged() - before) as u64;
            }
        }
        Ok(())
    }

    async fn abandon(self) -> sqlx::Result<()> {
        match self {
            Sink::Direct { db, .. } => db.rollback().await,
            Sink::Staged(staging) => staging.close().await,
        }
    }

    async fn finish(
        self,
        rules: &crate::wallet::Rules,
        tally: &mut Tally,
        summary: &mut ImportSummary,
    ) -> anyhow::Result<()> {
        match self {
            Sink::Direct {
                mut db,
                first_new_after,
            } => {
                tally
                    .settle(&mut db, rules, first_new_after, summary)
                    .await?;
                remove_b_legs(&mut db, first_new_after, tally, rules, summary).await?;
                db.commit().await?;
            }
            Sink::Staged(mut staging) => {
                let staged = staging.staged();
                let first_new_after = cdrs::max_call_id(staging.connection()).await?;
                let mut from = 0;
                while from < staged {
                    let to = (from + PUBLISH_SLICE).min(staged);
                    if let Err(e) =
                        publish_slice(&mut staging, from, to, rules, tally, summary).await
                    {
                        return Err(anyhow::Error::new(e).context(format!(
                            "publishing the calls: {} of {staged} are in; import the same files \
                             again to add the rest (nothing is added twice)",
                            summary.imported
                        )));
                    }
                    from = to;
                    if from < staged {
                        // Let a subscriber's write that waited for the lock have it.
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    }
                }
                let db = staging.connection();
                sqlx::query("BEGIN IMMEDIATE").execute(&mut *db).await?;
                match remove_b_legs(db, first_new_after, tally, rules, summary).await {
                    Ok(()) => sqlx::query("COMMIT").execute(&mut *db).await?,
                    Err(e) => {
                        let _ = sqlx::query("ROLLBACK").execute(&mut *db).await;
                        return Err(e.into());
                    }
                };
                staging.close().await?;
            }
        }
        Ok(())
    }
}

/// Removes the calls that are b-legs of others, found across imports now that both legs are in
/// (`cdrs::b_legs_billed`): one call is billed once. A prepaid subscriber gets back what they
/// were charged; a call in an invoiced month is left as the invoice has it, and counted.
async fn remove_b_legs(
    db: &mut sqlx::AnyConnection,
    first_new_after: i64,
    tally: &Tally,
    rules: &crate::wallet::Rules,
    summary: &mut ImportSummary,
) -> sqlx::Result<()> {
    let found = cdrs::b_legs_billed(db, first_new_after).await?;
    if found.is_empty() {
        return Ok(());
    }
    let mut ids = Vec::new();
    let mut credits: std::collections::BTreeMap<i64, (u64, i64)> = Default::default();
    for (id, user, at, price) in found {
        let invoiced = tally
            .invoiced
            .get(&user)
            .is_some_and(|ps| ps.iter().any(|(s, e)| (*s..=*e).contains(&at)));
        if invoiced {
            summary.b_legs_invoiced += 1;
            continue;
        }
        ids.push(id);
        if tally.prepaid.contains(&user) {
            let c = credits.entry(user).or_default();
            c.0 += 1;
            c.1 += price.unwrap_or(0);
        }
    }
    cdrs::delete_calls(db, &ids).await?;
    summary.b_legs_removed += ids.len() as u64;
    let run = crate::tokens::random_token();
    for (user, (calls, micros)) in credits.into_iter().filter(|(_, (_, m))| *m != 0) {
        crate::wallet::ledger::post_logged(
            db,
            rules,
            &Posting {
                user_id: user,
                key: format!("b-legs:{}:{user}", &run[..24]),
                kind: EntryKind::Rerate,
                amount: Money(micros),
                reference: String::new(),
                note: format!("{calls} call(s) removed: the other leg of a call billed once"),
            },
            "calls_charged",
        )
        .await?;
    }
    Ok(())
}

/// One slice of the staging table into `calls`, with its charges, in one transaction.
async fn publish_slice(
    staging: &mut Staging,
    from: i64,
    to: i64,
    rules: &crate::wallet::Rules,
    tally: &mut Tally,
    summary: &mut ImportSummary,
) -> sqlx::Result<()> {
    let db = staging.connection();
    sqlx::query("BEGIN IMMEDIATE").execute(&mut *db).await?;
    let done = async {
        let first_new_after = cdrs::max_call_id(db).await?;
        let rows = import_staging::publish(db, from, to).await?;
        let inserted = rows
            .into_iter()
            .map(|(user, at, status, price)| (user, at, status_of(status.as_deref()), price))
            .collect();
        let mut counted = ImportSummary::default();
        tally.count(&mut counted, (to - from) as usize, inserted);
        tally
            .settle(db, rules, first_new_after, &mut counted)
            .await?;
        sqlx::query("COMMIT").execute(&mut *db).await?;
        Ok::<_, sqlx::Error>(counted)
    }
    .await;
    match done {
        Ok(counted) => {
            summary.add(&counted);
            Ok(())
        }
        Err(e) => {
            let _ = sqlx::query("ROLLBACK").execute(&mut *db).await;
            Err(e)
        }
    }
}

/// A stored rating status as the summary counts it.
fn status_of(status: Option<&str>) -> &'static str {
    match status {
        Some("rated") => "rated",
        Some("unmatched") => "unmatched",
        _ => "no_rate",
    }
}

/// Debits each prepaid subscriber's balance with the price of the calls this import added, in
/// the import's own transaction: a call is charged exactly when it is stored, and a call that
/// was stored before is neither (the import skips it by its unique id).
async fn charge_prepaid(
    db: &mut sqlx::AnyConnection,
    rules: &crate::wallet::Rules,
    charges: HashMap<i64, (u64, i64)>,
) -> sqlx::Result<()> {
    let import = crate::tokens::random_token();
    let mut users: Vec<_> = charges.into_iter().filter(|(_, (_, m))| *m != 0).collect();
    users.sort_unstable_by_key(|(u, _)| *u); // one lock order for concurrent imports
    for (user, (calls, micros)) in users {
        crate::wallet::ledger::post_logged(
            db,
            rules,
            &Posting {
                user_id: user,
                key: format!("calls:{}:{user}", &import[..24]),
                kind: EntryKind::Calls,
                amount: Money(-micros),
                reference: String::new(),
                note: format!("{calls} call(s) imported"),
            },
            "calls_charged",
        )
        .await?;
    }
    Ok(())
}

/// A stored call as the import counts it: (user id, started at, rating status, price).
type Inserted = (i64, i64, &'static str, Option<i64>);

/// Inserts a batch; returns what [`Inserted`] says of the calls that were new.
/// Usually a batch is all new or all known; only a batch that is both (a file that grew since
/// its last import) costs a query to tell which.
async fn insert_batch(
    db: &mut sqlx::AnyConnection,
    batch: &[ImportedCall],
) -> sqlx::Result<Vec<Inserted>> {
    let before = cdrs::max_call_id(db).await?;
    let n = cdrs::insert_new_calls(db, batch).await? as usize;
    if n == batch.len() {
        return Ok(batch
            .iter()
            .map(|c| (c.user_id, c.started_at, c.rating_status, c.price_micros))
            .collect());
    }
    if n == 0 {
        return Ok(Vec::new());
    }
    let rows = cdrs::calls_after(db, before).await?;
    Ok(rows
        .into_iter()
        .map(|(user, at, status, price)| (user, at, status_of(status.as_deref()), price))
        .collect())
}

/// The record as read, to be set aside as it was when it is bad.
enum Raw<'a> {
    /// An Asterisk record (written back quoted as cdr_csv quotes).
    Csv(&'a csv::ByteRecord),
    /// A FreeSWITCH line (written back byte for byte, so the same template reads it).
    Line(&'a [u8]),
}

/// Where `--skip-bad` sets bad records aside, opened at the first one.
enum RejectOut {
    Csv(Box<csv::Writer<File>>),
    Lines(BufWriter<File>),
}

/// What the reader thread shares between records: the lookups, the batch being filled and
/// the counts.
struct Reading<'a> {
    skip_bad: bool,
    reject_path: &'a Path,
    rater: &'a Rater,
    screen: &'a crate::controls::screen::Screen,
    matcher: &'a DeviceMatcher,
    tx: &'a tokio::sync::mpsc::Sender<Msg>,
    /// The b-legs named by the a-legs of this import (see the module documentation).
    b_legs: HashSet<u128>,
    totals: ReaderTotals,
    rejects: Option<(RejectOut, BufWriter<File>)>,
    batch: Vec<ImportedCall>,
    seen_before: i64,
    /// False once a bad record means nothing will be written (without `--skip-bad`).
    sending: bool,
}

#[allow(clippy::too_many_arguments)]
fn read_files(
    files: &[PathBuf],
    format: Format,
    tz: Tz,
    skip_bad: bool,
    reject_path: &Path,
    rater: &Rater,
    screen: &crate::controls::screen::Screen,
    matcher: &DeviceMatcher,
    read: &AtomicU64,
    tx: &tokio::sync::mpsc::Sender<Msg>,
) -> anyhow::Result<ReaderTotals> {
    let b_legs = match &format {
        Format::FreeSwitch(t) if t.has_bleg_uuid() => b_legs_named(files, t)?,
        _ => HashSet::new(),
    };
    let mut r = Reading {
        skip_bad,
        reject_path,
        rater,
        screen,
        matcher,
        tx,
        b_legs,
        totals: ReaderTotals::default(),
        rejects: None,
        batch: Vec::with_capacity(IMPORT_BATCH),
        seen_before: crate::time::now() - 86_400,
        sending: true,
    };
    'files: for path in files {
        let name = path.display().to_string();
        match &format {
            Format::Asterisk => {
                let mut reader = csv::ReaderBuilder::new()
                    .has_headers(false)
                    .flexible(true)
                    .buffer_capacity(1 << 16)
                    .from_path(path)
                    .with_context(|| format!("cannot read {name}"))?;
                let mut rec = csv::ByteRecord::new();
                while reader
                    .read_byte_record(&mut rec)
                    .with_context(|| format!("reading {name}"))?
                {
                    read.fetch_add(1, Ordering::Relaxed);
                    let line = rec.position().map(|p| p.line()).unwrap_or(0);
                    let parsed = cdr::parse_asterisk(&rec, tz);
                    if !r.take(&name, line, parsed, Raw::Csv(&rec))? {
                        break 'files;
                    }
                }
            }
            Format::FreeSwitch(template) => {
                let mut lines = Lines::open(path)?;
                let mut hinted = false;
                while let Some((line, text)) = lines.next_line()? {
                    read.fetch_add(1, Ordering::Relaxed);
                    let parsed = template.read(text, tz).map_err(|e| {
                        if hinted {
                            return e;
                        }
                        // Once per file: the built-in templates the line would fit.
                        hinted = true;
                        match Template::fitting(text).as_slice() {
                            [] => e,
                            names => format!(
                                "{e} (the line fits the template {}: --template {})",
                                names.join(", "),
                                names[0]
                            ),
                        }
                    });
                    if !r.take(&name, line, parsed, Raw::Line(text))? {
                        break 'files;
                    }
                }
            }
        }
    }
    if r.sending && !r.batch.is_empty() {
        let _ = r.tx.blocking_send(Msg::Batch(std::mem::take(&mut r.batch)));
    }
    if let Some((out, mut why)) = r.rejects.take() {
        match out {
            RejectOut::Csv(mut w) => w.flush()?,
            RejectOut::Lines(mut w) => w.flush()?,
        }
        why.flush()?;
    }
    Ok(r.totals)
}

impl Reading<'_> {
    /// Takes one record: sets it aside when bad, skips it when it is a b-leg or nobody's, else
    /// adds its rows to the batch and sends a full batch. False when the database side has
    /// stopped (it reports why).
    fn take(
        &mut self,
        name: &str,
        line: u64,
        parsed: Result<Cdr, String>,
        raw: Raw<'_>,
    ) -> anyhow::Result<bool> {
        let cdr = match parsed {
            Ok(c) => c,
            Err(reason) => {
                self.bad(format!("{name}:{line}: {reason}"), raw)?;
                return Ok(true);
            }
        };
        if !self.sending {
            return Ok(true);
        }
        if cdr.b_leg || (!cdr.uuid.is_empty() && self.b_legs.contains(&uuid_key(&cdr.uuid))) {
            self.totals.b_legs += 1;
            return Ok(true);
        }
        let legs = self.matcher.legs(&cdr);
        if legs.is_empty() {
            let t = &mut self.totals;
            t.no_device += 1;
            let who = if cdr.from_device.is_empty() {
                &cdr.accountcode
            } else {
                &cdr.from_device
            };
            if t.unknown_devices.len() < 1000 || t.unknown_devices.contains_key(who) {
                *t.unknown_devices.entry(who.clone()).or_default() += 1;
            }
            return Ok(true);
        }
        for leg in legs {
            let (destination_id, price_micros, rating_status) = self
                .rater
                .rate(
                    leg.user_id,
                    leg.outgoing,
                    cdr.started_at,
                    &leg.dst,
                    cdr.billsec,
                )
                .columns();
            self.batch.push(ImportedCall {
                user_id: leg.user_id,
                device_id: leg.device_id,
                started_at: cdr.started_at,
                seen: cdr.started_at < self.seen_before,
                src: if leg.key_suffix == ":fwd" {
                    cdr.dst.clone()
                } else {
                    cdr.src.clone()
                },
                dst: leg.dst,
                destination_id,
                direction: if leg.outgoing { "out" } else { "in" },
                disposition: cdr.disposition.as_str(),
                duration_s: cdr.duration_s,
                billsec: cdr.billsec,
                price_micros,
                rating_status,
                unique_id: format!("{}{}", cdr.key, leg.key_suffix),
                control_flag: self
                    .screen
                    .flag(leg.user_id, leg.outgoing, destination_id, cdr.started_at)
                    .map(|r| r.code()),
                b_leg_uuid: (leg.key_suffix.is_empty() && !cdr.bleg_uuid.is_empty())
                    .then(|| cdr.bleg_uuid.clone()),
            });
        }
        if self.batch.len() >= IMPORT_BATCH {
            let full = std::mem::replace(&mut self.batch, Vec::with_capacity(IMPORT_BATCH));
            if self.tx.blocking_send(Msg::Batch(full)).is_err() {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Counts a bad record and, with `--skip-bad`, sets it aside with its reason.
    fn bad(&mut self, message: String, raw: Raw<'_>) -> anyhow::Result<()> {
        self.totals.bad += 1;
        if self.skip_bad {
            let (out, why) = match &mut self.rejects {
                Some(r) => r,
                None => self
                    .rejects
                    .insert(open_rejects(self.reject_path, matches!(raw, Raw::Csv(_)))?),
            };
            match (out, raw) {
                (RejectOut::Csv(w), Raw::Csv(rec)) => w.write_byte_record(rec)?,
                (RejectOut::Lines(w), Raw::Line(line)) => {
                    w.write_all(line)?;
                    w.write_all(b"\n")?;
                }
                _ => unreachable!("one import reads one format"),
            }
            writeln!(why, "{message}")?;
        } else {
            // Nothing will be written: stop feeding the database, keep naming lines.
            self.sending = false;
        }
        if self.totals.errors.len() < ERRORS_SHOWN {
            self.totals.errors.push(message);
        }
        Ok(())
    }
}

/// A FreeSWITCH file line by line (mod_cdr_csv writes one record a line), blank lines
/// skipped, with the 1-based line number.
struct Lines {
    reader: BufReader<File>,
    buf: Vec<u8>,
    line: u64,
    name: String,
}

impl Lines {
    fn open(path: &Path) -> anyhow::Result<Lines> {
        let name = path.display().to_string();
        let file = File::open(path).with_context(|| format!("cannot read {name}"))?;
        Ok(Lines {
            reader: BufReader::with_capacity(1 << 16, file),
            buf: Vec::new(),
            line: 0,
            name,
        })
    }

    /// The next non-blank line, without its line ending.
    fn next_line(&mut self) -> anyhow::Result<Option<(u64, &[u8])>> {
        loop {
            self.buf.clear();
            let n = self
                .reader
                .read_until(b'\n', &mut self.buf)
                .with_context(|| format!("reading {}", self.name))?;
            if n == 0 {
                return Ok(None);
            }
            self.line += 1;
            let mut end = self.buf.len();
            while end > 0 && matches!(self.buf[end - 1], b'\n' | b'\r') {
                end -= 1;
            }
            if self.buf[..end].iter().any(|b| !b.is_ascii_whitespace()) {
                return Ok(Some((self.line, &self.buf[..end])));
            }
        }
    }
}

/// The first pass over FreeSWITCH files: the uuids their records name as b-legs.
fn b_legs_named(files: &[PathBuf], template: &Template) -> anyhow::Result<HashSet<u128>> {
    let mut named = HashSet::new();
    for path in files {
        let mut lines = Lines::open(path)?;
        while let Some((_, text)) = lines.next_line()? {
            if let Some(uuid) = template.bleg_uuid(text) {
                named.insert(uuid_key(&uuid));
            }
        }
    }
    Ok(named)
}

/// A uuid as 16 bytes (its hex digits), or the first 16 bytes of a hash of another id.
fn uuid_key(uuid: &str) -> u128 {
    let hex: String = uuid.chars().filter(|c| *c != '-').collect();
    if hex.len() == 32 {
        if let Ok(n) = u128::from_str_radix(&hex, 16) {
            return n;
        }
    }
    let digest = sha2::Sha256::digest(uuid.as_bytes());
    u128::from_be_bytes(digest[..16].try_into().unwrap_or_default())
}

fn open_rejects(path: &Path, csv: bool) -> anyhow::Result<(RejectOut, BufWriter<File>)> {
    let out = if csv {
        RejectOut::Csv(Box::new(
            csv::WriterBuilder::new()
                .quote_style(csv::QuoteStyle::Always)
                .flexible(true)
                .from_path(path)
                .with_context(|| format!("cannot write the reject file {}", path.display()))?,
        ))
    } else {
        RejectOut::Lines(BufWriter::new(File::create(path).with_context(|| {
            format!("cannot write the reject file {}", path.display())
        })?))
    };
    let mut errors = path.to_path_buf().into_os_string();
    errors.push(".errors");
    let why = File::create(&errors)
        .with_context(|| format!("cannot write {}", PathBuf::from(&errors).display()))?;
    Ok((out, BufWriter::new(why)))
}

/// 1234567 → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl std::fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let t = thousands;
        writeln!(
            f,
            "Imported {} records in {:.1} s ({:.0} records/s):",
            t(self.records),
            self.seconds,
            self.records as f64 / self.seconds.max(1e-9)
        )?;
        writeln!(
            f,
            "  new calls         {:>12}  (rated {}, unmatched number {}, no rate {})",
            t(self.imported),
            t(self.rated),
            t(self.unmatched),
            t(self.no_rate)
        )?;
        if self.flagged > 0 {
            writeln!(
                f,
                "  against controls  {:>12}  (calls the subscriber's barrings or calling plan refuse: calls.control_flag)",
                t(self.flagged)
            )?;
        }
        writeln!(f, "  already imported  {:>12}", t(self.duplicates))?;
        if self.b_legs > 0 {
            writeln!(
                f,
                "  b-legs            {:>12}  (the callee's side of calls billed by their a-leg; skipped)",
                t(self.b_legs)
            )?;
        }
        if self.b_legs_removed > 0 || self.b_legs_invoiced > 0 {
            writeln!(
                f,
                "  b-legs removed    {:>12}  (imported before as calls, the other leg of a call here; {} in invoiced months left)",
                t(self.b_legs_removed),
                t(self.b_legs_invoiced)
            )?;
        }
        write!(f, "  no device         {:>12}", t(self.no_device))?;
        if !self.unknown_devices.is_empty() {
            let names: Vec<String> = self
                .unknown_devices
                .iter()
                .map(|(n, c)| format!("{n:?} × {}", t(*c)))
                .collect();
            write!(
                f,
                "  (e.g. {}; add them with `selfcare device add`)",
                names.join(", ")
            )?;
        }
        writeln!(f)?;
        write!(f, "  bad records       {:>12}", t(self.bad))?;
        if let Some(p) = &self.reject_file {
            write!(
                f,
                "  (set aside in {}, reasons in {}.errors)",
                p.display(),
                p.display()
            )?;
        }
        for e in &self.errors {
            write!(f, "\n    {e}")?;
        }
        if self.in_invoiced_periods > 0 {
            write!(
                f,
                "\nNote: {} new calls fall in months already invoiced; the next invoice of their subscriber takes them.",
                t(self.in_invoiced_periods)
            )?;
        }
        if self.unmatched + self.no_rate > 0 {
            write!(
                f,
                "\nCalls without a price are flagged (calls.rating_status); fix the rates and run `selfcare rate`."
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    fn cdr(accountcode: &str, from: &str, to: &str, dst: &str) -> Cdr {
        Cdr {
            accountcode: accountcode.into(),
            src: String::new(),
            dst: dst.into(),
            from_device: from.into(),
            to_device: to.into(),
            disposition: cdr::Disposition::Answered,
            ..Cdr::default()
        }
    }

    fn matcher() -> DeviceMatcher {
        DeviceMatcher::new(
            vec![
                (1, 10, "101".into(), "101".into()),
                (2, 20, "bob-phone".into(), "201".into()),
            ],
            vec![(2, 20, "+44 20 7946 0201".into())],
            vec![
                // +441610000001: user 30 until 100 (released), then user 20 to device 2.
                ("+441610000001".into(), 30, 0, Some(100), None, None),
                ("+441610000001".into(), 20, 200, None, Some(2), None),
                // +441610000002: user 10's, forwarded to a mobile.
                (
                    "+441610000002".into(),
                    10,
                    0,
                    None,
                    None,
                    Some("+447700900123".into()),
                ),
            ],
            Dialing::default(),
        )
    }

    #[test]
    fn devices_are_found_by_accountcode_then_channel_then_destination() {
        let m = matcher();
        // Outgoing from a device's channel.
        assert_eq!(
            m.find(&cdr("", "101", "trunk", "0044207")),
            Some((Some(1), 10, true))
        );
        // Incoming to a device's destination channel.
        assert_eq!(
            m.find(&cdr("", "trunk", "bob-phone", "s")),
            Some((Some(2), 20, false))
        );
        // The accountcode wins over the channel, and decides by the destination channel.
        assert_eq!(
            m.find(&cdr("bob-phone", "101", "", "0044")),
            Some((Some(2), 20, true))
        );
        assert_eq!(
            m.find(&cdr("bob-phone", "trunk", "201", "s")),
            Some((Some(2), 20, false))
        );
        // The dialled number as an extension or a CLI (FreeSWITCH has no destination channel).
        assert_eq!(
            m.find(&cdr("", "4420111", "", "201")),
            Some((Some(2), 20, false))
        );
        assert_eq!(
            m.find(&cdr("", "4420111", "", "00442079460201")),
            Some((Some(2), 20, false))
        );
        // Nobody's.
        assert_eq!(m.find(&cdr("", "trunk", "trunk2", "123")), None);
        assert_eq!(m.find(&cdr("unknown", "", "", "")), None);
    }

    #[test]
    fn a_number_is_its_holder_at_the_time_of_the_call() {
        let m = matcher();
        let at = |t: i64| {
            let mut c = cdr("", "trunk", "", "+441610000001");
            c.started_at = t;
            c
        };
        assert_eq!(m.find(&at(50)), Some((None, 30, false)));
        assert_eq!(m.find(&at(150)), None); // in quarantine: nobody's
        assert_eq!(m.find(&at(250)), Some((Some(2), 20, false)));
    }

    #[test]
    fn a_call_between_subscribers_is_both_of_theirs_and_a_forward_is_its_owner_call_on() {
        let m = matcher();
        let legs = |c: Cdr| -> Vec<(i64, Option<i64>, bool, String, &'static str)> {
            m.legs(&c)
                .into_iter()
                .map(|l| (l.user_id, l.device_id, l.outgoing, l.dst, l.key_suffix))
                .collect()
        };
        // 101 (user 10) dials bob's extension.
        assert_eq!(
            legs(cdr("", "101", "bob-phone", "201")),
            vec![
                (10, Some(1), true, "201".into(), ""),
                (20, Some(2), false, "201".into(), ":in"),
            ]
        );
        // 101 dials bob's number (DID) from outside the switch's device names.
        let mut c = cdr("", "101", "", "00441610000001");
        c.started_at = 300;
        assert_eq!(
            legs(c),
            vec![
                (10, Some(1), true, "00441610000001".into(), ""),
                (20, Some(2), false, "00441610000001".into(), ":in"),
            ]
        );
        // Someone outside calls user 10's forwarded number: his incoming call and his call on.
        assert_eq!(
            legs(cdr("", "trunk", "trunk2", "+441610000002")),
            vec![
                (10, None, false, "+441610000002".into(), ""),
                (10, None, true, "+447700900123".into(), ":fwd"),
            ]
        );
        // Calls to a subscriber's own other device stay one row.
        assert_eq!(legs(cdr("", "101", "", "101")).len(), 1);
    }
}
