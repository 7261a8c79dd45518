//! The verified-credential cache of MOR API calls: a right password is trusted for `CACHE_TTL`
//! without argon2, keyed so that the password itself is never kept; logins of one credential
//! sent together wait for one another.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// How long a verified credential is trusted without argon2.
pub const CACHE_TTL: Duration = Duration::from_secs(60);
/// The most credentials remembered at once.
pub const CACHE_MAX: usize = 10_000;

/// Verified credentials, remembered for `CACHE_TTL`: (user name, salted SHA-256 of the
/// password) → the user id and the password hash the password was verified against.
pub struct CredentialCache {
    salt: [u8; 32],
    entries: Mutex<HashMap<CacheKey, Entry>>,
    /// The logins under way, one lock per credential (removed when nobody waits).
    flights: Mutex<HashMap<CacheKey, Arc<tokio::sync::Mutex<()>>>>,
}

/// A login under way for one credential; the last one out removes its lock.
pub(super) struct Flight<'a> {
    cache: &'a CredentialCache,
    key: CacheKey,
    pub(super) lock: Arc<tokio::sync::Mutex<()>>,
}

impl Drop for Flight<'_> {
    fn drop(&mut self) {
        let mut flights = self.cache.flights.lock().unwrap_or_else(|e| e.into_inner());
        // Only clones made under this lock exist: the map's and ours mean nobody waits.
        if Arc::strong_count(&self.lock) <= 2 {
            flights.remove(&self.key);
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CacheKey {
    pub(super) username: String,
    password: [u8; 32],
}

#[derive(Clone, Debug)]
pub(super) struct Entry {
    pub(super) user_id: i64,
    pub(super) password_hash: String,
    at: Instant,
}

impl Default for CredentialCache {
    fn default() -> Self {
        let mut salt = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut salt);
        CredentialCache {
            salt,
            entries: Mutex::new(HashMap::new()),
            flights: Mutex::new(HashMap::new()),
        }
    }
}

impl CredentialCache {
    pub(super) fn key(&self, username: &str, password: &str) -> CacheKey {
        let mut h = Sha256::new();
        h.update(self.salt);
        h.update(password.as_bytes());
        CacheKey {
            username: username.to_string(),
            password: h.finalize().into(),
        }
    }

    pub(super) fn flight(&self, key: &CacheKey) -> Flight<'_> {
        let mut flights = self.flights.lock().unwrap_or_else(|e| e.into_inner());
        let lock = flights.entry(key.clone()).or_default().clone();
        Flight {
            cache: self,
            key: key.clone(),
            lock,
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<CacheKey, Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn get(&self, key: &CacheKey) -> Option<Entry> {
        let mut entries = self.entries();
        match entries.get(key) {
            Some(e) if e.at.elapsed() < CACHE_TTL => Some(e.clone()),
            Some(_) => {
                entries.remove(key);
                None
            }
            None => None,
        }
    }

    pub(super) fn remove(&self, key: &CacheKey) {
        self.entries().remove(key);
    }

    /// Remembers a verified credential; when full, the expired ones go first, then the oldest.
    pub(super) fn insert(&self, key: CacheKey, user_id: i64, password_hash: String) {
        let mut entries = self.entries();
        if entries.len() >= CACHE_MAX && !entries.contains_key(&key) {
            entries.retain(|_, e| e.at.elapsed() < CACHE_TTL);
            if entries.len() >= CACHE_MAX {
                let oldest = entries
                    .iter()
                    .min_by_key(|(_, e)| e.at)
                    .map(|(k, _)| k.clone());
                if let Some(k) = oldest {
                    entries.remove(&k);
                }
            }
        }
        entries.insert(
            key,
            Entry {
                user_id,
                password_hash,
                at: Instant::now(),
            },
        );
    }

    pub fn len(&self) -> usize {
        self.entries().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_keeps_no_password_and_is_bounded() {
        let cache = CredentialCache::default();
        let key = cache.key("demo", "secret");
        assert_ne!(&key.password[..], b"secret");
        assert_eq!(key, cache.key("demo", "secret"));
        assert_ne!(key, cache.key("demo", "secret2"));
        assert_ne!(key, CredentialCache::default().key("demo", "secret"));
        for i in 0..(CACHE_MAX + 10) {
            cache.insert(cache.key(&format!("u{i}"), "p"), 1, "h".into());
        }
        assert_eq!(cache.len(), CACHE_MAX);
        assert!(cache.get(&cache.key("u0", "p")).is_none());
        let last = cache.get(&cache.key(&format!("u{}", CACHE_MAX + 9), "p"));
        assert_eq!(last.map(|e| e.user_id), Some(1));
    }
}
