//! The activity log: what happened to an account, shown to its owner.

use sqlx::AnyConnection;

use super::keyset_page::{Cursor, Key, Window};
use super::Store;

impl Store {
    /// Records an event. `user_id` is None for events of no known account (a failed login of an
    /// unknown name). `detail` is shown to the subscriber: never a password or a token.
    pub async fn audit(
        &self,
        user_id: Option<i64>,
        action: &str,
        detail: &str,
        address: &str,
    ) -> sqlx::Result<()> {
        let mut conn = self.pool().acquire().await?;
        record(&mut conn, user_id, action, detail, address).await
    }
}

/// `Store::audit` on a given connection, so a change and its event commit (or not) together.
pub async fn record(
    conn: &mut AnyConnection,
    user_id: Option<i64>,
    action: &str,
    detail: &str,
    address: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (user_id, at, action, detail, address) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(user_id)
    .bind(crate::time::now())
    .bind(action)
    .bind(detail)
    .bind(address)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Debug, sqlx::FromRow, serde::Deserialize)]
pub struct Event {
    pub id: i64,
    pub at: i64,
    pub action: String,
    pub detail: String,
    pub address: String,
}

impl Event {
    /// Its place in the log, newest first: when, then id.
    pub fn key(&self) -> Key<i64> {
        Key {
            sort: self.at,
            id: self.id,
        }
    }
}

impl Store {
    /// A page of at most `limit` of the user's events, newest first, from `cursor`.
    pub async fn activity_page(
        &self,
        user_id: i64,
        cursor: &Cursor<Key<i64>>,
        limit: u32,
    ) -> sqlx::Result<Window<Event, Key<i64>>> {
        self.newest_first(
            (
                "id, at, action, detail, address",
                "FROM audit_log WHERE user_id = $1",
            ),
            ("at", "id"),
            user_id,
            cursor,
            limit,
            Event::key,
        )
        .await
    }
}

impl Store {
    /// When the user's events of one kind happened since `since` (a throttle's count).
    pub async fn recent_events(
        &self,
        user_id: i64,
        action: &str,
        since: i64,
    ) -> sqlx::Result<Vec<i64>> {
        let rows: Vec<(i64,)> = sqlx::query_as(
            "SELECT at FROM audit_log WHERE user_id = $1 AND action = $2 AND at >= $3",
        )
        .bind(user_id)
        .bind(action)
        .bind(since)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }
}
