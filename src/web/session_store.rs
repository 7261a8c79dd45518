//! Where sessions live: in the signed and encrypted cookie itself (the default: nothing to run),
//! or in Redis when `SELFCARE_REDIS_URL` is set (the cookie then holds only a random key, and
//! sessions are shared by every portal process). Either way `user_sessions` in the database
//! decides whether a login is still alive. While Redis cannot be reached, pages answer 503
//! (`session_outage`).

mod redis;

use actix_session::storage::{
    CookieSessionStore, LoadError, SaveError, SessionKey, SessionStore, UpdateError,
};

pub use self::redis::RedisStore;

type SessionState = std::collections::HashMap<String, String>;

#[derive(Clone)]
pub enum Store {
    Cookie,
    Redis(RedisStore),
}

impl Store {
    /// Connects to Redis when a URL is given.
    pub async fn open(redis_url: Option<&str>) -> anyhow::Result<Store> {
        match redis_url {
            None => Ok(Store::Cookie),
            Some(url) => RedisStore::connect(url)
                .await
                .map(Store::Redis)
                .map_err(|e| anyhow::anyhow!("SELFCARE_REDIS_URL: {e:#}")),
        }
    }
}

impl SessionStore for Store {
    async fn load(&self, key: &SessionKey) -> Result<Option<SessionState>, LoadError> {
        match self {
            Store::Cookie => CookieSessionStore::default().load(key).await,
            Store::Redis(r) => r.load(key).await,
        }
    }

    async fn save(
        &self,
        state: SessionState,
        ttl: &actix_web::cookie::time::Duration,
    ) -> Result<SessionKey, SaveError> {
        match self {
            Store::Cookie => CookieSessionStore::default().save(state, ttl).await,
            Store::Redis(r) => r.save(state, ttl).await,
        }
    }

    async fn update(
        &self,
        key: SessionKey,
        state: SessionState,
        ttl: &actix_web::cookie::time::Duration,
    ) -> Result<SessionKey, UpdateError> {
        match self {
            Store::Cookie => CookieSessionStore::default().update(key, state, ttl).await,
            Store::Redis(r) => r.update(key, state, ttl).await,
        }
    }

    async fn update_ttl(
        &self,
        key: &SessionKey,
        ttl: &actix_web::cookie::time::Duration,
    ) -> Result<(), anyhow::Error> {
        match self {
            Store::Cookie => CookieSessionStore::default().update_ttl(key, ttl).await,
            Store::Redis(r) => r.update_ttl(key, ttl).await,
        }
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), anyhow::Error> {
        match self {
            Store::Cookie => CookieSessionStore::default().delete(key).await,
            Store::Redis(r) => r.delete(key).await,
        }
    }
}
