//! Login sessions as the server knows them: a session store (cookie or Redis) holds the id, this
//! table says whether it is still alive.

use super::users::{Account, ACCOUNT_COLUMNS, ACCOUNT_FROM};
use super::Store;
use crate::config::SessionLifetimes;
use crate::web::session::{LoginMethod, SessionKind};

/// A session about to start: who, from where, and how the login was made.
pub struct NewSession<'a> {
    pub user_id: i64,
    pub kind: SessionKind,
    pub method: LoginMethod,
    pub address: &'a str,
    pub user_agent: &'a str,
}

/// A live session as the sessions page lists it.
#[derive(sqlx::FromRow, Debug, Clone)]
pub struct SessionRow {
    pub id: String,
    pub handle: i64,
    pub kind: String,
    pub method: String,
    pub address: String,
    pub user_agent: String,
    pub created_at: i64,
    pub last_seen_at: i64,
}

/// A session's times and its user's account, read in one statement on every request.
#[derive(sqlx::FromRow)]
struct LiveSession {
    created_at: i64,
    last_seen_at: Option<i64>,
    #[sqlx(flatten)]
    account: Account,
}

/// How often a session in use is marked seen (its idle time is known to this precision).
const TOUCH_EVERY_S: i64 = 60;

impl Store {
    /// Records a new session and returns its id.
    pub async fn start_session(&self, new: &NewSession<'_>) -> sqlx::Result<String> {
        let id = crate::tokens::random_token();
        sqlx::query(
            "INSERT INTO user_sessions (id, user_id, kind, method, address, user_agent, handle, created_at, last_seen_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        )
        .bind(&id)
        .bind(new.user_id)
        .bind(new.kind.as_str())
        .bind(new.method.as_str())
        .bind(new.address)
        .bind(new.user_agent)
        .bind(new_handle())
        .bind(crate::time::now())
        .execute(self.pool())
        .await?;
        Ok(id)
    }

    /// The user's live sessions, newest first. Sessions past their lifetime are not ended
    /// until used, so they are left out here by the same rule `session_user` applies.
    pub async fn live_sessions(
        &self,
        user_id: i64,
        life: &SessionLifetimes,
        now: i64,
    ) -> sqlx::Result<Vec<SessionRow>> {
        sqlx::query_as(
            "SELECT id, handle, kind, method, address, user_agent, created_at,
                    COALESCE(last_seen_at, created_at) AS last_seen_at
             FROM user_sessions
             WHERE user_id = $1 AND ended_at IS NULL
               AND created_at >= $2 AND COALESCE(last_seen_at, created_at) >= $3
             ORDER BY created_at DESC, id",
        )
        .bind(user_id)
        .bind(now - life.max_s)
        .bind(now - life.idle_s)
        .fetch_all(self.pool())
        .await
    }

    /// The handle of session `id` (None: no such session).
    pub async fn session_handle(&self, id: &str) -> sqlx::Result<Option<i64>> {
        let row: Option<(i64,)> = sqlx::query_as("SELECT handle FROM user_sessions WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|(h,)| h))
    }

    /// Ends the user's session named by `handle` (checked as his with `Resource::Session`).
    pub async fn end_session_by_handle(&self, user_id: i64, handle: i64) -> sqlx::Result<()> {
        sqlx::query(
            "UPDATE user_sessions SET ended_at = $1 WHERE handle = $2 AND user_id = $3 AND ended_at IS NULL",
        )
        .bind(crate::time::now())
        .bind(handle)
        .bind(user_id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The account of a live session's user (as the request found it), or None when the
    /// session ended, never existed, or has outlived `life` (then it is ended here). A session
    /// in use is marked seen at most once a minute, in the background: the page never waits
    /// for that write (on SQLite a long import may hold the write lock).
    pub async fn session_user(
        &self,
        id: &str,
        life: &SessionLifetimes,
        now: i64,
    ) -> sqlx::Result<Option<Account>> {
        let row: Option<LiveSession> = sqlx::query_as(&format!(
            "SELECT s.created_at, s.last_seen_at, {ACCOUNT_COLUMNS} {ACCOUNT_FROM}
               JOIN user_sessions s ON s.user_id = u.id
              WHERE s.id = $1 AND s.ended_at IS NULL"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        let Some(LiveSession {
            created_at,
            last_seen_at,
            account,
        }) = row
        else {
            return Ok(None);
        };
        let seen = last_seen_at.unwrap_or(created_at);
        if now - created_at > life.max_s || now - seen > life.idle_s {
            self.end_session(id).await?;
            return Ok(None);
        }
        if now - seen >= TOUCH_EVERY_S {
            let (store, id) = (self.clone(), id.to_string());
            tokio::spawn(async move {
                let touched =
                    sqlx::query("UPDATE user_sessions SET last_seen_at = $1 WHERE id = $2")
                        .bind(now)
                        .bind(&id)
                        .execute(store.pool())
                        .await;
                if let Err(e) = touched {
                    tracing::warn!(error = %e, "marking a session seen");
                }
            });
        }
        Ok(Some(account))
    }

    pub async fn end_session(&self, id: &str) -> sqlx::Result<()> {
        sqlx::query("UPDATE user_sessions SET ended_at = $1 WHERE id = $2 AND ended_at IS NULL")
            .bind(crate::time::now())
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Ends every live session of the user except `keep` (the one making the change, if any).
    pub async fn end_user_sessions(&self, user_id: i64, keep: Option<&str>) -> sqlx::Result<u64> {
        let done = sqlx::query(
            "UPDATE user_sessions SET ended_at = $1 WHERE user_id = $2 AND ended_at IS NULL AND id <> $3",
        )
        .bind(crate::time::now())
        .bind(user_id)
        .bind(keep.unwrap_or(""))
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }
}

/// A session's public name: random, positive, and exact in a JSON number (below 2^53).
fn new_handle() -> i64 {
    use rand::Rng;
    rand::thread_rng().gen_range(1..(1_i64 << 53))
}
