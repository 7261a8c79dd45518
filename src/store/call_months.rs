//! `calls` by month on PostgreSQL (migration 0029): one partition per UTC month, a default
//! partition for calls of a month that has none yet, and archiving an old month by detaching
//! its partition. SQLite keeps one table: these are no-ops or refusals there.

use std::time::Duration;

use sqlx::Row;

use super::{Backend, Store};
use crate::billing::month::Month;

/// How many months ahead of this one always have their partition.
const MONTHS_AHEAD: i32 = 2;

/// One month's partition of `calls`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallMonth {
    pub table: String,
    /// `[from, to)`, epoch seconds; `None` for the default partition.
    pub range: Option<(i64, i64)>,
    pub calls: i64,
}

impl Store {
    /// Makes this month's and the next months' partitions, and moves calls that landed in the
    /// default partition into partitions of their month. Returns how many partitions it made.
    /// Run on start, daily by the portal, and after bulk loads.
    pub async fn keep_call_months(&self) -> sqlx::Result<i64> {
        if self.backend != Backend::Postgres {
            return Ok(0);
        }
        let mut tx = self.pool().begin().await?;
        let made: i32 = sqlx::query("SELECT calls_split_default($1)")
            .bind(MONTHS_AHEAD)
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        tx.commit().await?;
        Ok(i64::from(made))
    }

    /// Makes the partitions of every month from `from` to `until` (epoch seconds), before a bulk
    /// load of calls of that time: loaded into the default partition they would be moved later.
    pub async fn make_call_months(&self, from: i64, until: i64) -> sqlx::Result<()> {
        if self.backend != Backend::Postgres {
            return Ok(());
        }
        let mut month = Month::of(from, chrono_tz::UTC);
        let last = Month::of(until, chrono_tz::UTC);
        while month <= last {
            let (start, _) = month.bounds(chrono_tz::UTC);
            sqlx::query("SELECT calls_make_month($1)")
                .bind(start)
                .execute(self.pool())
                .await?;
            month = month.next();
        }
        Ok(())
    }

    /// The partitions of `calls`, oldest first, with their exact row counts (a count per
    /// partition: for an operator's command, not for pages).
    pub async fn call_months(&self) -> anyhow::Result<Vec<CallMonth>> {
        let mut months = Vec::new();
        for (table, range) in self.call_partitions().await? {
            // The table name comes from the catalogue; quoted all the same.
            let (calls,): (i64,) = sqlx::query_as(&format!(
                "SELECT COUNT(*) FROM \"{}\"",
                table.replace('"', "\"\"")
            ))
            .fetch_one(self.pool())
            .await?;
            months.push(CallMonth {
                table,
                range,
                calls,
            });
        }
        Ok(months)
    }

    /// The partitions of `calls` and their ranges (None: the default one), oldest first, from
    /// the catalogue alone.
    async fn call_partitions(&self) -> anyhow::Result<Vec<(String, Option<(i64, i64)>)>> {
        anyhow::ensure!(
            self.backend == Backend::Postgres,
            "calls are kept by month on PostgreSQL only; SQLite keeps them in one table"
        );
        let rows = sqlx::query(
            "SELECT CAST(c.relname AS TEXT), CAST(pg_get_expr(c.relpartbound, c.oid) AS TEXT)
               FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
              WHERE i.inhparent = CAST('calls' AS regclass)",
        )
        .fetch_all(self.pool())
        .await?;
        let mut partitions = Vec::new();
        for row in rows {
            let table: String = row.try_get(0)?;
            let bound: String = row.try_get(1)?;
            partitions.push((table, parse_bound(&bound)));
        }
        partitions.sort_by_key(|(_, range)| range.map_or(i64::MAX, |(from, _)| from));
        Ok(partitions)
    }

    /// Detaches the partitions of the months before `before` (UTC) from `calls` and renames
    /// each to `archived_calls_YYYY_MM`, a table of its own the operator can dump and drop. Their
    /// calls leave the pages and the roll-ups (`call_hours`, `call_days`, `call_quarters`,
    /// `missed_counts`, `unseen_counts`) in the same transaction, so figures and lists still
    /// agree. Returns the archived tables.
    pub async fn archive_call_months(&self, before: Month) -> anyhow::Result<Vec<String>> {
        anyhow::ensure!(
            self.backend == Backend::Postgres,
            "calls are kept by month on PostgreSQL only; SQLite keeps them in one table"
        );
        // Calls of old months still in the default partition first go to their month.
        self.keep_call_months().await?;
        let (boundary, _) = before.bounds(chrono_tz::UTC);
        // The catalogue only: counting the rows of every month would read them all.
        let old: Vec<(String, (i64, i64))> = self
            .call_partitions()
            .await?
            .into_iter()
            .filter_map(|(table, range)| Some((table, range?)))
            .filter(|(_, (_, to))| *to <= boundary)
            .collect();
        let mut archived = Vec::new();
        let mut tx = self.pool().begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('calls_make_month'))")
            .execute(&mut *tx)
            .await?;
        for (month_table, (from, to)) in old {
            let table = month_table.replace('"', "\"\"");
            sqlx::query("DELETE FROM call_hours WHERE hour >= $1 AND hour < $2")
                .bind(from / 3600)
                .bind(to / 3600)
                .execute(&mut *tx)
                .await?;
            // Months start at UTC midnight: their days are whole.
            sqlx::query("DELETE FROM call_days WHERE day >= $1 AND day < $2")
                .bind(from / 86_400)
                .bind(to / 86_400)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM call_quarters WHERE quarter >= $1 AND quarter < $2")
                .bind(from / 900)
                .bind(to / 900)
                .execute(&mut *tx)
                .await?;
            sqlx::query(&format!(
                "UPDATE missed_counts AS m SET unprocessed = m.unprocessed - o.n
                   FROM (SELECT user_id, COUNT(*) AS n FROM \"{table}\"
                          WHERE direction = 'in' AND disposition <> 'ANSWERED' AND processed = 0
                          GROUP BY user_id ORDER BY user_id) o
                  WHERE m.user_id = o.user_id"
            ))
            .execute(&mut *tx)
            .await?;
            sqlx::query(&format!(
                "UPDATE unseen_counts AS u SET unseen = u.unseen - o.n
                   FROM (SELECT user_id, COUNT(*) AS n FROM \"{table}\" WHERE seen = 0
                          GROUP BY user_id ORDER BY user_id) o
                  WHERE u.user_id = o.user_id"
            ))
            .execute(&mut *tx)
            .await?;
            sqlx::query(&format!(
                "DELETE FROM calls_left_out WHERE call_id IN (SELECT id FROM \"{table}\")"
            ))
            .execute(&mut *tx)
            .await?;
            sqlx::query(&format!("ALTER TABLE calls DETACH PARTITION \"{table}\""))
                .execute(&mut *tx)
                .await?;
            let name = format!("archived_{month_table}");
            sqlx::query(&format!(
                "ALTER TABLE \"{table}\" RENAME TO \"{}\"",
                name.replace('"', "\"\"")
            ))
            .execute(&mut *tx)
            .await?;
            archived.push(name);
        }
        tx.commit().await?;
        Ok(archived)
    }
}

/// `FOR VALUES FROM ('1764547200') TO ('1767225600')` → the range; `DEFAULT` → None.
fn parse_bound(bound: &str) -> Option<(i64, i64)> {
    let numbers: Vec<i64> = bound
        .split(|c: char| !c.is_ascii_digit() && c != '-')
        .filter_map(|s| s.parse().ok())
        .collect();
    match numbers[..] {
        [from, to] => Some((from, to)),
        _ => None,
    }
}

/// Keeps the coming months' partitions made while the portal runs (a portal that runs for
/// months would otherwise put new calls in the default partition, which pages cannot prune).
pub fn spawn_month_keeper(store: Store) {
    if store.backend() != Backend::Postgres {
        return;
    }
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(24 * 3600));
        loop {
            tick.tick().await;
            if let Err(e) = store.keep_call_months().await {
                tracing::warn!(error = %e, "making the coming months' partitions of calls");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::parse_bound;

    #[test]
    fn reads_a_partition_bound() {
        assert_eq!(
            parse_bound("FOR VALUES FROM ('1764547200') TO ('1767225600')"),
            Some((1764547200, 1767225600))
        );
        assert_eq!(
            parse_bound("FOR VALUES FROM (1764547200) TO (1767225600)"),
            Some((1764547200, 1767225600))
        );
        assert_eq!(parse_bound("DEFAULT"), None);
    }
}
