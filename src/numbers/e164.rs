//! A telephone number in E.164 form: `+`, the country code and the national number, 7 to 15
//! digits in all. What people type (`+44 20 7946 0000`, `0044-20-7946-0000`) is parsed here once.

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct E164(String);

impl E164 {
    /// Accepts `+` or `00` before the country code, and spaces, dashes, dots and brackets
    /// between digits.
    pub fn parse(s: &str) -> Result<E164, &'static str> {
        let s = s.trim();
        let rest = if let Some(r) = s.strip_prefix('+') {
            r
        } else if let Some(r) = s.strip_prefix("00") {
            r
        } else {
            return Err("must start with + and the country code");
        };
        let mut digits = String::with_capacity(16);
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => return Err("may hold only digits after the +"),
            }
        }
        if digits.starts_with('0') {
            return Err("has no country code starting with 0");
        }
        if !(7..=15).contains(&digits.len()) {
            return Err("must have 7 to 15 digits");
        }
        Ok(E164(format!("+{digits}")))
    }

    /// `+442079460000`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `442079460000`: the form the rate deck and the call matcher use.
    pub fn digits(&self) -> &str {
        &self.0[1..]
    }
}

impl fmt::Display for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_forms_become_one() {
        for s in [
            "+442079460000",
            " +44 20 7946 0000",
            "0044-20-7946-0000",
            "+44 (20) 7946.0000",
        ] {
            assert_eq!(E164::parse(s).unwrap().as_str(), "+442079460000", "{s}");
        }
        assert_eq!(
            E164::parse("+442079460000").unwrap().digits(),
            "442079460000"
        );
    }

    #[test]
    fn what_is_not_a_number_says_why() {
        assert!(E164::parse("02079460000").is_err()); // national form
        assert!(E164::parse("+0442079460000").is_err());
        assert!(E164::parse("+44").is_err());
        assert!(E164::parse("+4420794600001234").is_err()); // 16 digits
        assert!(E164::parse("+44 20 7946 000x").is_err());
        assert!(E164::parse("").is_err());
        assert!(E164::parse("+").is_err());
    }
}
