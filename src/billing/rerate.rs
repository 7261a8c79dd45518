//! `selfcare rate`: prices stored calls again with today's tariffs (after a rate change, or
//! once the rates of flagged calls exist).
//!
//! Calls are read user by user in (started_at, id) order through the `calls_user_time` index,
//! rated in memory with the same [`Rater`] the import uses, and only the calls whose price,
//! destination or flag changes are written, 2,000 per statement. Calls in a period that already
//! has an invoice are left as they are: the invoice stays the sum of its calls; only the calls
//! that invoice was made without (unpriced then, in `calls_left_out`) are priced, for the next.
//! Work is committed every 50,000 calls, so a long run keeps the database available; running it
//! again is harmless. A run that changed calls ends as an import does (`Store::after_bulk_load`:
//! the planner's statistics, and on PostgreSQL a vacuum of the rewritten rows).

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use super::number::Dialing;
use super::rater::Rater;
use crate::money::Money;
use crate::store::cdrs::{self, RatingUpdate, UPDATE_BATCH};
use crate::store::ledger::{EntryKind, Posting};
use crate::store::Store;
use crate::wallet::Rules;

#[derive(Debug, Default)]
pub struct RerateSummary {
    /// Calls looked at.
    pub calls: u64,
    /// Calls whose rating changed.
    pub changed: u64,
    pub rated: u64,
    pub unmatched: u64,
    pub no_rate: u64,
    /// Calls left alone because their period is invoiced.
    pub invoiced: u64,
    pub seconds: f64,
}

const READ_CHUNK: i64 = 5000;
const COMMIT_EVERY: usize = 50_000;

/// Re-rates the calls that started in `[from, to]` (UTC seconds). A prepaid subscriber's
/// balance moves by the difference of the new prices, posted with the changes they come from.
pub async fn rerate(
    store: &Store,
    from: i64,
    to: i64,
    dialing: Dialing,
    rules: &Rules,
    progress: bool,
) -> anyhow::Result<RerateSummary> {
    let started = Instant::now();
    let prepaid = store.prepaid_user_ids().await?;
    let run = crate::tokens::random_token();
    let mut differences: BTreeMap<i64, i64> = BTreeMap::new();
    let mut commits = 0u64;
    let rater = Rater::new(store.rating_data().await?, dialing);
    let mut invoiced: HashMap<i64, Vec<(i64, i64)>> = HashMap::new();
    for (user, start, end) in store.invoiced_periods().await? {
        invoiced.entry(user).or_default().push((start, end));
    }
    let left_out: std::collections::HashSet<i64> =
        store.left_out_call_ids().await?.into_iter().collect();
    let mut s = RerateSummary::default();
    let mut last_report = Instant::now();
    let mut updates: Vec<RatingUpdate> = Vec::with_capacity(UPDATE_BATCH);
    let mut uncommitted = 0usize;
    let mut tx = store.begin_write().await?;
    for user in store.user_ids().await? {
        let periods = invoiced.get(&user).map(Vec::as_slice).unwrap_or(&[]);
        let mut after = (i64::MIN, i64::MIN);
        loop {
            let chunk = cdrs::calls_to_rate(&mut tx, user, from, to, after, READ_CHUNK).await?;
            let Some(last) = chunk.last() else { break };
            after = (last.started_at, last.id);
            for call in &chunk {
                s.calls += 1;
                if periods
                    .iter()
                    .any(|(a, b)| (*a..=*b).contains(&call.started_at))
                    && !left_out.contains(&call.id)
                {
                    s.invoiced += 1;
                    continue;
                }
                let (dest, price, status) = rater
                    .rate(
                        user,
                        call.direction == "out",
                        call.started_at,
                        &call.dst,
                        call.billsec,
                    )
                    .columns();
                match status {
                    "rated" => s.rated += 1,
                    "unmatched" => s.unmatched += 1,
                    _ => s.no_rate += 1,
                }
                if (
                    call.destination_id,
                    call.price_micros,
                    call.rating_status.as_deref(),
                ) != (dest, price, Some(status))
                {
                    s.changed += 1;
                    if prepaid.contains(&user) {
                        let diff = price.unwrap_or(0) - call.price_micros.unwrap_or(0);
                        *differences.entry(user).or_default() += diff;
                    }
                    updates.push((call.id, dest, price, status));
                    if updates.len() == UPDATE_BATCH {
                        cdrs::update_ratings(&mut tx, &updates).await?;
                        uncommitted += updates.len();
                        updates.clear();
                    }
                }
            }
            if uncommitted >= COMMIT_EVERY {
                commits += 1;
                charge_differences(&mut tx, rules, &run, commits, &mut differences).await?;
                tx.commit().await?;
                tx = store.begin_write().await?;
                uncommitted = 0;
            }
            if progress && last_report.elapsed().as_secs() >= 2 {
                last_report = Instant::now();
                eprintln!(
                    "  {} calls rated, {} changed ({:.0} calls/s)",
                    super::import::thousands(s.calls),
                    super::import::thousands(s.changed),
                    s.calls as f64 / started.elapsed().as_secs_f64()
                );
            }
            if (chunk.len() as i64) < READ_CHUNK {
                break;
            }
        }
    }
    cdrs::update_ratings(&mut tx, &updates).await?;
    charge_differences(&mut tx, rules, &run, commits + 1, &mut differences).await?;
    tx.commit().await?;
    if s.changed > 0 {
        store.after_bulk_load().await?;
    }
    s.seconds = started.elapsed().as_secs_f64();
    Ok(s)
}

/// Posts what re-rating changed of each prepaid balance (a higher price debits the
/// difference, a lower one credits it), in the transaction that writes the new prices.
async fn charge_differences(
    tx: &mut sqlx::AnyConnection,
    rules: &Rules,
    run: &str,
    commit: u64,
    differences: &mut BTreeMap<i64, i64>,
) -> sqlx::Result<()> {
    for (user, diff) in std::mem::take(differences) {
        if diff == 0 {
            continue;
        }
        crate::wallet::ledger::post_logged(
            tx,
            rules,
            &Posting {
                user_id: user,
                key: format!("rerate:{}:{commit}:{user}", &run[..24]),
                kind: EntryKind::Rerate,
                amount: Money(-diff),
                reference: String::new(),
                note: "Calls priced again after a rate change".to_string(),
            },
            "calls_repriced",
        )
        .await?;
    }
    Ok(())
}

impl std::fmt::Display for RerateSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let t = super::import::thousands;
        write!(
            f,
            "Rated {} calls in {:.1} s ({:.0} calls/s): {} changed; rated {}, unmatched number {}, no rate {}; {} in invoiced periods left as they are.",
            t(self.calls),
            self.seconds,
            self.calls as f64 / self.seconds.max(1e-9),
            t(self.changed),
            t(self.rated),
            t(self.unmatched),
            t(self.no_rate),
            t(self.invoiced)
        )
    }
}
