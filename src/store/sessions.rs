//! Login sessions as the server knows them: a session store (cookie or Redis) holds the id, this
//! table says whether it is still alive.

use super::Store;

impl Store {
    /// Records a new session of `user_id` and returns its id.
    pub async fn start_session(
        &self,
        user_id: i64,
        kind: &str,
        address: &str,
    ) -> sqlx::Result<String> {
        let id = crate::tokens::random_token();
        sqlx::query("INSERT INTO user_sessions (id, user_id, kind, address, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&id)
            .bind(user_id)
            .bind(kind)
            .bind(address)
            .bind(crate::time::now())
            .execute(self.pool())
            .await?;
        Ok(id)
    }

    /// The user of a live session, or None when it ended or never existed.
    pub async fn session_user(&self, id: &str) -> sqlx::Result<Option<i64>> {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT user_id FROM user_sessions WHERE id = $1 AND ended_at IS NULL")
                .bind(id)
                .fetch_optional(self.pool())
                .await?;
        Ok(row.map(|r| r.0))
    }

    pub async fn end_session(&self, id: &str) -> sqlx::Result<()> {
        sqlx::query("UPDATE user_sessions SET ended_at = $1 WHERE id = $2 AND ended_at IS NULL")
            .bind(crate::time::now())
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Ends every live session of the user except `keep` (the one making the change, if any).
    pub async fn end_user_sessions(&self, user_id: i64, keep: Option<&str>) -> sqlx::Result<u64> {
        let done = sqlx::query(
            "UPDATE user_sessions SET ended_at = $1 WHERE user_id = $2 AND ended_at IS NULL AND id <> $3",
        )
        .bind(crate::time::now())
        .bind(user_id)
        .bind(keep.unwrap_or(""))
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }
}
