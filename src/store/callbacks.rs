//! Callback requests: what a subscriber asked the PBX to dial, and how it went.

use sqlx::FromRow;

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

#[derive(Clone, Debug, FromRow)]
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

    /// Records a request; returns its id.
    pub async fn insert_callback(
        &self,
        user_id: i64,
        device_id: i64,
        src: &str,
        dst: &str,
        at: i64,
    ) -> sqlx::Result<i64> {
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO callback_requests (user_id, device_id, src, dst, status, reason, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, '', $6, $6) RETURNING id",
        )
        .bind(user_id)
        .bind(device_id)
        .bind(src)
        .bind(dst)
        .bind(CallbackStatus::Queued.as_str())
        .bind(at)
        .fetch_one(self.pool())
        .await?;
        Ok(id)
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

    /// The user's newest `limit` requests, newest first.
    pub async fn callbacks(&self, user_id: i64, limit: i64) -> sqlx::Result<Vec<CallbackRow>> {
        sqlx::query_as(
            "SELECT r.id, d.device_type, d.username AS device_username, r.src, r.dst, r.status,
                    r.reason, r.created_at, r.updated_at
             FROM callback_requests r JOIN devices d ON d.id = r.device_id
             WHERE r.user_id = $1
             ORDER BY r.created_at DESC, r.id DESC
             LIMIT $2",
        )
        .bind(user_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await
    }
}
