//! Call records as lists and figures: the call list, new calls, missed calls, statistics.
//!
//! Sized for a subscriber with 1,000,000 calls in a table of 10,000,000 (migration 0005 says
//! which index serves which query, with the plans):
//!
//! - Pages are keyset pages on `(started_at, id)`, newest first, never `OFFSET`: page *n* costs
//!   what page 1 costs, and calls arriving between two fetches neither repeat nor hide a row.
//! - A page is found in two steps: the ids of the page's rows from the covering index alone
//!   (the filter's columns are in it, so a selective filter skips rows without touching the
//!   table), then those rows, joined to their destination.
//! - Totals and per-day figures read only the covering index (an index-only scan).
//!
//! Filters become SQL here and nowhere else: direction and status are closed enums written as
//! SQL literals (so the partial index for missed calls matches the query's `WHERE` on both
//! engines, and PostgreSQL plans them as constants); every other value is a bound parameter.

use serde::Serialize;
use sqlx::FromRow;

use super::Store;
use crate::call_filter::{CallFilter, DeviceChoice, Status};
use crate::period::{DayOf, Period};

/// A place in the newest-first order of a user's calls.
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

/// Where a page starts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Cursor {
    /// The newest calls.
    #[default]
    First,
    /// Calls older than the key (the "older" link).
    Before(Key),
    /// Calls newer than the key (the "newer" link).
    After(Key),
}

/// One call as the lists show it.
#[derive(Clone, Debug, FromRow, Serialize)]
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
}

impl CallRow {
    pub fn key(&self) -> Key {
        Key {
            started_at: self.started_at,
            id: self.id,
        }
    }
}

/// One page of calls, newest first, with the keys for the neighbouring pages.
#[derive(Clone, Debug, Default)]
pub struct CallPage {
    pub rows: Vec<CallRow>,
    /// Set when newer calls exist: the "newer" link is `Cursor::After(newer)`.
    pub newer: Option<Key>,
    /// Set when older calls exist: the "older" link is `Cursor::Before(older)`.
    pub older: Option<Key>,
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

/// Calls of one local day with one direction and one disposition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DayCalls {
    pub day: chrono::NaiveDate,
    pub direction: String,
    pub disposition: String,
    pub calls: i64,
    pub billsec: i64,
}

#[derive(FromRow)]
struct DayRow {
    day: i64,
    direction: String,
    disposition: String,
    calls: i64,
    billsec: i64,
}

#[derive(FromRow)]
struct GroupRow {
    direction: String,
    disposition: String,
    calls: i64,
    billsec: i64,
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
#[derive(Clone, Debug, FromRow)]
pub struct DeviceName {
    pub id: i64,
    pub device_type: String,
    pub extension: String,
    pub description: String,
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

    fn period(&mut self, p: &Period) {
        let from = self.bind(p.from());
        let until = self.bind(p.until());
        self.and(&format!("started_at >= {from} AND started_at < {until}"));
    }

    fn filter(&mut self, f: &CallFilter) {
        self.period(&f.period);
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

    fn cursor(&mut self, c: Cursor) {
        match c {
            Cursor::First => {}
            Cursor::Before(k) => {
                let t = self.bind(k.started_at);
                let id = self.bind(k.id);
                self.and(&format!(
                    "started_at <= {t} AND (started_at < {t} OR id < {id})"
                ));
            }
            Cursor::After(k) => {
                let t = self.bind(k.started_at);
                let id = self.bind(k.id);
                self.and(&format!(
                    "started_at >= {t} AND (started_at > {t} OR id > {id})"
                ));
            }
        }
    }
}

const ROW_COLUMNS: &str = "c.id, c.started_at, c.src, c.dst, d.details AS destination,
       c.direction, c.disposition, c.duration_s, c.billsec, c.price_micros, c.processed, c.seen";

impl Store {
    /// The user's devices, for the call filter's device list.
    pub async fn device_choices(&self, user_id: i64) -> sqlx::Result<Vec<DeviceName>> {
        sqlx::query_as(
            "SELECT id, device_type, extension, description FROM devices WHERE user_id = $1 ORDER BY id",
        )
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
        let limit = limit.clamp(1, 1000) as i64;
        let mut w = Where::new(user_id);
        w.filter(filter);
        w.cursor(cursor);
        // Walking towards newer calls reads the index forwards, then the page is turned round.
        let (inner, outer) = match cursor {
            Cursor::After(_) => ("started_at ASC, id ASC", "c.started_at ASC, c.id ASC"),
            _ => ("started_at DESC, id DESC", "c.started_at DESC, c.id DESC"),
        };
        // One row more than the page tells whether there is a page beyond.
        let n = w.bind(limit + 1);
        let sql = format!(
            "SELECT {ROW_COLUMNS}
             FROM (SELECT id FROM calls WHERE {} ORDER BY {inner} LIMIT {n}) k
             JOIN calls c ON c.id = k.id
             LEFT JOIN destinations d ON d.id = c.destination_id
             ORDER BY {outer}",
            w.sql
        );
        let mut q = sqlx::query_as::<_, CallRow>(&sql);
        for b in &w.binds {
            q = q.bind(*b);
        }
        let mut rows = q.fetch_all(self.pool()).await?;
        let beyond = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        if let Cursor::After(_) = cursor {
            rows.reverse();
        }
        let (first, last) = (
            rows.first().map(CallRow::key),
            rows.last().map(CallRow::key),
        );
        let page = match cursor {
            Cursor::First => CallPage {
                newer: None,
                older: if beyond { last } else { None },
                rows,
            },
            // Coming from a newer page: that page exists.
            Cursor::Before(k) => CallPage {
                newer: first.or(Some(k)),
                older: if beyond { last } else { None },
                rows,
            },
            // Coming from an older page: that page exists.
            Cursor::After(k) => CallPage {
                newer: if beyond { first } else { None },
                older: last.or(Some(k)),
                rows,
            },
        };
        Ok(page)
    }

    /// Count, talk time and price of all calls of the filter.
    pub async fn call_totals(&self, user_id: i64, filter: &CallFilter) -> sqlx::Result<CallTotals> {
        let mut w = Where::new(user_id);
        w.filter(filter);
        let sql = format!(
            "SELECT COUNT(*) AS calls,
                    CAST(COALESCE(SUM(billsec), 0) AS BIGINT) AS billsec,
                    CAST(COALESCE(SUM(price_micros), 0) AS BIGINT) AS price_micros,
                    COUNT(*) - COUNT(price_micros) AS unrated
             FROM calls WHERE {}",
            w.sql
        );
        let mut q = sqlx::query_as::<_, CallTotals>(&sql);
        for b in &w.binds {
            q = q.bind(*b);
        }
        q.fetch_one(self.pool()).await
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

    /// The newest `limit` calls not yet seen, newest first, and how many unseen calls there are.
    pub async fn unseen_calls(
        &self,
        user_id: i64,
        limit: u32,
    ) -> sqlx::Result<(Vec<CallRow>, i64)> {
        let sql = format!(
            "SELECT {ROW_COLUMNS}
             FROM (SELECT id FROM calls WHERE user_id = $1 AND seen = 0
                   ORDER BY started_at DESC, id DESC LIMIT $2) k
             JOIN calls c ON c.id = k.id
             LEFT JOIN destinations d ON d.id = c.destination_id
             ORDER BY c.started_at DESC, c.id DESC"
        );
        let rows = sqlx::query_as::<_, CallRow>(&sql)
            .bind(user_id)
            .bind(limit.clamp(1, 1000) as i64)
            .fetch_all(self.pool())
            .await?;
        let (total,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM calls WHERE user_id = $1 AND seen = 0")
                .bind(user_id)
                .fetch_one(self.pool())
                .await?;
        Ok((rows, total))
    }

    /// Missed calls of a period, and how many of them are not processed yet.
    pub async fn missed_counts(&self, user_id: i64, period: &Period) -> sqlx::Result<(i64, i64)> {
        let mut w = Where::new(user_id);
        w.filter(&CallFilter::missed(period.clone()));
        let sql = format!(
            "SELECT COUNT(*), CAST(COALESCE(SUM(1 - processed), 0) AS BIGINT) FROM calls WHERE {}",
            w.sql
        );
        let mut q = sqlx::query_as::<_, (i64, i64)>(&sql);
        for b in &w.binds {
            q = q.bind(*b);
        }
        q.fetch_one(self.pool()).await
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

    /// Calls of a period per local day, direction and disposition, days in the zone `tz`.
    /// One grouped index-only scan per DST segment of the period (see `Period::day_segments`).
    pub async fn calls_by_day(
        &self,
        user_id: i64,
        period: &Period,
        tz: chrono_tz::Tz,
    ) -> sqlx::Result<Vec<DayCalls>> {
        let mut out = Vec::new();
        for seg in period.day_segments(tz) {
            match seg.day {
                DayOf::Shift(shift) => {
                    let rows: Vec<DayRow> = sqlx::query_as(
                        "SELECT (started_at + $4) / 86400 AS day, direction, disposition,
                                COUNT(*) AS calls, CAST(COALESCE(SUM(billsec), 0) AS BIGINT) AS billsec
                         FROM calls WHERE user_id = $1 AND started_at >= $2 AND started_at < $3
                         GROUP BY (started_at + $4) / 86400, direction, disposition",
                    )
                    .bind(user_id)
                    .bind(seg.from)
                    .bind(seg.until)
                    .bind(shift)
                    .fetch_all(self.pool())
                    .await?;
                    out.extend(rows.into_iter().map(|r| DayCalls {
                        day: DayOf::date_of(r.day),
                        direction: r.direction,
                        disposition: r.disposition,
                        calls: r.calls,
                        billsec: r.billsec,
                    }));
                }
                DayOf::Day(day) => {
                    let rows: Vec<GroupRow> = sqlx::query_as(
                        "SELECT direction, disposition,
                                COUNT(*) AS calls, CAST(COALESCE(SUM(billsec), 0) AS BIGINT) AS billsec
                         FROM calls WHERE user_id = $1 AND started_at >= $2 AND started_at < $3
                         GROUP BY direction, disposition",
                    )
                    .bind(user_id)
                    .bind(seg.from)
                    .bind(seg.until)
                    .fetch_all(self.pool())
                    .await?;
                    out.extend(rows.into_iter().map(|r| DayCalls {
                        day,
                        direction: r.direction,
                        disposition: r.disposition,
                        calls: r.calls,
                        billsec: r.billsec,
                    }));
                }
            }
        }
        Ok(out)
    }

    /// Calls today and this month (the instants given), calls not seen yet, and the user's
    /// daily call target: the statistics page's "normative" figures.
    pub async fn call_counters(
        &self,
        user_id: i64,
        day_start: i64,
        month_start: i64,
        until: i64,
    ) -> sqlx::Result<CallCounters> {
        sqlx::query_as(
            "SELECT
               (SELECT COUNT(*) FROM calls WHERE user_id = $1 AND started_at >= $2 AND started_at < $4) AS today,
               (SELECT COUNT(*) FROM calls WHERE user_id = $1 AND started_at >= $3 AND started_at < $4) AS month,
               (SELECT COUNT(*) FROM calls WHERE user_id = $1 AND seen = 0) AS unseen,
               u.daily_call_target
             FROM users u WHERE u.id = $1",
        )
        .bind(user_id)
        .bind(day_start)
        .bind(month_start)
        .bind(until)
        .fetch_one(self.pool())
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
