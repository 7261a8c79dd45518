//! Call records as lists and figures: the call list, new calls, missed calls, statistics.
//!
//! Sized for a subscriber with 1,000,000 calls in a table of 10,000,000 (`selfcare demo --users
//! 10 --calls 10000000`: 1,000,000 calls a user over 90 days, rows in random time order).
//!
//! - **Pages** are keyset pages on `(started_at, id)`, newest first, never `OFFSET`: page *n*
//!   costs what page 1 costs, and calls arriving between two fetches neither repeat nor hide a
//!   row. A page is found in two steps: the ids of its rows from the covering index
//!   `calls_user_time_cover` alone (the filter's columns are in it, so a selective filter skips
//!   rows without touching the table), then those rows by primary key with their destination.
//!   The page position narrows the scanned range rather than adding a second bound (SQLite uses
//!   only one upper bound per column for an index range).
//! - **Totals** read the daily roll-up `call_days` (migration 0032) for the whole UTC days of
//!   the period, the hourly roll-up `call_hours` (migration 0005) for the whole hours around
//!   them, and `calls` for the partial hours at its edges, in one statement; both roll-ups are
//!   kept by triggers. **Per-day figures** read the same three levels: each whole UTC day of
//!   `call_days` is counted on the local day most of its hours are on, and the hours of it that
//!   are on the neighbouring local day are moved there, read from `call_hours` (and from `calls`
//!   for the part hour of a zone whose offset is not whole hours, as India's).
//! - **The call list** asks for its page, its totals and the user's devices in one statement
//!   (`Store::call_listing`): each statement costs a round trip to the connection (its thread on
//!   SQLite, its server on PostgreSQL) and another as sqlx tests the connection it hands back.
//!   Three statements in one served a fifth to a quarter more call lists under 50 clients at
//!   10M calls on both engines (README, Performance).
//! - **Unseen and unprocessed** calls are counted on the partial indexes `calls_unseen` and
//!   `calls_missed`, which hold only those.
//!
//! Plans on PostgreSQL for that user (EXPLAIN ANALYZE, machine under load):
//!
//! | query | before (0001's `calls_user_time`) | now |
//! | --- | --- | --- |
//! | totals of 30 days (333,000 calls) | Bitmap Heap Scan, 160,000 heap pages: 5,960 ms | covering index, Index Only Scan: 1,030 ms; `call_hours` (11,500 rows): 4 ms |
//! | totals of 365 days (1,000,000 calls) | — | Index Only Scan: 2,340 ms; `call_hours` (34,600 rows): 20–26 ms |
//! | per day, 365 days | — | HashAggregate over Index Only Scan: 1,076 ms; over `call_hours`: 25 ms |
//! | page 60 days deep, incoming + busy | Index Scan + heap filter | Index Only Scan Backward, filter on included columns, 1,444 rows skipped: 0.7 ms |
//! | first page of this month | Index Only Scan Backward, LIMIT 51, 51 PK lookups: 0.6 ms | same |
//! | unprocessed missed, 365 days | — | Index Only Scan on `calls_missed` (42,700): 16 ms |
//!
//! SQLite picks the same indexes ("SEARCH calls USING COVERING INDEX calls_user_time_cover",
//! "SEARCH call_hours USING PRIMARY KEY") once it has statistics (migration 0005 runs
//! `ANALYZE`). The cost of the roll-up is on writes: a bulk insert of 500,000 calls took 22 s
//! instead of 15 s on PostgreSQL (statement-level triggers, one grouped upsert per statement)
//! and 13 s instead of 7.5 s on SQLite (a row trigger).
//!
//! Filters become SQL here and nowhere else: direction and status are closed enums written as
//! SQL literals (so partial indexes match the query's `WHERE` on both engines, and PostgreSQL
//! plans them as constants); every other value is a bound parameter.

use serde::{Deserialize, Serialize};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::QueryAs;
use sqlx::{Any, FromRow};

use super::json_rows;
use super::keyset_page::{self, PageKey, Window};
use super::row_query::RowQuery;
use super::Store;
use crate::call_filter::{CallFilter, DeviceChoice, Status};
use crate::period::{DayOf, Period};

/// A place in a newest-first list (calls, faxes, callback requests): the row's time and id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Key {
    pub started_at: i64,
    pub id: i64,
}

impl Key {
    /// `STARTED_AT.ID`, the form in paging links.
    pub fn param(self) -> String {
        format!("{}.{}", self.started_at, self.id)
    }

    pub fn parse(s: &str) -> Option<Key> {
        let (t, id) = s.trim().split_once('.')?;
        Some(Key {
            started_at: t.parse().ok()?,
            id: id.parse().ok()?,
        })
    }
}

/// The call lists' links keep their published `STARTED_AT.ID` form.
impl PageKey for Key {
    fn param(&self) -> String {
        Key::param(*self)
    }

    fn parse(s: &str) -> Option<Key> {
        Key::parse(s)
    }
}

/// Where a page of a newest-first list starts: `Before` a key are the older rows (the "older"
/// link, `links.next`), `After` it the newer ones.
pub type Cursor = keyset_page::Cursor<Key>;

/// One call as the lists show it.
#[derive(Clone, Debug, FromRow, Serialize, Deserialize)]
pub struct CallRow {
    pub id: i64,
    pub started_at: i64,
    pub src: String,
    pub dst: String,
    /// The matched destination's details; None for unmatched numbers and incoming calls.
    pub destination: Option<String>,
    /// `in` or `out`.
    pub direction: String,
    /// `ANSWERED`, `NO ANSWER`, `BUSY`, `FAILED`.
    pub disposition: String,
    pub duration_s: i64,
    pub billsec: i64,
    /// Micro-units of the user's currency; None when not rated.
    pub price_micros: Option<i64>,
    pub processed: i64,
    pub seen: i64,
    /// The names the user's phonebook gives `src` and `dst`, on the pages (None in exports).
    pub src_name: Option<String>,
    pub dst_name: Option<String>,
}

impl CallRow {
    pub fn key(&self) -> Key {
        Key {
            started_at: self.started_at,
            id: self.id,
        }
    }
}

/// One page of calls, newest first, with where its neighbours start.
pub type CallPage = Window<CallRow, Key>;

/// A page position as an index range on a list's time and id columns.
pub struct TimeRangeSql {
    /// ` AND …`: the rows on the far side of the key, its two parameters numbered as asked;
    /// empty for the first page.
    pub and: String,
    /// The `ORDER BY` that reads from the position (oldest first after `Cursor::After`; the
    /// page is turned round by `Window::settle`).
    pub order: String,
    /// The key whose time and id are bound, in that order, as those two parameters.
    pub key: Option<Key>,
}

impl Cursor {
    /// The position on the columns `time` and `id`, its parameters numbered from `n`. Unlike
    /// [`keyset_page::Cursor::sql`], the key's time is also a plain bound (`time <= t`), so
    /// that both engines scan the index from it.
    pub fn time_range_sql(self, time: &str, id: &str, n: usize) -> TimeRangeSql {
        let (t, i) = (format!("${n}"), format!("${}", n + 1));
        let newest_first = format!("{time} DESC, {id} DESC");
        match self {
            Cursor::First => TimeRangeSql {
                and: String::new(),
                order: newest_first,
                key: None,
            },
            Cursor::Before(k) => TimeRangeSql {
                and: format!(" AND {time} <= {t} AND ({time} < {t} OR {id} < {i})"),
                order: newest_first,
                key: Some(k),
            },
            Cursor::After(k) => TimeRangeSql {
                and: format!(" AND {time} >= {t} AND ({time} > {t} OR {id} > {i})"),
                order: format!("{time} ASC, {id} ASC"),
                key: Some(k),
            },
        }
    }
}

/// Count, talk time and price of the calls of a filter.
#[derive(Clone, Copy, Debug, Default, FromRow, PartialEq, Eq, Serialize)]
pub struct CallTotals {
    pub calls: i64,
    pub billsec: i64,
    pub price_micros: i64,
    /// Calls without a price (not rated yet); they add nothing to `price_micros`.
    pub unrated: i64,
}

/// Calls of one local day: how many, how many answered, their talk time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DayCalls {
    pub day: chrono::NaiveDate,
    pub calls: i64,
    pub answered: i64,
    pub billsec: i64,
}

#[derive(Deserialize)]
struct DayRow {
    day: i64,
    calls: i64,
    answered: i64,
    billsec: i64,
}

/// Calls of a period with one direction and one disposition.
#[derive(Clone, Debug, PartialEq, Eq, FromRow)]
pub struct ResultCalls {
    pub direction: String,
    pub disposition: String,
    pub calls: i64,
    pub billsec: i64,
}

/// The figures of the statistics page that do not depend on the chosen period.
#[derive(Clone, Copy, Debug, Default, FromRow, PartialEq, Eq)]
pub struct CallCounters {
    pub today: i64,
    pub month: i64,
    pub unseen: i64,
    pub daily_call_target: i64,
}

/// A device as the call filter lists it.
#[derive(Clone, Debug, FromRow, Deserialize)]
pub struct DeviceName {
    pub id: i64,
    pub device_type: String,
    pub extension: String,
    pub description: String,
}

/// A `DeviceName`'s columns in its fields' order.
const DEVICE_FIELDS: &str = "id, device_type, extension, description";

/// The call list's figures, read together (`Store::call_listing`).
pub struct CallListing {
    pub page: CallPage,
    pub totals: CallTotals,
    pub devices: Vec<DeviceName>,
}

#[derive(FromRow)]
struct ListingRow {
    /// The page's rows as `json_rows` hands them over.
    page: String,
    /// The devices, the same way.
    devices: String,
    #[sqlx(flatten)]
    totals: CallTotals,
}

/// A page of calls as one statement of `json_rows`, and how its rows become the page.
struct PageSql {
    sql: String,
    binds: Vec<i64>,
    list: json_rows::Listing,
    cursor: Cursor,
    limit: i64,
}

impl PageSql {
    /// The page of the calls of `w` from `cursor`, at most `limit` of them.
    fn of(backend: super::Backend, w: Where, cursor: Cursor, limit: u32) -> PageSql {
        let limit = limit.clamp(1, 1000) as i64;
        // Walking towards newer calls reads the index forwards, then the page is turned round.
        let order = match cursor {
            Cursor::After(_) => "c.started_at ASC, c.id ASC",
            _ => "c.started_at DESC, c.id DESC",
        };
        // One row more than the page tells whether there is a page beyond.
        let (rows, binds) = select_calls(w, order, Some(limit + 1), true);
        let list = json_rows::Listing::new(backend, CALL_FIELDS, order);
        PageSql {
            sql: list.sql(&rows),
            binds,
            list,
            cursor,
            limit,
        }
    }

    fn settle(&self, rows: Vec<CallRow>) -> CallPage {
        Window::settle(rows, &self.cursor, false, self.limit as u32, CallRow::key)
    }
}

/// A `WHERE` clause under construction: SQL text and its parameters, all 64-bit integers.
struct Where {
    sql: String,
    binds: Vec<i64>,
}

impl Where {
    fn new(user_id: i64) -> Where {
        Where {
            sql: "user_id = $1".to_string(),
            binds: vec![user_id],
        }
    }

    fn bind(&mut self, v: i64) -> String {
        self.binds.push(v);
        format!("${}", self.binds.len())
    }

    fn and(&mut self, sql: &str) {
        self.sql.push_str(" AND ");
        self.sql.push_str(sql);
    }

    /// `started_at` in `[from, until)`.
    fn range(&mut self, from: i64, until: i64) {
        let from = self.bind(from);
        let until = self.bind(until);
        self.and(&format!("started_at >= {from} AND started_at < {until}"));
    }

    /// `day` in `[d0, d1)` (call_days).
    fn days(&mut self, d0: i64, d1: i64) {
        let d0 = self.bind(d0);
        let d1 = self.bind(d1);
        self.and(&format!("day >= {d0} AND day < {d1}"));
    }

    /// A clause of its own (`user_id = $1` and what `build` adds) whose parameters go on after
    /// this one's: the branches of one statement.
    fn clause(&mut self, build: impl FnOnce(&mut Where)) -> String {
        let outer = std::mem::replace(&mut self.sql, "user_id = $1".to_string());
        build(self);
        std::mem::replace(&mut self.sql, outer)
    }

    /// `hour` in `[h0, h1)` (call_hours).
    fn hours(&mut self, h0: i64, h1: i64) {
        let h0 = self.bind(h0);
        let h1 = self.bind(h1);
        self.and(&format!("hour >= {h0} AND hour < {h1}"));
    }

    /// The filter's columns but the period; the same names in calls and call_hours.
    fn columns(&mut self, f: &CallFilter) {
        if let Some(d) = f.direction.column_value() {
            // A literal from a closed enum, never user text.
            self.and(&format!("direction = '{d}'"));
        }
        match f.status {
            Status::All => {}
            Status::Answered => self.and("disposition = 'ANSWERED'"),
            Status::Unanswered => self.and("disposition <> 'ANSWERED'"),
            Status::NoAnswer => self.and("disposition = 'NO ANSWER'"),
            Status::Busy => self.and("disposition = 'BUSY'"),
            Status::Failed => self.and("disposition = 'FAILED'"),
        }
        if let DeviceChoice::One(id) = f.device {
            let p = self.bind(id);
            self.and(&format!("device_id = {p}"));
        }
    }

    /// The filter from a page position on. The position narrows the period's range instead of
    /// adding a second bound, so that both engines scan the index from the key (SQLite keeps
    /// only one upper and one lower bound of a column as the range of its index scan).
    fn filter_from(&mut self, f: &CallFilter, c: Cursor) {
        let (from, until) = (f.period.from(), f.period.until());
        match c {
            Cursor::First => self.range(from, until),
            Cursor::Before(k) => {
                self.range(from, until.min(k.started_at.saturating_add(1)));
                let t = self.bind(k.started_at);
                let id = self.bind(k.id);
                self.and(&format!("(started_at < {t} OR id < {id})"));
            }
            Cursor::After(k) => {
                self.range(from.max(k.started_at), until);
                let t = self.bind(k.started_at);
                let id = self.bind(k.id);
                self.and(&format!("(started_at > {t} OR id > {id})"));
            }
        }
        self.columns(f);
    }
}

/// Every call of a filter, newest first, in one statement: the list behind the call list's
/// exports.
fn all_calls(user_id: i64, filter: &CallFilter, limit: Option<i64>) -> (String, Vec<i64>) {
    let mut w = Where::new(user_id);
    w.filter_from(filter, Cursor::First);
    select_calls(w, "c.started_at DESC, c.id DESC", limit, false)
}

/// A `CallRow`'s columns in its fields' order, as `select_calls` names them.
const CALL_FIELDS: &str = "id, started_at, src, dst, destination, direction, disposition, \
    duration_s, billsec, price_micros, processed, seen, src_name, dst_name";

/// The calls of `w` in `order`: one ordered range scan of `calls_user_time_cover` that stops
/// after `limit` rows. The destination is a scalar subquery rather than a join so that no
/// engine trades the ordered scan for a hash join and a sort of the whole result (a streamed
/// export must send its first rows at once), and `calls` is named once: PostgreSQL plans one
/// reference to its months, where a join of the keys back to their rows took it twice as long.
/// `names`: the phonebook's names of both parties, the same way (two lookups a row on the
/// unique `(user_id, number)` index, in the page's one statement); exports show none.
fn select_calls(mut w: Where, order: &str, limit: Option<i64>, names: bool) -> (String, Vec<i64>) {
    let limit = match limit {
        Some(n) => format!(" LIMIT {}", w.bind(n)),
        None => String::new(),
    };
    let names = if names {
        "(SELECT p.name FROM phonebook_entries p WHERE p.user_id = c.user_id AND p.number = c.src)
             AS src_name,
         (SELECT p.name FROM phonebook_entries p WHERE p.user_id = c.user_id AND p.number = c.dst)
             AS dst_name"
    } else {
        "CAST(NULL AS TEXT) AS src_name, CAST(NULL AS TEXT) AS dst_name"
    };
    let sql = format!(
        "SELECT c.id, c.started_at, c.src, c.dst,
                (SELECT d.details FROM destinations d WHERE d.id = c.destination_id) AS destination,
                c.direction, c.disposition, c.duration_s, c.billsec, c.price_micros, c.processed,
                c.seen, {names}
         FROM calls c WHERE {} ORDER BY {order}{limit}",
        w.sql
    );
    (sql, w.binds)
}

/// Every call of the filter, newest first, to be read as a stream (the CSV export).
pub fn calls_query(user_id: i64, filter: &CallFilter) -> RowQuery<CallRow> {
    let (sql, binds) = all_calls(user_id, filter, None);
    RowQuery::new(sql, binds)
}

impl Store {
    /// The user's devices, for the call filter's device list.
    pub async fn device_choices(&self, user_id: i64) -> sqlx::Result<Vec<DeviceName>> {
        sqlx::query_as(&format!(
            "SELECT {DEVICE_FIELDS} FROM devices WHERE user_id = $1 ORDER BY id"
        ))
        .bind(user_id)
        .fetch_all(self.pool())
        .await
    }

    /// A page of at most `limit` calls of the filter, newest first.
    pub async fn call_page(
        &self,
        user_id: i64,
        filter: &CallFilter,
        cursor: Cursor,
        limit: u32,
    ) -> sqlx::Result<CallPage> {
        let mut w = Where::new(user_id);
        w.filter_from(filter, cursor);
        self.page_of(w, cursor, limit).await
    }

    /// The calls of `w` on one page.
    async fn page_of(&self, w: Where, cursor: Cursor, limit: u32) -> sqlx::Result<CallPage> {
        let page = PageSql::of(self.backend(), w, cursor, limit);
        let q = page
            .binds
            .iter()
            .fold(sqlx::query_as(&page.sql), |q, b| q.bind(*b));
        let rows: Vec<CallRow> = page.list.fetch(q, self.reader()).await?;
        Ok(page.settle(rows))
    }

    /// The call list's figures in one statement (a round trip, not three): a page of the
    /// filter's calls, the filter's totals and the user's devices for the filter's list.
    pub async fn call_listing(
        &self,
        user_id: i64,
        filter: &CallFilter,
        cursor: Cursor,
        limit: u32,
    ) -> sqlx::Result<CallListing> {
        let mut w = Where::new(user_id);
        w.filter_from(filter, cursor);
        let page = PageSql::of(self.backend(), w, cursor, limit);
        // The totals' parameters go on after the page's.
        let mut w = Where::new(user_id);
        w.binds.clone_from(&page.binds);
        let totals = totals_sql(&mut w, filter);
        let devices = json_rows::Listing::new(self.backend(), DEVICE_FIELDS, "id");
        let sql = format!(
            "SELECT ({}) AS page, ({}) AS devices, t.calls, t.billsec, t.price_micros, t.unrated
               FROM ({totals}) t",
            page.sql,
            devices.sql(&format!(
                "SELECT {DEVICE_FIELDS} FROM devices WHERE user_id = $1"
            )),
        );
        let row: ListingRow = w.query_as(&sql).fetch_one(self.reader()).await?;
        Ok(CallListing {
            page: page.settle(page.list.read(&row.page)?),
            totals: row.totals,
            devices: devices.read(&row.devices)?,
        })
    }

    /// The newest `limit` calls of the filter (the PDF export, whose length is capped).
    pub async fn calls_of_filter(
        &self,
        user_id: i64,
        filter: &CallFilter,
        limit: i64,
    ) -> sqlx::Result<Vec<CallRow>> {
        let (sql, binds) = all_calls(user_id, filter, Some(limit));
        RowQuery::<CallRow>::new(sql, binds)
            .fetch_all(self.reader())
            .await
    }

    /// Count, talk time and price of all calls of the filter, in one statement (see
    /// `rolled_up`).
    pub async fn call_totals(&self, user_id: i64, filter: &CallFilter) -> sqlx::Result<CallTotals> {
        let mut w = Where::new(user_id);
        let sql = totals_sql(&mut w, filter);
        w.query_as::<CallTotals>(&sql)
            .fetch_one(self.reader())
            .await
    }

    /// The calls of a period per direction and disposition, in one statement (see
    /// `rolled_up`): the statistics page's table.
    pub async fn calls_by_result(
        &self,
        user_id: i64,
        period: &Period,
    ) -> sqlx::Result<Vec<ResultCalls>> {
        let mut w = Where::new(user_id);
        let Some(rows) = rolled_up(&mut w, &CallFilter::period(period.clone())) else {
            return Ok(Vec::new());
        };
        let sql = format!(
            "SELECT direction, disposition, CAST(COALESCE(SUM(n), 0) AS BIGINT) AS calls,
                    CAST(COALESCE(SUM(b), 0) AS BIGINT) AS billsec
               FROM ({rows}) x GROUP BY direction, disposition ORDER BY direction, disposition"
        );
        w.query_as::<ResultCalls>(&sql)
            .fetch_all(self.reader())
            .await
    }

    /// Marks calls as seen by their owner; ids of other users' calls are ignored. Returns how
    /// many calls changed.
    pub async fn mark_seen(&self, user_id: i64, ids: &[i64]) -> sqlx::Result<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let list: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "UPDATE calls SET seen = 1 WHERE user_id = $1 AND seen = 0 AND id IN ({})",
            list.join(", ")
        );
        let mut q = sqlx::query(&sql).bind(user_id);
        for id in ids {
            q = q.bind(*id);
        }
        Ok(q.execute(self.pool()).await?.rows_affected())
    }

    /// Marks every unseen call of the user seen; returns how many.
    pub async fn mark_all_seen(&self, user_id: i64) -> sqlx::Result<u64> {
        let done = sqlx::query("UPDATE calls SET seen = 1 WHERE user_id = $1 AND seen = 0")
            .bind(user_id)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }

    /// A page of at most `limit` calls not yet seen, newest first (the partial index
    /// `calls_unseen`).
    pub async fn unseen_page(
        &self,
        user_id: i64,
        cursor: Cursor,
        limit: u32,
    ) -> sqlx::Result<CallPage> {
        let mut w = Where::new(user_id);
        w.and("seen = 0");
        let position = cursor.time_range_sql("started_at", "id", w.binds.len() + 1);
        if let Some(k) = position.key {
            w.binds.extend([k.started_at, k.id]);
            w.sql.push_str(&position.and);
        }
        self.page_of(w, cursor, limit).await
    }

    /// How many of the user's calls are not seen yet, read from the counter `unseen_counts`
    /// (kept by triggers, migration 0030), so the New calls page does not count a history that
    /// only grows. A user with no row has none.
    pub async fn unseen_count(&self, user_id: i64) -> sqlx::Result<i64> {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT unseen FROM unseen_counts WHERE user_id = $1")
                .bind(user_id)
                .fetch_optional(self.reader())
                .await?;
        Ok(row.map_or(0, |(n,)| n))
    }

    /// Missed calls of a period (from the roll-up), and how many missed calls of any time are
    /// not processed yet: the main page's figure, read from the counter `missed_counts`, so
    /// both pages say the same and neither counts a growing history. One statement.
    pub async fn missed_counts(&self, user_id: i64, period: &Period) -> sqlx::Result<(i64, i64)> {
        let mut w = Where::new(user_id);
        let missed = count_of(&mut w, &CallFilter::missed(period.clone()));
        let sql = format!(
            "SELECT {missed},
                    COALESCE((SELECT unprocessed FROM missed_counts WHERE user_id = $1), 0)"
        );
        w.query_as::<(i64, i64)>(&sql)
            .fetch_one(self.reader())
            .await
    }

    /// Marks every missed call of the user not processed yet (any date) processed; returns how
    /// many. One statement on the partial index of those calls; the counter follows by trigger.
    pub async fn mark_all_processed(&self, user_id: i64) -> sqlx::Result<u64> {
        let done = sqlx::query(
            "UPDATE calls SET processed = 1
             WHERE user_id = $1 AND direction = 'in' AND disposition <> 'ANSWERED' AND processed = 0",
        )
        .bind(user_id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }

    /// Marks one of the user's missed calls processed. False when the call is not a missed
    /// call of this user (answered, outgoing, or somebody else's).
    pub async fn mark_processed(&self, user_id: i64, call_id: i64) -> sqlx::Result<bool> {
        let done = sqlx::query(
            "UPDATE calls SET processed = 1
             WHERE id = $1 AND user_id = $2 AND direction = 'in' AND disposition <> 'ANSWERED'",
        )
        .bind(call_id)
        .bind(user_id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Calls of a period per local day (how many, answered, talk time), days in the zone `tz`,
    /// in one statement. Per DST segment of the period (see `Period::day_segments`): the whole
    /// UTC days from `call_days`, each put in the local day most of its hours belong to, then the
    /// hours of each such day that belong to the neighbouring local day moved there
    /// ([`day_corrections`]: at most 12 of 24 hours a day, none in UTC, one in London's summer),
    /// and the segment's edges from `call_hours` and `calls`. So a year is read as ~365 day rows
    /// a device, direction and result and a few hours a day, not every hour of the year.
    pub async fn calls_by_day(
        &self,
        user_id: i64,
        period: &Period,
        tz: chrono_tz::Tz,
    ) -> sqlx::Result<Vec<DayCalls>> {
        let mut w = Where::new(user_id);
        let mut parts = Vec::new();
        let mut corrected_days: Option<(i64, i64)> = None;
        let mut moved = Vec::new();
        for seg in period.day_segments(tz) {
            let (shift, split) = match seg.day {
                // One local day: every row of the segment is on it, whatever its source.
                DayOf::Day(_) => (None, DaySplit::hours_only(seg.from, seg.until)),
                DayOf::Shift(shift) => (Some(shift), DaySplit::of(seg.from, seg.until)),
            };
            if let (Some(shift), Some((d0, d1))) = (shift, split.days) {
                let day = DayAssignment::of(shift);
                parts.push(day_rows(
                    &mut w,
                    seg.day,
                    Source::Days(d0, d1, day.representative),
                ));
                for piece in day.misplaced() {
                    let name = format!("moved{}", moved.len());
                    let (rows, branches) =
                        day_corrections(&mut w, &name, shift, &day, piece, (d0, d1));
                    moved.push(format!("{name} AS ({rows})"));
                    parts.extend(branches);
                    let (a, b) = corrected_days.get_or_insert((d0, d1));
                    (*a, *b) = ((*a).min(d0), (*b).max(d1));
                }
            }
            for (h0, h1) in split.hours {
                for source in hour_sources(h0, h1, shift) {
                    parts.push(day_rows(&mut w, seg.day, source));
                }
            }
            for (a, b) in split.edges {
                parts.push(day_rows(&mut w, seg.day, Source::part(a, b, shift)));
            }
        }
        if parts.is_empty() {
            return Ok(Vec::new());
        }
        // The UTC days whose misplaced hours are moved, as rows to join those hours to, and
        // those hours, read once each for the two branches that move them.
        let with = match corrected_days {
            Some((d0, d1)) => {
                let (d0, d1) = (w.bind(d0), w.bind(d1));
                format!(
                    "WITH RECURSIVE utc_days(n) AS (
                        SELECT CAST({d0} AS BIGINT) UNION ALL SELECT n + 1 FROM utc_days WHERE n + 1 < {d1}),
                     {} ",
                    moved.join(", ")
                )
            }
            None => String::new(),
        };
        // A year is 365 rows: they come as one value (`json_rows`).
        let days = format!(
            "SELECT day, CAST(SUM(n) AS BIGINT) AS calls, CAST(SUM(a) AS BIGINT) AS answered,
                    CAST(SUM(b) AS BIGINT) AS billsec
               FROM ({}) x GROUP BY day",
            parts.join(" UNION ALL ")
        );
        let list = json_rows::Listing::new(self.backend(), "day, calls, answered, billsec", "day");
        let sql = format!("{with}{}", list.sql(&days));
        let days: Vec<DayRow> = list.fetch(w.query_as(&sql), self.reader()).await?;
        Ok(days
            .into_iter()
            .filter(|r| r.calls != 0)
            .map(|r| DayCalls {
                day: DayOf::date_of(r.day),
                calls: r.calls,
                answered: r.answered,
                billsec: r.billsec,
            })
            .collect())
    }

    /// Calls today and this month (the periods given), calls not seen yet (the same counter as
    /// `unseen_count`), and the user's daily call target, in one statement: the statistics
    /// page's "normative" figures.
    pub async fn call_counters(
        &self,
        user_id: i64,
        today: &Period,
        month: &Period,
    ) -> sqlx::Result<CallCounters> {
        let mut w = Where::new(user_id);
        let today = count_of(&mut w, &CallFilter::period(today.clone()));
        let month = count_of(&mut w, &CallFilter::period(month.clone()));
        let sql = format!(
            "SELECT {today} AS today, {month} AS month,
                    COALESCE((SELECT unseen FROM unseen_counts WHERE user_id = $1), 0) AS unseen,
                    u.daily_call_target
             FROM users u WHERE u.id = $1"
        );
        w.query_as::<CallCounters>(&sql)
            .fetch_one(self.reader())
            .await
    }
}

/// One branch of `calls_by_day`: the rows of `source` with their local day (`day`), calls
/// (`n`), answered calls (`a`) and talk time (`b`); its parameters added to `w`.
fn day_rows(w: &mut Where, day: DayOf, source: Source) -> String {
    let level = source.level();
    let (table, column, seconds) = (level.table, level.column, level.seconds);
    let (from, until) = source.range();
    let instant = match source {
        Source::Days(_, _, representative) => {
            format!("r.day * 86400 + {}", w.bind(representative))
        }
        _ => format!("r.{column} * {seconds}"),
    };
    let day = match day {
        DayOf::Shift(shift) => {
            let shift = w.bind(shift);
            format!("({instant} + {shift}) / 86400")
        }
        DayOf::Day(date) => {
            let n = date.signed_duration_since(DayOf::date_of(0)).num_days();
            w.bind(n)
        }
    };
    let from = w.bind(from);
    let until = w.bind(until);
    format!(
        "SELECT {day} AS day, {} AS n, {} AS a, r.billsec AS b
           FROM {table} r WHERE r.user_id = $1 AND r.{column} >= {from} AND r.{column} < {until}",
        level.calls, level.answered
    )
}

/// The whole UTC hours `[h0, h1)` of a period in a zone `shift` seconds ahead of UTC, as the
/// sources that put each call on its local day: `call_hours` for the hours within one local
/// day, quarter hours (`Source::part`) for an hour that a local midnight cuts (only where the
/// offset is not whole hours, as India's: at most one such hour a day). `None`: the hours are
/// all on one local day.
fn hour_sources(h0: i64, h1: i64, shift: Option<i64>) -> Vec<Source> {
    let cut = |h: i64| shift.is_some_and(|s| (h * 3600 + s).rem_euclid(86_400) > 86_400 - 3600);
    let mut out = Vec::new();
    let mut start = h0;
    for h in (h0..h1).filter(|&h| cut(h)) {
        if start < h {
            out.push(Source::Hours(start, h));
        }
        out.push(Source::part(h * 3600, (h + 1) * 3600, shift));
        start = h + 1;
    }
    if start < h1 {
        out.push(Source::Hours(start, h1));
    }
    out
}

/// Which local day a whole UTC day's row is counted on, for a zone `shift` seconds ahead of
/// UTC: the day of its `representative` second, chosen so that most of its hours are right.
/// The rest, `misplaced` (seconds of the UTC day), are moved by [`day_corrections`].
struct DayAssignment {
    representative: i64,
    misplaced: (i64, i64),
}

impl DayAssignment {
    fn of(shift: i64) -> DayAssignment {
        const DAY: i64 = 86_400;
        // The local midnight falls this many seconds before the end of each UTC day.
        let ahead = shift.rem_euclid(DAY);
        if ahead <= DAY / 2 {
            // Most of the UTC day is on the local day of its first second; its last `ahead`
            // seconds are on the next one.
            DayAssignment {
                representative: 0,
                misplaced: (DAY - ahead, DAY),
            }
        } else {
            DayAssignment {
                representative: DAY - 1,
                misplaced: (0, DAY - ahead),
            }
        }
    }

    /// The misplaced seconds as whole hours (from `call_hours`) and at most one partial hour,
    /// in hours or seconds of the UTC day. Every zone today is a whole number of quarter hours
    /// from UTC, so that part hour is quarter hours (from `call_quarters`); `calls` serves any
    /// other offset (historic local mean times, as India's +5:53:20 before 1942).
    fn misplaced(&self) -> Vec<Source> {
        let (from, until) = self.misplaced;
        let HourSplit { hours, edges } = HourSplit::of(from, until);
        hours
            .map(|(h0, h1)| Source::Hours(h0, h1))
            .into_iter()
            .chain(edges.into_iter().map(|(a, b)| Source::part(a, b, None)))
            .collect()
    }
}

/// The rows of `piece` (hours or seconds of the UTC day) of each UTC day `[d0, d1)`, counted on
/// the wrong local day by the `call_days` branch, summed per UTC day as the query of a `WITH`
/// table `name` (the days are the `utc_days` rows, each joined to its range), and two branches
/// of `calls_by_day` that move those sums to their own local day: added there, taken off the
/// day they were counted on. Every second of a misplaced piece is on the same local day, so a
/// year is ~365 rows whatever the piece holds (a half hour of `calls` held 50,000 rows at 10M).
/// (Two references to one `WITH` table: both engines read the rows once. With the join written
/// in both branches, SQLite 3.40 read every hour of the subscriber for a Bloom filter: 12 ms
/// instead of 1.5 ms for a year.)
fn day_corrections(
    w: &mut Where,
    name: &str,
    shift: i64,
    day: &DayAssignment,
    piece: Source,
    (d0, d1): (i64, i64),
) -> (String, [String; 2]) {
    if let Source::Days(..) = piece {
        unreachable!("a UTC day is never misplaced whole");
    }
    let Level {
        table,
        column,
        seconds,
        calls,
        answered,
    } = piece.level();
    let unit = 86_400 / seconds;
    let (from, until) = piece.range();
    let second = from * seconds;
    let (from, until) = (w.bind(from), w.bind(until));
    let (d0, d1) = (w.bind(d0), w.bind(d1));
    let rows = format!(
        "SELECT u.n AS utc_day, CAST(SUM({calls}) AS BIGINT) AS n,
                CAST(SUM({answered}) AS BIGINT) AS a,
                CAST(SUM(r.billsec) AS BIGINT) AS b
           FROM utc_days u JOIN {table} r
             ON r.user_id = $1 AND r.{column} >= u.n * {unit} + {from}
            AND r.{column} < u.n * {unit} + {until}
          WHERE u.n >= {d0} AND u.n < {d1}
          GROUP BY u.n"
    );
    let shift = w.bind(shift);
    let representative = w.bind(day.representative);
    // `second`: any second of the piece, all of which are on one local day.
    let second = w.bind(second);
    let branches = [
        format!(
            "SELECT (utc_day * 86400 + {second} + {shift}) / 86400 AS day, n, a, b FROM {name}"
        ),
        format!(
            "SELECT (utc_day * 86400 + {representative} + {shift}) / 86400 AS day, -n, -a, -b
               FROM {name}"
        ),
    ];
    (rows, branches)
}

/// Where the rows of a per-day query come from: whole UTC days `[d0, d1)` of `call_days` (with
/// the second of the day that decides their local day), whole hours `[h0, h1)` of
/// `call_hours`, the instants `[from, until)` of `calls`, or (for the pieces of each UTC day
/// that `day_corrections` moves) the quarter hours `[q0, q1)` of the day in `call_quarters`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    Days(i64, i64, i64),
    Hours(i64, i64),
    Calls(i64, i64),
    Quarters(i64, i64),
}

/// How the rows of a source's table are read, as `r`: the column its range is on and how many
/// seconds one step of it is, its calls and its answered calls.
struct Level {
    table: &'static str,
    column: &'static str,
    seconds: i64,
    calls: &'static str,
    answered: &'static str,
}

impl Source {
    fn level(self) -> Level {
        // The roll-ups' rows are per result; a quarter counts its answered calls itself.
        let answered_of_rolled = "CASE WHEN r.disposition = 'ANSWERED' THEN r.calls ELSE 0 END";
        let rolled = |table, column, seconds| Level {
            table,
            column,
            seconds,
            calls: "r.calls",
            answered: answered_of_rolled,
        };
        match self {
            Source::Days(..) => rolled("call_days", "day", 86_400),
            Source::Hours(..) => rolled("call_hours", "hour", 3600),
            Source::Quarters(..) => Level {
                answered: "r.answered",
                ..rolled("call_quarters", "quarter", 900)
            },
            Source::Calls(..) => Level {
                table: "calls",
                column: "started_at",
                seconds: 1,
                calls: "1",
                answered: "CASE WHEN r.disposition = 'ANSWERED' THEN 1 ELSE 0 END",
            },
        }
    }

    /// The range of the level's column.
    fn range(self) -> (i64, i64) {
        match self {
            Source::Days(a, b, _)
            | Source::Hours(a, b)
            | Source::Quarters(a, b)
            | Source::Calls(a, b) => (a, b),
        }
    }

    /// The instants `[a, b)` of less than a day: as quarter hours where both ends are on a
    /// quarter hour and so is every local midnight (`shift`, seconds ahead of UTC, when the
    /// rows' day is computed from it), so that no quarter is on two local days; else `calls`.
    fn part(a: i64, b: i64, shift: Option<i64>) -> Source {
        let on_quarter = |t: i64| t.rem_euclid(900) == 0;
        if on_quarter(a) && on_quarter(b) && shift.is_none_or(on_quarter) {
            Source::Quarters(a.div_euclid(900), b.div_euclid(900))
        } else {
            Source::Calls(a, b)
        }
    }
}

/// A range of instants cut into the whole UTC hours inside it and the partial hours at its
/// edges.
#[derive(Clone, Debug, PartialEq, Eq)]
struct HourSplit {
    /// `[h0, h1)` in hours since the epoch, when at least one whole hour is inside.
    hours: Option<(i64, i64)>,
    /// The instants outside those hours, at most two ranges.
    edges: Vec<(i64, i64)>,
}

impl HourSplit {
    fn of(from: i64, until: i64) -> HourSplit {
        let h0 = from.div_euclid(3600) + i64::from(from.rem_euclid(3600) != 0);
        let h1 = until.div_euclid(3600);
        if from >= until {
            return HourSplit {
                hours: None,
                edges: vec![],
            };
        }
        if h0 >= h1 {
            return HourSplit {
                hours: None,
                edges: vec![(from, until)],
            };
        }
        let mut edges = Vec::new();
        if from < h0 * 3600 {
            edges.push((from, h0 * 3600));
        }
        if h1 * 3600 < until {
            edges.push((h1 * 3600, until));
        }
        HourSplit {
            hours: Some((h0, h1)),
            edges,
        }
    }
}

/// The rows of a filter's calls, for sums over them: whole UTC days from `call_days`, the whole
/// hours around them from `call_hours`, the partial hours at the period's edges from `calls`,
/// as `UNION ALL` branches with the columns `direction, disposition, n` (calls), `b` (talk
/// time), `p` (price), `u` (unpriced). A year is about 365 rows a filter value, not 8,760.
/// None for an empty period.
fn rolled_up(w: &mut Where, filter: &CallFilter) -> Option<String> {
    let split = DaySplit::of(filter.period.from(), filter.period.until());
    let mut parts = Vec::new();
    let rolled =
        "direction, disposition, calls AS n, billsec AS b, price_micros AS p, unpriced AS u";
    if let Some((d0, d1)) = split.days {
        let c = w.clause(|w| {
            w.days(d0, d1);
            w.columns(filter);
        });
        parts.push(format!("SELECT {rolled} FROM call_days WHERE {c}"));
    }
    for (h0, h1) in split.hours {
        let c = w.clause(|w| {
            w.hours(h0, h1);
            w.columns(filter);
        });
        parts.push(format!("SELECT {rolled} FROM call_hours WHERE {c}"));
    }
    for (from, until) in split.edges {
        let c = w.clause(|w| {
            w.range(from, until);
            w.columns(filter);
        });
        // Named as in the first branch: a period shorter than an hour has only these.
        parts.push(format!(
            "SELECT direction, disposition, 1 AS n, billsec AS b, COALESCE(price_micros, 0) AS p,
                    CASE WHEN price_micros IS NULL THEN 1 ELSE 0 END AS u
               FROM calls WHERE {c}"
        ));
    }
    (!parts.is_empty()).then(|| parts.join(" UNION ALL "))
}

/// Count, talk time, price and unrated calls of `filter` as a one-row query whose parameters
/// go on after `w`'s.
fn totals_sql(w: &mut Where, filter: &CallFilter) -> String {
    match rolled_up(w, filter) {
        Some(rows) => format!(
            "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) AS calls,
                    CAST(COALESCE(SUM(b), 0) AS BIGINT) AS billsec,
                    CAST(COALESCE(SUM(p), 0) AS BIGINT) AS price_micros,
                    CAST(COALESCE(SUM(u), 0) AS BIGINT) AS unrated
               FROM ({rows}) x"
        ),
        None => "SELECT CAST(0 AS BIGINT) AS calls, CAST(0 AS BIGINT) AS billsec,
                        CAST(0 AS BIGINT) AS price_micros, CAST(0 AS BIGINT) AS unrated"
            .into(),
    }
}

/// The number of calls of `filter`, as a scalar subquery for a statement whose clause is `w`.
fn count_of(w: &mut Where, filter: &CallFilter) -> String {
    match rolled_up(w, filter) {
        Some(rows) => format!("(SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM ({rows}) x)"),
        None => "CAST(0 AS BIGINT)".into(),
    }
}

/// A period cut for the roll-ups' three levels: whole UTC days `[d0, d1)` (`call_days`), the
/// whole hours around them (`call_hours`), the instants left at the edges (`calls`).
#[derive(Debug, PartialEq, Eq)]
struct DaySplit {
    days: Option<(i64, i64)>,
    hours: Vec<(i64, i64)>,
    edges: Vec<(i64, i64)>,
}

impl DaySplit {
    /// The period as whole hours and edges only, no days.
    fn hours_only(from: i64, until: i64) -> DaySplit {
        let HourSplit { hours, edges } = HourSplit::of(from, until);
        DaySplit {
            days: None,
            hours: hours.into_iter().collect(),
            edges,
        }
    }

    fn of(from: i64, until: i64) -> DaySplit {
        let HourSplit { hours, edges } = HourSplit::of(from, until);
        let Some((h0, h1)) = hours else {
            return DaySplit {
                days: None,
                hours: vec![],
                edges,
            };
        };
        let d0 = h0.div_euclid(24) + i64::from(h0.rem_euclid(24) != 0);
        let d1 = h1.div_euclid(24);
        if d0 >= d1 {
            return DaySplit {
                days: None,
                hours: vec![(h0, h1)],
                edges,
            };
        }
        let hours = [(h0, d0 * 24), (d1 * 24, h1)]
            .into_iter()
            .filter(|(a, b)| a < b)
            .collect();
        DaySplit {
            days: Some((d0, d1)),
            hours,
            edges,
        }
    }
}

impl Where {
    /// `sql` as a query with this clause's parameters bound.
    fn query_as<'q, O>(&self, sql: &'q str) -> QueryAs<'q, Any, O, AnyArguments<'q>>
    where
        O: for<'r> FromRow<'r, AnyRow>,
    {
        self.binds
            .iter()
            .fold(sqlx::query_as::<_, O>(sql), |q, v| q.bind(*v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hours_a_local_midnight_cuts_are_read_by_the_quarter() {
        // UTC and London: every hour from the roll-up.
        assert_eq!(hour_sources(10, 30, Some(0)), vec![Source::Hours(10, 30)]);
        assert_eq!(hour_sources(10, 30, None), vec![Source::Hours(10, 30)]);
        // India (+5:30): the UTC hour 18:00-19:00 holds the local midnight.
        assert_eq!(
            hour_sources(10, 30, Some(19_800)),
            vec![
                Source::Hours(10, 18),
                Source::Quarters(18 * 4, 19 * 4),
                Source::Hours(19, 30)
            ]
        );
        assert_eq!(
            hour_sources(18, 19, Some(19_800)),
            vec![Source::Quarters(18 * 4, 19 * 4)]
        );
        // St John's (-3:30): 03:00-04:00 UTC.
        assert_eq!(
            hour_sources(0, 4, Some(-12_600)),
            vec![Source::Hours(0, 3), Source::Quarters(3 * 4, 4 * 4)]
        );
        // A local mean time's midnight is on no quarter hour: that hour from `calls`.
        assert_eq!(
            hour_sources(18, 19, Some(21_200)),
            vec![Source::Calls(18 * 3600, 19 * 3600)]
        );
    }

    #[test]
    fn parts_of_hours_are_quarters_where_every_quarter_is_on_one_local_day() {
        assert_eq!(Source::part(900, 2700, None), Source::Quarters(1, 3));
        assert_eq!(
            Source::part(900, 2700, Some(19_800)),
            Source::Quarters(1, 3)
        );
        assert_eq!(
            Source::part(900, 2701, Some(19_800)),
            Source::Calls(900, 2701)
        );
        assert_eq!(
            Source::part(900, 2700, Some(21_200)),
            Source::Calls(900, 2700)
        );
    }

    #[test]
    fn utc_days_are_put_on_the_local_day_most_of_them_is_on() {
        let of = |shift: i64| {
            let d = DayAssignment::of(shift);
            (d.representative, d.misplaced())
        };
        // UTC: nothing to move.
        assert_eq!(of(0), (0, vec![]));
        // London's summer: the last hour of each UTC day is tomorrow there.
        assert_eq!(of(3600), (0, vec![Source::Hours(23, 24)]));
        // India (+5:30): five and a half hours, the half as two quarter hours (18:30–19:00).
        assert_eq!(
            of(19_800),
            (0, vec![Source::Hours(19, 24), Source::Quarters(74, 76)])
        );
        // New York (-5): most of the UTC day is on the local day of its last second; its
        // first five hours are the day before there.
        assert_eq!(of(-18_000), (86_399, vec![Source::Hours(0, 5)]));
        // Chatham (+12:45): past half a day ahead.
        assert_eq!(
            of(45_900),
            (86_399, vec![Source::Hours(0, 11), Source::Quarters(44, 45)])
        );
        // A local mean time (India's +5:53:20 until 1942): its part hour from `calls`.
        assert_eq!(
            of(21_200),
            (
                0,
                vec![Source::Hours(19, 24), Source::Calls(65_200, 68_400)]
            )
        );
    }

    #[test]
    fn periods_split_into_whole_days_hours_and_edges() {
        const D: i64 = 86_400;
        // Two whole days with an hour and a half before and two hours and a bit after.
        assert_eq!(
            DaySplit::of(D - 5400, 3 * D + 7300),
            DaySplit {
                days: Some((1, 3)),
                hours: vec![(23, 24), (72, 74)],
                edges: vec![(D - 5400, D - 3600), (3 * D + 7200, 3 * D + 7300)],
            }
        );
        // Exactly whole days.
        assert_eq!(
            DaySplit::of(D, 2 * D),
            DaySplit {
                days: Some((1, 2)),
                hours: vec![],
                edges: vec![],
            }
        );
        // Less than a whole day: hours and edges only.
        assert_eq!(
            DaySplit::of(D + 1800, 2 * D - 1),
            DaySplit {
                days: None,
                hours: vec![(25, 47)],
                edges: vec![(D + 1800, D + 3600), (2 * D - 3600, 2 * D - 1)],
            }
        );
        assert_eq!(
            DaySplit::of(10, 10),
            DaySplit {
                days: None,
                hours: vec![],
                edges: vec![],
            }
        );
    }

    #[test]
    fn periods_split_into_whole_hours_and_edges() {
        assert_eq!(
            HourSplit::of(7200, 18000),
            HourSplit {
                hours: Some((2, 5)),
                edges: vec![]
            }
        );
        assert_eq!(
            HourSplit::of(7000, 18001),
            HourSplit {
                hours: Some((2, 5)),
                edges: vec![(7000, 7200), (18000, 18001)]
            }
        );
        assert_eq!(
            HourSplit::of(7201, 10000),
            HourSplit {
                hours: None,
                edges: vec![(7201, 10000)]
            }
        );
        assert_eq!(
            HourSplit::of(10, 10),
            HourSplit {
                hours: None,
                edges: vec![]
            }
        );
    }

    #[test]
    fn pages_know_their_neighbours() {
        let key = |id: &i64| Key {
            started_at: *id * 10,
            id: *id,
        };
        let k = |id: i64| key(&id);
        let page = |rows: Vec<i64>, cursor: Cursor| Window::settle(rows, &cursor, false, 3, key);
        // The first page of 3, one row beyond: an older page, no newer one.
        let p = page(vec![9, 8, 7, 6], Cursor::First);
        assert_eq!(
            (p.rows, p.prev, p.next),
            (vec![9, 8, 7], None, Some(Cursor::Before(k(7))))
        );
        // Going older from 7, nothing beyond: the newer page is where we came from.
        let p = page(vec![6, 5], Cursor::Before(k(7)));
        assert_eq!(
            (p.rows, p.prev, p.next),
            (vec![6, 5], Some(Cursor::After(k(6))), None)
        );
        // Going newer from 5 (read oldest first): turned round, newer rows beyond.
        let p = page(vec![6, 7, 8, 9], Cursor::After(k(5)));
        assert_eq!(
            (p.rows, p.prev, p.next),
            (
                vec![8, 7, 6],
                Some(Cursor::After(k(8))),
                Some(Cursor::Before(k(6)))
            )
        );
        // An empty page past the end still leads back.
        let p = page(Vec::new(), Cursor::Before(k(1)));
        assert_eq!((p.prev, p.next), (Some(Cursor::After(k(1))), None));
        // Links keep the published `STARTED_AT.ID` form.
        assert_eq!(
            Cursor::Before(k(7)).param(),
            Some(("before", "70.7".to_string()))
        );
    }

    #[test]
    fn keys_round_trip_through_links() {
        let k = Key {
            started_at: 1_720_000_000,
            id: 42,
        };
        assert_eq!(Key::parse(&k.param()), Some(k));
        for bad in ["", "1", "x.1", "1.y", "1.2.3"] {
            assert_eq!(Key::parse(bad), None, "{bad}");
        }
    }
}
