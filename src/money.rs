//! Money is exact: an integer count of micro-units (1/1,000,000) of a currency.
//!
//! The one rounding rule of the product lives here: half away from zero, to the number of
//! decimals asked for. Every place that shows or totals money goes through it.

use serde::Serialize;

pub const MICROS: i64 = 1_000_000;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Money(pub i64);

impl Money {
    pub fn from_micros(micros: i64) -> Self {
        Money(micros)
    }

    pub fn micros(self) -> i64 {
        self.0
    }

    /// Rounds to `decimals` places, half away from zero.
    pub fn round_to(self, decimals: u32) -> Money {
        let decimals = decimals.min(6);
        let step = 10_i64.pow(6 - decimals);
        let half = step / 2;
        let r = if self.0 >= 0 {
            (self.0 + half) / step * step
        } else {
            -((-self.0 + half) / step * step)
        };
        Money(r)
    }

    /// `1234.50` for 2 decimals: `.` as separator, no thousands separators.
    pub fn format(self, decimals: u32) -> String {
        let decimals = decimals.min(6);
        let r = self.round_to(decimals).0;
        let sign = if r < 0 { "-" } else { "" };
        let abs = r.unsigned_abs();
        let units = abs / MICROS as u64;
        if decimals == 0 {
            return format!("{sign}{units}");
        }
        let frac = (abs % MICROS as u64) / 10_u64.pow(6 - decimals);
        format!("{sign}{units}.{frac:0width$}", width = decimals as usize)
    }

    /// `100.00 USD`, the form of the XML contract's balance and price fields.
    pub fn with_currency(self, decimals: u32, code: &str) -> String {
        format!("{} {code}", self.format(decimals))
    }

    /// This amount converted with a rate given as target units per source unit, times 10^6.
    pub fn convert(self, rate_micros: i64) -> Money {
        let v = self.0 as i128 * rate_micros as i128;
        let m = MICROS as i128;
        let r = if v >= 0 {
            (v + m / 2) / m
        } else {
            -((-v + m / 2) / m)
        };
        Money(r as i64)
    }
}

impl Money {
    /// This amount in another currency, given each currency's exchange rate (units per unit of
    /// the base currency, × 10^6): × `to_rate` / `from_rate`, rounded half away from zero.
    pub fn exchange(self, from_rate_micros: i64, to_rate_micros: i64) -> Money {
        if from_rate_micros == to_rate_micros || from_rate_micros <= 0 {
            return self;
        }
        let v = self.0 as i128 * to_rate_micros as i128;
        let d = from_rate_micros as i128;
        let r = if v >= 0 {
            (v + d / 2) / d
        } else {
            -((-v + d / 2) / d)
        };
        Money(r as i64)
    }
}

impl std::ops::Add for Money {
    type Output = Money;
    fn add(self, o: Money) -> Money {
        Money(self.0 + o.0)
    }
}

/// A percentage held as hundredths of a percent (18.00 % = 1800), shown as `18.0`.
pub fn format_percent(bp: i64) -> String {
    let whole = bp / 100;
    let frac = (bp % 100).abs();
    if frac % 10 == 0 {
        format!("{whole}.{}", frac / 10)
    } else {
        format!("{whole}.{frac:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_the_currency_decimals() {
        assert_eq!(Money(100 * MICROS).format(2), "100.00");
        assert_eq!(Money(49_000).format(3), "0.049");
        assert_eq!(Money(-1_234_567).format(2), "-1.23");
        assert_eq!(Money(1_235_000).format(2), "1.24");
        assert_eq!(Money(-1_235_000).format(2), "-1.24");
        assert_eq!(Money(5 * MICROS).format(0), "5");
        assert_eq!(Money(100 * MICROS).with_currency(2, "USD"), "100.00 USD");
    }

    #[test]
    fn converts_exactly() {
        // 10 USD at 0.92 EUR per USD.
        assert_eq!(Money(10 * MICROS).convert(920_000), Money(9_200_000));
        assert_eq!(Money(1).convert(500_000), Money(1)); // half rounds away from zero
    }

    #[test]
    fn exchanges_between_two_currencies_exactly() {
        // 1.00 EUR (0.92 per USD) in RUB (92.5 per USD): 92.5 / 0.92 = 100.5434…
        assert_eq!(
            Money(MICROS).exchange(920_000, 92_500_000),
            Money(100_543_478)
        );
        // Into the base currency and back.
        assert_eq!(Money(920_000).exchange(920_000, MICROS), Money(MICROS));
        assert_eq!(Money(3).exchange(2 * MICROS, MICROS), Money(2)); // 1.5 rounds up
        assert_eq!(Money(-3).exchange(2 * MICROS, MICROS), Money(-2));
        assert_eq!(Money(5).exchange(MICROS, MICROS), Money(5));
    }

    #[test]
    fn percents() {
        assert_eq!(format_percent(1800), "18.0");
        assert_eq!(format_percent(1550), "15.5");
        assert_eq!(format_percent(1525), "15.25");
        assert_eq!(format_percent(0), "0.0");
    }
}
