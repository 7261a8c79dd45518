//! The two period fields of the filter forms (call list, missed calls, statistics, faxes): what
//! the subscriber typed when it was refused, else the period read, in the text that parses back
//! to it.

use crate::input::echo;
use crate::period::Period;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeriodFields {
    pub start: String,
    pub end: String,
}

impl PeriodFields {
    /// The fields as typed, fit to be shown back.
    pub fn typed(start: Option<&str>, end: Option<&str>) -> PeriodFields {
        PeriodFields {
            start: echo(start.unwrap_or_default()),
            end: echo(end.unwrap_or_default()),
        }
    }

    /// A period's shortest texts: the date alone for whole days.
    pub fn of(period: &Period) -> PeriodFields {
        PeriodFields {
            start: period.start_param(),
            end: period.end_param(),
        }
    }

    /// `date` when both fields hold plain dates (or nothing), else `text`: a date input
    /// cannot show a time of day or a mistyped value.
    pub fn input_type(&self) -> &'static str {
        let plain = |v: &str| v.is_empty() || (v.len() == 10 && v.as_bytes()[4] == b'-');
        if plain(&self.start) && plain(&self.end) {
            "date"
        } else {
            "text"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_inputs_are_for_plain_dates_only() {
        let mut f = PeriodFields::default();
        assert_eq!(f.input_type(), "date");
        f.start = "2024-06-01".into();
        assert_eq!(f.input_type(), "date");
        f.end = "2024-06-01 10:00:00".into();
        assert_eq!(f.input_type(), "text");
        f.end = "junk".into();
        assert_eq!(f.input_type(), "text");
        let typed = PeriodFields::typed(Some("2024-06-01\u{0}"), None);
        assert_eq!(
            (typed.start.as_str(), typed.end.as_str()),
            ("2024-06-01", "")
        );
    }
}
