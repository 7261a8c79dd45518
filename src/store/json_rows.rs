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
//!   and an aggregate does not promise its input's order. Numbering the rows with
//!   `row_number()` tripled the rates statement's time, and asking for the order's values once
//!   more with each row cost the call list a tenth. So the reader keeps the values of the
//!   order's columns as it reads each row (`KeyedRow`) and sorts by them the way SQLite
//!   compares them (`BINARY`: NULL, then numbers by value, then text by bytes), which is the
//!   order of every text column here (none has another collation). They come in order in
//!   practice, which the sort only checks.

use std::cmp::Ordering;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, SeqAccess, Visitor};
use serde_json::Value;
use sqlx::any::{Any, AnyArguments};
use sqlx::query::QueryAs;
use sqlx::AnyPool;

use super::Backend;

/// A list asked for as one value: the fields of each row and the list's order, both by the
/// names the columns come out under in the query the list is made from.
pub struct Listing {
    backend: Backend,
    fields: String,
    order: String,
}

impl Listing {
    /// A list of the query's `columns` (its `SELECT` list, as written: `p.id, c.decimals AS
    /// places`) in its `order` (its `ORDER BY`, as written: `p.paid_at DESC, p.id DESC`).
    pub fn new(backend: Backend, columns: &str, order: &str) -> Listing {
        Listing {
            backend,
            fields: names(columns),
            order: names(order),
        }
    }

    /// A statement answering one text value: the rows of `rows` (a query whose columns include
    /// the fields), each an array of the fields, in one JSON array (`[]` when there are none).
    pub fn sql(&self, rows: &str) -> String {
        let (fields, order) = (&self.fields, &self.order);
        match self.backend {
            Backend::Sqlite => {
                format!(
                    "SELECT COALESCE(json_group_array(json_array({fields})), '[]') FROM ({rows}) x"
                )
            }
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
        let (places, descending) = self.order_places()?;
        let mut de = serde_json::Deserializer::from_str(json);
        let seed = Rows {
            places: &places,
            row: PhantomData,
        };
        let mut rows: Vec<KeyedRow<T>> = seed.deserialize(&mut de).map_err(decode)?;
        de.end().map_err(decode)?;
        // Stable, and a single pass over rows already in order.
        rows.sort_by(|a, b| {
            a.keys
                .iter()
                .zip(&b.keys)
                .zip(&descending)
                .map(|((a, b), &down)| {
                    let o = sqlite_order(a, b);
                    if down {
                        o.reverse()
                    } else {
                        o
                    }
                })
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        });
        Ok(rows.into_iter().map(|r| r.row).collect())
    }

    /// For each `ORDER BY` term, its column's place among the fields and whether it goes down.
    fn order_places(&self) -> sqlx::Result<(Vec<usize>, Vec<bool>)> {
        let fields: Vec<&str> = self.fields.split(", ").collect();
        self.order
            .split(',')
            .map(|term| {
                let mut words = term.split_whitespace();
                let name = words.next().unwrap_or("");
                let down = words.next().is_some_and(|d| d.eq_ignore_ascii_case("DESC"));
                let place = fields.iter().position(|f| *f == name).ok_or_else(|| {
                    sqlx::Error::Protocol(format!("the order's {name:?} is not a field"))
                })?;
                Ok((place, down))
            })
            .collect::<sqlx::Result<Vec<_>>>()
            .map(|terms| terms.into_iter().unzip())
    }
}

/// One of SQLite's rows read into `T`, with the values of the order's columns (in the order's
/// terms' order) kept aside to sort by.
struct KeyedRow<T> {
    keys: Vec<Value>,
    row: T,
}

/// Reads the answer's array of rows into `KeyedRow`s.
struct Rows<'p, T> {
    /// The fields' places of the order's terms.
    places: &'p [usize],
    row: PhantomData<T>,
}

impl<'de, T: DeserializeOwned> DeserializeSeed<'de> for Rows<'_, T> {
    type Value = Vec<KeyedRow<T>>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, T: DeserializeOwned> Visitor<'de> for Rows<'_, T> {
    type Value = Vec<KeyedRow<T>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of rows")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut rows: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(rows.size_hint().unwrap_or(0));
        while let Some(row) = rows.next_element_seed(Row::<T> {
            places: self.places,
            row: PhantomData,
        })? {
            out.push(row);
        }
        Ok(out)
    }
}

/// Reads one row's array into `T`, keeping a copy of the values at the order's places.
struct Row<'p, T> {
    places: &'p [usize],
    row: PhantomData<T>,
}

impl<'de, T: DeserializeOwned> DeserializeSeed<'de> for Row<'_, T> {
    type Value = KeyedRow<T>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, T: DeserializeOwned> Visitor<'de> for Row<'_, T> {
    type Value = KeyedRow<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a row's array of fields")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, fields: A) -> Result<Self::Value, A::Error> {
        let mut tee = Tee {
            fields,
            places: self.places,
            at: 0,
            keys: vec![Value::Null; self.places.len()],
        };
        let row = T::deserialize(TeeDeserializer(&mut tee))?;
        Ok(KeyedRow {
            keys: tee.keys,
            row,
        })
    }
}

/// A row's fields handed on to `T` one by one, those at the order's places copied on the way.
struct Tee<'p, A> {
    fields: A,
    places: &'p [usize],
    at: usize,
    keys: Vec<Value>,
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for &mut Tee<'_, A> {
    type Error = A::Error;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, A::Error> {
        let at = self.at;
        self.at += 1;
        if !self.places.contains(&at) {
            return self.fields.next_element_seed(seed);
        }
        let Some(value) = self.fields.next_element::<Value>()? else {
            return Ok(None);
        };
        for (term, _) in self.places.iter().enumerate().filter(|(_, &p)| p == at) {
            self.keys[term] = value.clone();
        }
        seed.deserialize(value).map(Some).map_err(de::Error::custom)
    }
}

/// `T`'s view of a `Tee`: a sequence, whatever `T` asks for (a tuple, a struct).
struct TeeDeserializer<'t, 'p, A>(&'t mut Tee<'p, A>);

impl<'de, A: SeqAccess<'de>> Deserializer<'de> for TeeDeserializer<'_, '_, A> {
    type Error = A::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, A::Error> {
        visitor.visit_seq(self.0)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
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
/// `id, places`); also an `ORDER BY` list's (`p.paid_at DESC` gives `paid_at DESC`).
fn names(columns: &str) -> String {
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

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Day {
        day: i64,
        calls: i64,
    }

    #[test]
    fn a_struct_reads_its_fields_and_a_row_of_the_wrong_length_is_an_error() {
        let list = Listing::new(Backend::Sqlite, "day, calls", "day");
        let days: Vec<Day> = list.read("[[3, 1], [1, 7]]").unwrap();
        assert_eq!(days, [Day { day: 1, calls: 7 }, Day { day: 3, calls: 1 }]);
        assert!(list.read::<Day>("[[3, 1, 9]]").is_err());
        assert!(list.read::<Day>("[[3]]").is_err());
    }

    #[test]
    fn an_order_by_a_column_that_is_not_a_field_is_an_error() {
        let list = Listing::new(Backend::Sqlite, "id, name", "started_at DESC");
        assert!(list.read::<(i64, String)>("[]").is_err());
    }

    #[test]
    fn postgresql_s_rows_are_taken_in_the_order_they_come() {
        let list = Listing::new(Backend::Postgres, "id, name", "name");
        let rows: Vec<(i64, String)> = list.read(r#"[[2, "é"], [1, "z"]]"#).unwrap();
        assert_eq!(rows, [(2, "é".into()), (1, "z".into())]);
    }
}
