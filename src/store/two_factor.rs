//! Two-factor login (`two_factor`, `two_factor_recovery_codes`, migration 0018). Every change
//! that a code allows is a conditional UPDATE (or DELETE) whose condition is the check itself, so
//! two requests with the same code cannot both succeed, on SQLite or PostgreSQL. The rules are in
//! `crate::two_factor`.

use super::{audit, Store};
use crate::two_factor::Outcome;

/// A subscriber's two-factor row: an enrolment waiting for its first code, or switched on.
#[derive(sqlx::FromRow, Debug, Clone)]
pub struct TwoFactorRow {
    /// Base32.
    pub secret: String,
    enabled: i64,
    pub created_at: i64,
    pub enabled_at: Option<i64>,
    pub last_step: i64,
}

/// The state as pages and login use it.
#[derive(Debug, Clone)]
pub struct TwoFactorState {
    pub secret: String,
    pub enabled: bool,
    pub created_at: i64,
    pub enabled_at: Option<i64>,
    pub last_step: i64,
}

impl From<TwoFactorRow> for TwoFactorState {
    fn from(r: TwoFactorRow) -> Self {
        TwoFactorState {
            secret: r.secret,
            enabled: r.enabled == 1,
            created_at: r.created_at,
            enabled_at: r.enabled_at,
            last_step: r.last_step,
        }
    }
}

impl Store {
    pub async fn two_factor_state(&self, user_id: i64) -> sqlx::Result<Option<TwoFactorState>> {
        let row: Option<TwoFactorRow> = sqlx::query_as(
            "SELECT secret, enabled, created_at, enabled_at, last_step FROM two_factor WHERE user_id = $1",
        )
        .bind(user_id)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(Into::into))
    }

    /// Two-factor login is on for the user: a password alone does not log in.
    pub async fn two_factor_on(&self, user_id: i64) -> sqlx::Result<bool> {
        let (n,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM two_factor WHERE user_id = $1 AND enabled = 1")
                .bind(user_id)
                .fetch_one(self.pool())
                .await?;
        Ok(n > 0)
    }

    /// The secret of the user's pending enrolment made at or after `fresh_since`, if there is
    /// one (reading the page: nothing is made or changed).
    pub async fn fresh_two_factor_secret(
        &self,
        user_id: i64,
        fresh_since: i64,
    ) -> sqlx::Result<Option<String>> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT secret FROM two_factor WHERE user_id = $1 AND enabled = 0 AND created_at >= $2",
        )
        .bind(user_id)
        .bind(fresh_since)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|(s,)| s))
    }

    /// The secret of the user's pending enrolment: the one there unless it was made before
    /// `stale_before`, else `fresh` (base32) stored in its place. None when two-factor login is
    /// on already (then nothing is changed).
    pub async fn pending_two_factor_secret(
        &self,
        user_id: i64,
        fresh: &str,
        now: i64,
        stale_before: i64,
    ) -> sqlx::Result<Option<String>> {
        sqlx::query(
            "INSERT INTO two_factor (user_id, secret, enabled, created_at, enabled_at, last_step)
             VALUES ($1, $2, 0, $3, NULL, 0)
             ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at
             WHERE two_factor.enabled = 0 AND two_factor.created_at < $4",
        )
        .bind(user_id)
        .bind(fresh)
        .bind(now)
        .bind(stale_before)
        .execute(self.pool())
        .await?;
        let row: Option<(String,)> =
            sqlx::query_as("SELECT secret FROM two_factor WHERE user_id = $1 AND enabled = 0")
                .bind(user_id)
                .fetch_optional(self.pool())
                .await?;
        Ok(row.map(|(s,)| s))
    }

    /// Switches two-factor login on with the pending `secret` (confirmed by the code of
    /// `step`, which is then used), replaces the recovery codes by `recovery_hashes`, and
    /// records it, in one transaction. False (nothing changed) when it is on already or the
    /// pending secret is another one by now.
    pub async fn enable_two_factor(
        &self,
        user_id: i64,
        secret: &str,
        step: i64,
        recovery_hashes: &[String],
        address: &str,
        now: i64,
    ) -> sqlx::Result<bool> {
        let mut tx = self.begin_write().await?;
        let switched = sqlx::query(
            "UPDATE two_factor SET enabled = 1, enabled_at = $3, last_step = $4
             WHERE user_id = $1 AND secret = $2 AND enabled = 0",
        )
        .bind(user_id)
        .bind(secret)
        .bind(now)
        .bind(step)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if switched != 1 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM two_factor_recovery_codes WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        for hash in recovery_hashes {
            sqlx::query(
                "INSERT INTO two_factor_recovery_codes (user_id, code_hash, used_at) VALUES ($1, $2, NULL)",
            )
            .bind(user_id)
            .bind(hash)
            .execute(&mut *tx)
            .await?;
        }
        audit::record(&mut tx, Some(user_id), "two_factor_on", "", address).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Uses the TOTP code of `step`: true when the step is later than the last one accepted
    /// (and is now the last one); false when it was used already, or two-factor login is off.
    pub async fn use_totp_step(&self, user_id: i64, step: i64) -> sqlx::Result<bool> {
        let done = sqlx::query(
            "UPDATE two_factor SET last_step = $2 WHERE user_id = $1 AND enabled = 1 AND last_step < $2",
        )
        .bind(user_id)
        .bind(step)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Uses the recovery code whose hash is `hash`, once, with its activity-log entry.
    pub async fn use_recovery_code(
        &self,
        user_id: i64,
        hash: &str,
        address: &str,
        now: i64,
    ) -> sqlx::Result<Outcome> {
        let mut tx = self.begin_write().await?;
        let used = sqlx::query(
            "UPDATE two_factor_recovery_codes SET used_at = $3
             WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL
               AND EXISTS (SELECT 1 FROM two_factor t WHERE t.user_id = $1 AND t.enabled = 1)",
        )
        .bind(user_id)
        .bind(hash)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if used == 1 {
            let (left,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM two_factor_recovery_codes WHERE user_id = $1 AND used_at IS NULL",
            )
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await?;
            let detail = format!("{left} left");
            audit::record(
                &mut tx,
                Some(user_id),
                "two_factor_recovery_code",
                &detail,
                address,
            )
            .await?;
            tx.commit().await?;
            return Ok(Outcome::RecoveryCode);
        }
        let (spent,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM two_factor_recovery_codes WHERE user_id = $1 AND code_hash = $2",
        )
        .bind(user_id)
        .bind(hash)
        .fetch_one(&mut *tx)
        .await?;
        Ok(if spent > 0 {
            Outcome::Reused
        } else {
            Outcome::Wrong
        })
    }

    /// Recovery codes not used yet.
    pub async fn recovery_codes_left(&self, user_id: i64) -> sqlx::Result<i64> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM two_factor_recovery_codes WHERE user_id = $1 AND used_at IS NULL",
        )
        .bind(user_id)
        .fetch_one(self.pool())
        .await?;
        Ok(n)
    }

    /// Switches two-factor login off: the secret and the recovery codes are deleted, and it
    /// is recorded, in one transaction. False when it was off.
    pub async fn disable_two_factor(&self, user_id: i64, address: &str) -> sqlx::Result<bool> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("DELETE FROM two_factor WHERE user_id = $1 AND enabled = 1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n != 1 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM two_factor_recovery_codes WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        audit::record(&mut tx, Some(user_id), "two_factor_off", "", address).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The user name (the login attempts are counted under it) and whether the account is
    /// blocked.
    pub async fn login_name(&self, user_id: i64) -> sqlx::Result<Option<(String, bool)>> {
        let row: Option<(String, i64)> =
            sqlx::query_as("SELECT username, blocked FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_optional(self.pool())
                .await?;
        Ok(row.map(|(name, blocked)| (name, blocked != 0)))
    }
}
