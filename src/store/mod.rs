//! All SQL of the product lives under this module. One SQL text serves SQLite and PostgreSQL
//! through sqlx's `Any` driver (`$1` placeholders work on both); values are the types both
//! engines share: 64-bit integers (ids, money in micro-units, UTC epoch seconds) and text.
//! Every function that reads a subscriber's data takes the user's id, so a handler cannot ask
//! for another user's rows by accident.

pub mod access;
pub mod accounts;
pub mod audit;
pub mod billing;
pub mod call_list;
pub mod call_months;
pub mod callbacks;
pub mod calls;
pub mod cdrs;
pub mod controls;
pub mod details;
pub mod devices;
pub mod faxes;
pub mod import_staging;
pub mod invoices;
pub mod json_rows;
pub mod keyset_page;
pub mod ledger;
pub mod local_calls;
pub mod login_attempts;
pub mod mail;
pub mod numbers;
pub mod oidc_links;
pub mod party;
pub mod passwords;
pub mod payments;
pub mod phonebook;
pub mod pins;
pub mod preferences;
pub mod rates;
pub mod row_query;
pub mod seed;
pub mod sessions;
pub mod settings;
pub mod subscriptions;
pub mod two_factor;
pub mod users;
pub mod wallet;

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Connection, Executor};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    /// A read-only streaming replica (PostgreSQL) for reading call history: pages, figures and
    /// exports. Everything else, and every write, goes to `pool`.
    replica: Option<AnyPool>,
    /// Kept for the bulk loader, which speaks PostgreSQL's COPY on a connection of its own.
    url: String,
    backend: Backend,
    /// How PostgreSQL plans this store's statements.
    plans: Plans,
    /// The most connections each of its pools opens.
    connections: u32,
    /// The dial plan as `/pbx/authorize` reads it on every question, re-read every few seconds
    /// (see `local_calls::Store::dial_plan`).
    dial_plan: std::sync::Arc<std::sync::Mutex<Option<local_calls::CachedPlan>>>,
}

impl Store {
    /// Opens a pool on `url` for the commands (imports, rating, billing); for SQLite the
    /// file's folder is created first.
    pub async fn connect(url: &str) -> anyhow::Result<Store> {
        Store::open(url, Plans::PerCall, None).await
    }

    /// Opens a pool on `url` for a portal process: on PostgreSQL its statements are planned
    /// once per connection (`Plans::Generic`). `connections`: the pool's size, None for the
    /// engine's default (`default_connections`).
    pub async fn connect_for_pages(url: &str, connections: Option<u32>) -> anyhow::Result<Store> {
        Store::open(url, Plans::Generic, connections).await
    }

    async fn open(url: &str, plans: Plans, connections: Option<u32>) -> anyhow::Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        };
        if backend == Backend::Sqlite {
            create_sqlite_folder(url)?;
        }
        let connections = connections.unwrap_or(default_connections(backend));
        let pool = open_pool(url, backend, plans, connections).await?;
        Ok(Store {
            plans,
            connections,
            pool,
            replica: None,
            backend,
            url: url.to_string(),
            dial_plan: Default::default(),
        })
    }

    /// Reads call history from a streaming replica of this (PostgreSQL) database from now on.
    /// A replica is a moment behind its primary: a page read just after a change may not show
    /// it yet (the README's topology section).
    pub async fn with_replica(mut self, url: &str) -> anyhow::Result<Store> {
        anyhow::ensure!(
            self.backend == Backend::Postgres
                && (url.starts_with("postgres://") || url.starts_with("postgresql://")),
            "a read replica is a PostgreSQL database, for a portal on PostgreSQL"
        );
        let replica = open_pool(url, Backend::Postgres, self.plans, self.connections).await?;
        let (read_only,): (String,) =
            sqlx::query_as("SELECT CAST(current_setting('transaction_read_only') AS TEXT)")
                .fetch_one(&replica)
                .await
                .with_context(|| format!("asking the replica at {} what it is", redact(url)))?;
        if read_only != "on" {
            tracing::warn!(
                replica = %redact(url),
                "the read replica accepts writes: is it the primary itself?"
            );
        }
        self.replica = Some(replica);
        Ok(self)
    }

    /// Where call history is read: the replica when there is one, else the database itself.
    pub fn reader(&self) -> &AnyPool {
        self.replica.as_ref().unwrap_or(&self.pool)
    }

    pub async fn migrate(&self) -> anyhow::Result<()> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator
            .run(&self.pool)
            .await
            .context("migrating the database")?;
        self.keep_call_months()
            .await
            .context("making the partitions of the coming months")?;
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// After a bulk load (demo data, an import): calls of months without a partition moved into
    /// their month's (PostgreSQL), then the planner's statistics of the call tables, which it
    /// otherwise lacks (SQLite never gathers them by itself, and PostgreSQL's autovacuum may
    /// come late or be off). SQLite samples at most 1,000 rows per index (`analysis_limit`), so
    /// this takes about the same short time at any size. PostgreSQL also vacuums them: that
    /// marks the new rows' pages all-visible, so the pages' index-only scans (the call list's
    /// keys, the roll-up's sums) stop visiting the table for every row; it reads only the pages
    /// not yet marked, so a small import costs little. SQLite's write-ahead log is emptied.
    pub async fn after_bulk_load(&self) -> sqlx::Result<()> {
        self.keep_call_months().await?;
        let mut c = self.pool().acquire().await?;
        match self.backend {
            Backend::Sqlite => {
                sqlx::query("PRAGMA analysis_limit = 1000")
                    .execute(&mut *c)
                    .await?;
                sqlx::query("ANALYZE").execute(&mut *c).await?;
                // The write-ahead log is left as large as the load's biggest stretch between
                // checkpoints (2.2 GB after 1,000,000 records); this gives the disk back. With
                // a reader in the way it does what it can and the log is reused later.
                sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                    .execute(&mut *c)
                    .await?;
            }
            Backend::Postgres => {
                sqlx::query("VACUUM (ANALYZE) calls, call_hours, call_days, call_quarters, ledger")
                    .execute(&mut *c)
                    .await?;
            }
        }
        Ok(())
    }

    /// Drops every table, trigger and function of the database (its schema, on PostgreSQL) and
    /// migrates it again from nothing: for demo data that is filled anew. Destroys everything;
    /// the caller decides that the database holds only demo data.
    pub async fn erase_and_migrate(&self) -> anyhow::Result<()> {
        let mut c = self.pool().acquire().await?;
        match self.backend {
            Backend::Sqlite => {
                let tables: Vec<(String,)> = sqlx::query_as(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
                )
                .fetch_all(&mut *c)
                .await?;
                // Dropping a referenced table first would check its references row by row.
                sqlx::query("PRAGMA foreign_keys = OFF")
                    .execute(&mut *c)
                    .await?;
                for (table,) in &tables {
                    let name = table.replace('"', "\"\"");
                    sqlx::query(&format!("DROP TABLE IF EXISTS \"{name}\""))
                        .execute(&mut *c)
                        .await?;
                }
                sqlx::query("PRAGMA foreign_keys = ON")
                    .execute(&mut *c)
                    .await?;
            }
            Backend::Postgres => {
                let (schema,): (String,) = sqlx::query_as("SELECT CAST(current_schema() AS TEXT)")
                    .fetch_one(&mut *c)
                    .await?;
                let name = schema.replace('"', "\"\"");
                sqlx::query(&format!("DROP SCHEMA \"{name}\" CASCADE"))
                    .execute(&mut *c)
                    .await?;
                sqlx::query(&format!("CREATE SCHEMA \"{name}\""))
                    .execute(&mut *c)
                    .await?;
            }
        }
        drop(c);
        self.migrate().await
    }

    /// A PostgreSQL connection of its own, for COPY (None on SQLite).
    pub async fn postgres_connection(&self) -> sqlx::Result<Option<sqlx::PgConnection>> {
        match self.backend {
            Backend::Postgres => Ok(Some(sqlx::PgConnection::connect(&self.url).await?)),
            Backend::Sqlite => Ok(None),
        }
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A transaction that will write. On SQLite it takes the write lock at once (`BEGIN
    /// IMMEDIATE`, waiting up to the busy timeout): a transaction that reads first and writes
    /// later fails at once with SQLITE_BUSY_SNAPSHOT when another writer committed in between,
    /// which waiting cannot cure. PostgreSQL's row locks need nothing of the kind.
    pub async fn begin_write(&self) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Any>> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// How PostgreSQL plans a pool's prepared statements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Plans {
    /// As it chooses (`plan_cache_mode = auto`): in practice planned again on every call for
    /// any statement on `calls`, whose plan for all partitions it reckons dearer than one for
    /// the partitions the values pick. Right for the commands' long statements.
    PerCall,
    /// Planned once per connection (`force_generic_plan`), partitions pruned as the statement
    /// starts. A page's statements are short index range scans whose plan does not depend on
    /// the values, and planning them was a third to a half of PostgreSQL's work per page
    /// (`perf` under 50 clients; the README's performance section). And never compiled
    /// (`jit = off`): a generic plan's cost is reckoned for any subscriber and any `LIMIT`,
    /// and at 100M calls the main page's last five calls passed `jit_above_cost`; compiling
    /// them took 28 ms a call for a statement that runs in 0.3.
    Generic,
}

/// How long a connection may lie idle in the pool before it is tested as it is handed out.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(1);

/// A pool's size when none is set.
fn default_connections(backend: Backend) -> u32 {
    match backend {
        Backend::Sqlite => 8,
        Backend::Postgres => 16,
    }
}

/// A pool on `url` of at most `connections`: SQLite in WAL with a busy timeout, PostgreSQL with
/// `plans`.
async fn open_pool(
    url: &str,
    backend: Backend,
    plans: Plans,
    connections: u32,
) -> anyhow::Result<AnyPool> {
    // Statements would be logged with their values; the request log is enough.
    let options = AnyConnectOptions::from_str(url)
        .with_context(|| format!("bad database URL {}", redact(url)))?
        .disable_statement_logging();
    AnyPoolOptions::new()
        .max_connections(connections)
        .acquire_timeout(Duration::from_secs(10))
        // sqlx pings a connection when it is handed back and again when it is handed out: two
        // round trips to PostgreSQL (two thread hand-offs on SQLite) around every statement.
        // A connection handed back has just answered, so it is tested again only after lying
        // idle, as HikariCP does; one that fails is dropped and another taken.
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > IDLE_BEFORE_PING {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
        .after_connect(move |conn, _| {
            Box::pin(async move {
                if plans == Plans::Generic && backend == Backend::Postgres {
                    conn.execute("SET plan_cache_mode = force_generic_plan")
                        .await?;
                    conn.execute("SET jit = off").await?;
                }
                if conn.backend_name().eq_ignore_ascii_case("sqlite") {
                    // WAL lets readers work while a writer writes; the busy timeout makes
                    // concurrent writers wait instead of failing.
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA synchronous = NORMAL").await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    conn.execute("PRAGMA busy_timeout = 10000").await?;
                }
                Ok(())
            })
        })
        .connect_with(options)
        .await
        .with_context(|| format!("cannot connect to the database at {}", redact(url)))
}

fn create_sqlite_folder(url: &str) -> anyhow::Result<()> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or("");
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    if let Some(parent) = std::path::Path::new(path).parent() {
        if !parent.as_os_str().is_empty() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
    }
    Ok(())
}

/// A database URL fit for logs: the password replaced.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            super::redact("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(super::redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(super::redact("sqlite://data/x.db"), "sqlite://data/x.db");
    }
}
