//! The subscriber's phonebook: numbers with names, one entry per number and user.

use std::collections::HashMap;

use serde::Deserialize;
use sqlx::FromRow;

use super::audit;
use super::cdrs::{is_sqlite, placeholder};
use super::devices::is_unique_violation;
use super::json_rows;
use super::keyset_page::{Cursor, Key, Window};
use super::Store;
use crate::input::like_pattern;

#[derive(Clone, Debug, FromRow, Deserialize)]
pub struct PhonebookEntry {
    pub id: i64,
    pub number: String,
    pub name: String,
    pub added_at: i64,
    /// The case-folded name the list is ordered by.
    pub name_key: String,
}

impl PhonebookEntry {
    /// Its place in the list: the case-folded name, then id.
    pub fn key(&self) -> Key<String> {
        Key {
            sort: self.name_key.clone(),
            id: self.id,
        }
    }
}

/// What a search asks of the entries: the term, its name pattern, and its digits' pattern when
/// it looks like a number (else empty).
struct Search {
    term: String,
    name_pattern: String,
    number_pattern: String,
}

impl Search {
    fn of(search: Option<&str>) -> Search {
        let term = search.map(str::trim).unwrap_or("");
        let looks_like_number = term.chars().any(|c| c.is_ascii_digit())
            && term
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-'));
        let number_pattern = if looks_like_number {
            like_pattern(
                &term
                    .chars()
                    .filter(char::is_ascii_digit)
                    .collect::<String>(),
            )
        } else {
            String::new()
        };
        Search {
            term: term.to_string(),
            name_pattern: like_pattern(&search_key(term)),
            number_pattern,
        }
    }
}

/// An entry's columns, in the order of `PhonebookEntry`'s fields.
const ENTRY_COLUMNS: &str = "id, number, name, added_at, name_key";

/// The search's condition on `$2`…`$4`.
const MATCHES: &str =
    "($2 = '' OR name_key LIKE $3 ESCAPE '\\' OR ($4 <> '' AND number LIKE $4 ESCAPE '\\'))";

#[derive(Debug, PartialEq, Eq)]
pub enum AddEntry {
    Added(i64),
    /// The user already has this number, under `name`.
    Duplicate {
        name: String,
    },
}

/// How an import ended: all rows added, or none (a number arrived in the phonebook since the
/// rows were checked).
#[derive(Debug, PartialEq, Eq)]
pub enum ImportEntries {
    Imported(u64),
    Conflict,
}

/// Rows per INSERT of an import: 500 × 5 values, well under either engine's parameter limit.
const IMPORT_BATCH: usize = 500;

/// The case-folded form of a name that search compares with (`name_key`).
pub fn search_key(name: &str) -> String {
    name.to_lowercase()
}

impl Store {
    /// The user's entries by name (then id); with `search`, those whose name contains it (any
    /// case) or, when it looks like a number, whose number contains its digits. Every one: the
    /// exports.
    pub async fn phonebook(
        &self,
        user_id: i64,
        search: Option<&str>,
    ) -> sqlx::Result<Vec<PhonebookEntry>> {
        let s = Search::of(search);
        sqlx::query_as(&format!(
            "SELECT {ENTRY_COLUMNS} FROM phonebook_entries
             WHERE user_id = $1 AND {MATCHES}
             ORDER BY name_key, id"
        ))
        .bind(user_id)
        .bind(s.term)
        .bind(s.name_pattern)
        .bind(s.number_pattern)
        .fetch_all(self.pool())
        .await
    }

    /// A page of at most `limit` of the entries `phonebook` lists, from `cursor`.
    pub async fn phonebook_page(
        &self,
        user_id: i64,
        search: Option<&str>,
        cursor: &Cursor<Key<String>>,
        limit: u32,
    ) -> sqlx::Result<Window<PhonebookEntry, Key<String>>> {
        let s = Search::of(search);
        let position = cursor.sql("name_key", "id", 6, true);
        let page = format!(
            "SELECT {ENTRY_COLUMNS} FROM phonebook_entries
             WHERE user_id = $1 AND {MATCHES}{}
             ORDER BY {} LIMIT $5",
            position.and, position.order
        );
        // In the order the database's collation gives, which the page's position also uses.
        let list = json_rows::Listing::new(self.backend(), ENTRY_COLUMNS, &position.order);
        let sql = list.sql(&page);
        let mut q = sqlx::query_as(&sql)
            .bind(user_id)
            .bind(s.term)
            .bind(s.name_pattern)
            .bind(s.number_pattern)
            .bind(i64::from(limit) + 1);
        if let Cursor::Before(k) | Cursor::After(k) = cursor {
            q = q.bind(k.sort.clone()).bind(k.id);
        }
        let rows = list.fetch(q, self.pool()).await?;
        Ok(Window::settle(
            rows,
            cursor,
            true,
            limit,
            PhonebookEntry::key,
        ))
    }

    pub async fn phonebook_size(&self, user_id: i64) -> sqlx::Result<i64> {
        let (n,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM phonebook_entries WHERE user_id = $1")
                .bind(user_id)
                .fetch_one(self.pool())
                .await?;
        Ok(n)
    }

    /// Adds `number` (digits) under `name`, with its activity-log event.
    pub async fn add_phonebook_entry(
        &self,
        user_id: i64,
        number: &str,
        name: &str,
        address: &str,
    ) -> sqlx::Result<AddEntry> {
        let mut tx = self.pool().begin().await?;
        let inserted: Result<(i64,), sqlx::Error> = sqlx::query_as(
            "INSERT INTO phonebook_entries (user_id, number, name, name_key, added_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(user_id)
        .bind(number)
        .bind(name)
        .bind(search_key(name))
        .bind(crate::time::now())
        .fetch_one(&mut *tx)
        .await;
        let id = match inserted {
            Ok((id,)) => id,
            Err(e) if is_unique_violation(&e) => {
                drop(tx);
                let (name,): (String,) = sqlx::query_as(
                    "SELECT name FROM phonebook_entries WHERE user_id = $1 AND number = $2",
                )
                .bind(user_id)
                .bind(number)
                .fetch_one(self.pool())
                .await?;
                return Ok(AddEntry::Duplicate { name });
            }
            Err(e) => return Err(e),
        };
        audit::record(
            &mut tx,
            Some(user_id),
            "phonebook_entry_added",
            &format!("{number} {name}"),
            address,
        )
        .await?;
        tx.commit().await?;
        Ok(AddEntry::Added(id))
    }

    /// Deletes one of the user's entries; false when it is not theirs (nothing deleted).
    pub async fn delete_phonebook_entry(
        &self,
        user_id: i64,
        entry_id: i64,
        address: &str,
    ) -> sqlx::Result<bool> {
        let mut tx = self.pool().begin().await?;
        let deleted: Option<(String, String)> = sqlx::query_as(
            "DELETE FROM phonebook_entries WHERE id = $1 AND user_id = $2 RETURNING number, name",
        )
        .bind(entry_id)
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((number, name)) = deleted else {
            return Ok(false);
        };
        audit::record(
            &mut tx,
            Some(user_id),
            "phonebook_entry_deleted",
            &format!("{number} {name}"),
            address,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The user's numbers with their names, for checking an import against.
    pub async fn phonebook_numbers(&self, user_id: i64) -> sqlx::Result<HashMap<String, String>> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT number, name FROM phonebook_entries WHERE user_id = $1")
                .bind(user_id)
                .fetch_all(self.pool())
                .await?;
        Ok(rows.into_iter().collect())
    }

    /// Adds `entries` (digits, name) in one transaction with one activity-log event (`detail`):
    /// all of them, or none when one of the numbers is in the phonebook already.
    pub async fn import_phonebook_entries(
        &self,
        user_id: i64,
        entries: &[(&str, &str)],
        detail: &str,
        address: &str,
    ) -> sqlx::Result<ImportEntries> {
        let now = crate::time::now();
        let mut tx = self.pool().begin().await?;
        let sqlite = is_sqlite(&tx);
        let mut added = 0;
        for batch in entries.chunks(IMPORT_BATCH) {
            let mut sql = String::from(
                "INSERT INTO phonebook_entries (user_id, number, name, name_key, added_at) VALUES ",
            );
            for i in 0..batch.len() {
                sql.push_str(if i == 0 { "(" } else { ",(" });
                for j in 0..5 {
                    if j > 0 {
                        sql.push(',');
                    }
                    placeholder(&mut sql, sqlite, i * 5 + j + 1);
                }
                sql.push(')');
            }
            let mut q = sqlx::query(&sql);
            for (number, name) in batch {
                q = q
                    .bind(user_id)
                    .bind(*number)
                    .bind(*name)
                    .bind(search_key(name))
                    .bind(now);
            }
            match q.execute(&mut *tx).await {
                Ok(done) => added += done.rows_affected(),
                // Dropping the transaction rolls back the batches before this one.
                Err(e) if is_unique_violation(&e) => return Ok(ImportEntries::Conflict),
                Err(e) => return Err(e),
            }
        }
        audit::record(
            &mut tx,
            Some(user_id),
            "phonebook_imported",
            detail,
            address,
        )
        .await?;
        tx.commit().await?;
        Ok(ImportEntries::Imported(added))
    }
}
