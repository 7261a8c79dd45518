//! The calling-card PIN: a [`Pin`] is parsed at the edge (4 to 8 ASCII digits, none of the
//! PINs people guess first), and [`check`] is the one way a typed PIN is compared with the
//! stored hash, by the PIN page (the current PIN) and by the PBX (`/pbx/pin`) alike.
//!
//! Guessing is bounded per subscriber: a try is counted *before* its PIN is checked (one
//! `UPDATE … RETURNING`, see `store::pins`), so tries sent at once are counted as they arrive
//! and no more than [`MAX_FAILURES`] get to argon2; the one that reaches it locks the PIN for
//! [`LOCK_S`]; a right PIN clears the count; while locked even the right PIN is refused.

use std::fmt;

use rand::RngCore;

use crate::error::AppError;
use crate::password;
use crate::store::pins::Try;
use crate::store::Store;

/// Wrong PINs in a row that lock the PIN.
pub const MAX_FAILURES: i64 = 5;
/// How long the PIN stays locked, in seconds.
pub const LOCK_S: i64 = 15 * 60;
pub const MIN_DIGITS: usize = 4;
pub const MAX_DIGITS: usize = 8;
/// Digits of a PIN sent by mail.
pub const RESET_DIGITS: usize = 6;

/// A PIN fit to be set: 4 to 8 ASCII digits, not trivial. Its `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Pin(String);

/// Why a PIN is refused; [`Refused::key`] names its message in `locales/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    Empty,
    NotDigits,
    Length,
    /// One digit repeated: 0000, 777777.
    Repeated,
    /// Digits in a row, up or down (wrapping past 9): 1234, 98765, 0123, 7890.
    Sequence,
    /// A short group repeated: 1212, 6969, 123123, 12341234.
    Pattern,
    /// A four-digit year from 1900 to 2099.
    Year,
    /// One of the PINs most often chosen (keypad shapes, words).
    Common,
}

impl Refused {
    pub fn key(self) -> &'static str {
        match self {
            Refused::Empty => "pin.empty",
            Refused::NotDigits => "pin.not_digits",
            Refused::Length => "pin.length",
            Refused::Repeated => "pin.repeated",
            Refused::Sequence => "pin.sequence",
            Refused::Pattern => "pin.pattern",
            Refused::Year => "pin.year",
            Refused::Common => "pin.common",
        }
    }
}

/// Well-known PINs the other rules do not catch: keypad columns and shapes (2580, 0852, 1470,
/// 147258, 159753, 1397), words spelt on the keypad (5683 LOVE), and favourites from published
/// analyses of leaked PINs (1004, 1122, 1313, 6969's kin, 112233, 123321 …).
const COMMON: &[&str] = &[
    "1004",
    "1122",
    "1212",
    "1313",
    "1397",
    "1470",
    "2580",
    "0852",
    "5683",
    "6969",
    "7777",
    "1369",
    "2468",
    "8642",
    "1357",
    "9753",
    "4455",
    "5566",
    "1001",
    "0101",
    "1110",
    "0007",
    "1010",
    "2525",
    "112233",
    "123321",
    "147258",
    "159753",
    "252525",
    "258258",
    "369369",
    "147852",
    "963852",
    "456123",
    "654456",
    "101010",
    "159357",
    "121314",
    "11223344",
    "12344321",
    "14725836",
    "147258369",
    "12211221",
];

impl Pin {
    pub fn parse(typed: &str) -> Result<Pin, Refused> {
        let s = typed.trim();
        if s.is_empty() {
            return Err(Refused::Empty);
        }
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Refused::NotDigits);
        }
        if !(MIN_DIGITS..=MAX_DIGITS).contains(&s.len()) {
            return Err(Refused::Length);
        }
        let d = s.as_bytes();
        if d.iter().all(|&b| b == d[0]) {
            return Err(Refused::Repeated);
        }
        let steps: Vec<u8> = d.windows(2).map(|w| (10 + w[1] - w[0]) % 10).collect();
        if steps.iter().all(|&s| s == 1) || steps.iter().all(|&s| s == 9) {
            return Err(Refused::Sequence);
        }
        let repeats = (1..=d.len() / 2)
            .filter(|n| d.len().is_multiple_of(*n))
            .any(|n| d.chunks(n).all(|c| c == &d[..n]));
        if repeats {
            return Err(Refused::Pattern);
        }
        if d.len() == 4 && (s.starts_with("19") || s.starts_with("20")) {
            return Err(Refused::Year);
        }
        if COMMON.contains(&s) {
            return Err(Refused::Common);
        }
        Ok(Pin(s.to_string()))
    }

    /// A random PIN of [`RESET_DIGITS`] digits that passes [`Pin::parse`].
    pub fn generate() -> Pin {
        let mut rng = rand::rngs::OsRng;
        loop {
            let digits: String = (0..RESET_DIGITS)
                .map(|_| {
                    // Rejection sampling: every digit equally likely.
                    loop {
                        let b = (rng.next_u32() & 0xff) as u8;
                        if b < 250 {
                            break char::from(b'0' + b % 10);
                        }
                    }
                })
                .collect();
            if let Ok(pin) = Pin::parse(&digits) {
                return pin;
            }
        }
    }

    /// The digits, for hashing and for the reset mail only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(…)")
    }
}

/// What a typed PIN was found to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Right,
    /// Wrong; `locked_until` is set when this try locked the PIN.
    Wrong {
        locked_until: Option<i64>,
    },
    /// Locked until then (UTC seconds): not checked.
    Locked {
        until: i64,
    },
    NoPin,
    UnknownAccount,
}

impl Outcome {
    /// The PBX's reason code (empty when right).
    pub fn reason(self) -> &'static str {
        match self {
            Outcome::Right => "",
            Outcome::Wrong { .. } => "wrong_pin",
            Outcome::Locked { .. } => "locked",
            Outcome::NoPin => "no_pin",
            Outcome::UnknownAccount => "unknown_account",
        }
    }

    /// Until when the PIN is locked, when it is.
    pub fn locked_until(self) -> Option<i64> {
        match self {
            Outcome::Wrong { locked_until } => locked_until,
            Outcome::Locked { until } => Some(until),
            _ => None,
        }
    }
}

/// Why a PIN could not be checked at all.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Busy(#[from] password::Busy),
}

impl From<CheckError> for AppError {
    fn from(e: CheckError) -> Self {
        match e {
            CheckError::Database(e) => e.into(),
            CheckError::Busy(b) => b.into(),
        }
    }
}

/// Checks `typed` against the PIN of `user` (None: an account nobody has). Without a PIN to
/// check, a dummy hash is checked all the same, so "no such account", "no PIN" and "wrong PIN"
/// take the same time. The place among the hashing threads is taken before the try is counted,
/// so a busy portal refuses the try without spending it. `address` goes into the activity log
/// when this try locks the PIN.
pub async fn check(
    store: &Store,
    user: Option<i64>,
    typed: String,
    address: &str,
) -> Result<Outcome, CheckError> {
    let ticket = password::Ticket::take()?;
    let Some(user_id) = user else {
        ticket.run(move || password::verify(&typed, None)).await?;
        return Ok(Outcome::UnknownAccount);
    };
    let now = crate::time::now();
    let counted = store
        .count_pin_try(user_id, now, MAX_FAILURES, now + LOCK_S)
        .await?;
    let (hash, failures, locked_until) = match counted {
        Try::NoPin => {
            ticket.run(move || password::verify(&typed, None)).await?;
            return Ok(Outcome::NoPin);
        }
        Try::Locked { until } => return Ok(Outcome::Locked { until }),
        Try::Check {
            hash,
            failures,
            locked_until,
        } => (hash, failures, locked_until),
    };
    let right = ticket
        .run(move || password::verify(&typed, Some(&hash)))
        .await?;
    if right {
        store.clear_pin_failures(user_id).await?;
        return Ok(Outcome::Right);
    }
    if failures >= MAX_FAILURES {
        let detail = format!(
            "{MAX_FAILURES} wrong PINs: locked for {} minutes",
            LOCK_S / 60
        );
        store
            .audit(Some(user_id), "pin_locked", &detail, address)
            .await?;
    }
    Ok(Outcome::Wrong {
        locked_until: locked_until.filter(|_| failures >= MAX_FAILURES),
    })
}

/// An e-mail address as a page may show it to whoever holds the session: `d***@e***.com`.
pub fn mask_email(email: &str) -> String {
    let Some((local, domain)) = email.trim().rsplit_once('@') else {
        return "***".into();
    };
    let first = |s: &str| s.chars().next().map(String::from).unwrap_or_default();
    let (host, tld) = domain.rsplit_once('.').unwrap_or((domain, ""));
    let tld = if tld.is_empty() {
        String::new()
    } else {
        format!(".{tld}")
    };
    format!("{}***@{}***{tld}", first(local), first(host))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_pins_are_accepted() {
        for ok in [
            "4821", "0583", "730194", "12340987", " 5307 ", "1235", "9172",
        ] {
            assert_eq!(Pin::parse(ok).map(|p| p.0), Ok(ok.trim().to_string()));
        }
    }

    #[test]
    fn each_trivial_pin_has_its_reason() {
        let cases: &[(&str, Refused)] = &[
            ("", Refused::Empty),
            ("   ", Refused::Empty),
            ("12a4", Refused::NotDigits),
            ("١٢٣٤٥", Refused::NotDigits),
            ("-1234", Refused::NotDigits),
            ("123", Refused::Length),
            ("123456789", Refused::Length),
            ("0000", Refused::Repeated),
            ("99999999", Refused::Repeated),
            ("1234", Refused::Sequence),
            ("0123", Refused::Sequence),
            ("98765", Refused::Sequence),
            ("7890", Refused::Sequence),
            ("3210", Refused::Sequence),
            ("12345678", Refused::Sequence),
            ("1212", Refused::Pattern),
            ("6969", Refused::Pattern),
            ("123123", Refused::Pattern),
            ("12341234", Refused::Pattern),
            ("2000", Refused::Year),
            ("1984", Refused::Year),
            ("2580", Refused::Common),
            ("1004", Refused::Common),
            ("5683", Refused::Common),
            ("147258", Refused::Common),
        ];
        for (typed, why) in cases {
            assert_eq!(Pin::parse(typed), Err(*why), "{typed:?}");
        }
    }

    #[test]
    fn every_reason_has_a_message_in_both_languages() {
        use crate::i18n::Lang;
        for r in [
            Refused::Empty,
            Refused::NotDigits,
            Refused::Length,
            Refused::Repeated,
            Refused::Sequence,
            Refused::Pattern,
            Refused::Year,
            Refused::Common,
        ] {
            for lang in Lang::ALL {
                assert!(lang.lookup(r.key()).is_some(), "{lang:?} {}", r.key());
            }
        }
    }

    #[test]
    fn generated_pins_are_six_good_digits() {
        for _ in 0..200 {
            let p = Pin::generate();
            assert_eq!(p.expose().len(), RESET_DIGITS);
            assert_eq!(Pin::parse(p.expose()), Ok(p.clone()));
        }
    }

    #[test]
    fn the_debug_form_hides_the_digits() {
        let p = Pin::parse("4821").unwrap();
        assert!(!format!("{p:?}").contains("4821"));
    }

    #[test]
    fn addresses_are_masked() {
        assert_eq!(mask_email("demo@example.com"), "d***@e***.com");
        assert_eq!(mask_email("a@localhost"), "a***@l***");
        assert_eq!(mask_email("nonsense"), "***");
    }
}
