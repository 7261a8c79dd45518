//! Many rows handed over as one value. Each row a driver hands over costs more than the
//! database's work for it: sqlx-sqlite sends every row from its connection's worker thread on
//! its own (`perf` on the rates page and the call list under load: most of the time in task
//! switches and copies). So a page's list is asked for as one JSON array of arrays (JSON1's
//! `json_group_array`, PostgreSQL's `json_agg`), which `serde_json` reads back into the row
//! type, its fields in the order of the array.
//!
//! The rows come in the list's order, as the database orders them:
//! - PostgreSQL orders the aggregate itself (`json_agg(… ORDER BY …)`), in its collation.
//! - SQLite 3.40 (the shell the benches compare with) has no `ORDER BY` inside an aggregate,
//!   and an aggregate does not promise its input's order; numbering the rows with
//!   `row_number()` tripled the rates page's time. So the reader sorts SQLite's rows by the
//!   same columns the way SQLite compares them (`BINARY`: numbers by value, text by bytes,
//!   NULL first), which is the order of every text column here (none has another collation).

use std::cmp::Ordering;

use serde::de::DeserializeOwned;
use serde_json::Value;
use sqlx::any::{Any, AnyArguments};
use sqlx::query::QueryAs;
use sqlx::AnyPool;

use super::Backend;

/// A list asked for as one value: the `fields` of each row (column names of the query it is
/// made from) and its `order` (an `ORDER BY` list over those names, `ASC` or `DESC`).
pub struct Listing<'a> {
    backend: Backend,
    fields: &'a str,
    order: &'a str,
}

impl<'a> Listing<'a> {
    pub fn new(backend: Backend, fields: &'a str, order: &'a str) -> Listing<'a> {
        Listing {
            backend,
            fields,
            order,
        }
    }

    /// A statement answering one text value: the rows of `rows` (a query whose columns include
    /// the fields), each an array of the fields, in one JSON array (`[]` when there are none).
    pub fn sql(&self, rows: &str) -> String {
        let (fields, order) = (self.fields, self.order);
        match self.backend {
            Backend::Sqlite => format!(
                "SELECT COALESCE(json_group_array(json_array({fields})), '[]') FROM ({rows}) x"
            ),
            Backend::Postgres => format!(
                "SELECT COALESCE(CAST(json_agg(json_build_array({fields}) ORDER BY {order}) \
                 AS TEXT), '[]') FROM ({rows}) x"
            ),
        }
    }

    /// Runs the statement of `sql` (its parameters bound) and reads its rows, in order.
    pub async fn fetch<'q, T: DeserializeOwned>(
        &self,
        query: QueryAs<'q, Any, (String,), AnyArguments<'q>>,
        pool: &AnyPool,
    ) -> sqlx::Result<Vec<T>> {
        let (json,) = query.fetch_one(pool).await?;
        self.read(&json)
    }

    /// The rows of an answer to `sql`, in order.
    pub fn read<T: DeserializeOwned>(&self, json: &str) -> sqlx::Result<Vec<T>> {
        let decode = |e: serde_json::Error| sqlx::Error::Decode(Box::new(e));
        if self.backend == Backend::Postgres {
            return serde_json::from_str(json).map_err(decode);
        }
        let mut rows: Vec<Vec<Value>> = serde_json::from_str(json).map_err(decode)?;
        let keys = self.sort_keys()?;
        rows.sort_by(|a, b| {
            keys.iter()
                .map(|&(i, descending)| {
                    let o = sqlite_order(&a[i], &b[i]);
                    if descending {
                        o.reverse()
                    } else {
                        o
                    }
                })
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        });
        rows.into_iter()
            .map(|r| serde_json::from_value(Value::Array(r)).map_err(decode))
            .collect()
    }

    /// Each `ORDER BY` term as (its field's place in a row, whether it goes down).
    fn sort_keys(&self) -> sqlx::Result<Vec<(usize, bool)>> {
        let fields = names(self.fields);
        let fields: Vec<&str> = fields.split(", ").collect();
        self.order
            .split(',')
            .map(|term| {
                let mut words = term.split_whitespace();
                let name = words.next().unwrap_or("");
                let descending = words.next().is_some_and(|d| d.eq_ignore_ascii_case("DESC"));
                let place = fields.iter().position(|f| *f == name).ok_or_else(|| {
                    sqlx::Error::Protocol(format!("the order's {name:?} is not a field"))
                })?;
                Ok((place, descending))
            })
            .collect()
    }
}

/// How SQLite orders two values of a column with the `BINARY` collation: NULL, then numbers by
/// value, then text by its bytes.
fn sqlite_order(a: &Value, b: &Value) -> Ordering {
    let rank = |v: &Value| match v {
        Value::Null => 0,
        Value::Bool(_) | Value::Number(_) => 1,
        Value::String(_) => 2,
        Value::Array(_) | Value::Object(_) => 3,
    };
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => x
                .as_f64()
                .partial_cmp(&y.as_f64())
                .unwrap_or(Ordering::Equal),
        },
        (Value::String(x), Value::String(y)) => x.cmp(y),
        _ => rank(a).cmp(&rank(b)),
    }
}

/// The names a `SELECT` list's columns come out under (`p.id, c.decimals AS places` gives
/// `id, places`), for a `Listing` over a query written with qualified columns; also an
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
    fn sqlite_s_rows_are_put_in_the_list_s_order() {
        let list = Listing::new(Backend::Sqlite, "id, name, at", "at DESC, name, id");
        let rows: Vec<(i64, Option<String>, i64)> = list
            .read(r#"[[1, "b", 5], [2, "a", 5], [3, null, 5], [4, "Z", 9], [5, "é", 5]]"#)
            .unwrap();
        let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
        // 9 first; then NULL, then by bytes ("é" after every ASCII letter).
        assert_eq!(ids, [4, 3, 2, 1, 5]);
    }

    #[test]
    fn postgresql_s_rows_are_taken_in_the_order_they_come() {
        let list = Listing::new(Backend::Postgres, "id, name", "name");
        let rows: Vec<(i64, String)> = list.read(r#"[[2, "é"], [1, "z"]]"#).unwrap();
        assert_eq!(rows, [(2, "é".into()), (1, "z".into())]);
    }

    #[test]
    fn an_order_by_a_column_that_is_not_a_field_is_an_error() {
        let list = Listing::new(Backend::Sqlite, "id, name", "started_at DESC");
        assert!(list.read::<(i64, String)>("[]").is_err());
    }
}
