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

    pub async fn set_password(&self, user_id: i64, hash: &str) -> sqlx::Result<()> {
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(hash)
            .bind(user_id)
            .execute(self.pool())
            .await?;
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

    pub async fn create_reset_token(
        &self,
        user_id: i64,
        digest: &str,
        expires_at: i64,
    ) -> sqlx::Result<()> {
        sqlx::query(
            "INSERT INTO password_reset_tokens (user_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(user_id)
        .bind(digest)
        .bind(crate::time::now())
        .bind(expires_at)
        .execute(self.pool())
        .await?;
        Ok(())
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
        let mut tx = self.pool().begin().await?;
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
