//! Devices (SIP, IAX2, FAX …) and the caller IDs (CLIs) on them. CLIs are unique across the
//! whole table: one number can identify one device only.

use sqlx::FromRow;

use super::audit;
use super::Store;

#[derive(Clone, Debug, FromRow)]
pub struct Device {
    pub id: i64,
    pub device_type: String,
    pub description: String,
    pub extension: String,
    pub username: String,
    /// The SIP/IAX secret.
    pub secret: String,
    pub caller_id: String,
    pub last_registered_at: Option<i64>,
}

impl Device {
    /// `IAX2/101`: the channel name the PBX and the contract call the device by.
    pub fn label(&self) -> String {
        format!("{}/{}", self.device_type, self.username)
    }
}

#[derive(Clone, Debug, FromRow)]
pub struct Cli {
    pub id: i64,
    pub device_id: i64,
    pub device_type: String,
    pub device_username: String,
    pub cli: String,
    pub description: String,
    pub added_at: i64,
}

impl Cli {
    pub fn device_label(&self) -> String {
        format!("{}/{}", self.device_type, self.device_username)
    }
}

/// The result of adding a caller ID.
#[derive(Debug, PartialEq, Eq)]
pub enum AddCli {
    Added(i64),
    /// The number is already a caller ID; `own_device` names the user's device that has it
    /// (None: another account's, which is not named).
    Duplicate {
        own_device: Option<String>,
    },
    /// The device is not the user's (the handler checked it; this is the store's own guard).
    NoSuchDevice,
}

impl Store {
    pub async fn devices(&self, user_id: i64) -> sqlx::Result<Vec<Device>> {
        sqlx::query_as(
            "SELECT id, device_type, description, extension, username, secret, caller_id, last_registered_at
             FROM devices WHERE user_id = $1 ORDER BY extension, id",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await
    }

    pub async fn clis(&self, user_id: i64) -> sqlx::Result<Vec<Cli>> {
        sqlx::query_as(
            "SELECT c.id, c.device_id, d.device_type, d.username AS device_username, c.cli, c.description, c.added_at
             FROM clis c JOIN devices d ON d.id = c.device_id
             WHERE d.user_id = $1 ORDER BY d.extension, c.cli",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await
    }

    /// Adds caller ID `cli` (digits) to the user's device, with its activity-log event.
    pub async fn add_cli(
        &self,
        user_id: i64,
        device_id: i64,
        cli: &str,
        description: &str,
        address: &str,
    ) -> sqlx::Result<AddCli> {
        let mut tx = self.pool().begin().await?;
        // Writing first (not checking first) takes SQLite's write lock at once and lets the
        // UNIQUE constraint decide a race between two subscribers.
        let inserted: Result<Option<(i64,)>, sqlx::Error> = sqlx::query_as(
            "INSERT INTO clis (device_id, cli, description, added_at)
             SELECT d.id, $2, $3, $4 FROM devices d WHERE d.id = $1 AND d.user_id = $5
             RETURNING id",
        )
        .bind(device_id)
        .bind(cli)
        .bind(description)
        .bind(crate::time::now())
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await;
        let id = match inserted {
            Ok(Some((id,))) => id,
            Ok(None) => return Ok(AddCli::NoSuchDevice),
            Err(e) if is_unique_violation(&e) => {
                drop(tx);
                let owner: Option<(i64, String)> = sqlx::query_as(
                    "SELECT d.user_id, d.device_type || '/' || d.username
                     FROM clis c JOIN devices d ON d.id = c.device_id WHERE c.cli = $1",
                )
                .bind(cli)
                .fetch_optional(self.pool())
                .await?;
                return Ok(AddCli::Duplicate {
                    own_device: owner.filter(|(u, _)| *u == user_id).map(|(_, d)| d),
                });
            }
            Err(e) => return Err(e),
        };
        let (device,): (String,) =
            sqlx::query_as("SELECT device_type || '/' || username FROM devices WHERE id = $1")
                .bind(device_id)
                .fetch_one(&mut *tx)
                .await?;
        audit::record(
            &mut tx,
            Some(user_id),
            "cli_added",
            &format!("{cli} on {device}"),
            address,
        )
        .await?;
        tx.commit().await?;
        Ok(AddCli::Added(id))
    }

    /// Deletes one of the user's caller IDs; false when it is not theirs (nothing deleted).
    pub async fn delete_cli(&self, user_id: i64, cli_id: i64, address: &str) -> sqlx::Result<bool> {
        let mut tx = self.pool().begin().await?;
        let deleted: Option<(String,)> = sqlx::query_as(
            "DELETE FROM clis WHERE id = $1
               AND device_id IN (SELECT id FROM devices WHERE user_id = $2)
             RETURNING cli",
        )
        .bind(cli_id)
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((cli,)) = deleted else {
            return Ok(false);
        };
        audit::record(&mut tx, Some(user_id), "cli_deleted", &cli, address).await?;
        tx.commit().await?;
        Ok(true)
    }
}

pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}
