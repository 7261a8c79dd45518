//! `selfcare dialplan …` and `selfcare calls unmatched`: the numbers that stay local, and the
//! calls that have no price, so the operator can see them and settle them (a local pattern, a
//! rate, then `selfcare rate`).

use anyhow::Context;
use clap::Subcommand;

use crate::billing::dialplan::LocalPattern;
use crate::store::Store;

#[derive(Subcommand)]
pub enum DialplanCommand {
    /// The local patterns: calls to them are free and never matched against countries
    List,
    /// Add a pattern in Asterisk's syntax (`_*.`, `_XXX`, `s`, `echo`); `selfcare rate` then
    /// prices the stored calls it matches
    Add {
        pattern: String,
        /// What it is for
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Remove a pattern
    Remove { pattern: String },
}

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
}

pub async fn dialplan(store: &Store, cmd: DialplanCommand) -> anyhow::Result<()> {
    match cmd {
        DialplanCommand::List => {
            for (pattern, note) in store.local_patterns().await? {
                println!("{pattern}\t{note}");
            }
        }
        DialplanCommand::Add { pattern, note } => {
            let p = LocalPattern::parse(&pattern).map_err(anyhow::Error::msg)?;
            let new = store.add_local_pattern(p.as_str(), note.trim()).await?;
            println!(
                "{} {}; `selfcare rate` prices the stored calls it matches.",
                p.as_str(),
                if new {
                    "added"
                } else {
                    "kept, its note changed"
                }
            );
        }
        DialplanCommand::Remove { pattern } => {
            anyhow::ensure!(
                store.remove_local_pattern(pattern.trim()).await?,
                "no local pattern {pattern:?} (selfcare dialplan list shows them)"
            );
            println!("{} removed.", pattern.trim());
        }
    }
    Ok(())
}

pub async fn calls(store: &Store, cmd: CallsCommand) -> anyhow::Result<()> {
    let CallsCommand::Unmatched { user, limit } = cmd;
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
