//! Callback requests: what a subscriber asked the PBX to dial, and how it went.

use serde::Deserialize;
use sqlx::FromRow;

use super::call_list::{Cursor, Key};
use super::json_rows;
use super::keyset_page::Window;
use super::Store;

/// Where a callback request stands. `Failed` comes with a reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallbackStatus {
    /// Recorded; not (yet) handed to a PBX.
    Queued,
    /// The PBX accepted the originate and is ringing the source number.
    Dialing,
    /// The source number answered and the PBX is connecting it to the destination.
    Answered,
    Failed,
}

impl CallbackStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CallbackStatus::Queued => "queued",
            CallbackStatus::Dialing => "dialing",
            CallbackStatus::Answered => "answered",
            CallbackStatus::Failed => "failed",
        }
    }
}

/// A device a callback can be placed for (phones, not fax machines).
#[derive(Clone, Debug, FromRow)]
pub struct CallDevice {
    pub id: i64,
    pub device_type: String,
    pub username: String,
    pub caller_id: String,
}

impl CallDevice {
    /// `SIP/101`, as the XML pages name devices.
    pub fn label(&self) -> String {
        format!("{}/{}", self.device_type, self.username)
    }
}

/// A callback request to record.
pub struct NewCallback<'a> {
    pub user_id: i64,
    pub device_id: i64,
    pub src: &'a str,
    pub dst: &'a str,
    pub at: i64,
}

/// At most `max` requests per user within `window_s` seconds.
pub struct CallbackLimit {
    pub window_s: i64,
    pub max: i64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct CallbackRow {
    pub id: i64,
    pub device_type: String,
    pub device_username: String,
    pub src: String,
    pub dst: String,
    pub status: String,
    pub reason: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl CallbackRow {
    pub fn key(&self) -> Key {
        Key {
            started_at: self.created_at,
            id: self.id,
        }
    }
}

impl Store {
    /// The user's devices that can place calls, in the order they were added.
    pub async fn call_devices(&self, user_id: i64) -> sqlx::Result<Vec<CallDevice>> {
        sqlx::query_as(
            "SELECT id, device_type, username, caller_id FROM devices
             WHERE user_id = $1 AND device_type <> 'FAX' ORDER BY id",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await
    }

    /// Records a request and returns its id, unless the user has already made `max` requests
    /// within `window_s` for one of `limits`: then `Err(seconds until one frees up)`. Counted
    /// and inserted under the user's row lock, so requests sent at once cannot pass together.
    pub async fn insert_callback(
        &self,
        request: &NewCallback<'_>,
        limits: &[CallbackLimit],
    ) -> sqlx::Result<Result<i64, i64>> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE users SET id = id WHERE id = $1")
            .bind(request.user_id)
            .execute(&mut *tx)
            .await?;
        for limit in limits {
            let (count, oldest): (i64, Option<i64>) = sqlx::query_as(
                "SELECT COUNT(*), MIN(created_at) FROM callback_requests
                 WHERE user_id = $1 AND created_at > $2",
            )
            .bind(request.user_id)
            .bind(request.at - limit.window_s)
            .fetch_one(&mut *tx)
            .await?;
            if count >= limit.max {
                let free_at = oldest.unwrap_or(request.at) + limit.window_s;
                return Ok(Err((free_at - request.at).max(1)));
            }
        }
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO callback_requests (user_id, device_id, src, dst, status, reason, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, '', $6, $6) RETURNING id",
        )
        .bind(request.user_id)
        .bind(request.device_id)
        .bind(request.src)
        .bind(request.dst)
        .bind(CallbackStatus::Queued.as_str())
        .bind(request.at)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Ok(id))
    }

    /// The numbers a callback may ring first for this user: the caller IDs (CLIs) and
    /// extensions of their phones.
    pub async fn own_numbers(&self, user_id: i64) -> sqlx::Result<Vec<String>> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT c.cli FROM clis c JOIN devices d ON d.id = c.device_id
             WHERE d.user_id = $1 AND d.device_type <> 'FAX'
             UNION
             SELECT extension FROM devices WHERE user_id = $1 AND device_type <> 'FAX'",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|(n,)| n).collect())
    }

    pub async fn set_callback_status(
        &self,
        id: i64,
        status: CallbackStatus,
        reason: &str,
    ) -> sqlx::Result<()> {
        sqlx::query(
            "UPDATE callback_requests SET status = $1, reason = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(status.as_str())
        .bind(reason)
        .bind(crate::time::now())
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// A page of at most `limit` of the user's requests, newest first (an index range scan of
    /// `callback_requests_user` from the page position).
    pub async fn callback_page(
        &self,
        user_id: i64,
        cursor: Cursor,
        limit: u32,
    ) -> sqlx::Result<Window<CallbackRow, Key>> {
        let limit = limit.clamp(1, 1000);
        let position = cursor.time_range_sql("r.created_at", "r.id", 3);
        let columns = "r.id, d.device_type, d.username AS device_username, r.src, r.dst, \
                       r.status, r.reason, r.created_at, r.updated_at";
        let page = format!(
            "SELECT {columns}
             FROM callback_requests r JOIN devices d ON d.id = r.device_id
             WHERE r.user_id = $1{}
             ORDER BY {}
             LIMIT $2",
            position.and, position.order
        );
        let list = json_rows::Listing::new(self.backend(), columns, &position.order);
        let sql = list.sql(&page);
        let mut q = sqlx::query_as(&sql).bind(user_id).bind(limit as i64 + 1);
        if let Some(k) = position.key {
            q = q.bind(k.started_at).bind(k.id);
        }
        let rows = list.fetch(q, self.pool()).await?;
        Ok(Window::settle(
            rows,
            &cursor,
            false,
            limit,
            CallbackRow::key,
        ))
    }
}
