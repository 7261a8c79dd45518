//! Rating many calls: everything a price depends on, loaded once into memory.
//!
//! A call is priced from its user's tariff: the dialled number is normalised
//! ([`Dialing`](super::number::Dialing)), matched to the destination with the longest prefix, and
//! the rate of the tariff for that destination's group and type in force when the call started
//! (the newest `effective_from` not after it) gives the terms; [`super::price`] is the price in
//! the tariff's currency, converted to the user's currency at the exchange rates in force then
//! (the oldest known rate for calls older than every rate). Incoming calls cost nothing; a call
//! that stays on the network (to one of the operator's devices, or to a number a subscriber
//! has) is priced by the on-net rule (`selfcare did on-net-rate`, free unless set). A call that cannot be priced is flagged, never
//! priced at zero: `unmatched` when no prefix matches, `no_rate` when the tariff (or the user's
//! tariff, or an exchange rate) is missing.

use std::collections::{HashMap, HashSet};

use super::dialplan::DialPlan;
use super::number::Dialing;
use super::prefix::PrefixTable;
use super::{price, RateTerms};
use crate::money::Money;

/// The rows a rater is built from (the store reads them).
#[derive(Clone, Debug, Default)]
pub struct RatingData {
    /// The shared destinations (of no tariff): (id, prefix, group id, dir code)
    pub destinations: Vec<(i64, String, i64, String)>,
    /// The destinations a tariff's own deck gave it: (tariff id, id, prefix, group id, dir code).
    /// A tariff's own prefixes are matched first; the shared ones price what none of them match.
    pub tariff_destinations: Vec<(i64, i64, String, i64, String)>,
    /// (tariff id, group id, rate type, terms, effective from)
    pub rates: Vec<(i64, i64, String, RateTerms, i64)>,
    /// (id, currency)
    pub tariffs: Vec<(i64, String)>,
    /// (id, tariff id, currency)
    pub users: Vec<(i64, Option<i64>, String)>,
    /// (currency, units per base unit × 10^6, valid from)
    pub exchange_rates: Vec<(String, i64, i64)>,
    /// Names and extensions of the devices: a call to one of them is on-net.
    pub device_names: Vec<String>,
    /// Subscribers' numbers (DIDs), digits only: a call to one of them is on-net too.
    pub numbers: Vec<String>,
    /// The on-net price per minute and its currency.
    pub on_net: (Money, String),
    /// The dial plan's local patterns: calls to them are free.
    pub local_patterns: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Dest {
    id: i64,
    group_id: i64,
    dir: u16,
}

/// Why a matched destination got no price.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Missing {
    /// The user has no tariff (or is unknown).
    Tariff,
    /// The tariff has no rate in force for the destination's group and type.
    Rate,
    /// No exchange rate between the tariff's and the user's currency.
    ExchangeRate,
}

/// The outcome of rating one call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rating {
    Priced {
        destination_id: Option<i64>,
        price: Money,
    },
    Unmatched,
    NoPrice {
        /// None for an on-net call.
        destination_id: Option<i64>,
        missing: Missing,
    },
}

impl Rating {
    /// The `calls` columns: destination_id, price_micros, rating_status.
    pub fn columns(self) -> (Option<i64>, Option<i64>, &'static str) {
        match self {
            Rating::Priced {
                destination_id,
                price,
            } => (destination_id, Some(price.micros()), "rated"),
            Rating::Unmatched => (None, None, "unmatched"),
            Rating::NoPrice { destination_id, .. } => (destination_id, None, "no_rate"),
        }
    }
}

pub struct Rater {
    dialing: Dialing,
    prefixes: PrefixTable<u32>,
    /// Each tariff's own prefixes (indices into `dests`).
    tariff_prefixes: HashMap<i64, PrefixTable<u32>>,
    dests: Vec<Dest>,
    rates: HashMap<(i64, i64, u16), Vec<(i64, RateTerms)>>,
    users: HashMap<i64, (Option<i64>, String)>,
    tariffs: HashMap<i64, String>,
    fx: HashMap<String, Vec<(i64, i64)>>,
    internal: HashSet<String>,
    numbers: HashSet<String>,
    on_net: (Money, String),
    local: DialPlan,
}

impl Rater {
    pub fn new(data: RatingData, dialing: Dialing) -> Rater {
        let mut dir_codes: HashMap<String, u16> = HashMap::new();
        let mut dir = |code: &str| {
            let next = dir_codes.len() as u16;
            *dir_codes.entry(code.to_string()).or_insert(next)
        };
        let mut prefixes = PrefixTable::new();
        let mut dests = Vec::with_capacity(data.destinations.len());
        for (id, prefix, group_id, dir_code) in &data.destinations {
            let d = Dest {
                id: *id,
                group_id: *group_id,
                dir: dir(dir_code),
            };
            if prefixes.insert(prefix, dests.len() as u32) {
                dests.push(d);
            }
        }
        let mut tariff_prefixes: HashMap<i64, PrefixTable<u32>> = HashMap::new();
        for (tariff, id, prefix, group_id, dir_code) in &data.tariff_destinations {
            let d = Dest {
                id: *id,
                group_id: *group_id,
                dir: dir(dir_code),
            };
            let table = tariff_prefixes.entry(*tariff).or_default();
            if table.insert(prefix, dests.len() as u32) {
                dests.push(d);
            }
        }
        let mut rates: HashMap<(i64, i64, u16), Vec<(i64, RateTerms)>> = HashMap::new();
        for (tariff, group, rate_type, terms, from) in &data.rates {
            rates
                .entry((*tariff, *group, dir(rate_type)))
                .or_default()
                .push((*from, *terms));
        }
        for list in rates.values_mut() {
            list.sort_by_key(|(from, _)| *from);
        }
        let mut fx: HashMap<String, Vec<(i64, i64)>> = HashMap::new();
        for (code, rate, from) in &data.exchange_rates {
            fx.entry(code.clone()).or_default().push((*from, *rate));
        }
        for list in fx.values_mut() {
            list.sort();
        }
        Rater {
            dialing,
            prefixes,
            tariff_prefixes,
            dests,
            rates,
            users: data
                .users
                .into_iter()
                .map(|(id, tariff, cur)| (id, (tariff, cur)))
                .collect(),
            tariffs: data.tariffs.into_iter().collect(),
            fx,
            internal: data.device_names.into_iter().collect(),
            numbers: data.numbers.into_iter().collect(),
            on_net: data.on_net,
            local: DialPlan::new(&data.local_patterns),
        }
    }

    /// Number of destination prefixes known.
    pub fn prefix_count(&self) -> usize {
        self.prefixes.len()
            + self
                .tariff_prefixes
                .values()
                .map(|t| t.len())
                .sum::<usize>()
    }

    /// Rates one call of `user_id` that started at `started_at` (UTC seconds).
    pub fn rate(
        &self,
        user_id: i64,
        outgoing: bool,
        started_at: i64,
        dst: &str,
        billsec: i64,
    ) -> Rating {
        if !outgoing {
            return Rating::Priced {
                destination_id: None,
                price: Money(0),
            };
        }
        if self.internal.contains(dst.trim()) {
            return self.on_net_price(user_id, started_at, billsec);
        }
        if self.local.is_local(dst) {
            // A feature code, a short extension, an echo test: free, never a country.
            return Rating::Priced {
                destination_id: None,
                price: Money(0),
            };
        }
        let Some(number) = self.dialing.normalise(dst) else {
            return Rating::Unmatched;
        };
        if self.numbers.contains(&number) {
            return self.on_net_price(user_id, started_at, billsec);
        }
        let own = self
            .users
            .get(&user_id)
            .and_then(|(tariff, _)| self.tariff_prefixes.get(&(*tariff)?))
            .and_then(|table| table.longest_match(&number));
        let Some((index, _)) = own.or_else(|| self.prefixes.longest_match(&number)) else {
            return Rating::Unmatched;
        };
        let dest = self.dests[index as usize];
        let no_price = |missing| Rating::NoPrice {
            destination_id: Some(dest.id),
            missing,
        };
        let Some((Some(tariff), user_currency)) = self.users.get(&user_id) else {
            return no_price(Missing::Tariff);
        };
        let Some(terms) = self
            .rates
            .get(&(*tariff, dest.group_id, dest.dir))
            .and_then(|list| in_force(list, started_at))
        else {
            return no_price(Missing::Rate);
        };
        let amount = price(&terms, billsec);
        let tariff_currency = self.tariffs.get(tariff).map(String::as_str).unwrap_or("");
        let price = if tariff_currency == user_currency {
            amount
        } else {
            match (
                self.fx_rate(tariff_currency, started_at),
                self.fx_rate(user_currency, started_at),
            ) {
                (Some(from), Some(to)) => amount.convert_between(from, to),
                _ => return no_price(Missing::ExchangeRate),
            }
        };
        Rating::Priced {
            destination_id: Some(dest.id),
            price,
        }
    }

    /// A call between subscribers: the on-net rate per second of talk, in the user's currency.
    fn on_net_price(&self, user_id: i64, started_at: i64, billsec: i64) -> Rating {
        let (per_minute, currency) = &self.on_net;
        let terms = RateTerms {
            per_minute: *per_minute,
            connection_fee: Money(0),
            increment_s: 1,
            min_time_s: 0,
        };
        let amount = price(&terms, billsec);
        let user_currency = self.users.get(&user_id).map(|u| u.1.as_str());
        let price = if amount.micros() == 0 || user_currency == Some(currency.as_str()) {
            amount
        } else {
            match (
                self.fx_rate(currency, started_at),
                user_currency.and_then(|c| self.fx_rate(c, started_at)),
            ) {
                (Some(from), Some(to)) => amount.convert_between(from, to),
                _ => {
                    return Rating::NoPrice {
                        destination_id: None,
                        missing: Missing::ExchangeRate,
                    }
                }
            }
        };
        Rating::Priced {
            destination_id: None,
            price,
        }
    }

    fn fx_rate(&self, currency: &str, at: i64) -> Option<i64> {
        let list = self.fx.get(currency)?;
        in_force(list, at).or_else(|| list.first().map(|(_, r)| *r))
    }
}

/// The newest entry of a list sorted by start that started at or before `at`.
fn in_force<T: Copy>(list: &[(i64, T)], at: i64) -> Option<T> {
    let n = list.partition_point(|(from, _)| *from <= at);
    n.checked_sub(1).map(|i| list[i].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(per_minute: i64, fee: i64, inc: i64, min: i64) -> RateTerms {
        RateTerms {
            per_minute: Money(per_minute),
            connection_fee: Money(fee),
            increment_s: inc,
            min_time_s: min,
        }
    }

    /// Tariff 1 in USD: UK fixed (group 10) and UK mobile (group 11), London cheaper from 1000 s.
    fn rater() -> Rater {
        let data = RatingData {
            destinations: vec![
                (100, "44".into(), 10, "FIX".into()),
                (101, "447".into(), 11, "MOB".into()),
                (102, "4420".into(), 12, "FIX".into()),
                (103, "33".into(), 13, "FIX".into()),
            ],
            rates: vec![
                (1, 10, "FIX".into(), terms(10_000, 0, 1, 0), 0),
                (1, 11, "MOB".into(), terms(50_000, 10_000, 60, 60), 0),
                (1, 12, "FIX".into(), terms(20_000, 0, 1, 0), 0),
                (1, 12, "FIX".into(), terms(8_000, 0, 1, 0), 1000),
            ],
            tariffs: vec![(1, "USD".into())],
            users: vec![
                (7, Some(1), "USD".into()),
                (8, Some(1), "EUR".into()),
                (9, None, "USD".into()),
                (10, Some(1), "GBP".into()),
            ],
            exchange_rates: vec![
                ("USD".into(), 1_000_000, 0),
                ("EUR".into(), 900_000, 500),
                ("EUR".into(), 920_000, 2000),
            ],
            device_names: vec!["101".into()],
            numbers: vec!["442079460999".into()],
            on_net: (Money(0), "USD".into()),
            local_patterns: vec![],
            ..RatingData::default()
        };
        Rater::new(data, Dialing::default())
    }

    fn priced(r: Rating) -> (Option<i64>, i64) {
        match r {
            Rating::Priced {
                destination_id,
                price,
            } => (destination_id, price.micros()),
            other => panic!("not priced: {other:?}"),
        }
    }

    #[test]
    fn a_tariff_s_own_prefixes_come_before_the_shared_ones() {
        // Tariff 1 owns 4420 (group 20); tariff 2 owns 4420 too (group 21) and 44 (group 22);
        // the shared 44 (group 10) prices what tariff 1's own prefixes do not match.
        let data = RatingData {
            destinations: vec![(100, "44".into(), 10, "FIX".into())],
            tariff_destinations: vec![
                (1, 200, "4420".into(), 20, "FIX".into()),
                (2, 201, "4420".into(), 21, "FIX".into()),
                (2, 202, "44".into(), 22, "FIX".into()),
            ],
            rates: vec![
                (1, 10, "FIX".into(), terms(10_000, 0, 1, 0), 0),
                (1, 20, "FIX".into(), terms(20_000, 0, 1, 0), 0),
                (2, 21, "FIX".into(), terms(30_000, 0, 1, 0), 0),
                (2, 22, "FIX".into(), terms(40_000, 0, 1, 0), 0),
            ],
            tariffs: vec![(1, "USD".into()), (2, "USD".into())],
            users: vec![(7, Some(1), "USD".into()), (8, Some(2), "USD".into())],
            exchange_rates: vec![("USD".into(), 1_000_000, 0)],
            ..RatingData::default()
        };
        let r = Rater::new(data, Dialing::default());
        assert_eq!(r.prefix_count(), 4);
        // 60 s at each tariff's own price for London.
        assert_eq!(
            priced(r.rate(7, true, 0, "442079460000", 60)),
            (Some(200), 20_000)
        );
        assert_eq!(
            priced(r.rate(8, true, 0, "442079460000", 60)),
            (Some(201), 30_000)
        );
        // Elsewhere in the UK: tariff 1 falls back to the shared 44, tariff 2 has its own.
        assert_eq!(
            priced(r.rate(7, true, 0, "441614960000", 60)),
            (Some(100), 10_000)
        );
        assert_eq!(
            priced(r.rate(8, true, 0, "441614960000", 60)),
            (Some(202), 40_000)
        );
    }

    #[test]
    fn prices_by_longest_prefix_and_date() {
        let r = rater();
        // 0.01/min per second, 90 s → 0.015
        assert_eq!(
            priced(r.rate(7, true, 5000, "0044161000000", 90)),
            (Some(100), 15_000)
        );
        // Mobile: 61 s → minimum 60, 60 s steps → 120 s × 0.05 + 0.01 fee = 0.11
        assert_eq!(
            priced(r.rate(7, true, 5000, "+447700900123", 61)),
            (Some(101), 110_000)
        );
        // London: 0.02 before 1000, 0.008 from 1000; 30 s
        assert_eq!(
            priced(r.rate(7, true, 999, "442079460000", 30)),
            (Some(102), 10_000)
        );
        assert_eq!(
            priced(r.rate(7, true, 1000, "442079460000", 30)),
            (Some(102), 4_000)
        );
        // Unanswered: matched, free.
        assert_eq!(
            priced(r.rate(7, true, 1000, "442079460000", 0)),
            (Some(102), 0)
        );
    }

    #[test]
    fn converts_to_the_user_currency_at_the_rate_in_force() {
        let r = rater();
        // 0.015 USD; EUR at 0.90 from 500, at 0.92 from 2000; before 500: the oldest known.
        assert_eq!(priced(r.rate(8, true, 100, "44161", 90)).1, 13_500);
        assert_eq!(priced(r.rate(8, true, 1999, "44161", 90)).1, 13_500);
        assert_eq!(priced(r.rate(8, true, 2000, "44161", 90)).1, 13_800);
    }

    #[test]
    fn what_cannot_be_priced_is_flagged() {
        let r = rater();
        assert_eq!(r.rate(7, true, 0, "0049301234", 10), Rating::Unmatched);
        assert_eq!(r.rate(7, true, 0, "*97", 10), Rating::Unmatched);
        let no = |id, missing| Rating::NoPrice {
            destination_id: Some(id),
            missing,
        };
        assert_eq!(r.rate(7, true, 0, "33123", 10), no(103, Missing::Rate));
        assert_eq!(r.rate(9, true, 0, "44161", 10), no(100, Missing::Tariff));
        assert_eq!(r.rate(99, true, 0, "44161", 10), no(100, Missing::Tariff));
        assert_eq!(
            r.rate(10, true, 0, "44161", 10),
            no(100, Missing::ExchangeRate)
        );
        assert_eq!(
            no(103, Missing::Rate).columns(),
            (Some(103), None, "no_rate")
        );
        assert_eq!(Rating::Unmatched.columns(), (None, None, "unmatched"));
    }

    #[test]
    fn incoming_and_internal_calls_are_free() {
        let r = rater();
        assert_eq!(priced(r.rate(7, false, 0, "442079460000", 100)), (None, 0));
        assert_eq!(priced(r.rate(7, true, 0, "101", 100)), (None, 0));
        assert_eq!(
            r.rate(7, true, 0, "101", 100).columns(),
            (None, Some(0), "rated")
        );
        // A subscriber's number, however dialled, is on-net too (it is not priced as London).
        assert_eq!(priced(r.rate(7, true, 0, "+442079460999", 100)), (None, 0));
        assert_eq!(priced(r.rate(7, true, 0, "00442079460999", 100)), (None, 0));
    }

    #[test]
    fn local_numbers_are_free_and_never_a_country() {
        let mut r = rater();
        assert_eq!(r.rate(7, true, 0, "*97", 10), Rating::Unmatched);
        r.local = DialPlan::new(&["_*.".into(), "_X".into(), "s".into()]);
        assert_eq!(priced(r.rate(7, true, 0, "*97", 10)), (None, 0));
        assert_eq!(priced(r.rate(7, true, 0, "1", 10)), (None, 0)); // not the USA
        assert_eq!(priced(r.rate(7, true, 0, "s", 10)), (None, 0));
        assert_eq!(
            priced(r.rate(7, true, 0, "0044161000000", 90)),
            (Some(100), 15_000)
        );
    }

    #[test]
    fn on_net_calls_take_the_on_net_rate_in_the_user_currency() {
        let mut r = rater();
        r.on_net = (Money(60_000), "USD".into()); // 0.06 a minute, per second
        assert_eq!(priced(r.rate(7, true, 0, "101", 30)), (None, 30_000));
        assert_eq!(
            priced(r.rate(8, true, 600, "442079460999", 30)),
            (None, 27_000)
        ); // EUR 0.90
        assert_eq!(
            r.rate(10, true, 0, "101", 30),
            Rating::NoPrice {
                destination_id: None,
                missing: Missing::ExchangeRate
            }
        );
        assert_eq!(priced(r.rate(7, true, 0, "101", 0)), (None, 0));
    }
}
