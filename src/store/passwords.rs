//! Passwords and password-reset tokens (kept only as SHA-256 digests).

use super::Store;

impl Store {
    /// The user name and password hash of a user.
    pub async fn password_of(&self, user_id: i64) -> sqlx::Result<Option<(String, String)>> {
        sqlx::query_as("SELECT username, password_hash FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(self.pool())
            .await
    }

    /// A new password; any reset link still out is void with it.
    pub async fn set_password(&self, user_id: i64, hash: &str) -> sqlx::Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(hash)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        void_reset_tokens(&mut tx, user_id, crate::time::now()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The account a reset request names, by user name or e-mail (case-insensitive):
    /// (id, user name, e-mail, language).
    pub async fn reset_candidate(
        &self,
        who: &str,
    ) -> sqlx::Result<Option<(i64, String, String, String)>> {
        sqlx::query_as(
            "SELECT id, username, reg_email, language FROM users
             WHERE blocked = 0 AND (username = $1 OR (reg_email <> '' AND LOWER(reg_email) = LOWER($1)))
             ORDER BY id LIMIT 1",
        )
        .bind(who)
        .fetch_optional(self.pool())
        .await
    }

    /// Makes the account's one live token: earlier unused ones are void from now on.
    pub async fn create_reset_token(
        &self,
        user_id: i64,
        digest: &str,
        expires_at: i64,
    ) -> sqlx::Result<()> {
        let now = crate::time::now();
        let mut tx = self.begin_write().await?;
        void_reset_tokens(&mut tx, user_id, now).await?;
        sqlx::query(
            "INSERT INTO password_reset_tokens (user_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(user_id)
        .bind(digest)
        .bind(now)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Tokens made for the account since `since` (the per-account throttle).
    pub async fn reset_tokens_since(&self, user_id: i64, since: i64) -> sqlx::Result<i64> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM password_reset_tokens WHERE user_id = $1 AND created_at >= $2",
        )
        .bind(user_id)
        .bind(since)
        .fetch_one(self.pool())
        .await?;
        Ok(n)
    }

    /// Reset requests from an address since `since`, whatever account they named (the
    /// per-address throttle; each request is in the activity log, unknown names too).
    pub async fn reset_requests_from(&self, address: &str, since: i64) -> sqlx::Result<Vec<i64>> {
        let rows: Vec<(i64,)> = sqlx::query_as(
            "SELECT at FROM audit_log WHERE action = 'password_reset_asked' AND address = $1 AND at >= $2",
        )
        .bind(address)
        .bind(since)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// The user of an unused, unexpired token.
    pub async fn reset_token_user(&self, digest: &str) -> sqlx::Result<Option<i64>> {
        let row: Option<(i64,)> = sqlx::query_as(
            "SELECT user_id FROM password_reset_tokens WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
        )
        .bind(digest)
        .bind(crate::time::now())
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|r| r.0))
    }

    /// Sets the password through a token, once: the token is spent in the same transaction, and
    /// every session of the user ends. Returns the user, or None when the token was not valid.
    pub async fn reset_password(&self, digest: &str, hash: &str) -> sqlx::Result<Option<i64>> {
        let now = crate::time::now();
        let mut tx = self.begin_write().await?;
        let row: Option<(i64,)> = sqlx::query_as(
            "UPDATE password_reset_tokens SET used_at = $1
             WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING user_id",
        )
        .bind(now)
        .bind(digest)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((user_id,)) = row else {
            return Ok(None);
        };
        void_reset_tokens(&mut tx, user_id, now).await?;
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(hash)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE user_sessions SET ended_at = $1 WHERE user_id = $2 AND ended_at IS NULL",
        )
        .bind(now)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(user_id))
    }
}

/// Spends every unused token of the account.
async fn void_reset_tokens(
    c: &mut sqlx::AnyConnection,
    user_id: i64,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE password_reset_tokens SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL",
    )
    .bind(now)
    .bind(user_id)
    .execute(c)
    .await?;
    Ok(())
}
