//! Password hashing with argon2id at OWASP's recommended cost (19 MiB, 2 passes, 1 lane).
//! Both functions are CPU-heavy: web handlers run them through [`off_thread`], which bounds how
//! many run at once and how many wait, so a flood of logins cannot take the memory (each hash
//! holds 19 MiB) or every blocking thread, and is refused at once past the queue.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, OnceLock};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

pub fn hash(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
}

/// Checks `password` against a stored hash. With no stored hash (unknown user) it still spends
/// the same work on a dummy hash, so an unknown user and a wrong password take the same time.
pub fn verify(password: &str, stored: Option<&str>) -> bool {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash("dummy password for timing").unwrap_or_default());
    let (phc, known) = match stored {
        Some(s) => (s, true),
        None => (dummy.as_str(), false),
    };
    let ok = match PasswordHash::new(phc) {
        Ok(parsed) => hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    };
    ok && known
}

/// Hashes computed at once: one, so argon2 (19 MiB, all of a core while it runs) never takes
/// every core from the pages, whatever a flood of logins does. A login costs ~20 ms of it.
pub const WORKERS: usize = 1;
/// Requests that may wait for a worker; past that, [`Busy`] at once.
pub const QUEUE: usize = 32;

/// Tickets given out (checks running or waiting).
static WAITING: AtomicUsize = AtomicUsize::new(0);

type Job = Box<dyn FnOnce() + Send>;

/// The hashing threads' queue. They are threads of their own, not tokio's blocking pool, so
/// they can run at a lower CPU priority than the pages: under a flood of logins the scheduler
/// serves a page's request first and hashes with what is left.
fn workers() -> &'static Mutex<mpsc::Sender<Job>> {
    static QUEUE_IN: OnceLock<Mutex<mpsc::Sender<Job>>> = OnceLock::new();
    QUEUE_IN.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for n in 0..WORKERS {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || {
                    yield_to_pages();
                    loop {
                        let job = match rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        match job {
                            // A job that panics answers nobody (its caller sees Busy); the
                            // thread lives on for the next ones.
                            Ok(job) => {
                                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                            }
                            Err(_) => return,
                        }
                    }
                })
                .expect("a thread for password hashing");
        }
        Mutex::new(tx)
    })
}

/// Lowers this thread's CPU priority (nice 10). On Linux a thread has a nice value of its own,
/// so this leaves the rest of the process as it was.
#[cfg(target_os = "linux")]
fn yield_to_pages() {
    // SAFETY: gettid and setpriority take no pointers; a failure leaves the priority as it was.
    let failed = unsafe { libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, 10) };
    if failed != 0 {
        tracing::warn!("cannot lower the password hashing thread's priority");
    }
}

#[cfg(not(target_os = "linux"))]
fn yield_to_pages() {}

/// Too many passwords are being checked right now: try again in a moment.
#[derive(Debug, thiserror::Error)]
#[error("too many passwords are being checked at the moment")]
pub struct Busy;

/// A place among the passwords being checked: at most [`WORKERS`] + [`QUEUE`] are given out,
/// so a login takes one BEFORE it does any other work (the database's too), and a flood past
/// that is refused at once, having cost almost nothing. Memory for hashing is bounded by the
/// workers: 19 MiB each.
pub struct Ticket(());

impl Ticket {
    pub fn take() -> Result<Ticket, Busy> {
        if WAITING.fetch_add(1, Ordering::SeqCst) >= WORKERS + QUEUE {
            WAITING.fetch_sub(1, Ordering::SeqCst);
            return Err(Busy);
        }
        Ok(Ticket(()))
    }

    /// Runs argon2 work on a hashing thread, in turn.
    pub async fn run<T: Send + 'static>(
        self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Busy> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(work());
        });
        workers()
            .lock()
            .map_err(|_| Busy)?
            .send(job)
            .map_err(|_| Busy)?;
        rx.await.map_err(|_| Busy)
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        WAITING.fetch_sub(1, Ordering::SeqCst);
    }
}

/// [`Ticket::take`] and [`Ticket::run`] in one.
pub async fn off_thread<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Busy> {
    Ticket::take()?.run(work).await
}

/// Why a new password is refused; `key` names the message in `locales/`.
#[derive(Debug, PartialEq, Eq)]
pub struct Weak {
    pub key: &'static str,
}

pub const MIN_LENGTH: usize = 12;
pub const MAX_LENGTH: usize = 128;

/// The password policy (OWASP ASVS 2.1): at least 12 characters, at most 128, not the user
/// name, not a well-known password, not one character repeated.
pub fn check_policy(new: &str, username: &str) -> Result<(), Weak> {
    let len = new.chars().count();
    let lower = new.to_lowercase();
    if len < MIN_LENGTH {
        return Err(Weak {
            key: "password.too_short",
        });
    }
    if len > MAX_LENGTH {
        return Err(Weak {
            key: "password.too_long",
        });
    }
    if lower.contains(&username.to_lowercase()) && !username.is_empty() {
        return Err(Weak {
            key: "password.has_username",
        });
    }
    let first = lower.chars().next();
    let common = include_str!("common_passwords.txt")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .any(|l| l.trim() == lower);
    if common || lower.chars().all(|c| Some(c) == first) {
        return Err(Weak {
            key: "password.common",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_only_its_password() {
        let h = hash("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("correct horse", Some(&h)));
        assert!(!verify("wrong horse", Some(&h)));
        assert!(!verify("correct horse", None));
        assert!(!verify("x", Some("not a hash")));
    }

    #[test]
    fn the_policy_refuses_short_named_and_common_passwords() {
        assert_eq!(
            check_policy("short", "demo").unwrap_err().key,
            "password.too_short"
        );
        assert_eq!(
            check_policy("my demo account!", "demo").unwrap_err().key,
            "password.has_username"
        );
        assert_eq!(
            check_policy("Password1234", "demo").unwrap_err().key,
            "password.common"
        );
        assert_eq!(
            check_policy("zzzzzzzzzzzzzz", "demo").unwrap_err().key,
            "password.common"
        );
        assert_eq!(
            check_policy(&"x1".repeat(65), "demo").unwrap_err().key,
            "password.too_long"
        );
        assert_eq!(check_policy("plum orbit seventy", "demo"), Ok(()));
        assert_eq!(check_policy("пароль для кабинета", "demo"), Ok(()));
    }
}
