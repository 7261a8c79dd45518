//! Many rows handed over as one value. Each row a driver hands over costs more than the
//! database's work for it: sqlx-sqlite sends every row from its connection's worker thread on
//! its own (`perf` on the rates page and the call list under load: most of the time in task
//! switches and copies). So a page's list is asked for as one JSON array (JSON1's
//! `json_group_array`, PostgreSQL's `json_agg`), which `serde_json` reads back into the row
//! type, its fields in the order of the array.
//!
//! An aggregate's order is not promised to be its input's (SQLite 3.40, the shell the benches
//! compare with, has no `ORDER BY` inside an aggregate), so each row carries its place, numbered
//! by the database (`row_number()` in the database's own collation), and the reader puts the
//! rows in that order.

use serde::de::DeserializeOwned;
use sqlx::any::{Any, AnyArguments};
use sqlx::query::QueryAs;
use sqlx::AnyPool;

use super::Backend;

/// A statement answering one text value: the rows of `rows` (a query whose columns include
/// `fields`), each `[place, [fields…]]` with its place in `order` (an `ORDER BY` list over the
/// query's column names), in one JSON array (`[]` when there are none).
pub fn array_of(backend: Backend, fields: &str, rows: &str, order: &str) -> String {
    let placed =
        format!("SELECT x.*, row_number() OVER (ORDER BY {order}) AS place_ FROM ({rows}) x");
    match backend {
        Backend::Sqlite => format!(
            "SELECT COALESCE(json_group_array(json_array(place_, json_array({fields}))), '[]') \
             FROM ({placed}) y"
        ),
        Backend::Postgres => format!(
            "SELECT COALESCE(CAST(json_agg(json_build_array(place_, json_build_array({fields}))) \
             AS TEXT), '[]') FROM ({placed}) y"
        ),
    }
}

/// The names a `SELECT` list's columns come out under (`p.id, c.decimals AS places` gives
/// `id, places`), for `array_of` over a query written with qualified columns; also an
/// `ORDER BY` list's (`p.paid_at DESC` gives `paid_at DESC`).
pub fn names(columns: &str) -> String {
    columns
        .split(',')
        .map(|c| {
            let c = c.trim();
            let c = c.rsplit_once(" AS ").map_or(c, |(_, alias)| alias);
            c.rsplit_once('.').map_or(c, |(_, name)| name).trim()
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The rows of an `array_of` answer, in their order.
pub fn read<T: DeserializeOwned>(json: &str) -> sqlx::Result<Vec<T>> {
    let mut placed: Vec<(u32, T)> =
        serde_json::from_str(json).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    placed.sort_unstable_by_key(|(place, _)| *place);
    Ok(placed.into_iter().map(|(_, row)| row).collect())
}

/// Runs an `array_of` statement (its parameters bound) and reads its rows.
pub async fn fetch<'q, T: DeserializeOwned>(
    query: QueryAs<'q, Any, (String,), AnyArguments<'q>>,
    pool: &AnyPool,
) -> sqlx::Result<Vec<T>> {
    let (json,) = query.fetch_one(pool).await?;
    read(&json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualified_columns_come_out_under_their_names() {
        assert_eq!(
            names("p.id, p.paid_at,\n     c.decimals AS places, state"),
            "id, paid_at, places, state"
        );
        assert_eq!(names("p.paid_at DESC, p.id DESC"), "paid_at DESC, id DESC");
    }

    #[test]
    fn rows_come_in_the_places_the_database_gave_them() {
        let rows: Vec<(i64, String)> =
            read(r#"[[2, [7, "b"]], [3, [5, "c"]], [1, [9, "a"]]]"#).unwrap();
        assert_eq!(rows, [(9, "a".into()), (7, "b".into()), (5, "c".into())]);
    }
}
