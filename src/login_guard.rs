//! Brute-force protection for logins. Failed attempts are stored in the database
//! (`login_attempts`), so the counters survive a restart and hold across portal processes.
//!
//! The policy, per attempt:
//! - a user name tried from one address: growing delays after each failure, then locked once
//!   `pair_limit` failures fall within `window_s`;
//! - one address, any user names: locked after `address_limit` failures within `window_s`;
//! - one user name from anywhere (many addresses guessing one account): past `user_limit`
//!   failures within `user_window_s` (a day), each further attempt waits for the one before,
//!   1 s, then 2, 4 … up to `user_delay_max_s` (15 min) after the newest failure; earlier ones
//!   are refused unchecked. Never for an address the user has logged in from successfully in
//!   the last 30 days: an attacker elsewhere cannot lock the real user out, only slow down
//!   first logins from new places, by minutes at most.
//!
//! Against OWASP's Authentication Cheat Sheet ("Account Lockout", "Protect against automated
//! attacks"): it asks for a lockout that cannot be turned into a denial of service and for
//! throttles keyed on more than the account. Here no account is ever locked as such: the
//! hard locks are per address (and per name from one address), the account only slows to one
//! guess per 15 minutes from unknown addresses (about a hundred a day), and its owner's known
//! addresses pass. Attempts are recorded before the password is checked, so guesses sent at
//! once are counted as they arrive (see `pages::account::login`).

use std::time::Duration;

#[derive(Clone, Debug)]
pub struct LoginPolicy {
    pub window_s: i64,
    pub pair_limit: i64,
    pub address_limit: i64,
    pub user_window_s: i64,
    pub user_limit: i64,
    pub user_delay_max_s: i64,
    pub delay_base_ms: u64,
    pub delay_max_ms: u64,
}

impl Default for LoginPolicy {
    fn default() -> Self {
        LoginPolicy {
            window_s: 15 * 60,
            pair_limit: 5,
            address_limit: 20,
            user_window_s: 24 * 3600,
            user_limit: 10,
            user_delay_max_s: 15 * 60,
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
    /// The newest failure for the name, from anywhere.
    pub user_newest: Option<i64>,
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
            let beyond = (f.user - self.user_limit).clamp(0, 30) as u32;
            let wait = (1i64 << beyond).min(self.user_delay_max_s);
            let next = f.user_newest.unwrap_or(now) + wait;
            if next > now {
                return Verdict::Locked {
                    retry_after_s: next - now,
                };
            }
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
            user_newest: Some(1_000),
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
    fn many_addresses_guessing_one_account_wait_longer_and_longer() {
        let p = LoginPolicy::default();
        // The newest failure at 1_000; how long after it the next attempt may come.
        let wait = |n| {
            (1_000..)
                .find(|now| {
                    matches!(
                        p.decide(&failures(0, 0, n, false), *now),
                        Verdict::Allow { .. }
                    )
                })
                .unwrap()
                - 1_000
        };
        assert_eq!(
            [wait(9), wait(10), wait(11), wait(12), wait(15)],
            [0, 1, 2, 4, 32]
        );
        assert_eq!(wait(40), 15 * 60, "never more than 15 minutes");
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
