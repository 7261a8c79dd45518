//! Many rows handed over as one value. Each row a driver hands over costs more than the
//! database's work for it: sqlx-sqlite sends every row from its connection's worker thread on
//! its own (`perf` on the rates page and the call list under load: most of the time in task
//! switches and copies). So a page's list is asked for as one JSON array of arrays (JSON1's
//! `json_group_array`, PostgreSQL's `json_agg`), which `serde_json` reads back into the row
//! type, its fields in the order of the array.
//!
//! The array's order is not promised to be the rows' (SQLite 3.40, the shell the benches compare
//! with, has no `ORDER BY` inside an aggregate): callers sort what they read.

use serde::de::DeserializeOwned;

use super::Backend;

/// A statement answering one text value: the rows of `rows` (a query whose columns include
/// `fields`), each an array of those fields, in one JSON array (`[]` when there are none).
pub fn array_of(backend: Backend, fields: &str, rows: &str) -> String {
    match backend {
        Backend::Sqlite => {
            format!("SELECT COALESCE(json_group_array(json_array({fields})), '[]') FROM ({rows}) x")
        }
        Backend::Postgres => format!(
            "SELECT COALESCE(CAST(json_agg(json_build_array({fields})) AS TEXT), '[]') FROM ({rows}) x"
        ),
    }
}

/// The names a `SELECT` list's columns come out under (`p.id, c.decimals AS places` gives
/// `id, places`), for `array_of` over a query written with qualified columns.
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

/// The rows of an `array_of` answer.
pub fn read<T: DeserializeOwned>(json: &str) -> sqlx::Result<Vec<T>> {
    serde_json::from_str(json).map_err(|e| sqlx::Error::Decode(Box::new(e)))
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
    }
}
