//! Keyset paging, the one way a list that grows with the subscriber's history is paged (the
//! activity log, the phonebook, payments, invoices, and the call lists, faxes and callback
//! requests of `call_list`): a page is the rows after or before one row's key (its sort key,
//! then its id), read with `LIMIT n + 1` from the index, never with OFFSET or a COUNT, so a page
//! costs the same however far back it is, and rows added meanwhile neither repeat nor vanish
//! between pages. The position travels in the page's address as `before=KEY` or `after=KEY`:
//! `SORT_ID` for a [`Key`] (a payment's `before=1764945000_42`), `STARTED_AT.ID` for the call
//! lists' key, whose links were published in that form. `Ctx::page_links` writes the links.

use std::fmt::Display;
use std::str::FromStr;

use serde::de::DeserializeOwned;

use super::json_rows;
use crate::i18n::Lang;

/// Rows per page when the request names none.
pub const PAGE_SIZE: u32 = 50;
/// The most rows a page may ask for.
pub const MAX_PAGE_SIZE: u32 = 500;

/// How a row's key is written in a page's address (`before=…`, `after=…`), and read back.
pub trait PageKey: Clone + Sized {
    fn param(&self) -> String;
    fn parse(s: &str) -> Option<Self>;
}

/// One row's place in a list: its sort key, then its id (which breaks ties).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key<S> {
    pub sort: S,
    pub id: i64,
}

impl<S: Display + FromStr + Clone> PageKey for Key<S> {
    /// `SORT_ID`, the form in paging links.
    fn param(&self) -> String {
        format!("{}_{}", self.sort, self.id)
    }

    /// Reads `SORT_ID`; the id is after the last `_`, so a sort key may hold `_` itself.
    fn parse(s: &str) -> Option<Key<S>> {
        let (sort, id) = s.rsplit_once('_')?;
        Some(Key {
            sort: sort.parse().ok()?,
            id: id.parse().ok()?,
        })
    }
}

/// Where a page starts, in the order of the sort key (not of the list): before or after one
/// row's key `K` (a [`Key`], or a list's own key with its own link form).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Cursor<K> {
    /// The list's first page.
    #[default]
    First,
    /// Rows whose key is below this one.
    Before(K),
    /// Rows whose key is above this one.
    After(K),
}

impl<K: PageKey> Cursor<K> {
    /// The position of a request's `before` and `after` (empty for none); `before` wins.
    /// A refusal is in `lang`.
    pub fn of(before: Option<&str>, after: Option<&str>, lang: Lang) -> Result<Cursor<K>, String> {
        let read = |v: Option<&str>| match v.map(str::trim) {
            None | Some("") => Ok(None),
            Some(s) => K::parse(s).map(Some).ok_or_else(|| {
                lang.fill("paging.bad_position", &[("position", &format!("{s:?}"))])
            }),
        };
        Ok(match (read(before)?, read(after)?) {
            (Some(k), _) => Cursor::Before(k),
            (None, Some(k)) => Cursor::After(k),
            (None, None) => Cursor::First,
        })
    }

    /// This position as a page's address names it: `("before", KEY)` or `("after", KEY)`;
    /// `None` for the first page, which needs no key.
    pub fn param(&self) -> Option<(&'static str, String)> {
        match self {
            Cursor::First => None,
            Cursor::Before(k) => Some(("before", k.param())),
            Cursor::After(k) => Some(("after", k.param())),
        }
    }
}

impl<K> Cursor<K> {
    /// Whether the rows are read with the key going down (`ORDER BY key DESC, id DESC`), for a
    /// list shown `ascending` or not.
    pub fn reads_descending(&self, ascending: bool) -> bool {
        match self {
            Cursor::First => !ascending,
            Cursor::Before(_) => true,
            Cursor::After(_) => false,
        }
    }
}

/// A page's position as SQL on a list ordered by a sort column, then an id column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PositionSql {
    /// ` AND (…)`: the rows beyond the key, whose sort key and id are bound as the two
    /// parameters numbered as asked; empty for the first page.
    pub and: String,
    /// The `ORDER BY` that reads from the position ([`Cursor::reads_descending`]; a page read
    /// against the list's order is turned round by [`Window::settle`]).
    pub order: String,
}

impl<K> Cursor<K> {
    /// The position on the columns `sort` and `id` of a list shown `ascending` or not, the key's
    /// parameters numbered from `n`.
    pub fn sql(&self, sort: &str, id: &str, n: usize, ascending: bool) -> PositionSql {
        let (s, i) = (n, n + 1);
        let and = match self {
            Cursor::First => String::new(),
            Cursor::Before(_) => format!(" AND ({sort} < ${s} OR ({sort} = ${s} AND {id} < ${i}))"),
            Cursor::After(_) => format!(" AND ({sort} > ${s} OR ({sort} = ${s} AND {id} > ${i}))"),
        };
        let dir = if self.reads_descending(ascending) {
            "DESC"
        } else {
            "ASC"
        };
        PositionSql {
            and,
            order: format!("{sort} {dir}, {id} {dir}"),
        }
    }
}

/// A request's `per_page`: [`PAGE_SIZE`] when absent, else 1 to [`MAX_PAGE_SIZE`]; a refusal
/// is in `lang`.
pub fn page_size(per_page: Option<&str>, lang: Lang) -> Result<u32, String> {
    match per_page.map(str::trim) {
        None | Some("") => Ok(PAGE_SIZE),
        Some(s) => s
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_PAGE_SIZE).contains(n))
            .ok_or_else(|| lang.fill("paging.bad_per_page", &[("max", &MAX_PAGE_SIZE)])),
    }
}

impl super::Store {
    /// One page of a newest-first list keyed by an instant: `columns` the `SELECT` list (in
    /// the order of `T`'s fields), `from` the rest of the query up to its user condition
    /// (`FROM … WHERE user_id = $1`), `sort` and `id` the columns the key is made of. The
    /// position's condition, the order and `LIMIT n + 1` are added here, so every such list
    /// pages the same way; the page comes as one value (`json_rows`).
    pub(super) async fn newest_first<T: DeserializeOwned>(
        &self,
        (columns, from): (&str, &str),
        (sort, id): (&str, &str),
        user_id: i64,
        cursor: &Cursor<Key<i64>>,
        limit: u32,
        key: impl Fn(&T) -> Key<i64>,
    ) -> sqlx::Result<Window<T, Key<i64>>> {
        let position = cursor.sql(sort, id, 2, false);
        let page = format!(
            "SELECT {columns} {from}{} ORDER BY {} LIMIT {}",
            position.and,
            position.order,
            i64::from(limit) + 1
        );
        let list = json_rows::Listing::new(self.backend(), columns, &position.order);
        let sql = list.sql(&page);
        let mut q = sqlx::query_as(&sql).bind(user_id);
        if let Cursor::Before(k) | Cursor::After(k) = cursor {
            q = q.bind(k.sort).bind(k.id);
        }
        let rows: Vec<T> = list.fetch(q, self.pool()).await?;
        Ok(Window::settle(rows, cursor, false, limit, key))
    }
}

/// One page of rows in the list's order, with where the neighbouring pages start.
#[derive(Clone, Debug)]
pub struct Window<T, K> {
    pub rows: Vec<T>,
    /// The next page (further down the list), if there is one.
    pub next: Option<Cursor<K>>,
    /// The previous page (further up), if there is one.
    pub prev: Option<Cursor<K>>,
}

impl<T, K: Clone> Window<T, K> {
    /// The page from rows read as [`Cursor::reads_descending`] says, at most `limit + 1` of
    /// them (the one more tells whether the list goes on that way).
    pub fn settle(
        mut rows: Vec<T>,
        cursor: &Cursor<K>,
        ascending: bool,
        limit: u32,
        key_of: impl Fn(&T) -> K,
    ) -> Window<T, K> {
        let limit = limit as usize;
        let beyond = rows.len() > limit;
        rows.truncate(limit);
        // Read against the list's order (towards its top): turned round.
        let backwards = cursor.reads_descending(ascending) == ascending;
        if backwards {
            rows.reverse();
        }
        let down = |k: K| {
            if ascending {
                Cursor::After(k)
            } else {
                Cursor::Before(k)
            }
        };
        let up = |k: K| {
            if ascending {
                Cursor::Before(k)
            } else {
                Cursor::After(k)
            }
        };
        let first = rows.first().map(&key_of);
        let last = rows.last().map(&key_of);
        let from = match cursor {
            Cursor::First => None,
            Cursor::Before(k) | Cursor::After(k) => Some(k.clone()),
        };
        let (next, prev) = match (cursor, backwards) {
            (Cursor::First, _) => (last.filter(|_| beyond).map(down), None),
            // Come from the page above: it exists.
            (_, false) => (last.filter(|_| beyond).map(down), first.or(from).map(up)),
            // Come from the page below: it exists.
            (_, true) => (last.or(from).map(down), first.filter(|_| beyond).map(up)),
        };
        Window { rows, next, prev }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: i64) -> Key<i64> {
        Key { sort: n, id: n }
    }

    #[test]
    fn keys_read_back_what_links_write() {
        let k = Key {
            sort: "a_b c".to_string(),
            id: 7,
        };
        assert_eq!(k.param(), "a_b c_7");
        assert_eq!(Key::<String>::parse("a_b c_7"), Some(k));
        assert_eq!(
            Key::<i64>::parse("1720000000_12"),
            Some(Key {
                sort: 1_720_000_000,
                id: 12
            })
        );
        assert_eq!(Key::<i64>::parse("x_12"), None);
        assert_eq!(Key::<i64>::parse("12"), None);
        assert_eq!(
            Cursor::<Key<i64>>::of(Some(""), Some("5_5"), Lang::En),
            Ok(Cursor::After(key(5)))
        );
        assert!(Cursor::<Key<i64>>::of(Some("nope"), None, Lang::En).is_err());
        assert_eq!(
            Cursor::Before(key(7)).param(),
            Some(("before", "7_7".to_string()))
        );
        assert_eq!(
            Cursor::After(key(7)).param(),
            Some(("after", "7_7".to_string()))
        );
        assert_eq!(Cursor::<Key<i64>>::First.param(), None);
        assert_eq!(page_size(None, Lang::En), Ok(PAGE_SIZE));
        assert_eq!(page_size(Some("500"), Lang::En), Ok(500));
        assert!(page_size(Some("0"), Lang::En).is_err());
        assert!(page_size(Some("501"), Lang::En).is_err());
    }

    #[test]
    fn positions_read_from_the_key_towards_the_page() {
        let first = Cursor::<Key<i64>>::First.sql("at", "id", 2, false);
        assert_eq!(
            (first.and.as_str(), first.order.as_str()),
            ("", "at DESC, id DESC")
        );
        let older = Cursor::Before(key(5)).sql("at", "id", 2, false);
        assert_eq!(older.and, " AND (at < $2 OR (at = $2 AND id < $3))");
        assert_eq!(older.order, "at DESC, id DESC");
        let newer = Cursor::After(key(5)).sql("at", "id", 2, false);
        assert_eq!(newer.and, " AND (at > $2 OR (at = $2 AND id > $3))");
        assert_eq!(newer.order, "at ASC, id ASC");
        assert_eq!(
            Cursor::<Key<i64>>::First.sql("n", "id", 6, true).order,
            "n ASC, id ASC"
        );
    }

    #[test]
    fn pages_of_a_descending_list_lead_on_and_back() {
        // The list 9, 8, …, 1 (newest first), three a page.
        let all: Vec<i64> = (1..=9).rev().collect();
        let read = |cursor: &Cursor<Key<i64>>| {
            let mut rows: Vec<i64> = match cursor {
                Cursor::First => all.clone(),
                Cursor::Before(k) => all.iter().copied().filter(|n| *n < k.sort).collect(),
                Cursor::After(k) => all.iter().rev().copied().filter(|n| *n > k.sort).collect(),
            };
            rows.truncate(4);
            Window::settle(rows, cursor, false, 3, |n| key(*n))
        };
        let first = read(&Cursor::First);
        assert_eq!(first.rows, [9, 8, 7]);
        assert_eq!(first.prev, None);
        let second = read(first.next.as_ref().unwrap());
        assert_eq!(second.rows, [6, 5, 4]);
        let third = read(second.next.as_ref().unwrap());
        assert_eq!(third.rows, [3, 2, 1]);
        assert_eq!(third.next, None);
        let back = read(third.prev.as_ref().unwrap());
        assert_eq!(back.rows, [6, 5, 4]);
        let top = read(back.prev.as_ref().unwrap());
        assert_eq!(top.rows, [9, 8, 7]);
        assert_eq!(top.prev, None);
        assert_eq!(top.next, Some(Cursor::Before(key(7))));
    }
}
