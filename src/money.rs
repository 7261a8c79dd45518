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

/// An exchange rate as the `exchange_rates` table holds it: units of a currency per one unit of
/// the base currency, times 10^6. The base currency's own rate is 10^6 by definition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ExchangeRate(i64);

impl ExchangeRate {
    pub const BASE: ExchangeRate = ExchangeRate(MICROS);

    /// A stored rate; zero or negative rates are not rates.
    pub fn from_micros(micros: i64) -> Option<ExchangeRate> {
        (micros > 0).then_some(ExchangeRate(micros))
    }

    pub fn micros(self) -> i64 {
        self.0
    }
}

impl Money {
    /// Converts from the currency whose rate is `from` into the one whose rate is `to` (through
    /// the base currency: `amount / from × to`), adds `vat_bp` hundredths of a percent of VAT,
    /// and rounds ONCE, by the rule of this module, to `decimals` places. The whole fraction
    /// `micros × to × (10000 + vat) / (from × 10000)` is kept in integers until that rounding, so
    /// nothing is lost on the way. `None` when the figures overflow (absurd stored rates).
    pub fn exchange(
        self,
        from: ExchangeRate,
        to: ExchangeRate,
        vat_bp: i64,
        decimals: u32,
    ) -> Option<Money> {
        let decimals = decimals.min(6);
        let step = 10_i128.pow(6 - decimals);
        let vat_factor = 10_000_i128
            .checked_add(vat_bp as i128)
            .filter(|f| *f >= 0)?;
        let num = (self.0 as i128)
            .checked_mul(to.0 as i128)?
            .checked_mul(vat_factor)?;
        let den = (from.0 as i128).checked_mul(10_000)?.checked_mul(step)?;
        let units = div_round(num, den)?;
        i64::try_from(units.checked_mul(step)?).ok().map(Money)
    }
}

impl Money {
    /// Between two currencies by their stored rates (units per base unit × 10^6), rounded once
    /// to the micro-unit. Stored rates are positive (a CHECK in the schema); anything else
    /// leaves the amount as it is.
    pub fn convert_between(self, from_rate_micros: i64, to_rate_micros: i64) -> Money {
        match (
            ExchangeRate::from_micros(from_rate_micros),
            ExchangeRate::from_micros(to_rate_micros),
        ) {
            (Some(from), Some(to)) => self.exchange(from, to, 0, 6).unwrap_or(self),
            _ => self,
        }
    }
}

impl Money {
    /// An amount as a person types it in a currency with `decimals` places: `25`, `25.5`,
    /// `25.50`, `25,50` (a decimal comma), `1 000.00`. Refused: a sign, letters, more decimals
    /// than the currency has, and figures past a billion.
    pub fn parse(text: &str, decimals: u32) -> Result<Money, AmountError> {
        let t: String = text
            .trim()
            .chars()
            .filter(|c| *c != ' ' && *c != '\u{a0}')
            .collect();
        if t.is_empty() {
            return Err(AmountError::Missing);
        }
        let t = t.replace(',', ".");
        let (units, frac) = t.split_once('.').unwrap_or((&t, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if units.is_empty() && frac.is_empty() || !digits(units) || !digits(frac) {
            return Err(AmountError::NotANumber);
        }
        if frac.len() > decimals.min(6) as usize {
            return Err(AmountError::TooManyDecimals(decimals));
        }
        if units.trim_start_matches('0').len() > 9 {
            return Err(AmountError::TooLarge);
        }
        let units: i64 = if units.is_empty() {
            0
        } else {
            units.parse().map_err(|_| AmountError::TooLarge)?
        };
        let mut micros = units * MICROS;
        if !frac.is_empty() {
            let f: i64 = frac.parse().map_err(|_| AmountError::NotANumber)?;
            micros += f * 10_i64.pow(6 - frac.len() as u32);
        }
        Ok(Money(micros))
    }

    pub fn checked_add(self, o: Money) -> Option<Money> {
        self.0.checked_add(o.0).map(Money)
    }

    /// The amount in the currency's smallest unit (cents), as payment gateways count;
    /// `None` when it has a fraction of that unit.
    pub fn to_minor_units(self, decimals: u32) -> Option<i64> {
        let step = 10_i64.pow(6 - decimals.min(6));
        (self.0 % step == 0).then_some(self.0 / step)
    }

    pub fn from_minor_units(minor: i64, decimals: u32) -> Money {
        Money(minor * 10_i64.pow(6 - decimals.min(6)))
    }
}

impl std::ops::Neg for Money {
    type Output = Money;
    fn neg(self) -> Money {
        Money(-self.0)
    }
}

impl std::ops::Sub for Money {
    type Output = Money;
    fn sub(self, o: Money) -> Money {
        Money(self.0 - o.0)
    }
}

/// Why a typed amount was refused; its words are in `locales/` (`said`), English when printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.said())]
pub enum AmountError {
    Missing,
    NotANumber,
    TooManyDecimals(u32),
    TooLarge,
}

impl AmountError {
    /// The same, to be said in the reader's language.
    pub fn said(self) -> crate::i18n::Said {
        use crate::i18n::Said;
        match self {
            AmountError::Missing => Said::new("amount.missing"),
            AmountError::NotANumber => Said::new("amount.not_a_number"),
            AmountError::TooManyDecimals(d) => {
                Said::new("amount.too_many_decimals").with("decimals", d)
            }
            AmountError::TooLarge => Said::new("amount.too_large"),
        }
    }
}

/// `num / den` rounded half away from zero (`den` > 0).
fn div_round(num: i128, den: i128) -> Option<i128> {
    if den <= 0 {
        return None;
    }
    let (q, r) = (
        num.unsigned_abs() / den as u128,
        num.unsigned_abs() % den as u128,
    );
    let q = if r >= den as u128 - r { q + 1 } else { q };
    let q = i128::try_from(q).ok()?;
    Some(if num < 0 { -q } else { q })
}

/// An ISO 4217 code as a client may send it (`eur`, ` USD `): three ASCII letters, kept upper-case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct CurrencyCode(String);

impl CurrencyCode {
    pub fn parse(s: &str) -> Result<CurrencyCode, String> {
        let t = s.trim();
        if t.len() == 3 && t.bytes().all(|b| b.is_ascii_alphabetic()) {
            Ok(CurrencyCode(t.to_ascii_uppercase()))
        } else {
            Err(crate::i18n::Lang::En.t("currency.bad_code").to_string())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for CurrencyCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
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

/// A percentage without a needless fraction (`20`, `15.5`), the form of the rates page's
/// `vat_percent`.
pub fn format_percent_short(bp: i64) -> String {
    if bp % 100 == 0 {
        (bp / 100).to_string()
    } else {
        format_percent(bp)
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

    const EUR_092: ExchangeRate = ExchangeRate(920_000);

    #[test]
    fn exchanges_through_the_base_currency_with_one_rounding() {
        // 0.0200 USD/min at 0.92 EUR per USD = 0.0184 EUR; with 20 % VAT 0.02208 → 0.0221.
        let p = Money(20_000);
        let base = ExchangeRate::BASE;
        assert_eq!(p.exchange(base, EUR_092, 0, 4), Some(Money(18_400)));
        assert_eq!(p.exchange(base, EUR_092, 2000, 4), Some(Money(22_100)));
        assert_eq!(p.exchange(base, EUR_092, 2000, 6), Some(Money(22_080)));
        // EUR → RUB through USD: 0.0500 EUR at 0.90 EUR/USD and 92.5 RUB/USD
        // = 0.05 / 0.9 × 92.5 = 5.13888… → 5.1389; with 20 % VAT 6.16666… → 6.1667.
        let eur = ExchangeRate(900_000);
        let rub = ExchangeRate(92_500_000);
        assert_eq!(
            Money(50_000).exchange(eur, rub, 0, 4),
            Some(Money(5_138_900))
        );
        assert_eq!(
            Money(50_000).exchange(eur, rub, 2000, 4),
            Some(Money(6_166_700))
        );
        // The same currency is unchanged; half a step rounds away from zero.
        assert_eq!(Money(12_345).exchange(eur, eur, 0, 6), Some(Money(12_345)));
        assert_eq!(Money(12_350).exchange(eur, eur, 0, 4), Some(Money(12_400)));
        assert_eq!(
            Money(-12_350).exchange(eur, eur, 0, 4),
            Some(Money(-12_400))
        );
        assert_eq!(Money(12_349).exchange(eur, eur, 0, 4), Some(Money(12_300)));
    }

    #[test]
    fn one_rounding_is_not_two() {
        // 0.00045 at 3.000001 per base unit = 0.000149999950…: to micro-units that is 0.000150,
        // and rounding that again to 4 decimals would give 0.0002; rounded once it is 0.0001.
        let r = ExchangeRate(3_000_001);
        assert_eq!(
            Money(450).exchange(r, ExchangeRate::BASE, 0, 6),
            Some(Money(150))
        );
        assert_eq!(
            Money(450).exchange(r, ExchangeRate::BASE, 0, 4),
            Some(Money(100))
        );
    }

    #[test]
    fn absurd_figures_do_not_panic() {
        let huge = ExchangeRate(i64::MAX);
        assert_eq!(
            Money(i64::MAX).exchange(ExchangeRate(1), huge, 2000, 4),
            None
        );
        assert_eq!(Money(10).exchange(huge, huge, -20_000, 4), None);
        assert!(ExchangeRate::from_micros(0).is_none());
        assert!(ExchangeRate::from_micros(-5).is_none());
    }

    #[test]
    fn currency_codes() {
        assert_eq!(CurrencyCode::parse(" eur ").unwrap().as_str(), "EUR");
        for bad in ["", "US", "USDT", "U$D", "ЕВР", "<b>"] {
            assert!(CurrencyCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn exchanges_between_two_currencies_exactly() {
        // 1.00 EUR (0.92 per USD) in RUB (92.5 per USD): 92.5 / 0.92 = 100.5434…
        assert_eq!(
            Money(MICROS).convert_between(920_000, 92_500_000),
            Money(100_543_478)
        );
        // Into the base currency and back.
        assert_eq!(
            Money(920_000).convert_between(920_000, MICROS),
            Money(MICROS)
        );
        assert_eq!(Money(3).convert_between(2 * MICROS, MICROS), Money(2)); // 1.5 rounds up
        assert_eq!(Money(-3).convert_between(2 * MICROS, MICROS), Money(-2));
        assert_eq!(Money(5).convert_between(MICROS, MICROS), Money(5));
    }

    #[test]
    fn percents() {
        assert_eq!(format_percent(1800), "18.0");
        assert_eq!(format_percent(1550), "15.5");
        assert_eq!(format_percent(1525), "15.25");
        assert_eq!(format_percent(0), "0.0");
        assert_eq!(format_percent_short(2000), "20");
        assert_eq!(format_percent_short(1550), "15.5");
        assert_eq!(format_percent_short(0), "0");
    }

    #[test]
    fn parses_typed_amounts() {
        assert_eq!(Money::parse("25", 2), Ok(Money(25 * MICROS)));
        assert_eq!(Money::parse(" 25.5 ", 2), Ok(Money(25_500_000)));
        assert_eq!(Money::parse("25,50", 2), Ok(Money(25_500_000)));
        assert_eq!(Money::parse("1 000.01", 2), Ok(Money(1_000_010_000)));
        assert_eq!(Money::parse(".5", 2), Ok(Money(500_000)));
        assert_eq!(Money::parse("0", 2), Ok(Money(0)));
        assert_eq!(Money::parse("10", 0), Ok(Money(10 * MICROS)));
        assert_eq!(Money::parse("", 2), Err(AmountError::Missing));
        assert_eq!(
            Money::parse("25.505", 2),
            Err(AmountError::TooManyDecimals(2))
        );
        assert_eq!(
            Money::parse("10.5", 0),
            Err(AmountError::TooManyDecimals(0))
        );
        for bad in ["-5", "+5", "5e3", "abc", ".", "1.2.3", "0x10", "½"] {
            assert_eq!(Money::parse(bad, 2), Err(AmountError::NotANumber), "{bad}");
        }
        assert_eq!(Money::parse("99999999999", 2), Err(AmountError::TooLarge));
    }

    #[test]
    fn minor_units() {
        assert_eq!(Money(25_500_000).to_minor_units(2), Some(2550));
        assert_eq!(Money(25_501_000).to_minor_units(2), None);
        assert_eq!(Money(7 * MICROS).to_minor_units(0), Some(7));
        assert_eq!(Money::from_minor_units(2550, 2), Money(25_500_000));
    }
}
