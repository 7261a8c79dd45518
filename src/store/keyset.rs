//! Keyset (cursor) paging of a list that grows with the subscriber's history (payments,
//! invoices): newest first by an instant, then by id, and a page starts after the key of the
//! row the previous page ended with. No OFFSET and no COUNT: a page costs the same however
//! far back it is, and rows added meanwhile neither repeat nor vanish between pages.
//!
//! A key travels in the query string as `<seconds>_<id>` (`before=1764945000_42`: the page of
//! rows older than that row; `after=`: newer).

use std::fmt;

/// How many rows a page has when `per_page` is not given.
pub const PER_PAGE: u32 = 50;
/// The most rows `per_page` may ask for.
pub const MAX_PER_PAGE: u32 = 500;

/// One row's place in the list: its instant (UTC seconds), then its id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    pub at: i64,
    pub id: i64,
}

impl Key {
    pub fn parse(s: &str) -> Option<Key> {
        let (at, id) = s.trim().split_once('_')?;
        Some(Key {
            at: at.parse().ok()?,
            id: id.parse().ok()?,
        })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}_{}", self.at, self.id)
    }
}

/// Where a page starts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Cursor {
    /// The newest rows.
    #[default]
    First,
    /// Rows older than the key.
    Before(Key),
    /// Rows newer than the key.
    After(Key),
}

/// A page position and size, read from the query's `before`, `after` and `per_page`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Paging {
    pub cursor: Cursor,
    pub per_page: u32,
}

impl Default for Paging {
    fn default() -> Paging {
        Paging {
            cursor: Cursor::First,
            per_page: PER_PAGE,
        }
    }
}

impl Paging {
    /// `before` wins over `after`; neither is the newest page. A refusal says which field.
    pub fn parse(
        before: Option<&str>,
        after: Option<&str>,
        per_page: Option<&str>,
    ) -> Result<Paging, String> {
        let key = |name: &str, v: Option<&str>| match v.map(str::trim) {
            None | Some("") => Ok(None),
            Some(s) => Key::parse(s)
                .map(Some)
                .ok_or_else(|| format!("{name} is a page position such as 1764945000_42")),
        };
        let cursor = match (key("before", before)?, key("after", after)?) {
            (Some(k), _) => Cursor::Before(k),
            (None, Some(k)) => Cursor::After(k),
            (None, None) => Cursor::First,
        };
        let per_page = match per_page.map(str::trim) {
            None | Some("") => PER_PAGE,
            Some(s) => s
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=MAX_PER_PAGE).contains(n))
                .ok_or_else(|| format!("per_page must be a number from 1 to {MAX_PER_PAGE}"))?,
        };
        Ok(Paging { cursor, per_page })
    }

    /// The SQL that selects this page's rows of a list keyed by `at_col` and `id_col`: a
    /// condition (with `$first` and `$first + 1` for the key, bound from `binds`), the order to
    /// read in, and the limit (one row more than the page: it tells whether there is a page
    /// beyond).
    pub fn sql(&self, at_col: &str, id_col: &str, first: usize) -> KeysetSql {
        let (a, i) = (first, first + 1);
        let (condition, binds, order) = match self.cursor {
            Cursor::First => (
                "1 = 1".to_string(),
                Vec::new(),
                format!("{at_col} DESC, {id_col} DESC"),
            ),
            Cursor::Before(k) => (
                format!("({at_col} < ${a} OR ({at_col} = ${a} AND {id_col} < ${i}))"),
                vec![k.at, k.id],
                format!("{at_col} DESC, {id_col} DESC"),
            ),
            // Towards newer rows the index is read forwards; `finish` turns the page round.
            Cursor::After(k) => (
                format!("({at_col} > ${a} OR ({at_col} = ${a} AND {id_col} > ${i}))"),
                vec![k.at, k.id],
                format!("{at_col} ASC, {id_col} ASC"),
            ),
        };
        KeysetSql {
            condition,
            binds,
            order,
            limit: i64::from(self.per_page) + 1,
        }
    }

    /// The page from the rows `sql` read: newest first, with the keys of its neighbours.
    pub fn finish<T>(&self, mut rows: Vec<T>, key: impl Fn(&T) -> Key) -> KeysetPage<T> {
        let limit = self.per_page as usize;
        let beyond = rows.len() > limit;
        rows.truncate(limit);
        if let Cursor::After(_) = self.cursor {
            rows.reverse();
        }
        let (first, last) = (rows.first().map(&key), rows.last().map(&key));
        let (newer, older) = match self.cursor {
            Cursor::First => (None, if beyond { last } else { None }),
            // Coming from a newer page: that page exists (even if its rows went meanwhile).
            Cursor::Before(k) => (first.or(Some(k)), if beyond { last } else { None }),
            // Coming from an older page: that page exists.
            Cursor::After(k) => (if beyond { first } else { None }, last.or(Some(k))),
        };
        KeysetPage { rows, newer, older }
    }
}

/// The pieces of a page's query (`Paging::sql`).
pub struct KeysetSql {
    /// A condition to AND into the WHERE clause.
    pub condition: String,
    /// The key's values, bound after the query's own parameters.
    pub binds: Vec<i64>,
    pub order: String,
    pub limit: i64,
}

/// One page of a list, newest first.
#[derive(Clone, Debug)]
pub struct KeysetPage<T> {
    pub rows: Vec<T>,
    /// Set when newer rows exist: their page is `after=<newer>`.
    pub newer: Option<Key>,
    /// Set when older rows exist: their page is `before=<older>`.
    pub older: Option<Key>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_read_back_as_written() {
        let k = Key {
            at: 1764945000,
            id: 42,
        };
        assert_eq!(k.to_string(), "1764945000_42");
        assert_eq!(Key::parse("1764945000_42"), Some(k));
        assert_eq!(Key::parse("1764945000.42"), None);
        assert_eq!(Key::parse("x_1"), None);
    }

    #[test]
    fn paging_is_read_from_the_query() {
        assert_eq!(Paging::parse(None, None, None), Ok(Paging::default()));
        let p = Paging::parse(Some("10_2"), Some("20_3"), Some("5")).unwrap();
        assert_eq!(p.cursor, Cursor::Before(Key { at: 10, id: 2 }));
        assert_eq!(p.per_page, 5);
        assert!(Paging::parse(None, Some("nope"), None).is_err());
        assert!(Paging::parse(None, None, Some("0")).is_err());
        assert!(Paging::parse(None, None, Some("501")).is_err());
    }

    #[test]
    fn a_page_knows_its_neighbours() {
        let key = |n: &i64| Key { at: *n, id: *n };
        let first = Paging {
            cursor: Cursor::First,
            per_page: 2,
        };
        let p = first.finish(vec![9, 8, 7], key);
        assert_eq!(p.rows, [9, 8]);
        assert_eq!((p.newer, p.older), (None, Some(key(&8))));
        let newer = Paging {
            cursor: Cursor::After(key(&5)),
            per_page: 2,
        };
        // Read oldest first, shown newest first.
        let p = newer.finish(vec![6, 7, 8], key);
        assert_eq!(p.rows, [7, 6]);
        assert_eq!((p.newer, p.older), (Some(key(&7)), Some(key(&6))));
    }
}
