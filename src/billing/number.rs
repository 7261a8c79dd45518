//! Dialled numbers as the rate deck knows them: international form, digits only.
//!
//! A PBX records what the subscriber dialled: `+44 20…`, `0044 20…`, `011 44 20…` (North
//! America), or a national `020 …`. The deck's prefixes start with the country code, so the
//! number is normalised before the prefix lookup, the same way at import and at re-rating.

/// How numbers are dialled on the operator's network (the `--international-prefix`,
/// `--national-prefix` and `--country-code` options).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dialing {
    /// Dialled before a country code, e.g. `00` or `011`; `00` is always recognised too.
    pub international_prefix: String,
    /// Dialled before a national number, e.g. `0`; replaced by `country_code`.
    pub national: Option<(String, String)>,
}

impl Default for Dialing {
    fn default() -> Self {
        Dialing {
            international_prefix: "00".to_string(),
            national: None,
        }
    }
}

impl Dialing {
    /// Checks the options: prefixes and the country code are digits, and a national prefix
    /// comes with the country code it stands for.
    pub fn new(
        international_prefix: &str,
        national_prefix: Option<&str>,
        country_code: Option<&str>,
    ) -> Result<Dialing, String> {
        let digits = |what: &str, s: &str| {
            if !s.is_empty() && s.len() <= 6 && s.bytes().all(|b| b.is_ascii_digit()) {
                Ok(s.to_string())
            } else {
                Err(format!("{what} {s:?} must be 1 to 6 digits"))
            }
        };
        let international_prefix = digits("the international prefix", international_prefix)?;
        let national = match (
            national_prefix.filter(|s| !s.is_empty()),
            country_code.filter(|s| !s.is_empty()),
        ) {
            (Some(p), Some(cc)) => Some((
                digits("the national prefix", p)?,
                digits("the country code", cc)?,
            )),
            (Some(_), None) => {
                return Err(
                    "a national prefix needs the country code it stands for (--country-code)"
                        .to_string(),
                )
            }
            (None, _) => None,
        };
        Ok(Dialing {
            international_prefix,
            national,
        })
    }

    /// The number in international form, digits only; None when it is not a phone number
    /// (an extension like `s` or a feature code like `*97`). Spaces, dashes, dots and
    /// parentheses are ignored.
    pub fn normalise(&self, raw: &str) -> Option<String> {
        let raw = raw.trim();
        let (plus, rest) = match raw.strip_prefix('+') {
            Some(r) => (true, r),
            None => (false, raw),
        };
        let mut digits = String::with_capacity(rest.len());
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => return None,
            }
        }
        if digits.is_empty() {
            return None;
        }
        if plus {
            return Some(digits);
        }
        for intl in [self.international_prefix.as_str(), "00"] {
            if let Some(r) = digits.strip_prefix(intl) {
                return (!r.is_empty()).then(|| r.to_string());
            }
        }
        if let Some((national, cc)) = &self.national {
            if let Some(r) = digits.strip_prefix(national.as_str()) {
                if !r.is_empty() {
                    return Some(format!("{cc}{r}"));
                }
            }
        }
        Some(digits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn international_forms_become_digits() {
        let d = Dialing::default();
        assert_eq!(
            d.normalise("+44 20 7946 0000").as_deref(),
            Some("442079460000")
        );
        assert_eq!(
            d.normalise("00442079460000").as_deref(),
            Some("442079460000")
        );
        assert_eq!(d.normalise("442079460000").as_deref(), Some("442079460000"));
        assert_eq!(
            d.normalise("(0044) 20-7946.0000").as_deref(),
            Some("442079460000")
        );
        // Without a national rule, a national number is left as dialled.
        assert_eq!(d.normalise("02079460000").as_deref(), Some("02079460000"));
    }

    #[test]
    fn national_and_other_international_prefixes_follow_the_options() {
        let uk = Dialing::new("00", Some("0"), Some("44")).unwrap();
        assert_eq!(uk.normalise("02079460000").as_deref(), Some("442079460000"));
        // The international prefix is tried first: 00… is not a national 0….
        assert_eq!(
            uk.normalise("0033123456789").as_deref(),
            Some("33123456789")
        );
        let us = Dialing::new("011", Some("1"), Some("1")).unwrap();
        assert_eq!(
            us.normalise("011442079460000").as_deref(),
            Some("442079460000")
        );
        assert_eq!(us.normalise("0044207946").as_deref(), Some("44207946"));
        assert_eq!(us.normalise("12125550100").as_deref(), Some("12125550100"));
    }

    #[test]
    fn what_is_not_a_number_is_none() {
        let d = Dialing::default();
        for raw in ["", "s", "*97", "+", "101@from-internal", "00", "anonymous"] {
            assert_eq!(d.normalise(raw), None, "{raw:?}");
        }
        assert_eq!(d.normalise("0").as_deref(), Some("0"));
    }

    #[test]
    fn options_are_checked() {
        assert!(Dialing::new("", None, None).is_err());
        assert!(Dialing::new("0x", None, None).is_err());
        assert!(Dialing::new("00", Some("0"), None).is_err());
        assert!(Dialing::new("00", Some("0"), Some("+44")).is_err());
        assert!(Dialing::new("00", None, Some("44")).is_ok());
    }
}
