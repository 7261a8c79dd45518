//! `selfcare calls …`: the calls an operator looks after — those without a price (settled with
//! a local pattern, a rate, then `selfcare rate`) and, on PostgreSQL, the months they are kept in.

use anyhow::Context;
use clap::Subcommand;

use crate::billing::month::Month;
use crate::store::Store;

#[derive(Subcommand)]
pub enum CallsCommand {
    /// The calls without a price (no destination matched, or no rate), oldest first
    Unmatched {
        /// Only this subscriber's
        #[arg(long)]
        user: Option<String>,
        /// At most this many lines
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// PostgreSQL: the months `calls` is kept in (one partition each), with their calls
    Months,
    /// PostgreSQL: detach the months before this one (YYYY-MM, UTC) into archive tables; their
    /// calls leave the pages and the figures
    Archive {
        #[arg(long)]
        before: String,
    },
}

pub async fn calls(store: &Store, cmd: CallsCommand) -> anyhow::Result<()> {
    let (user, limit) = match cmd {
        CallsCommand::Unmatched { user, limit } => (user, limit),
        CallsCommand::Months => return months(store).await,
        CallsCommand::Archive { before } => return archive(store, &before).await,
    };
    anyhow::ensure!(limit > 0, "--limit: at least 1");
    let user_id = match &user {
        Some(name) => Some(
            store
                .user_id_by_name(name)
                .await?
                .with_context(|| format!("no user {name:?}"))?,
        ),
        None => None,
    };
    let (calls, total) = store.unpriced_calls(user_id, limit).await?;
    if total == 0 {
        println!("Every call has a price.");
        return Ok(());
    }
    println!("call id\tuser\tstarted (UTC)\tdialled\tseconds\twhy\tleft out of an invoice");
    for c in &calls {
        println!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}",
            c.id,
            c.username,
            crate::time::format_instant(c.started_at, chrono_tz::UTC),
            c.dst,
            c.billsec,
            match c.rating_status.as_deref() {
                Some("no_rate") => "no rate",
                Some("unmatched") => "no destination matches",
                _ => "not rated",
            },
            if c.left_out == 1 { "yes" } else { "no" }
        );
    }
    if total > calls.len() as i64 {
        println!("… {} more (--limit)", total - calls.len() as i64);
    }
    println!(
        "{total} call(s) without a price. Settle them with a local pattern (selfcare dialplan add) \
         or a rate (selfcare import rates), then selfcare rate."
    );
    Ok(())
}

async fn months(store: &Store) -> anyhow::Result<()> {
    println!("table\tfrom (UTC)\tuntil (UTC)\tcalls");
    for m in store.call_months().await? {
        let (from, to) = match m.range {
            Some((from, to)) => (
                crate::time::format_instant(from, chrono_tz::UTC),
                crate::time::format_instant(to, chrono_tz::UTC),
            ),
            None => ("(any month without its own)".into(), String::new()),
        };
        println!("{}\t{from}\t{to}\t{}", m.table, m.calls);
    }
    Ok(())
}

async fn archive(store: &Store, before: &str) -> anyhow::Result<()> {
    let before = Month::parse(before).map_err(|e| anyhow::anyhow!("--before: {e}"))?;
    let archived = store.archive_call_months(before).await?;
    if archived.is_empty() {
        println!("No month before {before} to archive.");
    }
    for table in archived {
        println!("{table}: detached; dump it (pg_dump -t {table}) and drop it when you wish.");
    }
    Ok(())
}
