//! `selfcare account …`: a subscriber's accounts (contracts) and which subscriptions each is
//! made of, as the account tree page shows them.

use anyhow::Context;
use clap::Subcommand;

use crate::store::Store;

#[derive(Subcommand)]
pub enum AccountCommand {
    /// A subscriber's accounts, with their subscriptions
    List { user: String },
    /// Open a new account for a subscriber; prints its id
    Create { user: String, name: String },
    /// Move a subscription into another account of the same subscriber
    Move { subscription: i64, account: i64 },
    /// Close an account without active subscriptions (not the main one)
    Close { account: i64 },
}

pub async fn run(store: &Store, cmd: AccountCommand) -> anyhow::Result<()> {
    let now = crate::time::now();
    match cmd {
        AccountCommand::List { user } => {
            let user_id = user_id(store, &user).await?;
            let subscriptions = store.tree_subscriptions(user_id).await?;
            println!("account\tname\tstatus\tsubscriptions");
            for a in store.accounts_of(user_id).await? {
                let ids: Vec<String> = subscriptions
                    .iter()
                    .filter(|s| s.account_id == a.id)
                    .map(|s| format!("{} {}", s.id, s.service))
                    .collect();
                println!(
                    "{}\t{}\t{}\t{}",
                    a.id,
                    if a.name.is_empty() { "(main)" } else { &a.name },
                    if a.closed_at.is_some() {
                        "closed"
                    } else {
                        "active"
                    },
                    ids.join(", ")
                );
            }
        }
        AccountCommand::Create { user, name } => {
            let user_id = user_id(store, &user).await?;
            let name = crate::input::text(&name, 100).map_err(|e| anyhow::anyhow!("name: {e}"))?;
            anyhow::ensure!(!name.is_empty(), "an account needs a name");
            let id = store.create_account(user_id, &name, now).await?;
            println!("Account {id} ({name}) opened for {user}.");
        }
        AccountCommand::Move {
            subscription,
            account,
        } => {
            store.move_subscription(subscription, account).await?;
            println!("Subscription {subscription} is now in account {account}.");
        }
        AccountCommand::Close { account } => {
            store.close_account(account, now).await?;
            println!("Account {account} closed.");
        }
    }
    Ok(())
}

async fn user_id(store: &Store, name: &str) -> anyhow::Result<i64> {
    store
        .user_id_by_name(name)
        .await?
        .with_context(|| format!("no user {name:?}"))
}
