//! A number the PBX may dial, typed by a subscriber.

use std::fmt;

/// 3 to 20 digits, optionally after a `+`. Spaces, dashes, dots and parentheses people type
/// between digit groups are dropped; anything else is refused, so the number is safe in a
/// dial string and in a manager header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DialNumber(String);

impl DialNumber {
    pub fn parse(s: &str) -> Option<DialNumber> {
        let s = s.trim();
        let (plus, rest) = match s.strip_prefix('+') {
            Some(rest) => ("+", rest),
            None => ("", s),
        };
        let mut digits = String::with_capacity(rest.len());
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => return None,
            }
        }
        (3..=20)
            .contains(&digits.len())
            .then(|| DialNumber(format!("{plus}{digits}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The same number as `other` (as stored, e.g. a caller ID): the same digits, whether
    /// written with `+`, `00` or neither in front.
    pub fn same_number(&self, other: &str) -> bool {
        let international = |n: &DialNumber| -> String {
            let digits = n.0.trim_start_matches('+');
            digits.strip_prefix("00").unwrap_or(digits).to_string()
        };
        DialNumber::parse(other).is_some_and(|o| international(&o) == international(self))
    }
}

impl fmt::Display for DialNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::DialNumber;

    #[test]
    fn the_same_number_however_written() {
        let n = DialNumber::parse("+44 20 7946 0000").unwrap();
        assert!(n.same_number("442079460000"));
        assert!(n.same_number("00442079460000"));
        assert!(!n.same_number("442079460001"));
        assert!(!n.same_number("\"Desk\" <101>"));
    }

    #[test]
    fn digits_with_an_optional_plus() {
        for (typed, stored) in [
            ("101", "101"),
            ("+44 20 7946 0000", "+442079460000"),
            (" (495) 123-45-67 ", "4951234567"),
            ("12345678901234567890", "12345678901234567890"),
        ] {
            assert_eq!(
                DialNumber::parse(typed).map(|n| n.to_string()).as_deref(),
                Some(stored),
                "{typed}"
            );
        }
    }

    #[test]
    fn everything_else_is_refused() {
        for bad in [
            "",
            "+",
            "12",
            "+12",
            "123456789012345678901",
            "++123",
            "12+3",
            "123#",
            "*97",
            "١٢٣٤",
            "123\r\nAction: Command",
            "100@other-context",
            "SIP/101",
        ] {
            assert_eq!(DialNumber::parse(bad), None, "{bad:?}");
        }
    }
}
