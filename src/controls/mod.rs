//! Subscriber controls (issue 14): a monthly spending limit, barrings, the lost-phone block and
//! the calling plan (premium and high-risk services off until the subscriber switches them on,
//! within the operator's risk ceiling), and the PBX's question before each call
//! ([`authorize`]), answered by one rule set ([`decision`]).

pub mod authorize;
pub mod decision;
pub mod limit_mail;
pub mod screen;

use crate::billing::number::Dialing;
use crate::config::Secret;

/// The PBX's access to `/pbx/…`: a bearer token (none: the endpoints are off, 404), and how
/// subscribers dial, to read the numbers it asks about.
#[derive(Clone, Debug, Default)]
pub struct PbxApiSettings {
    pub token: Option<Secret>,
    pub dialing: Dialing,
}

/// A price per minute as the PBX is told it: all its significant decimals, at least the
/// currency's (`0.0123`, `1.50`).
pub fn rate_text(per_minute: crate::money::Money, decimals: u32) -> String {
    let full = per_minute.format(6);
    let (whole, fraction) = full.split_once('.').unwrap_or((&full, ""));
    let keep = fraction.trim_end_matches('0').len().max(decimals as usize);
    if keep == 0 {
        whole.to_string()
    } else {
        format!("{whole}.{}", &fraction[..keep.min(fraction.len())])
    }
}

#[cfg(test)]
mod tests {
    use super::rate_text;
    use crate::money::Money;

    #[test]
    fn rates_keep_their_significant_decimals() {
        assert_eq!(rate_text(Money(12_300), 2), "0.0123");
        assert_eq!(rate_text(Money(1_500_000), 2), "1.50");
        assert_eq!(rate_text(Money(2_000_000), 0), "2");
    }
}
