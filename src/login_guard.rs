//! Brute-force protection for logins. Failed attempts are stored in the database
//! (`login_attempts`), so the counters survive a restart and hold across portal processes.
//!
//! The policy, per attempt:
//! - a user name tried from one address: growing delays after each failure, then locked once
//!   `pair_limit` failures fall within `window_s`;
//! - one address, any user names: locked after `address_limit` failures within `window_s`;
//! - one user name from anywhere: locked after `user_limit` failures within the shorter
//!   `user_window_s` — but never for an address the user has logged in from successfully in
//!   the last 30 days, so an attacker elsewhere cannot lock the real user out, and a lock
//!   caused from unknown addresses lasts minutes, not hours.

use std::time::Duration;

#[derive(Clone, Debug)]
pub struct LoginPolicy {
    pub window_s: i64,
    pub pair_limit: i64,
    pub address_limit: i64,
    pub user_window_s: i64,
    pub user_limit: i64,
    pub delay_base_ms: u64,
    pub delay_max_ms: u64,
}

impl Default for LoginPolicy {
    fn default() -> Self {
        LoginPolicy {
            window_s: 15 * 60,
            pair_limit: 5,
            address_limit: 20,
            user_window_s: 5 * 60,
            user_limit: 10,
            delay_base_ms: 250,
            delay_max_ms: 4_000,
        }
    }
}

/// Recent failures, as counted by the store; `*_oldest` is the oldest counted failure's time.
#[derive(Clone, Debug, Default, sqlx::FromRow)]
pub struct Failures {
    pub pair: i64,
    pub pair_oldest: Option<i64>,
    pub address: i64,
    pub address_oldest: Option<i64>,
    pub user: i64,
    pub user_oldest: Option<i64>,
    /// The user has logged in from this address recently.
    pub known_address: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Go ahead; a failure is answered after `delay`.
    Allow {
        delay_on_failure: Duration,
    },
    Locked {
        retry_after_s: i64,
    },
}

impl LoginPolicy {
    pub const KNOWN_ADDRESS_DAYS: i64 = 30;

    pub fn decide(&self, f: &Failures, now: i64) -> Verdict {
        let until =
            |oldest: Option<i64>, window: i64| (oldest.unwrap_or(now) + window - now).max(1);
        if f.pair >= self.pair_limit {
            return Verdict::Locked {
                retry_after_s: until(f.pair_oldest, self.window_s),
            };
        }
        if f.address >= self.address_limit {
            return Verdict::Locked {
                retry_after_s: until(f.address_oldest, self.window_s),
            };
        }
        if f.user >= self.user_limit && f.known_address == 0 {
            return Verdict::Locked {
                retry_after_s: until(f.user_oldest, self.user_window_s),
            };
        }
        let steps = f.pair.clamp(0, 16) as u32;
        let delay = if steps == 0 {
            0
        } else {
            self.delay_base_ms.saturating_mul(1 << (steps - 1))
        };
        Verdict::Allow {
            delay_on_failure: Duration::from_millis(delay.min(self.delay_max_ms)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failures(pair: i64, address: i64, user: i64, known: bool) -> Failures {
        Failures {
            pair,
            pair_oldest: Some(1_000),
            address,
            address_oldest: Some(1_000),
            user,
            user_oldest: Some(1_000),
            known_address: known as i64,
        }
    }

    #[test]
    fn delays_grow_then_the_pair_locks() {
        let p = LoginPolicy::default();
        let d = |n| match p.decide(&failures(n, n, n, false), 1_100) {
            Verdict::Allow { delay_on_failure } => delay_on_failure.as_millis(),
            Verdict::Locked { .. } => u128::MAX,
        };
        assert_eq!([d(0), d(1), d(2), d(3), d(4)], [0, 250, 500, 1000, 2000]);
        assert_eq!(
            p.decide(&failures(5, 5, 5, false), 1_100),
            Verdict::Locked { retry_after_s: 800 }
        );
    }

    #[test]
    fn the_real_user_is_not_locked_out_from_a_known_address() {
        let p = LoginPolicy::default();
        // Many failures for the name from elsewhere: unknown addresses are locked, known ones not.
        assert!(matches!(
            p.decide(&failures(0, 0, 50, false), 1_100),
            Verdict::Locked { .. }
        ));
        assert!(matches!(
            p.decide(&failures(0, 0, 50, true), 1_100),
            Verdict::Allow { .. }
        ));
    }

    #[test]
    fn one_address_trying_many_names_is_locked() {
        let p = LoginPolicy::default();
        assert!(matches!(
            p.decide(&failures(1, 20, 1, true), 1_100),
            Verdict::Locked { .. }
        ));
    }
}
