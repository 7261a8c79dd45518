//! A subscriber's accounts (contracts) and the subscriptions each is made of: user → accounts
//! → subscriptions. Every subscriber has a main account (name ''), made with the user; new
//! subscriptions join it. The operator adds accounts and moves subscriptions between one
//! subscriber's accounts.

use sqlx::FromRow;

use super::Store;

#[derive(Clone, Debug, FromRow)]
pub struct AccountRow {
    pub id: i64,
    /// '' for the main account.
    pub name: String,
    pub created_at: i64,
    pub closed_at: Option<i64>,
}

/// A subscription as the account tree shows it.
#[derive(Clone, Debug, FromRow)]
pub struct TreeSubscription {
    pub id: i64,
    pub account_id: i64,
    pub service: String,
    pub active_from: i64,
    pub active_until: Option<i64>,
    pub price_micros: i64,
    pub currency: String,
    pub decimals: i64,
    /// `month` or `once`.
    pub period: String,
    /// The number (E.164) when the subscription is a number's fee.
    pub number: Option<String>,
    /// What the portal made it for (`crate::numbers::service`); `None`: the operator's own.
    pub kind: Option<String>,
    pub service_number: Option<String>,
}

/// Why the operator's change was not made.
#[derive(Debug, thiserror::Error)]
pub enum AccountRefusal {
    #[error("no subscription {0}")]
    NoSubscription(i64),
    #[error("no account {0}")]
    NoAccount(i64),
    #[error("subscription {subscription} is not the same subscriber's as account {account}")]
    OtherSubscriber { subscription: i64, account: i64 },
    #[error("account {0} is closed")]
    Closed(i64),
    #[error("the subscriber already has an account named {0:?}")]
    NameTaken(String),
    #[error("account {0} still has active subscriptions: move or end them first")]
    NotEmpty(i64),
    #[error("the main account cannot be closed")]
    Main,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl Store {
    /// The user's accounts: the main one first, then by creation.
    pub async fn accounts_of(&self, user_id: i64) -> sqlx::Result<Vec<AccountRow>> {
        sqlx::query_as(
            "SELECT id, name, created_at, closed_at FROM accounts WHERE user_id = $1
             ORDER BY CASE WHEN name = '' THEN 0 ELSE 1 END, created_at, id",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await
    }

    /// Every subscription of the user with its account, newest first.
    pub async fn tree_subscriptions(&self, user_id: i64) -> sqlx::Result<Vec<TreeSubscription>> {
        sqlx::query_as(
            "SELECT s.id, s.account_id, v.name AS service, s.active_from, s.active_until,
                    v.price_micros, v.currency, c.decimals, v.period, v.kind,
                    v.number AS service_number,
                    (SELECT d.number FROM did_allocations a JOIN dids d ON d.id = a.did_id
                     WHERE a.subscription_id = s.id) AS number
             FROM subscriptions s
             JOIN services v ON v.id = s.service_id
             JOIN currencies c ON c.code = v.currency
             WHERE s.user_id = $1
             ORDER BY s.active_from DESC, s.id DESC",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await
    }

    /// A new account of the user named `name` (not empty, unique for the user).
    pub async fn create_account(
        &self,
        user_id: i64,
        name: &str,
        now: i64,
    ) -> Result<i64, AccountRefusal> {
        let taken: Option<(i64,)> =
            sqlx::query_as("SELECT id FROM accounts WHERE user_id = $1 AND name = $2")
                .bind(user_id)
                .bind(name)
                .fetch_optional(self.pool())
                .await?;
        if taken.is_some() {
            return Err(AccountRefusal::NameTaken(name.to_string()));
        }
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO accounts (user_id, name, created_at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(user_id)
        .bind(name)
        .bind(now)
        .fetch_one(self.pool())
        .await
        .map_err(|e| match e {
            // Created meanwhile under the same name (the unique key).
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                AccountRefusal::NameTaken(name.to_string())
            }
            e => e.into(),
        })?;
        Ok(id)
    }

    /// Moves a subscription into another open account of the same subscriber.
    pub async fn move_subscription(
        &self,
        subscription_id: i64,
        account_id: i64,
    ) -> Result<(), AccountRefusal> {
        let owner: Option<(i64,)> =
            sqlx::query_as("SELECT user_id FROM subscriptions WHERE id = $1")
                .bind(subscription_id)
                .fetch_optional(self.pool())
                .await?;
        let (owner,) = owner.ok_or(AccountRefusal::NoSubscription(subscription_id))?;
        let account: Option<(i64, Option<i64>)> =
            sqlx::query_as("SELECT user_id, closed_at FROM accounts WHERE id = $1")
                .bind(account_id)
                .fetch_optional(self.pool())
                .await?;
        let (holder, closed_at) = account.ok_or(AccountRefusal::NoAccount(account_id))?;
        if holder != owner {
            return Err(AccountRefusal::OtherSubscriber {
                subscription: subscription_id,
                account: account_id,
            });
        }
        if closed_at.is_some() {
            return Err(AccountRefusal::Closed(account_id));
        }
        // The same conditions again in the write, so a concurrent close cannot slip between.
        let done = sqlx::query(
            "UPDATE subscriptions SET account_id = $1 WHERE id = $2 AND user_id = $3
               AND EXISTS (SELECT 1 FROM accounts WHERE id = $1 AND user_id = $3 AND closed_at IS NULL)",
        )
        .bind(account_id)
        .bind(subscription_id)
        .bind(owner)
        .execute(self.pool())
        .await?;
        if done.rows_affected() == 0 {
            return Err(AccountRefusal::Closed(account_id));
        }
        Ok(())
    }

    /// Closes an account that has no subscription active at `now` or later (not the main one).
    pub async fn close_account(&self, account_id: i64, now: i64) -> Result<(), AccountRefusal> {
        let row: Option<(String, Option<i64>)> =
            sqlx::query_as("SELECT name, closed_at FROM accounts WHERE id = $1")
                .bind(account_id)
                .fetch_optional(self.pool())
                .await?;
        let (name, closed_at) = row.ok_or(AccountRefusal::NoAccount(account_id))?;
        if name.is_empty() {
            return Err(AccountRefusal::Main);
        }
        if closed_at.is_some() {
            return Err(AccountRefusal::Closed(account_id));
        }
        let done = sqlx::query(
            "UPDATE accounts SET closed_at = $1 WHERE id = $2 AND closed_at IS NULL
               AND NOT EXISTS (SELECT 1 FROM subscriptions WHERE account_id = $2
                               AND (active_until IS NULL OR active_until > $1))",
        )
        .bind(now)
        .bind(account_id)
        .execute(self.pool())
        .await?;
        if done.rows_affected() == 0 {
            return Err(AccountRefusal::NotEmpty(account_id));
        }
        Ok(())
    }
}
