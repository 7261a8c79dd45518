//! Faxes: a file in the data directory and its metadata.

use serde::Deserialize;
use sqlx::FromRow;

use super::call_list::{Cursor, Key};
use super::json_rows;
use super::keyset_page::Window;
use super::Store;

/// Which faxes a list shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FaxFilter {
    pub from: i64,
    /// Exclusive.
    pub until: i64,
    /// `received`, `sent`, `failed`; None: all.
    pub status: Option<&'static str>,
    /// None: every device of the user.
    pub device_id: Option<i64>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct FaxRow {
    pub id: i64,
    pub device_type: String,
    pub device_username: String,
    pub file_name: String,
    pub received_at: i64,
    pub sender: String,
    pub status: String,
    pub pages: i64,
}

impl FaxRow {
    pub fn key(&self) -> Key {
        Key {
            started_at: self.received_at,
            id: self.id,
        }
    }
}

/// Where a fax's file is: `file_path` is relative to the data directory.
#[derive(Clone, Debug, FromRow)]
pub struct FaxFile {
    pub file_name: String,
    pub file_path: String,
}

/// A device faxes can be filtered by.
#[derive(Clone, Debug, FromRow)]
pub struct FaxDevice {
    pub id: i64,
    pub device_type: String,
    pub username: String,
}

impl Store {
    /// A page of at most `limit` of the user's faxes in the filter, newest first (an index range
    /// scan of `faxes_user` from the page position).
    pub async fn fax_page(
        &self,
        user_id: i64,
        f: &FaxFilter,
        cursor: Cursor,
        limit: u32,
    ) -> sqlx::Result<Window<FaxRow, Key>> {
        let limit = limit.clamp(1, 1000);
        let position = cursor.time_range_sql("f.received_at", "f.id", 7);
        let columns = "f.id, d.device_type, d.username AS device_username, f.file_name, \
                       f.received_at, f.sender, f.status, f.pages";
        let page = format!(
            "SELECT {columns}
             FROM faxes f JOIN devices d ON d.id = f.device_id
             WHERE f.user_id = $1 AND f.received_at >= $2 AND f.received_at < $3
               AND ($4 = '' OR f.status = $4) AND ($5 = 0 OR f.device_id = $5){}
             ORDER BY {}
             LIMIT $6",
            position.and, position.order
        );
        let list = json_rows::Listing::new(self.backend(), columns, &position.order);
        let sql = list.sql(&page);
        let mut q = sqlx::query_as(&sql)
            .bind(user_id)
            .bind(f.from)
            .bind(f.until)
            .bind(f.status.unwrap_or(""))
            .bind(f.device_id.unwrap_or(0))
            .bind(limit as i64 + 1);
        if let Some(k) = position.key {
            q = q.bind(k.started_at).bind(k.id);
        }
        let rows = list.fetch(q, self.reader()).await?;
        Ok(Window::settle(rows, &cursor, false, limit, FaxRow::key))
    }

    /// The file of one of the user's faxes.
    pub async fn fax_file(&self, user_id: i64, fax_id: i64) -> sqlx::Result<Option<FaxFile>> {
        sqlx::query_as("SELECT file_name, file_path FROM faxes WHERE id = $1 AND user_id = $2")
            .bind(fax_id)
            .bind(user_id)
            .fetch_optional(self.pool())
            .await
    }

    /// The user's fax devices, for the device filter.
    pub async fn fax_devices(&self, user_id: i64) -> sqlx::Result<Vec<FaxDevice>> {
        sqlx::query_as(
            "SELECT id, device_type, username FROM devices
             WHERE user_id = $1 AND device_type = 'FAX' ORDER BY id",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await
    }
}
