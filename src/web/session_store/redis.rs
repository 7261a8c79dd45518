//! Session state in Redis, in the same layout as actix-session's `RedisSessionStore` (the key is
//! the cookie's session key, the value the JSON of the state, with an expiry), so sessions
//! written by either survive a switch between them.
//!
//! Ours exists for the connection's settings, which that store does not expose: its connection
//! manager has no timeouts and backs off for up to two minutes between reconnection attempts,
//! so while Redis was down every request hung for minutes and then failed with an empty 500.
//! Here a command fails within about a second, the failure is reported to
//! `session_outage` (which answers 503), and every request while Redis is down makes one quick
//! reconnection attempt, so the portal works again as soon as Redis is back.

use std::collections::HashMap;
use std::time::Duration;

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration as Ttl;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Cmd, FromRedisValue, Value};

use crate::web::session_outage;

type SessionState = HashMap<String, String>;

/// How long Redis has to accept a connection, and to answer a command. It answers in well
/// under a millisecond on a working network; a second means it is gone.
const TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
}

impl RedisStore {
    /// Connects once, without retrying: at start an unreachable Redis is most often a wrong
    /// URL or password, which the operator should hear about at once (see README).
    pub async fn connect(url: &str) -> anyhow::Result<RedisStore> {
        let client =
            redis::Client::open(url).map_err(|e| anyhow::anyhow!("not a Redis URL: {e}"))?;
        let address = client.get_connection_info().addr.to_string();
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(TIMEOUT)
            .set_response_timeout(TIMEOUT)
            // Reconnection: one attempt each time a command finds the connection broken, not
            // a back-off schedule that requests would queue behind.
            .set_number_of_retries(0);
        // Redis errors show their source in their own text: `context` would say it twice.
        let conn = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(|e| anyhow::anyhow!("cannot connect to Redis at {address}: {e}"))?;
        Ok(RedisStore { conn })
    }

    /// Checks that Redis answers (before a request that has not read a session yet runs).
    pub async fn ping(&self) -> anyhow::Result<()> {
        self.run::<String>(&redis::cmd("PING")).await.map(|_| ())
    }

    /// Runs a command; a command that found the connection broken is tried once more, on the
    /// new connection the manager opens (after a Redis restart the first command finds the old
    /// one closed). Every outcome is reported to `session_outage`.
    async fn run<T: FromRedisValue>(&self, cmd: &Cmd) -> anyhow::Result<T> {
        let mut conn = self.conn.clone();
        let mut result = cmd.query_async(&mut conn).await;
        if result
            .as_ref()
            .is_err_and(redis::RedisError::is_unrecoverable_error)
        {
            result = cmd.query_async(&mut conn).await;
        }
        match result {
            Ok(value) => {
                session_outage::store_answered();
                Ok(value)
            }
            Err(e) => {
                let e = anyhow::anyhow!("Redis session store: {e}");
                session_outage::store_failed(&e);
                Err(e)
            }
        }
    }
}

impl SessionStore for RedisStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<SessionState>, LoadError> {
        let value: Option<String> = self
            .run(redis::cmd("GET").arg(key.as_ref()))
            .await
            .map_err(LoadError::Other)?;
        match value {
            None => Ok(None),
            Some(json) => serde_json::from_str(&json)
                .map(Some)
                .map_err(|e| LoadError::Deserialization(e.into())),
        }
    }

    async fn save(&self, state: SessionState, ttl: &Ttl) -> Result<SessionKey, SaveError> {
        let json = serde_json::to_string(&state).map_err(|e| SaveError::Serialization(e.into()))?;
        let key = SessionKey::try_from(crate::tokens::random_token())
            .map_err(|e| SaveError::Other(e.into()))?;
        // NX: a new key never overwrites a session (with 256 random bits it never meets one).
        self.run::<Value>(
            redis::cmd("SET")
                .arg(key.as_ref())
                .arg(json)
                .arg("NX")
                .arg("EX")
                .arg(ttl.whole_seconds()),
        )
        .await
        .map_err(SaveError::Other)?;
        Ok(key)
    }

    async fn update(
        &self,
        key: SessionKey,
        state: SessionState,
        ttl: &Ttl,
    ) -> Result<SessionKey, UpdateError> {
        let json =
            serde_json::to_string(&state).map_err(|e| UpdateError::Serialization(e.into()))?;
        // XX: only while the session exists; one that expired since it was read is saved anew.
        let written: Value = self
            .run(
                redis::cmd("SET")
                    .arg(key.as_ref())
                    .arg(json)
                    .arg("XX")
                    .arg("EX")
                    .arg(ttl.whole_seconds()),
            )
            .await
            .map_err(UpdateError::Other)?;
        match written {
            Value::Nil => self.save(state, ttl).await.map_err(|e| match e {
                SaveError::Serialization(e) => UpdateError::Serialization(e),
                SaveError::Other(e) => UpdateError::Other(e),
            }),
            _ => Ok(key),
        }
    }

    async fn update_ttl(&self, key: &SessionKey, ttl: &Ttl) -> anyhow::Result<()> {
        self.run::<Value>(
            redis::cmd("EXPIRE")
                .arg(key.as_ref())
                .arg(ttl.whole_seconds()),
        )
        .await
        .map(|_| ())
    }

    async fn delete(&self, key: &SessionKey) -> anyhow::Result<()> {
        self.run::<Value>(redis::cmd("DEL").arg(key.as_ref()))
            .await
            .map(|_| ())
    }
}
