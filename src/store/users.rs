//! Users: login lookups, the account summary pages need, and the operator's commands.

use sqlx::FromRow;

use super::Store;

/// What the login needs to know about a user name.
#[derive(Debug, FromRow)]
pub struct Credentials {
    pub id: i64,
    pub password_hash: String,
    pub language: String,
    pub blocked: i64,
}

/// The account as the main page and the page headers show it.
#[derive(Clone, Debug, FromRow)]
pub struct Account {
    pub id: i64,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    pub language: String,
    pub time_zone: String,
    pub account_type: String,
    pub balance_micros: i64,
    pub credit_limit_micros: Option<i64>,
    pub currency: String,
    pub currency_decimals: i64,
}

impl Account {
    /// "First Last", or the login name when no name is on record.
    pub fn display_name(&self) -> String {
        let full = format!("{} {}", self.first_name, self.last_name);
        let full = full.trim();
        if full.is_empty() {
            self.username.clone()
        } else {
            full.to_string()
        }
    }
}

/// A new user as the operator's `user add` and the demo data create it.
pub struct NewUser<'a> {
    pub username: &'a str,
    pub password_hash: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub language: &'a str,
    pub currency: &'a str,
    pub time_zone: &'a str,
    pub account_type: &'a str,
    pub balance_micros: i64,
    pub credit_limit_micros: Option<i64>,
    pub tariff_id: Option<i64>,
    pub created_at: i64,
}

/// An `Account`'s columns, from [`ACCOUNT_FROM`] (the user `u`): also read with the session
/// on every request.
pub(super) const ACCOUNT_COLUMNS: &str = "u.id, u.username, u.first_name, u.last_name, u.language,
    u.time_zone, u.account_type, u.balance_micros, u.credit_limit_micros, u.currency,
    c.decimals AS currency_decimals";
pub(super) const ACCOUNT_FROM: &str = "FROM users u JOIN currencies c ON c.code = u.currency";

impl Store {
    pub async fn credentials(&self, username: &str) -> sqlx::Result<Option<Credentials>> {
        sqlx::query_as("SELECT id, password_hash, language, blocked FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(self.pool())
            .await
    }

    pub async fn account(&self, user_id: i64) -> sqlx::Result<Option<Account>> {
        sqlx::query_as(&format!(
            "SELECT {ACCOUNT_COLUMNS} {ACCOUNT_FROM} WHERE u.id = $1"
        ))
        .bind(user_id)
        .fetch_optional(self.pool())
        .await
    }

    pub async fn user_count(&self) -> sqlx::Result<i64> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users")
            .fetch_one(self.pool())
            .await?;
        Ok(n)
    }

    pub async fn user_exists(&self, username: &str) -> sqlx::Result<bool> {
        let row: Option<(i64,)> = sqlx::query_as("SELECT id FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.is_some())
    }

    /// The currency new users get when the operator does not name one: the base currency.
    pub async fn base_currency(&self) -> sqlx::Result<Option<String>> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT code FROM currencies WHERE is_base = 1 ORDER BY code LIMIT 1")
                .fetch_optional(self.pool())
                .await?;
        Ok(row.map(|r| r.0))
    }

    pub async fn insert_user(&self, u: &NewUser<'_>) -> sqlx::Result<i64> {
        let mut conn = self.pool().acquire().await?;
        super::seed::insert_user(&mut conn, u).await
    }

    /// Returns false when there is no such user.
    pub async fn set_password_hash(&self, username: &str, hash: &str) -> sqlx::Result<bool> {
        let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE username = $2")
            .bind(hash)
            .bind(username)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

/// The user's details as an invoice names the buyer.
#[derive(Clone, Debug, FromRow)]
pub struct BillingDetails {
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    pub personal_id: String,
    pub agreement_number: String,
    pub vat_reg_number: String,
    pub reg_address: String,
    pub reg_postcode: String,
    pub reg_city: String,
    pub reg_country: String,
    pub reg_email: String,
}

impl Store {
    pub async fn billing_details(&self, user_id: i64) -> sqlx::Result<Option<BillingDetails>> {
        sqlx::query_as(
            "SELECT username, first_name, last_name, personal_id, agreement_number, vat_reg_number,
                    reg_address, reg_postcode, reg_city, reg_country, reg_email
             FROM users WHERE id = $1",
        )
        .bind(user_id)
        .fetch_optional(self.pool())
        .await
    }
}
