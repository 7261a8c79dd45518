//! Login attempts, for the brute-force policy of `login_guard`.

use super::Store;
use crate::login_guard::{Failures, LoginPolicy};

impl Store {
    /// Records an attempt as failed BEFORE its password is checked, and returns its id: guesses
    /// sent all at once each see the ones reserved before them, so no more of them are checked
    /// than the policy allows (see `pages::account::login::authenticate`).
    pub async fn reserve_login_attempt(&self, username: &str, address: &str) -> sqlx::Result<i64> {
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO login_attempts (username, address, at, ok) VALUES ($1, $2, $3, 0) RETURNING id",
        )
        .bind(username)
        .bind(address)
        .bind(crate::time::now())
        .fetch_one(self.pool())
        .await?;
        Ok(id)
    }

    /// The password was right: the reserved attempt becomes a success.
    pub async fn login_succeeded(&self, attempt: i64) -> sqlx::Result<()> {
        sqlx::query("UPDATE login_attempts SET ok = 1 WHERE id = $1")
            .bind(attempt)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// An attempt refused before its password was checked (locked) counts for nothing.
    pub async fn drop_login_attempt(&self, attempt: i64) -> sqlx::Result<()> {
        sqlx::query("DELETE FROM login_attempts WHERE id = $1")
            .bind(attempt)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Failures since the last success of the same kind, within the policy's windows, besides
    /// the caller's own `attempt` (reserved just before, and a failure until its password is
    /// found right).
    pub async fn login_failures(
        &self,
        username: &str,
        address: &str,
        attempt: i64,
        policy: &LoginPolicy,
    ) -> sqlx::Result<Failures> {
        let now = crate::time::now();
        sqlx::query_as(
            "SELECT
               (SELECT COUNT(*) FROM login_attempts WHERE username = $1 AND address = $2 AND ok = 0 AND at > $3 AND id <> $6
                  AND at > COALESCE((SELECT MAX(at) FROM login_attempts WHERE username = $1 AND address = $2 AND ok = 1), 0)) AS pair,
               (SELECT MIN(at) FROM login_attempts WHERE username = $1 AND address = $2 AND ok = 0 AND at > $3 AND id <> $6
                  AND at > COALESCE((SELECT MAX(at) FROM login_attempts WHERE username = $1 AND address = $2 AND ok = 1), 0)) AS pair_oldest,
               (SELECT COUNT(*) FROM login_attempts WHERE address = $2 AND ok = 0 AND at > $3 AND id <> $6) AS address,
               (SELECT MIN(at) FROM login_attempts WHERE address = $2 AND ok = 0 AND at > $3 AND id <> $6) AS address_oldest,
               (SELECT COUNT(*) FROM login_attempts WHERE username = $1 AND ok = 0 AND at > $4 AND id <> $6) AS \"user\",
               (SELECT MAX(at) FROM login_attempts WHERE username = $1 AND ok = 0 AND at > $4 AND id <> $6) AS user_newest,
               (SELECT COUNT(*) FROM login_attempts WHERE username = $1 AND address = $2 AND ok = 1 AND at > $5) AS known_address",
        )
        .bind(username)
        .bind(address)
        .bind(now - policy.window_s)
        .bind(now - policy.user_window_s)
        .bind(now - LoginPolicy::KNOWN_ADDRESS_DAYS * 86_400)
        .bind(attempt)
        .fetch_one(self.pool())
        .await
    }
}
