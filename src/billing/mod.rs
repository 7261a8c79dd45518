//! Rating: what a call costs. The one rounding rule for call prices is written down here.
//!
//! The operator's data comes in through the modules below: call records (`cdr`, `import`), rate
//! decks (`deck`), re-rating (`rater`, `rerate`, with `number` and `prefix` for the lookup) and
//! invoices (`invoice`, by the subscriber's calendar `month`); `bench` measures them.

pub mod bench;
pub mod cdr;
pub mod deck;
pub mod dialplan;
pub mod import;
pub mod invoice;
pub mod month;
pub mod number;
pub mod prefix;
pub mod rater;
pub mod rerate;

use crate::money::Money;

/// The terms of one rate: price per minute, connection fee, billing increment, minimum time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateTerms {
    pub per_minute: Money,
    pub connection_fee: Money,
    pub increment_s: i64,
    pub min_time_s: i64,
}

/// Seconds billed for `billsec` seconds of talk, as carriers bill: the minimum time is the
/// initial interval, and what goes past it is rounded up to whole increments (20 s then 6 s: a
/// 5 s call bills 20 s, a 25 s call 26 s). An unanswered call (0 s) bills nothing.
pub fn billed_seconds(terms: &RateTerms, billsec: i64) -> i64 {
    if billsec <= 0 {
        return 0;
    }
    let inc = terms.increment_s.max(1);
    let first = terms.min_time_s.max(0);
    if billsec <= first {
        return first;
    }
    first + (billsec - first + inc - 1) / inc * inc
}

/// Connection fee plus billed seconds × price per minute / 60, rounded half away from zero to a
/// micro-unit (the stored precision). Pages then round to the currency's decimals for display.
pub fn price(terms: &RateTerms, billsec: i64) -> Money {
    let secs = billed_seconds(terms, billsec);
    if secs == 0 {
        return Money::default();
    }
    let v = terms.per_minute.micros() as i128 * secs as i128;
    let talk = (v + 30) / 60; // both non-negative: +30 is half of 60
    Money::from_micros(terms.connection_fee.micros() + talk as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(per_min: i64, fee: i64, inc: i64, min: i64) -> RateTerms {
        RateTerms {
            per_minute: Money(per_min),
            connection_fee: Money(fee),
            increment_s: inc,
            min_time_s: min,
        }
    }

    #[test]
    fn billed_seconds_use_minimum_and_increment() {
        let t = terms(60_000, 0, 60, 0);
        assert_eq!(billed_seconds(&t, 0), 0);
        assert_eq!(billed_seconds(&t, 1), 60);
        assert_eq!(billed_seconds(&t, 61), 120);
        let t = terms(60_000, 0, 6, 30);
        assert_eq!(billed_seconds(&t, 10), 30);
        assert_eq!(billed_seconds(&t, 31), 36);
        // An initial interval that is not a whole number of increments.
        let t = terms(60_000, 0, 6, 20);
        assert_eq!(billed_seconds(&t, 5), 20);
        assert_eq!(billed_seconds(&t, 20), 20);
        assert_eq!(billed_seconds(&t, 25), 26);
        let t = terms(60_000, 0, 60, 60);
        assert_eq!(billed_seconds(&t, 61), 120);
    }

    #[test]
    fn prices_by_hand() {
        // 0.049/min, per second, 36 s: 0.049 × 36 / 60 = 0.0294
        assert_eq!(price(&terms(49_000, 0, 1, 0), 36), Money(29_400));
        // 0.10/min + 0.05 fee, 60 s increments, 61 s → 2 min = 0.20 + 0.05
        assert_eq!(price(&terms(100_000, 50_000, 60, 0), 61), Money(250_000));
        // unanswered calls cost nothing, fee included
        assert_eq!(price(&terms(100_000, 50_000, 60, 0), 0), Money(0));
        // 0.013/min for 7 s = 0.00151666… → 0.001517
        assert_eq!(price(&terms(13_000, 0, 1, 0), 7), Money(1_517));
    }
}
