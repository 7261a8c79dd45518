//! Operator settings stored in the database (`settings`): one text value per name.

use super::Store;

/// The MOR API secret key's name in `settings`.
pub const MOR_API_SECRET_KEY: &str = "mor_api_secret_key";

impl Store {
    pub async fn setting(&self, name: &str) -> sqlx::Result<Option<String>> {
        let row: Option<(String,)> = sqlx::query_as("SELECT value FROM settings WHERE name = $1")
            .bind(name)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|(v,)| v))
    }

    pub async fn set_setting(&self, name: &str, value: &str) -> sqlx::Result<()> {
        sqlx::query(
            "INSERT INTO settings (name, value) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        )
        .bind(name)
        .bind(value)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// True when the setting was there.
    pub async fn clear_setting(&self, name: &str) -> sqlx::Result<bool> {
        let done = sqlx::query("DELETE FROM settings WHERE name = $1")
            .bind(name)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// What a stateless API call re-checks on every request, by user id: the current password
    /// hash, whether the user is blocked, and whether two-factor login is on (one indexed read).
    pub async fn stateless_login_state(
        &self,
        user_id: i64,
    ) -> sqlx::Result<Option<(String, i64, i64)>> {
        sqlx::query_as(
            "SELECT u.password_hash, u.blocked,
                    (SELECT COUNT(*) FROM two_factor t WHERE t.user_id = u.id AND t.enabled = 1)
             FROM users u WHERE u.id = $1",
        )
        .bind(user_id)
        .fetch_optional(self.pool())
        .await
    }
}
