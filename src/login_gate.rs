//! The gate in front of logins: addresses told to wait (429 with `Retry-After`) are remembered
//! in this process, and a login from one that asks again before its time is held back for up
//! to [`HOLD`] before it is looked at (a tarpit). A client that honours `Retry-After` never
//! meets the hold; one that ignores it sends one request per [`HOLD`] instead of thousands a
//! second, so a flood leaves the CPU to the pages. The hold decides nothing: the request then
//! goes through the same checks as any other (`login_guard`, the database's counts, which
//! every process shares), so someone else behind the same address is slowed, never refused.
//!
//! An IPv6 client is one /64 (what a single subscriber line gets). Bounded: at most
//! [`MAX_ADDRESSES`] remembered (expired ones are forgotten first; past that, new refusals are
//! not remembered) and at most [`MAX_HELD`] requests held at once (past that, refused at once).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

pub const HOLD: Duration = Duration::from_secs(1);
pub const MAX_ADDRESSES: usize = 100_000;
pub const MAX_HELD: usize = 10_000;

pub struct LoginGate {
    /// Address → until when it was told to wait.
    waiting: Mutex<HashMap<IpAddr, Instant>>,
    held: AtomicUsize,
    hold: Duration,
}

impl Default for LoginGate {
    fn default() -> Self {
        LoginGate {
            waiting: Mutex::default(),
            held: AtomicUsize::new(0),
            hold: HOLD,
        }
    }
}

/// Too many requests are being held: refused at once.
#[derive(Debug, PartialEq, Eq)]
pub struct Full;

impl LoginGate {
    /// `address` was answered 429 and told to wait `retry_after`.
    pub fn refused(&self, address: &str, retry_after: Duration) {
        let Some(key) = key(address) else { return };
        let now = Instant::now();
        let Ok(mut waiting) = self.waiting.lock() else {
            return;
        };
        if waiting.len() >= MAX_ADDRESSES && !waiting.contains_key(&key) {
            waiting.retain(|_, until| *until > now);
            if waiting.len() >= MAX_ADDRESSES {
                return;
            }
        }
        let until = now + retry_after;
        let entry = waiting.entry(key).or_insert(until);
        *entry = (*entry).max(until);
    }

    /// Holds a login back (up to the hold) when its address was told to wait and that time
    /// has not come; `Full` when too many are held already.
    pub async fn pass(&self, address: &str) -> Result<(), Full> {
        let Some(key) = key(address) else {
            return Ok(());
        };
        let now = Instant::now();
        let until = match self.waiting.lock() {
            Ok(waiting) => waiting.get(&key).copied(),
            Err(_) => None,
        };
        let Some(until) = until.filter(|u| *u > now) else {
            return Ok(());
        };
        let held = self.held.fetch_add(1, Ordering::SeqCst) < MAX_HELD;
        if held {
            tokio::time::sleep((until - now).min(self.hold)).await;
        }
        self.held.fetch_sub(1, Ordering::SeqCst);
        if held {
            Ok(())
        } else {
            Err(Full)
        }
    }
}

/// An IPv4 address, or the /64 of an IPv6 one; `None` for something that is not an address.
fn key(address: &str) -> Option<IpAddr> {
    let ip: IpAddr = address.parse().ok()?;
    Some(match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut octets = v6.octets();
                octets[8..].fill(0);
                IpAddr::from(octets)
            }
        },
        v4 => v4,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(hold_ms: u64) -> LoginGate {
        LoginGate {
            hold: Duration::from_millis(hold_ms),
            ..LoginGate::default()
        }
    }

    async fn held_ms(gate: &LoginGate, address: &str) -> u128 {
        let t = Instant::now();
        gate.pass(address).await.unwrap();
        t.elapsed().as_millis()
    }

    #[tokio::test]
    async fn an_address_told_to_wait_is_held_until_its_time_or_the_hold() {
        let gate = gate(2_000);
        assert!(held_ms(&gate, "192.0.2.1").await < 100);
        gate.refused("192.0.2.1", Duration::from_millis(300));
        // Held until its time has come (less than the hold)...
        assert!(held_ms(&gate, "192.0.2.1").await >= 300);
        // ...and then no more; others were never concerned.
        assert!(held_ms(&gate, "192.0.2.1").await < 100);
        assert!(held_ms(&gate, "192.0.2.2").await < 100);
        // A long wait is held for the hold only.
        let gate = self::gate(200);
        gate.refused("192.0.2.1", Duration::from_secs(900));
        let ms = held_ms(&gate, "192.0.2.1").await;
        assert!((200..1_000).contains(&ms), "{ms}");
        assert_eq!(gate.held.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn past_the_bound_it_refuses_at_once() {
        let gate = gate(60_000);
        gate.refused("192.0.2.1", Duration::from_secs(60));
        gate.held.store(MAX_HELD, Ordering::SeqCst);
        assert_eq!(gate.pass("192.0.2.1").await, Err(Full));
    }

    #[test]
    fn an_ipv6_client_is_its_64() {
        let k = |a| key(a).unwrap();
        assert_eq!(k("2001:db8:1:2::10"), k("2001:db8:1:2:ffff::1"));
        assert_ne!(k("2001:db8:1:2::10"), k("2001:db8:1:3::10"));
        assert_eq!(k("::ffff:192.0.2.7"), k("192.0.2.7"));
        assert_eq!(key("not an address"), None);
    }
}
