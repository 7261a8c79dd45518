//! What the TM Forum party and customer resources (`crate::tmf`) show beside the personal
//! details: the login name, whether the operator blocked the subscriber, and since when the
//! subscriber exists. Read only; the details themselves are `details.rs`.

use sqlx::FromRow;

use super::Store;

#[derive(Clone, Debug, FromRow)]
pub struct PartyStanding {
    pub username: String,
    /// Not 0: the operator blocked the subscriber.
    pub blocked: i64,
    /// Epoch seconds.
    pub created_at: i64,
}

impl Store {
    pub async fn party_standing(&self, user_id: i64) -> sqlx::Result<Option<PartyStanding>> {
        sqlx::query_as("SELECT username, blocked, created_at FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(self.pool())
            .await
    }
}
