//! Numbers (DIDs): the operator's pool, a subscriber's own numbers and where their calls go.
//!
//! A number moves free → held → active → closed → free again: a subscriber holds a free number
//! for [`HOLD_MINUTES`] with a secret hold key, allocates it with that key (its fee becomes a
//! subscription, billed by `selfcare bill`), points it at one of his devices or forwards it to
//! another number, and releases it; a released number rests in quarantine (90 days unless the
//! operator says otherwise) before it is offered again. The operator may also reserve or
//! terminate a number. Every change is one conditional UPDATE on the number's row, so two
//! subscribers racing for a number get one winner and one clear refusal.

pub mod e164;
pub mod service;

pub use e164::E164;

/// How long a hold lasts.
pub const HOLD_MINUTES: i64 = 10;
/// Numbers one subscriber may hold at a time (so nobody can empty the pool by holding it).
pub const MAX_HOLDS: i64 = 3;
/// Numbers listed per page of the pool.
pub const POOL_PAGE: i64 = 50;

/// Where calls to a subscriber's number go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    /// One of the owner's devices (its id).
    Device(i64),
    /// Forwarded to a number, priced as an outgoing call of the owner.
    Forward(E164),
}

/// Why a change to a number was refused: each is a message the subscriber can act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No such number in the pool, or not the subscriber's (404, like any id not his).
    NotFound,
    /// Someone else holds or has the number (409).
    Taken,
    /// The subscriber already holds [`MAX_HOLDS`] numbers.
    TooManyHolds,
    /// Allocation without a hold of the subscriber's on the number.
    NotHeld,
    /// The hold ran out.
    HoldExpired,
    /// The hold key does not match the hold.
    WrongHoldKey,
}

impl Refusal {
    /// The message key in `locales/` (the texts take `{number}`).
    pub fn key(&self) -> &'static str {
        match self {
            Refusal::NotFound => "numbers.refused.not_found",
            Refusal::Taken => "numbers.refused.taken",
            Refusal::TooManyHolds => "numbers.refused.too_many_holds",
            Refusal::NotHeld => "numbers.refused.not_held",
            Refusal::HoldExpired => "numbers.refused.hold_expired",
            Refusal::WrongHoldKey => "numbers.refused.wrong_key",
        }
    }
}

/// A number as a person reads it: an international number (8 digits or more, as call records
/// and the phonebook keep them) with its `+`; a short one (an extension, a service number) as
/// it is.
pub fn shown(number: &str) -> String {
    if number.len() >= 8 && number.bytes().all(|b| b.is_ascii_digit()) {
        format!("+{number}")
    } else {
        number.to_string()
    }
}
