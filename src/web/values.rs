//! The typed values of a view model. Each one shows itself as the seed's XML and the HTML write
//! it (`Display`), serializes as the JSON contract has it (`Serialize`), and describes itself in
//! the OpenAPI document (`ToSchema`). A view model holds these rather than preformatted strings,
//! so the three representations cannot drift apart.
//!
//! The JSON contract (README, "JSON API"):
//! - money is `{"value": "12.50", "currency": "EUR"}`: a decimal string, never a float, with its
//!   ISO 4217 code beside it;
//! - yes/no is a JSON boolean (view models hold `bool`; XML templates write `Yes`/`No`);
//! - an instant is RFC 3339 with the subscriber's offset (`2026-12-05T14:30:00+01:00`); a day is
//!   `2026-12-05`;
//! - a list carries `links` with `next` and `prev` (`null` at either end);
//! - an error is `{"error": {"code": "...", "message": "..."}}` (`web::render::json_error`).

use std::borrow::{Borrow, Cow};
use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};
use utoipa::openapi::schema::{ObjectBuilder, SchemaFormat, SchemaType, Type};
use utoipa::openapi::{KnownFormat, RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use crate::i18n::Lang;
use crate::locale;
use crate::money::Money;
use crate::time;

/// An exact amount with its currency: shown as `12.50` (the XML contract's number; use
/// `with_currency` for `12.50 EUR`), serialized as `{"value": "12.50", "currency": "EUR"}`;
/// a person reads it in their language (`money`: `€12.50`, `12,50 €`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Amount {
    pub money: Money,
    /// Decimals shown: 2 for balances, more for per-minute prices.
    pub decimals: u32,
    pub currency: String,
}

impl Amount {
    pub fn new(money: Money, decimals: u32, currency: impl Into<String>) -> Amount {
        Amount {
            money,
            decimals,
            currency: currency.into(),
        }
    }

    /// The same amount with as few decimals as keep it exact, but at least `min`: a call's
    /// `0.740` shown as `0.74`, its `0.068` as it is.
    pub fn trimmed(&self, min: u32) -> Amount {
        let mut decimals = self.decimals;
        while decimals > min && self.money.micros() % 10i64.pow(7 - decimals.min(6)) == 0 {
            decimals -= 1;
        }
        Amount::new(self.money, decimals, self.currency.clone())
    }

    /// `12.50`
    pub fn value(&self) -> String {
        self.money.format(self.decimals)
    }

    /// `12.50 EUR`
    pub fn with_currency(&self) -> String {
        self.money.with_currency(self.decimals, &self.currency)
    }

    pub fn is_negative(&self) -> bool {
        self.money.micros() < 0
    }

    /// For a person (HTML, PDF): `€12.50`, `12,50 €` (`crate::locale`).
    pub fn money(&self, lang: impl Borrow<Lang>) -> String {
        let lang = *lang.borrow();
        locale::money(lang, self.money, self.decimals, &self.currency)
    }

    /// For a person, without the currency (a table whose header names it): `1,234.50`,
    /// `1 234,50`.
    pub fn number(&self, lang: impl Borrow<Lang>) -> String {
        let lang = *lang.borrow();
        locale::number(lang, &self.value())
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value())
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut o = s.serialize_struct("Amount", 2)?;
        o.serialize_field("value", &self.value())?;
        o.serialize_field("currency", &self.currency)?;
        o.end()
    }
}

impl PartialSchema for Amount {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .description(Some("An exact amount of money"))
            .property(
                "value",
                ObjectBuilder::new()
                    .schema_type(SchemaType::Type(Type::String))
                    .pattern(Some(r"^-?[0-9]+(\.[0-9]+)?$"))
                    .description(Some("A decimal number, e.g. 12.50"))
                    .examples(["12.50"]),
            )
            .required("value")
            .property(
                "currency",
                ObjectBuilder::new()
                    .schema_type(SchemaType::Type(Type::String))
                    .pattern(Some("^[A-Z]{3}$"))
                    .description(Some("ISO 4217 code"))
                    .examples(["EUR"]),
            )
            .required("currency")
            .additional_properties(Some(
                utoipa::openapi::schema::AdditionalProperties::FreeForm(false),
            ))
            .into()
    }
}

impl ToSchema for Amount {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Amount")
    }
}

/// A moment in the subscriber's time zone: shown as `2026-12-05 14:30:00` (the XML contract),
/// serialized as RFC 3339 with the zone's offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Moment {
    /// UTC seconds since the epoch, as stored.
    pub at: i64,
    pub tz: Tz,
}

impl Moment {
    pub fn new(at: i64, tz: Tz) -> Moment {
        Moment { at, tz }
    }

    /// `2026-12-05T14:30:00+01:00`
    pub fn rfc3339(&self) -> String {
        DateTime::<Utc>::from_timestamp(self.at, 0)
            .unwrap_or_default()
            .with_timezone(&self.tz)
            .to_rfc3339_opts(SecondsFormat::Secs, false)
    }

    /// `2026-12-05`, the local day.
    pub fn date(&self) -> String {
        time::format_date(self.at, self.tz)
    }

    /// For a person (HTML, PDF), to the minute: `Dec 5, 2026, 2:30 PM`, `5 дек. 2026 г., 14:30`.
    pub fn when(&self, lang: impl Borrow<Lang>) -> String {
        let lang = *lang.borrow();
        locale::date_time(lang, self.at, self.tz)
    }

    /// The local day for a person: `Dec 5, 2026`, `5 дек. 2026 г.`.
    pub fn day(&self, lang: impl Borrow<Lang>) -> String {
        let lang = *lang.borrow();
        locale::date(lang, self.at, self.tz)
    }
}

impl fmt::Display for Moment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&time::format_instant(self.at, self.tz))
    }
}

impl Serialize for Moment {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.rfc3339())
    }
}

impl PartialSchema for Moment {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::String))
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .description(Some("RFC 3339, in the subscriber's time zone"))
            .examples(["2026-12-05T14:30:00+01:00"])
            .into()
    }
}

impl ToSchema for Moment {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Moment")
    }
}

/// Where a list goes on: the next and previous pages' addresses (with `format=json` kept), or
/// `null` at either end. A list given whole has both `null`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Links {
    pub next: Option<String>,
    pub prev: Option<String>,
}

impl Links {
    /// The links of a list that is given whole.
    pub fn whole() -> Links {
        Links::default()
    }
}

/// The one JSON error shape.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable: `invalid_input`, `not_logged_in`, `forbidden`, `not_found`, `conflict`,
    /// `payment_declined`, `unprocessable`, `too_long_for_pdf`, `too_many_requests`,
    /// `unavailable`, `internal`.
    pub code: &'static str,
    /// For a person, in the subscriber's language.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_a_decimal_string_with_its_currency() {
        let a = Amount::new(Money(12_500_000), 2, "EUR");
        assert_eq!(a.to_string(), "12.50");
        assert_eq!(a.with_currency(), "12.50 EUR");
        assert_eq!(
            serde_json::to_value(&a).unwrap(),
            serde_json::json!({"value": "12.50", "currency": "EUR"})
        );
        let negative = Amount::new(Money(-1_234_567), 3, "USD");
        assert_eq!(negative.to_string(), "-1.235");
    }

    #[test]
    fn trimmed_amounts_keep_every_decimal_that_counts() {
        let shown = |micros, min| Amount::new(Money(micros), 3, "USD").trimmed(min).value();
        assert_eq!(shown(740_000, 2), "0.74");
        assert_eq!(shown(68_000, 2), "0.068");
        assert_eq!(shown(0, 2), "0.00");
        assert_eq!(shown(5_000_000, 0), "5");
        assert_eq!(shown(-1_310_000, 2), "-1.31");
    }

    #[test]
    fn moments_carry_the_zone_offset() {
        let m = Moment::new(1_764_945_000, "Europe/Riga".parse().unwrap());
        assert_eq!(m.to_string(), "2025-12-05 16:30:00");
        assert_eq!(m.rfc3339(), "2025-12-05T16:30:00+02:00");
        assert_eq!(m.date(), "2025-12-05");
        let utc = Moment::new(1_764_945_000, Tz::UTC);
        assert_eq!(utc.rfc3339(), "2025-12-05T14:30:00+00:00");
    }
}
