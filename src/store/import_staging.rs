//! Where an import on SQLite keeps its calls while it reads its files (`billing::import`).
//! SQLite has one writer at a time: an import that wrote straight into `calls` held the lock
//! for as long as its files took to read, and subscribers' writes (a login, a setting) waited
//! and then failed. A TEMP table lives in the connection's own temporary database, so writing it
//! takes no lock on the main one; the calls are then published into `calls` a slice at a time,
//! each slice one short transaction.

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection};

use super::cdrs::{insert_into, ImportedCall, IMPORT_COLUMN_NAMES};
use super::Store;

/// A connection holding the staging table (which lives and dies with it).
pub struct Staging {
    conn: PoolConnection<Any>,
    staged: i64,
}

impl Staging {
    pub async fn open(store: &Store) -> sqlx::Result<Staging> {
        let mut conn = store.pool().acquire().await?;
        for sql in [
            // On disk, not in memory: an import may stage millions of calls.
            "PRAGMA temp_store = FILE",
            // A bigger page cache for the call indexes the publish writes.
            "PRAGMA cache_size = -65536",
            "DROP TABLE IF EXISTS temp.import_staging",
            "CREATE TEMP TABLE import_staging (
                seq INTEGER PRIMARY KEY, user_id INTEGER, device_id INTEGER, started_at INTEGER,
                src TEXT, dst TEXT, destination_id INTEGER, direction TEXT, disposition TEXT,
                duration_s INTEGER, billsec INTEGER, price_micros INTEGER, rating_status TEXT,
                unique_id TEXT UNIQUE, seen INTEGER, control_flag TEXT, b_leg_uuid TEXT)",
        ] {
            sqlx::query(sql).execute(&mut *conn).await?;
        }
        Ok(Staging { conn, staged: 0 })
    }

    /// Adds calls (one the staging already has, by its key, is left out).
    pub async fn stage(&mut self, calls: &[ImportedCall]) -> sqlx::Result<()> {
        // Rows get positions 1, 2, 3 … in order, and a row left out takes none.
        self.staged += insert_into(&mut self.conn, "temp.import_staging", calls).await? as i64;
        Ok(())
    }

    /// The highest position staged: slices are `(from, to]` up to it.
    pub fn staged(&self) -> i64 {
        self.staged
    }

    /// The connection, for the transactions that publish.
    pub fn connection(&mut self) -> &mut AnyConnection {
        &mut self.conn
    }

    pub async fn close(mut self) -> sqlx::Result<()> {
        sqlx::query("DROP TABLE IF EXISTS temp.import_staging")
            .execute(&mut *self.conn)
            .await?;
        Ok(())
    }
}

/// Copies the staged calls at positions `(from, to]` into `calls` (those it already has, by
/// key, are left out), inside the caller's transaction on the staging connection. Returns
/// (user id, started at, rating status, price) of the calls it added.
pub async fn publish(
    c: &mut AnyConnection,
    from: i64,
    to: i64,
) -> sqlx::Result<Vec<(i64, i64, Option<String>, Option<i64>)>> {
    sqlx::query_as(&format!(
        "INSERT INTO calls ({IMPORT_COLUMN_NAMES})
         SELECT {IMPORT_COLUMN_NAMES} FROM temp.import_staging WHERE seq > $1 AND seq <= $2
         ORDER BY seq
         ON CONFLICT DO NOTHING
         RETURNING user_id, started_at, rating_status, price_micros"
    ))
    .bind(from)
    .bind(to)
    .fetch_all(c)
    .await
}
