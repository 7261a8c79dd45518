//! May this call go through, and for how long? One pure function, asked by the PBX before it
//! connects (`/pbx/authorize`) and by rating afterwards (a call that should not have happened is
//! flagged). The store gathers the facts; nothing here reads a database or a clock.

use crate::money::Money;

/// Risk levels, as in the calling plan: 1 low, 2 medium, 3 high.
pub const HIGH_RISK: i64 = 3;
/// The longest call allowed when money sets no bound (a free destination, no limit).
pub const MAX_CALL_S: i64 = 4 * 3600;

/// Why a call is refused; `code` is what the PBX reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The account is blocked (by the operator, or the subscriber's lost-phone block).
    Blocked,
    BarredOutgoing,
    BarredIncoming,
    BarredInternational,
    PremiumDisabled,
    RiskTooHigh,
    /// A standard service the subscriber switched off in the calling plan.
    ServiceDisabled,
    LimitReached,
    NoCredit,
    /// No device has this account name.
    UnknownAccount,
    /// The number is not a number.
    BadNumber,
    /// No destination of the rate deck matches the number.
    UnknownDestination,
    /// The subscriber's tariff has no rate for the destination.
    NoRate,
}

impl Reason {
    pub fn code(self) -> &'static str {
        match self {
            Reason::Blocked => "blocked",
            Reason::BarredOutgoing => "barred_outgoing",
            Reason::BarredIncoming => "barred_incoming",
            Reason::BarredInternational => "barred_international",
            Reason::PremiumDisabled => "premium_disabled",
            Reason::RiskTooHigh => "risk_too_high",
            Reason::ServiceDisabled => "service_disabled",
            Reason::LimitReached => "limit_reached",
            Reason::NoCredit => "no_credit",
            Reason::UnknownAccount => "unknown_account",
            Reason::BadNumber => "bad_number",
            Reason::UnknownDestination => "unknown_destination",
            Reason::NoRate => "no_rate",
        }
    }
}

/// What the subscriber barred.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Barrings {
    pub outgoing: bool,
    pub international: bool,
    pub international_except_home: bool,
    pub premium: bool,
    pub incoming: bool,
}

/// The caller's side.
#[derive(Clone, Debug, Default)]
pub struct Subscriber {
    /// Blocked by the operator, or by the lost-phone block.
    pub blocked: bool,
    pub barrings: Barrings,
}

/// The destination's side, as the subscriber's calling plan sees it.
#[derive(Clone, Debug)]
pub struct Destination {
    /// In the operator's own country.
    pub national: bool,
    /// In the subscriber's home country.
    pub home: bool,
    pub premium: bool,
    /// The higher of the country's and the service's risk.
    pub risk: i64,
    /// The subscriber's plan has the service on (the default when never changed: standard
    /// services below high risk).
    pub enabled: bool,
    /// The operator's ceiling: no service above it may be used, whatever the plan says.
    pub risk_ceiling: i64,
}

/// What may be spent on the call.
#[derive(Clone, Copy, Debug)]
pub struct Funds {
    /// Balance plus credit; `None`: no bound (a postpaid account without a credit limit).
    pub available: Option<Money>,
    /// What is left of this month's spending limit; `None`: no limit.
    pub limit_left: Option<Money>,
}

/// The rules that do not depend on money: barrings, the plan, blocks.
pub fn policy(who: &Subscriber, to: &Destination) -> Result<(), Reason> {
    if who.blocked {
        return Err(Reason::Blocked);
    }
    let b = &who.barrings;
    if b.outgoing {
        return Err(Reason::BarredOutgoing);
    }
    if !to.national && (b.international || (b.international_except_home && !to.home)) {
        return Err(Reason::BarredInternational);
    }
    if to.premium && b.premium {
        return Err(Reason::PremiumDisabled);
    }
    if to.risk > to.risk_ceiling {
        return Err(Reason::RiskTooHigh);
    }
    if !to.enabled {
        return Err(if to.premium {
            Reason::PremiumDisabled
        } else if to.risk >= HIGH_RISK {
            Reason::RiskTooHigh
        } else {
            Reason::ServiceDisabled
        });
    }
    Ok(())
}

/// An incoming call: only the block and the incoming barring refuse it.
pub fn incoming(who: &Subscriber) -> Result<(), Reason> {
    if who.blocked {
        Err(Reason::Blocked)
    } else if who.barrings.incoming {
        Err(Reason::BarredIncoming)
    } else {
        Ok(())
    }
}

/// An outgoing call: the policy, then the longest call the money allows when `cost(s)` is the
/// price of `s` seconds in the account's currency (whole seconds, at most [`MAX_CALL_S`]), or
/// why none is.
pub fn outgoing(
    who: &Subscriber,
    to: &Destination,
    funds: Funds,
    cost: impl Fn(i64) -> Money,
) -> Result<i64, Reason> {
    policy(who, to)?;
    if funds.limit_left.is_some_and(|m| m.micros() <= 0) {
        return Err(Reason::LimitReached);
    }
    if funds.available.is_some_and(|m| m.micros() <= 0) {
        return Err(Reason::NoCredit);
    }
    let budget = match (funds.available, funds.limit_left) {
        (Some(a), Some(l)) => Some(a.min(l)),
        (a, l) => a.or(l),
    };
    let Some(budget) = budget else {
        return Ok(MAX_CALL_S);
    };
    let longest = longest_call(cost, budget);
    if longest > 0 {
        return Ok(longest);
    }
    // Not even the first billed second: say which bound stopped it.
    match (funds.available, funds.limit_left) {
        (Some(a), Some(l)) if l < a => Err(Reason::LimitReached),
        (None, Some(_)) => Err(Reason::LimitReached),
        _ => Err(Reason::NoCredit),
    }
}

/// The most seconds of talk whose `cost` is within `budget` (0 when even one is not), at most
/// [`MAX_CALL_S`]. A price only grows with time, so a binary search finds it exactly, with the
/// rounding, minimum time and increments of [`price`](crate::billing::price).
pub fn longest_call(cost: impl Fn(i64) -> Money, budget: Money) -> i64 {
    let fits = |s: i64| cost(s) <= budget;
    if fits(MAX_CALL_S) {
        return MAX_CALL_S;
    }
    if !fits(1) {
        return 0;
    }
    let (mut lo, mut hi) = (1, MAX_CALL_S); // fits(lo), !fits(hi)
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if fits(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billing::{price, RateTerms};

    fn money(s: &str) -> Money {
        crate::billing::deck::parse_amount(s).unwrap()
    }

    fn terms(per_minute: &str) -> RateTerms {
        RateTerms {
            per_minute: money(per_minute),
            connection_fee: Money::default(),
            increment_s: 1,
            min_time_s: 0,
        }
    }

    fn cost(terms: &RateTerms) -> impl Fn(i64) -> Money + '_ {
        move |s| price(terms, s)
    }

    fn uk_fixed() -> Destination {
        Destination {
            national: true,
            home: true,
            premium: false,
            risk: 1,
            enabled: true,
            risk_ceiling: 2,
        }
    }

    fn funds(available: Option<&str>, limit_left: Option<&str>) -> Funds {
        Funds {
            available: available.map(money),
            limit_left: limit_left.map(money),
        }
    }

    #[test]
    fn premium_is_refused_until_enabled_and_never_above_the_ceiling() {
        let who = Subscriber::default();
        let premium = Destination {
            national: true,
            home: true,
            premium: true,
            risk: 2,
            enabled: false,
            risk_ceiling: 2,
        };
        assert_eq!(policy(&who, &premium), Err(Reason::PremiumDisabled));
        let enabled = Destination {
            enabled: true,
            ..premium.clone()
        };
        assert_eq!(policy(&who, &enabled), Ok(()));
        let risky = Destination {
            risk: 3,
            ..enabled.clone()
        };
        assert_eq!(policy(&who, &risky), Err(Reason::RiskTooHigh));
        let barred = Subscriber {
            barrings: Barrings {
                premium: true,
                ..Barrings::default()
            },
            ..Subscriber::default()
        };
        assert_eq!(policy(&barred, &enabled), Err(Reason::PremiumDisabled));
    }

    #[test]
    fn international_barring_allows_national_and_optionally_home() {
        let bar = |international, except_home| Subscriber {
            barrings: Barrings {
                international,
                international_except_home: except_home,
                ..Barrings::default()
            },
            ..Subscriber::default()
        };
        let abroad = Destination {
            national: false,
            home: false,
            ..uk_fixed()
        };
        let home_abroad = Destination {
            national: false,
            home: true,
            ..uk_fixed()
        };
        assert_eq!(policy(&bar(true, false), &uk_fixed()), Ok(()));
        assert_eq!(
            policy(&bar(true, false), &abroad),
            Err(Reason::BarredInternational)
        );
        assert_eq!(
            policy(&bar(true, false), &home_abroad),
            Err(Reason::BarredInternational)
        );
        assert_eq!(policy(&bar(false, true), &home_abroad), Ok(()));
        assert_eq!(
            policy(&bar(false, true), &abroad),
            Err(Reason::BarredInternational)
        );
    }

    #[test]
    fn the_block_and_outgoing_barring_come_first() {
        let blocked = Subscriber {
            blocked: true,
            ..Subscriber::default()
        };
        assert_eq!(policy(&blocked, &uk_fixed()), Err(Reason::Blocked));
        assert_eq!(incoming(&blocked), Err(Reason::Blocked));
        let barred = Subscriber {
            barrings: Barrings {
                outgoing: true,
                incoming: true,
                ..Barrings::default()
            },
            ..Subscriber::default()
        };
        assert_eq!(policy(&barred, &uk_fixed()), Err(Reason::BarredOutgoing));
        assert_eq!(incoming(&barred), Err(Reason::BarredIncoming));
    }

    #[test]
    fn the_longest_call_is_what_the_tighter_bound_pays_for() {
        let who = Subscriber::default();
        // 0.60 a minute = 0.01 a second; 0.01 left of the limit buys 1 s, the balance 100 s.
        let t = terms("0.60");
        assert_eq!(
            outgoing(
                &who,
                &uk_fixed(),
                funds(Some("1.00"), Some("0.01")),
                cost(&t)
            ),
            Ok(1)
        );
        assert_eq!(
            outgoing(&who, &uk_fixed(), funds(Some("1.00"), None), cost(&t)),
            Ok(100)
        );
        assert_eq!(
            outgoing(
                &who,
                &uk_fixed(),
                funds(Some("1.00"), Some("0.00")),
                cost(&t)
            ),
            Err(Reason::LimitReached)
        );
        assert_eq!(
            outgoing(
                &who,
                &uk_fixed(),
                funds(Some("0.00"), Some("5.00")),
                cost(&t)
            ),
            Err(Reason::NoCredit)
        );
        assert_eq!(
            outgoing(&who, &uk_fixed(), funds(None, None), cost(&t)),
            Ok(MAX_CALL_S)
        );
        // Increments and a connection fee: 1.00 a minute per started minute, 0.10 to connect.
        let per_minute = RateTerms {
            per_minute: money("1.00"),
            connection_fee: money("0.10"),
            increment_s: 60,
            min_time_s: 60,
        };
        assert_eq!(longest_call(cost(&per_minute), money("2.10")), 120);
        assert_eq!(longest_call(cost(&per_minute), money("2.09")), 60);
        assert_eq!(longest_call(cost(&per_minute), money("1.09")), 0);
        assert_eq!(
            outgoing(
                &who,
                &uk_fixed(),
                funds(Some("1.09"), None),
                cost(&per_minute)
            ),
            Err(Reason::NoCredit)
        );
    }
}
