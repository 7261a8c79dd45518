//! `selfcare dialplan …`: the numbers that stay local (free, never matched against countries).

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
