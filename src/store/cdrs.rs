//! Call records in bulk: the import's inserts, the re-rater's reads and updates, and what the
//! importer matches records by (devices, CLIs, invoiced periods). Functions that run inside the
//! caller's transaction take a connection.

use sqlx::AnyConnection;

use super::Store;

/// One imported call (the `calls` columns the call list reads).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportedCall {
    pub user_id: i64,
    pub device_id: Option<i64>,
    pub started_at: i64,
    pub src: String,
    pub dst: String,
    pub destination_id: Option<i64>,
    pub direction: &'static str,
    pub disposition: &'static str,
    pub duration_s: i64,
    pub billsec: i64,
    pub price_micros: Option<i64>,
    pub rating_status: &'static str,
    pub unique_id: String,
    pub seen: bool,
    /// Why the subscriber's controls would have refused it (`controls::screen`).
    pub control_flag: Option<&'static str>,
    /// FreeSWITCH: the b-leg this a-leg names (see `billing::import`).
    pub b_leg_uuid: Option<String>,
}

const IMPORT_COLUMNS: usize = 16;
/// The columns an import writes, in [`ImportedCall`]'s order.
pub(super) const IMPORT_COLUMN_NAMES: &str = "user_id, device_id, started_at, src, dst, \
    destination_id, direction, disposition, duration_s, billsec, price_micros, rating_status, \
    unique_id, seen, control_flag, b_leg_uuid";

/// Rows per INSERT: 2,000 × 16 values, under SQLite's 32,766 and PostgreSQL's 65,535.
pub const IMPORT_BATCH: usize = 2000;

/// A device CDRs can name: (device id, user id, username, extension).
pub type DeviceKey = (i64, i64, String, String);

/// Inserts up to [`IMPORT_BATCH`] calls in one statement; a call whose `unique_id` is already
/// stored is left out. Returns how many were inserted.
pub async fn insert_new_calls(c: &mut AnyConnection, calls: &[ImportedCall]) -> sqlx::Result<u64> {
    insert_into(c, "calls", calls).await
}

/// [`insert_new_calls`] into `table`, `calls` or a staging table of the same columns.
pub(super) async fn insert_into(
    c: &mut AnyConnection,
    table: &str,
    calls: &[ImportedCall],
) -> sqlx::Result<u64> {
    if calls.is_empty() {
        return Ok(0);
    }
    let sqlite = is_sqlite(c);
    let mut sql = String::with_capacity(200 + calls.len() * IMPORT_COLUMNS * 7);
    sql.push_str("INSERT INTO ");
    sql.push_str(table);
    sql.push_str(&format!(" ({IMPORT_COLUMN_NAMES}) VALUES "));
    for i in 0..calls.len() {
        sql.push_str(if i == 0 { "(" } else { ",(" });
        for j in 0..IMPORT_COLUMNS {
            if j > 0 {
                sql.push(',');
            }
            placeholder(&mut sql, sqlite, i * IMPORT_COLUMNS + j + 1);
        }
        sql.push(')');
    }
    sql.push_str(" ON CONFLICT DO NOTHING RETURNING user_id, started_at, rating_status");
    let mut q = sqlx::query(&sql);
    for call in calls {
        q = q
            .bind(call.user_id)
            .bind(call.device_id)
            .bind(call.started_at)
            .bind(call.src.as_str())
            .bind(call.dst.as_str())
            .bind(call.destination_id)
            .bind(call.direction)
            .bind(call.disposition)
            .bind(call.duration_s)
            .bind(call.billsec)
            .bind(call.price_micros)
            .bind(call.rating_status)
            .bind(call.unique_id.as_str())
            .bind(call.seen as i64)
            .bind(call.control_flag)
            .bind(call.b_leg_uuid.as_deref());
    }
    Ok(q.execute(c).await?.rows_affected())
}

/// Calls billed as calls that are the b-leg of another call (the uuid an a-leg names), where
/// either side came in after call `after`: (id, user id, started at, price). Each of a b-leg's
/// rows counts (its own, and the callee's or forward rows it made).
pub async fn b_legs_billed(
    c: &mut AnyConnection,
    after: i64,
) -> sqlx::Result<Vec<(i64, i64, i64, Option<i64>)>> {
    sqlx::query_as(
        "SELECT DISTINCT b.id, b.user_id, b.started_at, b.price_micros
         FROM calls a JOIN calls b ON b.unique_id IN
             (a.b_leg_uuid, a.b_leg_uuid || ':in', a.b_leg_uuid || ':fwd')
         WHERE a.b_leg_uuid IS NOT NULL AND (a.id > $1 OR b.id > $1) AND b.id <> a.id",
    )
    .bind(after)
    .fetch_all(c)
    .await
}

/// Deletes calls by id, a thousand per statement (the roll-up follows by its triggers).
pub async fn delete_calls(c: &mut AnyConnection, ids: &[i64]) -> sqlx::Result<()> {
    let sqlite = is_sqlite(c);
    for chunk in ids.chunks(1000) {
        let mut sql = String::from("DELETE FROM calls WHERE id IN (");
        for i in 0..chunk.len() {
            if i > 0 {
                sql.push(',');
            }
            placeholder(&mut sql, sqlite, i + 1);
        }
        sql.push(')');
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(id);
        }
        q.execute(&mut *c).await?;
    }
    Ok(())
}

/// How many calls with an id above `id` the controls flagged.
pub async fn flagged_after(c: &mut AnyConnection, id: i64) -> sqlx::Result<u64> {
    let (n,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM calls WHERE id > $1 AND control_flag IS NOT NULL")
            .bind(id)
            .fetch_one(c)
            .await?;
    Ok(n as u64)
}

/// The highest call id (0 for none).
pub async fn max_call_id(c: &mut AnyConnection) -> sqlx::Result<i64> {
    let (n,): (i64,) = sqlx::query_as("SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) FROM calls")
        .fetch_one(c)
        .await?;
    Ok(n)
}

/// (user id, started at, rating status, price) of the calls with an id above `id`: what a batch
/// that was partly made of known calls inserted, when `id` was the highest before it.
pub async fn calls_after(
    c: &mut AnyConnection,
    id: i64,
) -> sqlx::Result<Vec<(i64, i64, Option<String>, Option<i64>)>> {
    sqlx::query_as(
        "SELECT user_id, started_at, rating_status, price_micros FROM calls WHERE id > $1",
    )
    .bind(id)
    .fetch_all(c)
    .await
}

/// A call as the re-rater reads it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct CallToRate {
    pub id: i64,
    pub started_at: i64,
    pub dst: String,
    pub direction: String,
    pub billsec: i64,
    pub destination_id: Option<i64>,
    pub price_micros: Option<i64>,
    pub rating_status: Option<String>,
}

/// The next `limit` calls of a user in `[from, to]` after the keyset `(started_at, id)`, in
/// that order (the `calls_user_time` index).
pub async fn calls_to_rate(
    c: &mut AnyConnection,
    user_id: i64,
    from: i64,
    to: i64,
    after: (i64, i64),
    limit: i64,
) -> sqlx::Result<Vec<CallToRate>> {
    sqlx::query_as(
        // The range starts at the keyset, so each chunk is one index range scan (no rescanning).
        "SELECT id, started_at, dst, direction, billsec, destination_id, price_micros, rating_status
         FROM calls
         WHERE user_id = $1 AND started_at >= $2 AND started_at <= $3
           AND (started_at > $4 OR id > $5)
         ORDER BY started_at, id
         LIMIT $6",
    )
    .bind(user_id)
    .bind(from.max(after.0))
    .bind(to)
    .bind(after.0)
    .bind(after.1)
    .bind(limit)
    .fetch_all(c)
    .await
}

/// New rating columns for calls: (id, destination_id, price_micros, rating_status).
pub type RatingUpdate = (i64, Option<i64>, Option<i64>, &'static str);

/// Rows per UPDATE: 4 values each.
pub const UPDATE_BATCH: usize = 2000;

/// Sets the rating columns of up to [`UPDATE_BATCH`] calls in one statement.
pub async fn update_ratings(c: &mut AnyConnection, rows: &[RatingUpdate]) -> sqlx::Result<u64> {
    if rows.is_empty() {
        return Ok(0);
    }
    let sqlite = is_sqlite(c);
    let mut sql = String::with_capacity(200 + rows.len() * 90);
    sql.push_str(
        "UPDATE calls SET destination_id = v.column2, price_micros = v.column3, rating_status = v.column4
         FROM (VALUES ",
    );
    for i in 0..rows.len() {
        sql.push_str(if i == 0 { "(" } else { ",(" });
        for (j, ty) in ["BIGINT", "BIGINT", "BIGINT", "TEXT"].iter().enumerate() {
            if j > 0 {
                sql.push(',');
            }
            sql.push_str("CAST(");
            placeholder(&mut sql, sqlite, i * 4 + j + 1);
            sql.push_str(" AS ");
            sql.push_str(ty);
            sql.push(')');
        }
        sql.push(')');
    }
    sql.push_str(") AS v WHERE calls.id = v.column1");
    let mut q = sqlx::query(&sql);
    for (id, dest, price, status) in rows {
        q = q.bind(*id).bind(*dest).bind(*price).bind(*status);
    }
    Ok(q.execute(c).await?.rows_affected())
}

pub(super) fn is_sqlite(c: &AnyConnection) -> bool {
    c.backend_name().eq_ignore_ascii_case("sqlite")
}

/// Parameter `n` (1-based): `$n` on PostgreSQL, `?` on SQLite, where a statement with thousands
/// of `$n` parameters binds in quadratic time (each name is looked up by a linear scan). Only
/// for statements whose parameters are all in order.
pub(super) fn placeholder(sql: &mut String, sqlite: bool, n: usize) {
    if sqlite {
        sql.push('?');
    } else {
        sql.push('$');
        sql.push_str(&n.to_string());
    }
}

impl Store {
    /// Every device, by the names CDRs use for it.
    pub async fn devices_for_matching(&self) -> sqlx::Result<Vec<DeviceKey>> {
        sqlx::query_as("SELECT id, user_id, username, extension FROM devices ORDER BY id")
            .fetch_all(self.pool())
            .await
    }

    /// Every CLI (a number of a device): (device id, user id, cli).
    pub async fn clis_for_matching(&self) -> sqlx::Result<Vec<(i64, i64, String)>> {
        sqlx::query_as(
            "SELECT c.device_id, d.user_id, c.cli FROM clis c JOIN devices d ON d.id = c.device_id
             ORDER BY c.id",
        )
        .fetch_all(self.pool())
        .await
    }

    /// (user id, period start, period end) of every invoice.
    pub async fn invoiced_periods(&self) -> sqlx::Result<Vec<(i64, i64, i64)>> {
        sqlx::query_as("SELECT user_id, period_start, period_end FROM invoices")
            .fetch_all(self.pool())
            .await
    }

    /// Ids of the prepaid subscribers: rating their calls debits their balance.
    pub async fn prepaid_user_ids(&self) -> sqlx::Result<std::collections::HashSet<i64>> {
        let rows: Vec<(i64,)> =
            sqlx::query_as("SELECT id FROM users WHERE account_type = 'prepaid'")
                .fetch_all(self.pool())
                .await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// Ids of all users, in order.
    pub async fn user_ids(&self) -> sqlx::Result<Vec<i64>> {
        let rows: Vec<(i64,)> = sqlx::query_as("SELECT id FROM users ORDER BY id")
            .fetch_all(self.pool())
            .await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }
}
