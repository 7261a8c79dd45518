//! Login attempts, for the brute-force policy of `login_guard`.

use super::Store;
use crate::login_guard::{Failures, LoginPolicy};

impl Store {
    pub async fn record_login_attempt(
        &self,
        username: &str,
        address: &str,
        ok: bool,
    ) -> sqlx::Result<()> {
        sqlx::query(
            "INSERT INTO login_attempts (username, address, at, ok) VALUES ($1, $2, $3, $4)",
        )
        .bind(username)
        .bind(address)
        .bind(crate::time::now())
        .bind(ok as i64)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Failures since the last success of the same kind, within the policy's windows.
    pub async fn login_failures(
        &self,
        username: &str,
        address: &str,
        policy: &LoginPolicy,
    ) -> sqlx::Result<Failures> {
        let now = crate::time::now();
        sqlx::query_as(
            "SELECT
               (SELECT COUNT(*) FROM login_attempts WHERE username = $1 AND address = $2 AND ok = 0 AND at > $3
                  AND at > COALESCE((SELECT MAX(at) FROM login_attempts WHERE username = $1 AND address = $2 AND ok = 1), 0)) AS pair,
               (SELECT MIN(at) FROM login_attempts WHERE username = $1 AND address = $2 AND ok = 0 AND at > $3
                  AND at > COALESCE((SELECT MAX(at) FROM login_attempts WHERE username = $1 AND address = $2 AND ok = 1), 0)) AS pair_oldest,
               (SELECT COUNT(*) FROM login_attempts WHERE address = $2 AND ok = 0 AND at > $3) AS address,
               (SELECT MIN(at) FROM login_attempts WHERE address = $2 AND ok = 0 AND at > $3) AS address_oldest,
               (SELECT COUNT(*) FROM login_attempts WHERE username = $1 AND ok = 0 AND at > $4) AS \"user\",
               (SELECT MIN(at) FROM login_attempts WHERE username = $1 AND ok = 0 AND at > $4) AS user_oldest,
               (SELECT COUNT(*) FROM login_attempts WHERE username = $1 AND address = $2 AND ok = 1 AND at > $5) AS known_address",
        )
        .bind(username)
        .bind(address)
        .bind(now - policy.window_s)
        .bind(now - policy.user_window_s)
        .bind(now - LoginPolicy::KNOWN_ADDRESS_DAYS * 86_400)
        .fetch_one(self.pool())
        .await
    }
}
