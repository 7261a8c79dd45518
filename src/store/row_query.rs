//! A query whose rows are read as they come, for lists too long to hold (streamed CSV exports),
//! or all at once when a cap keeps them short (PDF exports).
//!
//! It is a value — SQL text and its parameters — rather than a row stream, because a stream
//! borrows its SQL text and its connection: whoever runs it (`export::csv::stream`'s producer
//! task) owns all three for as long as the rows flow.

use std::marker::PhantomData;

use futures_util::stream::BoxStream;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::QueryAs;
use sqlx::{Any, AnyConnection, AnyPool, FromRow};

/// SQL text with its parameters (64-bit integers, as every value a list is filtered by), and the
/// type its rows are read into.
pub struct RowQuery<T> {
    sql: String,
    binds: Vec<i64>,
    row: PhantomData<fn() -> T>,
}

impl<T> RowQuery<T>
where
    T: for<'r> FromRow<'r, AnyRow> + Send + Unpin + 'static,
{
    pub fn new(sql: impl Into<String>, binds: Vec<i64>) -> RowQuery<T> {
        RowQuery {
            sql: sql.into(),
            binds,
            row: PhantomData,
        }
    }

    /// Runs the query on `conn`; rows arrive as the database yields them.
    pub fn fetch<'c>(&'c self, conn: &'c mut AnyConnection) -> BoxStream<'c, sqlx::Result<T>> {
        self.query().fetch(conn)
    }

    /// All rows at once, for a list whose length is capped (a PDF).
    pub async fn fetch_all(&self, pool: &AnyPool) -> sqlx::Result<Vec<T>> {
        self.query().fetch_all(pool).await
    }

    fn query(&self) -> QueryAs<'_, Any, T, AnyArguments<'_>> {
        self.binds
            .iter()
            .fold(sqlx::query_as(&self.sql), |q, b| q.bind(*b))
    }
}
